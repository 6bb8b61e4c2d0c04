import { PAGE_SIZE } from './constants.js'

/** A memfd / tmpfs file (or the object behind MAP_SHARED|MAP_ANONYMOUS): may carry tags. */
export class ShmemFile {
  readonly kind = 'shmem' as const
  constructor(
    readonly name: string,
    readonly size: number,
  ) {}
}

/** An ordinary file on disk: its page cache cannot carry tags (no VM_MTE_ALLOWED). */
export class RegularFile {
  readonly kind = 'file' as const
  /** The file's bytes on "disk"; written back when a dirty page-cache page is evicted. */
  readonly content: Uint8Array
  constructor(
    readonly name: string,
    content: Uint8Array,
  ) {
    this.content = content
  }
  get size(): number {
    return this.content.length
  }
}

/** A device range mapped with remap_pfn_range (a VFIO BAR, say): VM_PFNMAP, never tags. */
export class DeviceRegion {
  readonly kind = 'pfnmap' as const
  constructor(
    readonly name: string,
    readonly basePfn: number,
    readonly pageCount: number,
  ) {}
  get size(): number {
    return this.pageCount * PAGE_SIZE
  }
}

export type HostFile = ShmemFile | RegularFile | DeviceRegion
