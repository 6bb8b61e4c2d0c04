// The VMM side of vCPUs on threads: starts one vCPU thread per vCPU over the machine's shared
// host memory, then serves their requests (host page faults, MMIO, system events) from the
// main thread until the run ends. See README.md in this directory for the design.
import {
  GlobalWord,
  VcpuWord,
  KVM_MP_STATE_STOPPED,
  SMP_LOCK_WORDS,
  SmpCommand,
  SmpPower,
  SmpRequest,
  SmpThreadState,
  SmpTask,
  PAGE_SIZE,
  createControlBuffer,
  createStateBuffer,
  readRegs,
  errorArea,
  readCount,
  holdVmCounters,
  resumeVmCounters,
  shareVmCounters,
  shareVmVgic,
  smpSignal,
  vcpuBase,
  type Kvm,
  type VcpuFd,
  type VcpuThreadInit,
  type HeldCounters,
  type VmFd,
} from '@tagvm/vmm-api'
import type { RamRegion } from '../memory/guest-memory.js'

/** A started vCPU thread, as the host made it (a Node worker, a Web Worker). */
export interface VcpuThreadHandle {
  /** Ends the thread (after QUIT it has returned; this frees it). */
  terminate(): unknown
}

/**
 * Starts a thread that calls `runVcpuThread(init)` from `@tagvm/vmm-api` (see
 * `vcpuThreadBootSource` for a Node worker's boot code). The machine owns no thread API:
 * the host gives it this function.
 */
export type VcpuThreadSpawner = (init: VcpuThreadInit) => VcpuThreadHandle

/** How a machine with several vCPUs runs them. */
export interface SmpThreadOptions {
  readonly spawn: VcpuThreadSpawner
  /** Milliseconds each vCPU thread waits before its first instruction (randomised tests); default 0. */
  readonly startDelays?: readonly number[]
  /** Instructions per KVM_RUN on a thread (default 20,000): how often it looks at its commands, kicks and other threads' TLBIs. */
  readonly slice?: number
}

/** Counters summed over every vCPU thread's view of the VM (VmStats). */
export interface SmpStats {
  /** Frames whose tags a stage-2 fault cleaned (sanitise_mte_tags winners), over all threads. */
  readonly tagPagesCleaned: number
  readonly stage2Faults: number
  readonly pagesMapped: number
  readonly mmioExits: number
  /** Host pages the main thread faulted in for the threads. */
  readonly hostFaults: number
  /** Instructions retired per vCPU. */
  readonly retired: readonly number[]
  /** TLB maintenance instructions a vCPU thread broadcast to the other threads. */
  readonly tlbiBroadcasts: number
  /** Per vCPU: KVM_RUNs that found it still blocked in WFI (its thread looked, then slept again). */
  readonly wfiLooks: readonly number[]
}

/** What a run on threads ended with. */
export type ThreadRunEnd =
  | { readonly kind: 'budget' }
  | { readonly kind: 'system-event'; readonly type: number }
  | { readonly kind: 'error'; readonly message: string }
  /** A vCPU touched a page that has not arrived (post-copy); it waits in its request until the page is in and the next run. */
  | { readonly kind: 'missing-page'; readonly gpa: number }

/** What the threads ask the machine to do. */
export interface ThreadMachineSide {
  readonly kvm: Kvm
  readonly vm: VmFd
  readonly vcpus: readonly VcpuFd[]
  readonly ram: RamRegion
  readonly mte: boolean
  /**
   * The RAM memslot's userfault bitmap on a SharedArrayBuffer (post-copy: one bit per page,
   * set while the page is missing), when pages are missing as the threads start. The threads
   * read it: a page that arrives is cleared there and the waiting vCPU goes on.
   */
  readonly userfault?: Uint8Array
  /** Whether the page holding `gpa` is still missing (post-copy). */
  isMissing(gpa: number): boolean
  /** An MMIO access from a thread: `data` written, or to fill for a read. */
  mmio(addr: number, write: boolean, data: Uint8Array): void
  /** Called while the main thread waits (flush the console). */
  idle(): void
}

