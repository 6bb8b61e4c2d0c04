/**
 * What a VM needs from the address space of the process that created it (Linux binds a VM
 * to current->mm). `HostMm` from `@tagvm/tag-memory` satisfies this interface; tests may
 * wrap it (to model a host backing with huge pages, say). HVAs are plain numbers < 2^48.
 */

/** The part of a VMA the hypervisor looks at (Linux's vm_area_struct flags). */
export interface HostVma {
  /** First byte and one past the last byte of the mapping. */
  readonly start: number
  readonly end: number
  /** VM_MTE_ALLOWED: the memory behind this mapping can hold allocation tags. */
  readonly mteAllowed: boolean
  /** VM_MTE: mapped with PROT_MTE (user accesses see and set tags). */
  readonly mte: boolean
  /** VM_PFNMAP: device memory outside the page allocator. */
  readonly pfnmap: boolean
}

/** The result of faulting one host page in (Linux's __gfn_to_pfn / hva_to_pfn). */
export interface HostPage {
  /** Host frame number backing the HVA (for a pfnmap, the device frame). */
  readonly pfn: number
  /** The host PTE allows writes (false for an unbroken COW page). */
  readonly writable: boolean
  /** A pfn-mapped device frame: no struct page, no tags. */
  readonly device: boolean
  /** The shared zero page: never tagged, so never sanitised (absent = false). */
  readonly zeroPage?: boolean
  /**
   * Size of the naturally aligned, physically contiguous host page holding the frame
   * (THP or hugetlb): absent or 4096 for a base page, 2 MiB for a huge page.
   */
  readonly hostPageSize?: number
}

export type HostInvalidateListener = (start: number, end: number) => void

export interface HostAddressSpace {
  /** VMAs intersecting [start, end), in address order. */
  vmasIn(start: number, end: number): readonly HostVma[]
  /**
   * Faults the page holding `hva` in, as get_user_pages would. Throws an ErrnoError:
   * EFAULT for no mapping or a write to a read-only one, EHWPOISON for poisoned memory.
   */
  faultIn(hva: number, options: { write: boolean }): HostPage
  /**
   * Faults in `count` pages from page-aligned `hva` (get_user_pages over a range), their
   * frames into `pfns` from `pfnsOffset`; returns the pages done (fewer when a later page
   * fails: `faultIn` on it says why), throws when the first fails.
   */
  faultInPages(hva: number, count: number, options: { readonly write: boolean }, pfns: { [index: number]: number; readonly length: number }, pfnsOffset?: number): number
  /**
   * MMU notifier: `listener(start, end)` runs before the host unmaps, moves or swaps out a
   * page in [start, end). Returns a function that unregisters it.
   */
  onInvalidate(listener: HostInvalidateListener): () => void
}
