/**
 * Allocation tags of a running guest, watched from another thread (a browser page drawing a
 * tag map while a Web Worker runs the guest). The machine's host memory lives in
 * SharedArrayBuffers (`Machine.create(..., { sharedMemory: true })`); the machine's thread
 * publishes which host frame backs each guest page, the way a VMM reads /proc/self/pagemap,
 * and any thread reads the frames' tags straight from the shared tag storage. Nothing here
 * stops the guest or copies memory. Snapshots and migration still read tags through
 * KVM_ARM_MTE_COPY_TAGS; this view gives the same answer (see live-tags.test.ts).
 */
import { PhysicalMemory, type SharedMemoryHandle } from '@tagvm/vmm-api'
import { MachineRefusedError } from '../errors.js'
import type { Machine } from '../machine/machine.js'
import { PAGE_SIZE, TAG_BYTES_PER_PAGE as GRANULES_PER_PAGE } from './page.js'

/** What another thread needs to watch a machine's tags (structured-clone it through postMessage). */
export interface LiveTagSource {
  /** First guest-physical address of RAM. */
  readonly ramBase: number
  /** Bytes of RAM, a whole number of pages. */
  readonly ramSize: number
  /** The host's memory: data, tags and per-frame flags. */
  readonly memory: SharedMemoryHandle
  /** One Int32 per guest page: the host frame number + 1, or 0 when no frame is resident. */
  readonly frames: SharedArrayBuffer
}

/**
 * The machine's side: keeps the guest-page → host-frame table of a `LiveTagSource` up to date.
 * Call `refresh()` from the thread that runs the guest, between run slices (a frame changes
 * when the guest first touches a page or writes a page it had only read).
 */
export class LiveTagPublisher {
  readonly source: LiveTagSource
  private readonly table: Int32Array

  constructor(private readonly machine: Machine) {
    const memory = machine.kvm.kernel.memory
    if (!memory.shared) throw new MachineRefusedError('live tags need a machine whose host memory is shared (Machine.create(config, io, { sharedMemory: true }))')
    const { ramBase, ramSize } = machine.config
    const frames = new SharedArrayBuffer((ramSize / PAGE_SIZE) * 4)
    this.table = new Int32Array(frames)
    this.source = { ramBase, ramSize, memory: memory.share(), frames }
    this.refresh()
  }

  /** Re-reads which host frame backs every guest page; returns how many pages are resident. */
  refresh(): number {
    const mm = this.machine.kvm.process
    const hva = this.machine.memory.hostAddress(this.source.ramBase, this.source.ramSize)
    const table = this.table
    let resident = 0
    for (let page = 0; page < table.length; page++) {
      const pfn = mm.residentFrame(hva + page * PAGE_SIZE)
      table[page] = pfn === null ? 0 : pfn + 1
      if (pfn !== null) resident++
    }
    return resident
  }
}

/** Any thread's view of a `LiveTagSource`: reads tags while the guest runs elsewhere. */
export class LiveTagView {
  readonly ramBase: number
  readonly ramSize: number
  readonly pageCount: number
  private readonly memory: PhysicalMemory
  private readonly frames: Int32Array

  constructor(source: LiveTagSource) {
    this.ramBase = source.ramBase
    this.ramSize = source.ramSize
    this.pageCount = source.ramSize / PAGE_SIZE
    if (source.frames.byteLength !== this.pageCount * 4) throw new RangeError(`frame table of ${source.frames.byteLength} bytes does not cover ${this.pageCount} pages`)
    this.memory = PhysicalMemory.attach(source.memory)
    this.frames = new Int32Array(source.frames)
  }

  /** The host frame behind guest page `page` (0 = the page at ramBase), or -1 when none is resident. */
  frameOf(page: number): number {
    this.checkPage(page)
    return (this.frames[page] as number) - 1
  }

  /** Whether the guest has touched page `page` (a host frame backs it). */
  isResident(page: number): boolean {
    return this.frameOf(page) >= 0
  }

  /** Whether page `page` holds valid tags (its frame is PG_mte_tagged). */
  isTagged(page: number): boolean {
    const pfn = this.frameOf(page)
    return pfn >= 0 && this.memory.isTagged(pfn)
  }

  /**
   * The 256 tags of page `page`, one per byte in `out` (KVM_ARM_MTE_COPY_TAGS's layout); false,
   * with `out` zeroed, when the page is not tagged.
   */
  readPageTags(page: number, out: Uint8Array): boolean {
    if (out.length < GRANULES_PER_PAGE) throw new RangeError(`tag buffer of ${out.length} bytes is smaller than a page's ${GRANULES_PER_PAGE} tags`)
    const pfn = this.frameOf(page)
    if (pfn < 0 || !this.memory.isTagged(pfn)) {
      out.fill(0, 0, GRANULES_PER_PAGE)
      return false
    }
    this.memory.copyTagsOut(pfn * PAGE_SIZE, PAGE_SIZE, out)
    return true
  }

  /** The allocation tag of the granule holding guest-physical `gpa` (0 on an untagged page). */
  tagAt(gpa: number): number {
    if (!(Number.isSafeInteger(gpa) && gpa >= this.ramBase && gpa < this.ramBase + this.ramSize)) {
      throw new RangeError(`guest-physical 0x${gpa.toString(16)} is outside RAM [0x${this.ramBase.toString(16)}, +0x${this.ramSize.toString(16)})`)
    }
    const offset = gpa - this.ramBase
    const pfn = this.frameOf(Math.floor(offset / PAGE_SIZE))
    return pfn >= 0 && this.memory.isTagged(pfn) ? this.memory.getTag(pfn * PAGE_SIZE + (offset % PAGE_SIZE)) : 0
  }

  private checkPage(page: number): void {
    if (!(Number.isInteger(page) && page >= 0 && page < this.pageCount)) throw new RangeError(`page ${page} is not below ${this.pageCount}`)
  }
}