/** One vCPU's state as a parked thread handed it back. */
export interface ThreadVcpuState {
  /** Every ONE_REG (KVM_GET_REG_LIST order): registers, system registers, FP/SIMD, timers. */
  readonly regs: readonly (readonly [bigint, bigint])[]
  /** PSCI CPU_OFF (KVM_MP_STATE_STOPPED). */
  readonly stopped: boolean
}

/** The longest the main thread sleeps before it looks at the budget and the console. */
const MAIN_WAIT_MS = 20
/** Spare stage-2 table pages per thread beyond one per 2 MiB of RAM (root and upper levels). */
const SPARE_TABLE_PAGES = 16

/**
 * The vCPU threads of one machine. Created on the first run; between runs they are parked
 * (each sleeps on its signal word, its vCPU state kept in its thread).
 */
export class VcpuThreads {
  private readonly words: Int32Array
  private readonly control: SharedArrayBuffer
  private readonly pfns: Int32Array
  private readonly state: SharedArrayBuffer
  private readonly dirty: SharedArrayBuffer
  private readonly handles: VcpuThreadHandle[] = []
  private hostFaults = 0
  private closed = false
  /** The guest's counters as the threads were spawned, taken up again once they have all loaded (startCounters). */
  private heldCounters: HeldCounters | undefined
  /** Whether the threads see the VMM's userfault bitmap (post-copy pages missing as they started). */
  readonly userfault: boolean

  constructor(
    private readonly side: ThreadMachineSide,
    options: SmpThreadOptions,
  ) {
    const cpus = side.vcpus.length
    // The threads count from the main VM's clock (undefined: a clock they cannot share, and
    // then they set their counters from the registers, with no hold to take up again).
    const counters = shareVmCounters(side.vm.vm)
    this.heldCounters = counters && holdVmCounters(side.vm.vm)
    this.control = createControlBuffer(cpus)
    this.words = new Int32Array(this.control)
    const pfnBuffer = new SharedArrayBuffer((side.ram.size / PAGE_SIZE) * 4)
    this.pfns = new Int32Array(pfnBuffer)
    this.state = createStateBuffer(cpus)
    // One bit per RAM page, in 64-bit words as KVM_GET_DIRTY_LOG's bitmap.
    this.dirty = new SharedArrayBuffer(Math.ceil(side.ram.size / PAGE_SIZE / 64) * 8)
    const monitor = new SharedArrayBuffer(SMP_LOCK_WORDS * 4)
    const memory = side.kvm.kernel.memory.share()
    const vma = side.kvm.process.findVma(side.ram.hva)
    if (!vma) throw new Error(`no VMA behind guest RAM at HVA 0x${side.ram.hva.toString(16)}`)
    const tablePages = Math.ceil(side.ram.size / (2 * 2 ** 20)) + SPARE_TABLE_PAGES
    // The vGIC's state moves into shared memory: each thread runs its vCPU's CPU interface
    // and the GIC's MMIO in-kernel, SGIs go between threads, KVM_IRQ_LINE kicks the target.
    const vgic = shareVmVgic(side.vm.vm, this.control)
    const userfault = side.userfault?.buffer
    if (userfault !== undefined && !(userfault instanceof SharedArrayBuffer)) throw new TypeError('the userfault bitmap vCPU threads read must be on a SharedArrayBuffer')
    this.userfault = userfault !== undefined
    for (let i = 0; i < cpus; i++) {
      const vcpu = side.vcpus[i]!
      const base = vcpuBase(i)
      Atomics.store(this.words, base + VcpuWord.POWER, vcpu.getMpState() === KVM_MP_STATE_STOPPED ? SmpPower.OFF : SmpPower.ON)
      Atomics.store(this.words, base + VcpuWord.START_DELAY, Math.max(0, Math.round(options.startDelays?.[i] ?? 0)))
      Atomics.store(this.words, base + VcpuWord.SLICE, options.slice ?? 0)
      Atomics.store(this.words, base + VcpuWord.COMMAND, SmpCommand.PARK)
      const init: VcpuThreadInit = {
        index: i,
        cpus,
        memory,
        control: this.control,
        monitor,
        pfns: pfnBuffer,
        ipaBits: side.vm.vm.ipaBits,
        mte: side.mte,
        ram: { slot: side.ram.slot, guestPhysAddr: side.ram.base, size: side.ram.size, hva: side.ram.hva, mteAllowed: vma.mteAllowed, vmaMte: vma.mte },
        tableFrames: Array.from({ length: tablePages }, () => side.kvm.kernel.allocFrame()),
        regs: vcpu.getRegList().map((id) => [id, vcpu.getOneReg(id)] as const),
        counters,
        state: this.state,
        dirty: this.dirty,
        ...(vgic ? { vgic } : {}),
        ...(userfault ? { userfault } : {}),
      }
      this.handles.push(options.spawn(init))
    }
  }

