import { ErrnoError, PAGE_SIZE } from '@tagvm/tag-memory'

/** struct kvm_userspace_memory_region flags (include/uapi/linux/kvm.h). */
export const KVM_MEM_LOG_DIRTY_PAGES = 1 << 0
export const KVM_MEM_READONLY = 1 << 1
/**
 * KVM Userfault (the proposed KVM_MEM_USERFAULT, not in mainline Linux): guest faults on pages
 * whose bit is set in the slot's userfault bitmap exit to the VMM (KVM_EXIT_MEMORY_FAULT with
 * KVM_MEMORY_EXIT_FLAG_USERFAULT) instead of mapping the page, so a post-copy VMM can fill it
 * first. The bitmap is the VMM's memory: it clears a bit once the page is in place.
 */
export const KVM_MEM_USERFAULT = 1 << 3
/** Flags arm64 KVM accepts for a userspace memslot (no guest_memfd in this model). */
const VALID_MEMSLOT_FLAGS = KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY | KVM_MEM_USERFAULT

/**
 * Memslot ids per address space: KVM_MEM_SLOTS_NUM is SHRT_MAX and arm64 has no internal
 * slots, so KVM_CAP_NR_MEMSLOTS reports 32767. arm64 has one address space.
 */
export const KVM_USER_MEM_SLOTS = 32767
export const KVM_ADDRESS_SPACE_NUM = 1
/** KVM_MEM_MAX_NR_PAGES: (1 << 31) - 1 pages. */
export const KVM_MEM_MAX_NR_PAGES = 2 ** 31 - 1
/** arm64 user VA limit (access_ok on a 48-bit-VA host). */
export const HOST_USER_VA_LIMIT = 2 ** 48

export interface UserMemoryRegion {
  /** Slot id in bits 15:0, address space in bits 31:16. */
  readonly slot: number
  readonly flags: number
  readonly guestPhysAddr: number
  readonly memorySize: number
  readonly userspaceAddr: number
  /** With KVM_MEM_USERFAULT: one bit per page of the slot (bit p % 8 of byte p / 8), set while the page is missing. */
  readonly userfaultBitmap?: Uint8Array
}

export class Memslot {
  readonly id: number
  baseGfn: number
  readonly npages: number
  readonly userspaceAddr: number
  flags: number
  /** One bit per page while KVM_MEM_LOG_DIRTY_PAGES is set (64-bit words as in Linux). */
  dirtyBitmap: Uint32Array | null = null
  /** The VMM's userfault bitmap while KVM_MEM_USERFAULT is set. */
  userfaultBitmap: Uint8Array | null = null

  constructor(id: number, baseGfn: number, npages: number, userspaceAddr: number, flags: number) {
    this.id = id
    this.baseGfn = baseGfn
    this.npages = npages
    this.userspaceAddr = userspaceAddr
    this.flags = flags
  }

  get guestPhysAddr(): number {
    return this.baseGfn * PAGE_SIZE
  }

  get size(): number {
    return this.npages * PAGE_SIZE
  }

  get readOnly(): boolean {
    return (this.flags & KVM_MEM_READONLY) !== 0
  }

  get dirtyLogging(): boolean {
    return (this.flags & KVM_MEM_LOG_DIRTY_PAGES) !== 0
  }

  containsGfn(gfn: number): boolean {
    return gfn >= this.baseGfn && gfn < this.baseGfn + this.npages
  }

  hvaOfGfn(gfn: number): number {
    return this.userspaceAddr + (gfn - this.baseGfn) * PAGE_SIZE
  }

  /** Whether a guest fault on `gfn` must exit to the VMM (KVM_MEM_USERFAULT and its bit set). */
  isUserfault(gfn: number): boolean {
    const bitmap = this.userfaultBitmap
    if (!bitmap) return false
    const rel = gfn - this.baseGfn
    return ((bitmap[rel >>> 3] as number) & (1 << (rel & 7))) !== 0
  }