  /** Every thread's counters, summed (and the instructions each vCPU retired). */
  stats(): SmpStats {
    let tagPagesCleaned = 0
    let stage2Faults = 0
    let pagesMapped = 0
    let mmioExits = 0
    let tlbiBroadcasts = 0
    const retired: number[] = []
    const wfiLooks: number[] = []
    for (let i = 0; i < this.side.vcpus.length; i++) {
      const base = vcpuBase(i)
      tagPagesCleaned += Atomics.load(this.words, base + VcpuWord.TAG_PAGES_CLEANED)
      stage2Faults += Atomics.load(this.words, base + VcpuWord.STAGE2_FAULTS)
      pagesMapped += Atomics.load(this.words, base + VcpuWord.PAGES_MAPPED)
      mmioExits += Atomics.load(this.words, base + VcpuWord.MMIO_EXITS)
      tlbiBroadcasts += Atomics.load(this.words, base + VcpuWord.TLBI_SENT)
      retired.push(readCount(this.words, base + VcpuWord.RETIRED_LO))
      wfiLooks.push(Atomics.load(this.words, base + VcpuWord.WFI_LOOKS))
    }
    return { tagPagesCleaned, stage2Faults, pagesMapped, mmioExits, hostFaults: this.hostFaults, retired, tlbiBroadcasts, wfiLooks }
  }

  /** Instructions retired by every vCPU together. */
  retired(): number {
    return this.stats().retired.reduce((a, b) => a + b, 0)
  }

  /**
   * Runs every vCPU on its thread until `budget` instructions (all vCPUs together, checked
   * every MAIN_WAIT_MS or request, so a run may overshoot by a slice per vCPU), a system
   * event, or a failure; then parks every thread at a KVM_RUN boundary.
   */
  run(budget: number): ThreadRunEnd {
    if (this.closed) return { kind: 'error', message: 'the vCPU threads were shut down' }
    const start = this.retired()
    // Dirty logging and userfault follow the main VM's RAM memslot (the threads were parked when it changed).
    const slot = this.ramSlot()
    Atomics.store(this.words, GlobalWord.DIRTY_LOG, slot?.dirtyLogging ? 1 : 0)
    Atomics.store(this.words, GlobalWord.USERFAULT, slot?.userfaultBitmap ? 1 : 0)
    if (this.heldCounters) this.startCounters(this.heldCounters)
    this.command(SmpCommand.RUN)
    let end: ThreadRunEnd | undefined
    while (!end) {
      const seen = Atomics.load(this.words, GlobalWord.DOORBELL)
      end = this.serveRequests()
      if (end) break
      if (this.retired() - start >= budget) end = { kind: 'budget' }
      else if (this.allOff()) end = { kind: 'error', message: 'every vCPU is powered off (PSCI CPU_OFF) and nothing can wake them' }
      else {
        this.side.idle()
        Atomics.wait(this.words, GlobalWord.DOORBELL, seen, MAIN_WAIT_MS)
      }
    }
    this.park()
    this.collectDirty()
    return end
  }

  /**
   * Every vCPU's state, read by its parked thread at the instruction boundary where it stopped
   * (pending MMIO completed first, as KVM_RUN with immediate_exit). The threads keep their
   * state and run on from there. Throws when a thread is held in a system event or failed.
   */
  saveStates(): ThreadVcpuState[] {
    if (this.closed) throw new Error('the vCPU threads were shut down')
    this.runTasks(SmpTask.SAVE_STATE)
    return this.side.vcpus.map((_, i) => {
      const base = vcpuBase(i)
      return { regs: readRegs(this.state, i, Atomics.load(this.words, base + VcpuWord.SAVED_REGS)), stopped: Atomics.load(this.words, base + VcpuWord.POWER) === SmpPower.OFF }
    })
  }

  /** Which vCPUs are powered off (PSCI CPU_OFF), as the threads left them. */
  powerOff(): boolean[] {
    return this.side.vcpus.map((_, i) => Atomics.load(this.words, vcpuBase(i) + VcpuWord.POWER) === SmpPower.OFF)
  }

  /** The main VM's RAM memslot (undefined once deleted). */
  private ramSlot(): { readonly dirtyLogging: boolean; readonly userfaultBitmap: Uint8Array | null; markDirty(gfn: number): void; readonly baseGfn: number } | undefined {
    return this.side.vm.vm.memslots.get(this.side.ram.slot)
  }

  /** With dirty logging on, the pages the threads wrote go into the main VM's log (each thread's stage 2 is write-protected again). */
  private collectDirty(): void {
    const slot = this.ramSlot()
    if (!slot?.dirtyLogging || this.closed) return
    this.runTasks(SmpTask.COLLECT_DIRTY)
    const bits = new Int32Array(this.dirty)
    for (let w = 0; w < bits.length; w++) {
      const word = Atomics.exchange(bits, w, 0)
      if (word === 0) continue
      for (let b = 0; b < 32; b++) if (word & (1 << b)) slot.markDirty(slot.baseGfn + w * 32 + b)
    }
  }

  /** Gives every parked thread `task` and waits until each has done it. */
  private runTasks(task: number): void {
    const cpus = this.side.vcpus.length
    for (let i = 0; i < cpus; i++) {
      const base = vcpuBase(i)
      const state = Atomics.load(this.words, base + VcpuWord.STATE)
      if (state !== SmpThreadState.PARKED) {
        const request = Atomics.load(this.words, base + VcpuWord.REQUEST)
        const why =
          state === SmpThreadState.REQUEST
            ? request === SmpRequest.MISSING_PAGE
              ? 'waiting for a page that has not arrived (post-copy)'
              : 'held in a system event (the guest powered off or reset)'
            : state === SmpThreadState.FAILED
              ? 'failed'
              : `in state ${state}`
        throw new Error(`vCPU ${i}'s thread is ${why}: its state cannot be read`)
      }
    }
    for (let i = 0; i < cpus; i++) {
      const base = vcpuBase(i)
      Atomics.store(this.words, base + VcpuWord.TASK, task)
      smpSignal(this.words, base + VcpuWord.SIGNAL)
    }
    for (;;) {
      const seen = Atomics.load(this.words, GlobalWord.DOORBELL)
      const end = this.serveRequests(true)
      if (end?.kind === 'error') throw new Error(end.message)
      let done = true
      for (let i = 0; i < cpus; i++) if (Atomics.load(this.words, vcpuBase(i) + VcpuWord.TASK) !== SmpTask.NONE) done = false
      if (done) return
      Atomics.wait(this.words, GlobalWord.DOORBELL, seen, MAIN_WAIT_MS)
    }
  }

  /** Stops every thread and frees them; the machine cannot run on threads afterwards. */
  close(): void {
    if (this.closed) return
    this.closed = true
    this.command(SmpCommand.QUIT)
    for (const handle of this.handles) void handle.terminate()
  }

  private command(command: number): void {
    for (let i = 0; i < this.side.vcpus.length; i++) {
      const base = vcpuBase(i)
      Atomics.store(this.words, base + VcpuWord.COMMAND, command)
      smpSignal(this.words, base + VcpuWord.SIGNAL)
    }
  }

  private allOff(): boolean {
    for (let i = 0; i < this.side.vcpus.length; i++) if (Atomics.load(this.words, vcpuBase(i) + VcpuWord.POWER) !== SmpPower.OFF) return false
    return true
  }