  markDirty(gfn: number): void {
    const bitmap = this.dirtyBitmap
    if (!bitmap) return
    const rel = gfn - this.baseGfn
    bitmap[rel >>> 5] = ((bitmap[rel >>> 5] as number) | (1 << (rel & 31))) >>> 0
  }

  isDirty(gfn: number): boolean {
    const bitmap = this.dirtyBitmap
    if (!bitmap) return false
    const rel = gfn - this.baseGfn
    return (((bitmap[rel >>> 5] as number) >>> (rel & 31)) & 1) === 1
  }
}

/** Bytes KVM_GET_DIRTY_LOG copies for a slot: the bitmap rounded up to 64-bit longs. */
export function dirtyBitmapBytes(npages: number): number {
  return Math.ceil(npages / 64) * 8
}

export type MemslotChange = 'create' | 'delete' | 'move' | 'flags-only' | 'none'

/** A validated request, before the arch hook (VMA checks) and the commit. */
export interface MemslotPlan {
  readonly change: MemslotChange
  readonly id: number
  readonly old: Memslot | undefined
  readonly baseGfn: number
  readonly npages: number
  readonly flags: number
  readonly userspaceAddr: number
  readonly userfaultBitmap?: Uint8Array
}

function isU64Number(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0
}

/**
 * The memslots of one VM and the generic rules of __kvm_set_memory_region
 * (virt/kvm/kvm_main.c): alignment, id range, overflow, no resizing, no overlap.
 */
export class MemslotTable {
  private readonly byId = new Map<number, Memslot>()
  /** Slots sorted by base gfn, for the fault path's lookup. */
  private sorted: Memslot[] = []
  private lastHit: Memslot | undefined

  get slots(): readonly Memslot[] {
    return this.sorted
  }

  get(id: number): Memslot | undefined {
    return this.byId.get(id)
  }