  /**
   * Before the first run: waits until every thread has loaded and parked, then has the guest's
   * counters read again what they read when the threads were spawned, on every thread alike.
   * The time the workers took to load (seconds on a busy host, more from TypeScript sources)
   * is not the guest's, as QEMU stops a VM's virtual time while it is stopped. A guest that
   * saw it lost it at once at every start, restore and migration: with 4 vCPUs at load 20,
   * Linux's soft-lockup watchdog reported a CPU "stuck" in idle for 65 s after a migration.
   */
  private startCounters(held: HeldCounters): void {
    this.heldCounters = undefined
    this.park()
    // A thread that failed to load: the run reports it.
    for (let i = 0; i < this.side.vcpus.length; i++) if (Atomics.load(this.words, vcpuBase(i) + VcpuWord.STATE) !== SmpThreadState.PARKED) return
    resumeVmCounters(this.side.vm.vm, held, this.control)
    this.runTasks(SmpTask.ADOPT_COUNTERS)
  }

  /** Asks every thread to stop after its current KVM_RUN and waits until each is parked (answering requests meanwhile). */
  private park(): void {
    this.command(SmpCommand.PARK)
    for (;;) {
      const seen = Atomics.load(this.words, GlobalWord.DOORBELL)
      // A system event or error that comes while parking is left for the next run.
      this.serveRequests(true)
      let parked = true
      for (let i = 0; i < this.side.vcpus.length; i++) {
        const state = Atomics.load(this.words, vcpuBase(i) + VcpuWord.STATE)
        const request = Atomics.load(this.words, vcpuBase(i) + VcpuWord.REQUEST)
        // A thread held in a system event or a failure stops too.
        const held = state === SmpThreadState.REQUEST && (request === SmpRequest.SYSTEM_EVENT || request === SmpRequest.ERROR || request === SmpRequest.MISSING_PAGE)
        if (!held && state !== SmpThreadState.PARKED && state !== SmpThreadState.FAILED && state !== SmpThreadState.QUIT) parked = false
        // A CPU_ON another vCPU made just before it parked: the target takes it first.
        if (Atomics.load(this.words, vcpuBase(i) + VcpuWord.POWER) === SmpPower.ON_PENDING && state === SmpThreadState.PARKED) parked = false
      }
      if (parked) return
      Atomics.wait(this.words, GlobalWord.DOORBELL, seen, MAIN_WAIT_MS)
    }
  }

  /** Answers every outstanding request; a system event or a failed thread ends the run. */
  private serveRequests(parking = false): ThreadRunEnd | undefined {
    let end: ThreadRunEnd | undefined
    for (let i = 0; i < this.side.vcpus.length; i++) {
      const base = vcpuBase(i)
      const kind = Atomics.load(this.words, base + VcpuWord.REQUEST)
      if (kind === SmpRequest.NONE) continue
      switch (kind) {
        case SmpRequest.HOST_FAULT:
          Atomics.store(this.words, base + VcpuWord.REPLY, this.hostFault(this.address(base)))
          break
        case SmpRequest.MMIO:
          this.mmio(base)
          break
        case SmpRequest.MISSING_PAGE: {
          // The page came meanwhile (or before this run): the vCPU retries the access. Else
          // the run ends there and the thread waits, held, until a later run finds it in.
          const gpa = this.address(base)
          if (this.side.isMissing(gpa)) {
            if (!parking) end ??= { kind: 'missing-page', gpa }
            continue
          }
          break
        }
        case SmpRequest.SYSTEM_EVENT:
          if (parking) continue
          end ??= { kind: 'system-event', type: Atomics.load(this.words, base + VcpuWord.EVENT) }
          // The thread stays in its request until the next run: it must not go on after a
          // shutdown, as the vCPUs KVM powered off do not.
          continue
        case SmpRequest.ERROR: {
          const area = errorArea(this.control, this.side.vcpus.length, i)
          const text = new TextDecoder().decode(area.subarray(0, area.indexOf(0) < 0 ? area.length : area.indexOf(0)))
          end ??= { kind: 'error', message: `vCPU ${i} thread: ${text}` }
          continue
        }
      }
      Atomics.store(this.words, base + VcpuWord.REQUEST, SmpRequest.NONE)
      smpSignal(this.words, base + VcpuWord.SIGNAL)
    }
    return end
  }