  /** The slot holding `gfn`, or undefined (binary search; the last hit is cached). */
  findByGfn(gfn: number): Memslot | undefined {
    const last = this.lastHit
    if (last && last.containsGfn(gfn)) return last
    const slots = this.sorted
    let lo = 0
    let hi = slots.length - 1
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1
      const slot = slots[mid] as Memslot
      if (gfn < slot.baseGfn) hi = mid - 1
      else if (gfn >= slot.baseGfn + slot.npages) lo = mid + 1
      else {
        this.lastHit = slot
        return slot
      }
    }
    return undefined
  }

  /** Slots whose HVA range intersects [start, end). */
  slotsIntersectingHva(start: number, end: number): Memslot[] {
    return this.sorted.filter((s) => s.userspaceAddr < end && s.userspaceAddr + s.size > start)
  }

  /** Checks a KVM_SET_USER_MEMORY_REGION request; throws EINVAL/EEXIST as Linux does. */
  plan(region: UserMemoryRegion): MemslotPlan {
    const { slot, flags, guestPhysAddr, memorySize, userspaceAddr } = region
    for (const [name, value] of Object.entries({ slot, flags, guestPhysAddr, memorySize, userspaceAddr })) {
      if (!isU64Number(value)) throw new RangeError(`memory region ${name} must be a non-negative safe integer, got ${value}`)
    }
    if (slot > 0xffff_ffff || flags > 0xffff_ffff) throw new RangeError('memory region slot and flags are 32-bit')
    if ((flags & ~VALID_MEMSLOT_FLAGS) !== 0) {
      throw new ErrnoError('EINVAL', `memory region flags 0x${flags.toString(16)} has unsupported bits`)
    }
    if (memorySize % PAGE_SIZE !== 0) throw new ErrnoError('EINVAL', 'memory_size is not a multiple of the page size')
    if (guestPhysAddr % PAGE_SIZE !== 0) throw new ErrnoError('EINVAL', 'guest_phys_addr is not page aligned')
    if (userspaceAddr % PAGE_SIZE !== 0) throw new ErrnoError('EINVAL', 'userspace_addr is not page aligned')
    if (userspaceAddr + memorySize > HOST_USER_VA_LIMIT) {
      throw new ErrnoError('EINVAL', 'userspace_addr range is not a user address range (access_ok, tagged or too high)')
    }
    const id = slot & 0xffff
    const asId = slot >>> 16
    if (asId >= KVM_ADDRESS_SPACE_NUM || id >= KVM_USER_MEM_SLOTS) {
      throw new ErrnoError('EINVAL', `slot ${asId}:${id} is out of range`)
    }
    if (memorySize / PAGE_SIZE > KVM_MEM_MAX_NR_PAGES) throw new ErrnoError('EINVAL', 'memory_size is above KVM_MEM_MAX_NR_PAGES')
    const old = this.byId.get(id)
    const npages = memorySize / PAGE_SIZE
    const userfaultBitmap = flags & KVM_MEM_USERFAULT ? region.userfaultBitmap : undefined
    if (flags & KVM_MEM_USERFAULT && npages > 0 && !(userfaultBitmap && userfaultBitmap.length * 8 >= npages)) {
      throw new ErrnoError('EINVAL', 'KVM_MEM_USERFAULT needs a userfault bitmap with a bit for every page of the slot')
    }
    const baseGfn = guestPhysAddr / PAGE_SIZE
    if (npages === 0) {
      if (!old) throw new ErrnoError('EINVAL', `slot ${id} does not exist, so it cannot be deleted`)
      return { change: 'delete', id, old, baseGfn: old.baseGfn, npages: 0, flags, userspaceAddr }
    }
    let change: MemslotChange
    if (!old) {
      change = 'create'
    } else {
      if (userspaceAddr !== old.userspaceAddr || npages !== old.npages || ((flags ^ old.flags) & KVM_MEM_READONLY) !== 0) {
        throw new ErrnoError('EINVAL', `slot ${id} exists: only its guest address or dirty-log flag may change (no resize)`)
      }
      if (baseGfn !== old.baseGfn) change = 'move'
      else if (flags !== old.flags || (userfaultBitmap ?? null) !== old.userfaultBitmap) change = 'flags-only'
      else return { change: 'none', id, old, baseGfn, npages, flags, userspaceAddr }
    }
    if (change === 'create' || change === 'move') {
      for (const other of this.sorted) {
        if (other.id === id) continue
        if (baseGfn < other.baseGfn + other.npages && other.baseGfn < baseGfn + npages) {
          throw new ErrnoError('EEXIST', `guest range overlaps slot ${other.id}`)
        }
      }
    }
    return { change, id, old, baseGfn, npages, flags, userspaceAddr, ...(userfaultBitmap ? { userfaultBitmap } : {}) }
  }

  /** Applies a plan that every check has accepted; returns the new slot (undefined on delete). */
  commit(plan: MemslotPlan): Memslot | undefined {
    const { change, old } = plan
    let result: Memslot | undefined
    switch (change) {
      case 'none':
        return old
      case 'delete':
        if (old) this.byId.delete(old.id)
        break
      case 'create':
        result = new Memslot(plan.id, plan.baseGfn, plan.npages, plan.userspaceAddr, plan.flags)
        this.byId.set(plan.id, result)
        break
      case 'move':
      case 'flags-only':
        result = old as Memslot
        result.baseGfn = plan.baseGfn
        result.flags = plan.flags
        break
    }
    if (result) {
      if (result.dirtyLogging && !result.dirtyBitmap) result.dirtyBitmap = new Uint32Array(dirtyBitmapBytes(result.npages) / 4)
      if (!result.dirtyLogging) result.dirtyBitmap = null
      result.userfaultBitmap = plan.userfaultBitmap ?? null
    }
    this.sorted = [...this.byId.values()].sort((a, b) => a.baseGfn - b.baseGfn)
    this.lastHit = undefined
    return result
  }
}