  private address(base: number): number {
    return (Atomics.load(this.words, base + VcpuWord.ADDR_HI) >>> 0) * 2 ** 32 + (Atomics.load(this.words, base + VcpuWord.ADDR_LO) >>> 0)
  }

  /** get_user_pages for a thread: the one host mm faults the page in (writable); the shared table gets its pfn. */
  private hostFault(hva: number): number {
    const page = (hva - this.side.ram.hva) / PAGE_SIZE
    const known = Atomics.load(this.pfns, page)
    if (known !== 0) return known
    const result = this.side.kvm.process.faultIn(hva, { write: true })
    this.hostFaults++
    Atomics.store(this.pfns, page, result.pfn + 1)
    return result.pfn + 1
  }

  private mmio(base: number): void {
    const size = Atomics.load(this.words, base + VcpuWord.SIZE)
    const write = Atomics.load(this.words, base + VcpuWord.WRITE) === 1
    const bytes = new Uint8Array(8)
    const view = new DataView(bytes.buffer)
    if (write) {
      view.setUint32(0, Atomics.load(this.words, base + VcpuWord.DATA_LO), true)
      view.setUint32(4, Atomics.load(this.words, base + VcpuWord.DATA_HI), true)
    }
    this.side.mmio(this.address(base), write, bytes.subarray(0, size))
    if (!write) {
      Atomics.store(this.words, base + VcpuWord.DATA_LO, view.getUint32(0, true))
      Atomics.store(this.words, base + VcpuWord.DATA_HI, view.getUint32(4, true))
    }
  }
}

/**
 * Boot code for a Node worker_threads worker (`new Worker(source, { eval: true, workerData:
 * init })`) that runs one vCPU thread from the module at `entry` (a URL of a module that
 * exports runVcpuThread, such as `@tagvm/vmm-api`'s entry). With `tsx`, TypeScript sources load too.
 */
export function vcpuThreadBootSource(entry: string, options: { tsx?: boolean } = {}): string {
  const load = `import(${JSON.stringify(entry)}).then((m) => m.runVcpuThread(workerData))`
  const body = options.tsx ? `import('tsx/esm/api').then((tsx) => { tsx.register(); return ${load} })` : load
  return `import { workerData } from 'node:worker_threads'; ${body}.catch(${bootFailureReport()})`
}

/**
 * Source of a function that reports a thread whose code could not be loaded (a wrong entry, a
 * missing build) as runVcpuThread reports its own failures: the message in the thread's error
 * area, state FAILED, an ERROR request. Without it the main thread, blocked in Atomics.wait,
 * never hears of the worker's death and waits for it forever. The layout's numbers are baked
 * in: the code that knows them is what failed to load.
 */
function bootFailureReport(): string {
  const globalWords = vcpuBase(0)
  const blockWords = vcpuBase(1) - globalWords
  const errorBytes = errorArea(createControlBuffer(1), 1, 0).length
  return `(error) => {
    const words = new Int32Array(workerData.control)
    const base = ${globalWords} + workerData.index * ${blockWords}
    const area = new Uint8Array(workerData.control, (${globalWords} + workerData.cpus * ${blockWords}) * 4 + workerData.index * ${errorBytes}, ${errorBytes})
    const text = 'could not load the vCPU thread code: ' + (error instanceof Error ? error.message : String(error))
    area.fill(0)
    area.set(new TextEncoder().encode(text).subarray(0, ${errorBytes - 1}))
    Atomics.store(words, base + ${VcpuWord.STATE}, ${SmpThreadState.FAILED})
    Atomics.store(words, base + ${VcpuWord.REQUEST}, ${SmpRequest.ERROR})
    Atomics.add(words, ${GlobalWord.DOORBELL}, 1)
    Atomics.notify(words, ${GlobalWord.DOORBELL})
  }`
}

