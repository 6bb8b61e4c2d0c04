// One vCPU on its own thread (a worker), as KVM runs each vCPU on the VMM thread that calls
// KVM_RUN. The thread builds its own view of the VM over the shared host memory: the same
// memslot, stage-2 tables of its own filled from a host-page table shared by every thread
// (the main thread owns the host mm and answers host faults), tags cleaned once per frame
// under the frame's init lock, and exclusives/atomics under the VM's global monitor. Exits
// the VMM must see (MMIO, system events) are requests to the main thread.

import { SmpLock, attachSmpMonitor, type Cpu } from '@tagvm/cpu'
import { TLBI_VMALLE1 } from '@tagvm/mmu'
import { ErrnoError, HostKernel, PAGE_SIZE, PhysicalMemory, type SharedMemoryHandle } from '@tagvm/tag-memory'
import type { HostAddressSpace, HostPage, HostVma } from '../host.js'
import { Hypervisor } from '../hypervisor.js'
import { decodeRegId } from '../one-reg.js'
import { mpidrForVcpu, type PsciVcpu } from '../psci.js'
import { isIdRegister } from '../sysregs.js'
import { HostClock } from '../timer/clock.js'
import { KVM_REG_ARM_PTIMER_CNT, KVM_REG_ARM_TIMER_CNT } from '../timer/one-reg.js'
import { createVmTimers, existingVmTimers, vmTimers, type HeldCounters, type VmCounterShare } from '../timer/timer.js'
import { KVM_ARM_TARGET_GENERIC_V8, KVM_ARM_VCPU_PSCI_0_2, type Vcpu } from '../vcpu.js'
import type { Vm } from '../vm.js'
import type { TlbBroadcast } from './tlb-broadcast.js'
import { Vgic, vmVgic, type VgicShare } from '../vgic/vgic.js'
import {
  SmpCommand,
  SmpPower,
  SmpRequest,
  SmpTask,
  SmpThreadState,
  GlobalWord,
  VcpuWord,
  errorArea,
  smpSignal,
  vcpuBase,
  writeCount,
  writeRegs,
} from './layout.js'
import { KVM_MEM_LOG_DIRTY_PAGES, KVM_MEM_USERFAULT } from '../memslots.js'

/** Everything a vCPU thread needs (structured-clonable: a worker's workerData). */
export interface VcpuThreadInit {
  /** This thread's vCPU (its KVM_CREATE_VCPU id and its index in the control buffer). */
  readonly index: number
  /** vCPUs in the VM. */
  readonly cpus: number
  readonly memory: SharedMemoryHandle
  /** See layout.ts. */
  readonly control: SharedArrayBuffer
  /** The global exclusive monitor's lock word (SMP_LOCK_WORDS Int32s). */
  readonly monitor: SharedArrayBuffer
  /** Int32 per RAM page: host pfn + 1 once the main thread faulted it in, else 0. */
  readonly pfns: SharedArrayBuffer
  readonly ipaBits: number
  readonly mte: boolean
  /** The RAM memslot and the VMA behind it, as the main thread's VM has them. */
  readonly ram: { readonly slot: number; readonly guestPhysAddr: number; readonly size: number; readonly hva: number; readonly mteAllowed: boolean; readonly vmaMte: boolean }
  /** Host frames this thread's stage-2 tables may use (the main thread allocated them). */
  readonly tableFrames: readonly number[]
  /** The vCPU's registers to start from (KVM_GET_ONE_REG on the main thread's vCPU). */
  readonly regs: readonly (readonly [bigint, bigint])[]
  /** The VM's vGIC in shared memory (`shareVmVgic` on the main thread), if it has one. */
  readonly vgic?: VgicShare
  /**
   * The VM's counters (`shareVmCounters` on the main thread): the thread's clock counts from
   * the main VM's clock origin and takes its offsets, so every vCPU thread reads the one
   * counter of the VM (KVM's is one per VM) however late its worker started. The counters in
   * `regs` (TIMER_CNT, PTIMER_CNT) are then not used.
   */
  readonly counters?: VmCounterShare
  /** Register areas (layout.ts createStateBuffer) a SAVE_STATE task writes to. */
  readonly state?: SharedArrayBuffer
  /** The dirty bitmap a COLLECT_DIRTY task ORs this thread's log into (Int32 words, one bit per RAM page). */
  readonly dirty?: SharedArrayBuffer
  /**
   * The VMM's userfault bitmap (post-copy: one bit per RAM page, set while the page has not
   * arrived; see KVM_MEM_USERFAULT), shared so that the thread sees each page arrive. While
   * GlobalWord.USERFAULT is 1 the thread's memslot has KVM_MEM_USERFAULT over it.
   */
  readonly userfault?: SharedArrayBuffer
}

/** The VM's counters for its vCPU threads (VcpuThreadInit.counters); undefined unless they run on a shareable host clock. */
export function shareVmCounters(vm: Vm): VmCounterShare | undefined {
  return existingVmTimers(vm)?.shareCounters()
}

/** The VM's counters as they read now (VmTimers.holdCounters), or undefined without timers. */
export function holdVmCounters(vm: Vm): HeldCounters | undefined {
  return existingVmTimers(vm)?.holdCounters()
}

/**
 * Makes the VM's counters read what they read at `held` and writes the offsets that now give
 * those values into GlobalWord.COUNTER_OFFSETS of `control`, for the threads' ADOPT_COUNTERS
 * task: the time in between is hidden from the guest, on every thread alike.
 */
export function resumeVmCounters(vm: Vm, held: HeldCounters, control: SharedArrayBuffer): void {
  const timers = existingVmTimers(vm)
  if (!timers) return
  timers.resumeCounters(held)
  const words = new Int32Array(control)
  timers.offsets.forEach((half, i) => Atomics.store(words, GlobalWord.COUNTER_OFFSETS + i, half | 0))
}

/**
 * The VMM's side of a vGIC vCPU threads share: moves the VM's vGIC state into shared memory
 * (see `Vgic.share`) and has a vCPU whose interrupt signal changes kicked through its signal
 * word. Undefined when the VM has no initialized vGIC.
 */
export function shareVmVgic(vm: Vm, control: SharedArrayBuffer): VgicShare | undefined {
  const vgic = vmVgic(vm)
  if (!vgic?.initialized) return undefined
  const words = new Int32Array(control)
  return vgic.share((v) => smpSignal(words, vcpuBase(v) + VcpuWord.SIGNAL))
}

/** Stage-2 table pages come from frames the main thread set aside (its allocator is not shared). */
class ThreadHypervisor extends Hypervisor {
  private readonly free: number[]

  constructor(kernel: HostKernel, frames: readonly number[]) {
    super({ kernel })
    this.free = [...frames]
  }

  override allocTablePage(): number {
    const pfn = this.free.pop()
    if (pfn === undefined) throw new ErrnoError('ENOMEM', 'this vCPU thread has used every stage-2 table page it was given')
    return pfn * PAGE_SIZE
  }

  override freeTablePage(pa: number): void {
    this.free.push(pa / PAGE_SIZE)
  }
}

/**
 * The VMM's RAM mapping as this thread sees it: one VMA, its pages faulted in by the main
 * thread (get_user_pages under the one mm) and published in the shared host-page table.
 */
class SharedRamSpace implements HostAddressSpace {
  private readonly vma: HostVma
  private readonly pfns: Int32Array

  constructor(
    private readonly init: VcpuThreadInit,
    private readonly askHostFault: (hva: number) => number,
  ) {
    const { ram } = init
    this.vma = { start: ram.hva, end: ram.hva + ram.size, mteAllowed: ram.mteAllowed, mte: ram.vmaMte, pfnmap: false }
    this.pfns = new Int32Array(init.pfns)
  }

  vmasIn(start: number, end: number): readonly HostVma[] {
    return start < this.vma.end && end > this.vma.start ? [this.vma] : []
  }

  faultIn(hva: number): HostPage {
    if (hva < this.vma.start || hva >= this.vma.end) throw new ErrnoError('EFAULT', `no mapping at HVA 0x${hva.toString(16)}`)
    const page = Math.floor((hva - this.vma.start) / PAGE_SIZE)
    let entry = Atomics.load(this.pfns, page)
    if (entry === 0) entry = this.askHostFault(hva - (hva % PAGE_SIZE))
    return { pfn: entry - 1, writable: true, device: false }
  }

  faultInPages(hva: number, count: number, _options: { readonly write: boolean }, pfns: { [index: number]: number; readonly length: number }, pfnsOffset = 0): number {
    for (let i = 0; i < count; i++) {
      try {
        pfns[pfnsOffset + i] = this.faultIn(hva + i * PAGE_SIZE).pfn
      } catch (error) {
        // As get_user_pages: a later page's failure ends the run short; the first one's is thrown.
        if (i === 0 || !(error instanceof ErrnoError)) throw error
        return i
      }
    }
    return count
  }

  onInvalidate(): () => void {
    // Phase 1: the main thread does not swap, migrate or unmap guest RAM while vCPU threads run.
    return () => {}
  }
}

function psciPeers(words: Int32Array, cpus: number): Vm['psciPeers'] {
  const vcpus: PsciVcpu[] = []
  for (let i = 0; i < cpus; i++) {
    const at = vcpuBase(i) + VcpuWord.POWER
    vcpus.push({ mpidr: mpidrForVcpu(i), get stopped() { return Atomics.load(words, at) === SmpPower.OFF } })
  }
  return {
    vcpus,
    cpuOn(target, entry, contextId) {
      const base = vcpuBase(target)
      Atomics.store(words, base + VcpuWord.ENTRY_LO, Number(entry & 0xffff_ffffn))
      Atomics.store(words, base + VcpuWord.ENTRY_HI, Number((entry >> 32n) & 0xffff_ffffn))
      Atomics.store(words, base + VcpuWord.CONTEXT_LO, Number(contextId & 0xffff_ffffn))
      Atomics.store(words, base + VcpuWord.CONTEXT_HI, Number((contextId >> 32n) & 0xffff_ffffn))
      Atomics.store(words, base + VcpuWord.POWER, SmpPower.ON_PENDING)
      smpSignal(words, base + VcpuWord.SIGNAL)
    },
    cpuOff(id) {
      Atomics.store(words, vcpuBase(id) + VcpuWord.POWER, SmpPower.OFF)
      smpSignal(words, GlobalWord.DOORBELL)
    },
  }
}

/**
 * TLB maintenance between vCPU threads. The issuer (after its own TLBI) bumps the VM's TLBI
 * generation, kicks every other thread and waits until each running one has caught up: a
 * thread catches up at each KVM_RUN boundary by dropping its whole stage-1 TLB (more than the
 * TLBI asked, which the architecture allows). A thread that is parked, waiting for the main
 * thread or not yet started catches up before it next runs, so the issuer need not wait for
 * it. While it waits, the issuer catches up itself: two threads broadcasting at once each
 * wait for the other.
 */
export class ThreadTlb {
  private readonly seenAt: number
  private readonly sentAt: number
  /** The vCPU's CPU, once created. */
  cpu: { tlbi?(op: number, hi: number, lo: number): void } | undefined = undefined

  constructor(
    private readonly words: Int32Array,
    private readonly index: number,
    private readonly cpus: number,
  ) {
    this.seenAt = vcpuBase(index) + VcpuWord.TLBI_SEEN
    this.sentAt = vcpuBase(index) + VcpuWord.TLBI_SENT
  }

  /** Drops this thread's stage-1 TLB if another thread broadcast a TLBI since it last looked. */
  catchUp(): void {
    const words = this.words
    const generation = Atomics.load(words, GlobalWord.TLBI_GENERATION)
    if (generation === Atomics.load(words, this.seenAt)) return
    this.cpu?.tlbi?.(TLBI_VMALLE1, 0, 0)
    Atomics.store(words, this.seenAt, generation)
    smpSignal(words, GlobalWord.TLBI_ACKED)
  }

  /** The VM's tlbBroadcast: returns once every running thread has caught up. */
  readonly broadcast: TlbBroadcast = () => {
    const words = this.words
    const generation = Atomics.add(words, GlobalWord.TLBI_GENERATION, 1) + 1
    Atomics.add(words, this.sentAt, 1)
    // This thread did its own TLBI; it has caught up unless others broadcast meanwhile.
    if (Atomics.compareExchange(words, this.seenAt, generation - 1, generation) === generation - 1) smpSignal(words, GlobalWord.TLBI_ACKED)
    for (let t = 0; t < this.cpus; t++) if (t !== this.index) smpSignal(words, vcpuBase(t) + VcpuWord.SIGNAL)
    for (let t = 0; t < this.cpus; t++) {
      if (t === this.index) continue
      const base = vcpuBase(t)
      for (;;) {
        const acked = Atomics.load(words, GlobalWord.TLBI_ACKED)
        this.catchUp()
        if (Atomics.load(words, base + VcpuWord.STATE) !== SmpThreadState.RUNNING) break
        if (((Atomics.load(words, base + VcpuWord.TLBI_SEEN) - generation) | 0) >= 0) break
        Atomics.wait(words, GlobalWord.TLBI_ACKED, acked, 1)
      }
    }
  }
}

function u64(lo: number, hi: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0)
}

/**
 * A vCPU thread's view of the VM: over the shared host memory, the RAM memslot, stage-2
 * tables of its own (from `init.tableFrames`), timers on the host clock, PSCI through the
 * shared power states. `askHostFault(hva)` gets the pfn + 1 of a host page nobody faulted in yet.
 */
export function createThreadVm(init: VcpuThreadInit, askHostFault: (hva: number) => number, tlb?: ThreadTlb): Vm {
  const memory = PhysicalMemory.attach(init.memory)
  const hv = new ThreadHypervisor(new HostKernel({ memory }), init.tableFrames)
  const vm = hv.createVm({ mm: new SharedRamSpace(init, askHostFault), ipaBits: init.ipaBits })
  createVmTimers(vm, { clock: new HostClock(init.counters ? { base: init.counters.clock } : {}) })
  if (init.mte) vm.enableMte()
  vm.setUserMemoryRegion({ slot: init.ram.slot, flags: 0, guestPhysAddr: init.ram.guestPhysAddr, memorySize: init.ram.size, userspaceAddr: init.ram.hva })
  vm.psciPeers = psciPeers(new Int32Array(init.control), init.cpus)
  // Before any vCPU exists: each one traps TLB maintenance from its creation (HCR_EL2.TTLB).
  if (tlb && init.cpus > 1) vm.tlbBroadcast = tlb.broadcast
  return vm
}

/** The longest sleep of a vCPU blocked in WFI before it looks again. */
const MAX_WFI_SLEEP_MS = 20

/**
 * How long a vCPU blocked in WFI sleeps, given the milliseconds to its earliest timer deadline
 * (HostClock.idle; Infinity without a timer): to the deadline, at most MAX_WFI_SLEEP_MS. A
 * deadline already passed that did not wake the vCPU (its timer's interrupt held back in the
 * GIC: disabled, masked by priority, or active) is no reason to spin: it sleeps as long as
 * without a timer. (Vcpu.waitDeadline leaves such a timer out now; this stays as a guard.)
 * A fixed 20 ms sleep woke an idle guest CPU up to 19 ms after its timer was due (a 1 ms
 * nanosleep took 20).
 */
export function wfiSleepMs(msToDeadline: number): number {
  return msToDeadline > 0 ? Math.min(msToDeadline, MAX_WFI_SLEEP_MS) : MAX_WFI_SLEEP_MS
}

/**
 * Instructions per KVM_RUN: a thread looks at other threads' TLB maintenance (and later
 * kicks) between runs, so this bounds how long a broadcast TLBI waits for a running vCPU.
 */
const DEFAULT_SLICE = 20_000

/**
 * The body of a vCPU thread: builds the thread's VM view, then serves the main thread's
 * commands until QUIT. Never throws: a failure is reported as an ERROR request.
 */
export function runVcpuThread(init: VcpuThreadInit): void {
  const words = new Int32Array(init.control)
  const base = vcpuBase(init.index)
  const at = (word: number) => base + word
  /** Posts a request and sleeps until the main thread has replied; returns VcpuWord.REPLY. */
  const tlb = new ThreadTlb(words, init.index, init.cpus)
  const request = (kind: number): number => {
    Atomics.store(words, at(VcpuWord.REPLY), 0)
    const seen = Atomics.load(words, at(VcpuWord.SIGNAL))
    Atomics.store(words, at(VcpuWord.REQUEST), kind)
    Atomics.store(words, at(VcpuWord.STATE), SmpThreadState.REQUEST)
    smpSignal(words, GlobalWord.DOORBELL)
    let s = seen
    while (Atomics.load(words, at(VcpuWord.REQUEST)) !== SmpRequest.NONE) {
      Atomics.wait(words, at(VcpuWord.SIGNAL), s)
      s = Atomics.load(words, at(VcpuWord.SIGNAL))
    }
    Atomics.store(words, at(VcpuWord.STATE), SmpThreadState.RUNNING)
    // Another thread's TLBI did not wait for this one while it waited for the main thread.
    tlb.catchUp()
    return Atomics.load(words, at(VcpuWord.REPLY))
  }
  try {
    const vm = createThreadVm(init, (hva) => {
      Atomics.store(words, at(VcpuWord.ADDR_LO), hva >>> 0)
      Atomics.store(words, at(VcpuWord.ADDR_HI), Math.floor(hva / 2 ** 32))
      return request(SmpRequest.HOST_FAULT)
    }, tlb)
    let vcpu: Vcpu
    if (init.vgic) {
      // The vGIC names vCPUs by their index in the VM: this thread's VM has all of them (only
      // its own ever runs), and a view of the VM's vGIC over the shared state.
      for (let i = 0; i < init.cpus; i++) vm.createVcpu(i)
      vcpu = vm.vcpus[init.index]!
      Vgic.attachShared(vm, init.vgic, init.index, (v) => smpSignal(words, vcpuBase(v) + VcpuWord.SIGNAL))
    } else {
      vcpu = vm.createVcpu(init.index)
    }
    tlb.cpu = vcpu.cpu
    attachSmpMonitor(vcpu.cpu as Cpu, new SmpLock(new Int32Array(init.monitor)))
    vcpu.init({ target: KVM_ARM_TARGET_GENERIC_V8, features: 1 << KVM_ARM_VCPU_PSCI_0_2 })
    for (const [id, value] of init.regs) {
      // The ID registers are the hypervisor's to set (ID_AA64PFR0_EL1.GIC follows the vGIC).
      const reg = decodeRegId(id)
      if (reg?.kind === 'sysreg' && isIdRegister(reg.key)) continue
      if (init.counters && (id === KVM_REG_ARM_TIMER_CNT || id === KVM_REG_ARM_PTIMER_CNT)) continue
      vcpu.setOneReg(id, value)
    }
    if (init.counters) vmTimers(vm).adoptCounters(init.counters.offsets)
    serve(vcpu, vm, words, at, request, tlb, init)
  } catch (error) {
    const text = new TextEncoder().encode(error instanceof Error ? `${error.name}: ${error.message}` : String(error))
    const area = errorArea(init.control, init.cpus, init.index)
    area.fill(0)
    area.set(text.subarray(0, area.length - 1))
    Atomics.store(words, at(VcpuWord.STATE), SmpThreadState.FAILED)
    Atomics.store(words, at(VcpuWord.REQUEST), SmpRequest.ERROR)
    smpSignal(words, GlobalWord.DOORBELL)
  }
}

function serve(vcpu: Vcpu, vm: Vm, words: Int32Array, at: (w: number) => number, request: (kind: number) => number, tlb: ThreadTlb, init: VcpuThreadInit): void {
  let started = false
  /** The thread's RAM memslot flags (KVM_MEM_LOG_DIRTY_PAGES, KVM_MEM_USERFAULT), as the VMM last asked. */
  let slotFlags = 0
  const userfaultBitmap = init.userfault ? new Uint8Array(init.userfault) : undefined
  const vgic = vmVgic(vm)
  const cpu = vcpu.cpu as Cpu
  const clock = vmTimers(vm).clock
  for (;;) {
    const seen = Atomics.load(words, at(VcpuWord.SIGNAL))
    const command = Atomics.load(words, at(VcpuWord.COMMAND))
    if (command === SmpCommand.QUIT) {
      Atomics.store(words, at(VcpuWord.STATE), SmpThreadState.QUIT)
      smpSignal(words, GlobalWord.DOORBELL)
      return
    }
    const power = Atomics.load(words, at(VcpuWord.POWER))
    if (power === SmpPower.ON_PENDING) {
      vcpu.psciCpuOn(u64(Atomics.load(words, at(VcpuWord.ENTRY_LO)), Atomics.load(words, at(VcpuWord.ENTRY_HI))), u64(Atomics.load(words, at(VcpuWord.CONTEXT_LO)), Atomics.load(words, at(VcpuWord.CONTEXT_HI))))
      Atomics.store(words, at(VcpuWord.POWER), SmpPower.ON)
      continue
    }
    if (command !== SmpCommand.RUN || power === SmpPower.OFF) {
      const task = Atomics.load(words, at(VcpuWord.TASK))
      if (task !== SmpTask.NONE) {
        doTask(task, vcpu, vm, words, at, init)
        Atomics.store(words, at(VcpuWord.TASK), SmpTask.NONE)
        smpSignal(words, GlobalWord.DOORBELL)
        continue
      }
      Atomics.store(words, at(VcpuWord.STATE), SmpThreadState.PARKED)
      smpSignal(words, GlobalWord.DOORBELL)
      Atomics.wait(words, at(VcpuWord.SIGNAL), seen)
      continue
    }
    Atomics.store(words, at(VcpuWord.STATE), SmpThreadState.RUNNING)
    if (!started) {
      started = true
      const delay = Atomics.load(words, at(VcpuWord.START_DELAY))
      if (delay > 0) Atomics.wait(words, at(VcpuWord.COMMAND), SmpCommand.RUN, delay)
    }
    // The VMM turned dirty logging on or off, or the last missing page arrived (post-copy),
    // while every thread was parked.
    const wantFlags = (Atomics.load(words, GlobalWord.DIRTY_LOG) === 1 ? KVM_MEM_LOG_DIRTY_PAGES : 0) | (userfaultBitmap && Atomics.load(words, GlobalWord.USERFAULT) === 1 ? KVM_MEM_USERFAULT : 0)
    if (wantFlags !== slotFlags) {
      slotFlags = wantFlags
      const { ram } = init
      vm.setUserMemoryRegion({ slot: ram.slot, flags: slotFlags, guestPhysAddr: ram.guestPhysAddr, memorySize: ram.size, userspaceAddr: ram.hva, ...(slotFlags & KVM_MEM_USERFAULT ? { userfaultBitmap } : {}) })
    }
    // After STATE = RUNNING: a TLBI broadcast from now on waits for this thread.
    tlb.catchUp()
    // The interrupt signal other threads (SGIs) or the VMM (KVM_IRQ_LINE) left for this vCPU.
    if (vgic) vcpu.cpu.setInterruptLines(Atomics.load(vgic.signals, vcpu.index))
    // A command, an SGI, a TLBI or a CPU_ON for this vCPU (anything that bumps its signal
    // word) ends the run within a block, not a slice.
    cpu.kick.watch(words, at(VcpuWord.SIGNAL), seen)
    const exit = vcpu.run(Atomics.load(words, at(VcpuWord.SLICE)) || DEFAULT_SLICE)
    cpu.kick.watch(null)
    publish(vcpu, vm, words, at)
    switch (exit.kind) {
      case 'intr': {
        // Blocked in WFI (undefined: not blocked; 0: an interrupt is already pending, which
        // the next run takes): sleep until kicked (an SGI, an SPI, a command) or its timer is due.
        const deadline = vcpu.waitDeadline
        if (deadline !== undefined) Atomics.add(words, at(VcpuWord.WFI_LOOKS), 1)
        if (deadline !== undefined && deadline !== 0) Atomics.wait(words, at(VcpuWord.SIGNAL), seen, wfiSleepMs(clock.idle(deadline)))
        break
      }
      case 'mmio':
        Atomics.store(words, at(VcpuWord.ADDR_LO), exit.addr >>> 0)
        Atomics.store(words, at(VcpuWord.ADDR_HI), Math.floor(exit.addr / 2 ** 32))
        Atomics.store(words, at(VcpuWord.SIZE), exit.size)
        Atomics.store(words, at(VcpuWord.WRITE), exit.write ? 1 : 0)
        if (exit.write) {
          const padded = new Uint8Array(8)
          padded.set(exit.data)
          const view = new DataView(padded.buffer)
          Atomics.store(words, at(VcpuWord.DATA_LO), view.getUint32(0, true))
          Atomics.store(words, at(VcpuWord.DATA_HI), view.getUint32(4, true))
        }
        request(SmpRequest.MMIO)
        if (!exit.write) {
          const padded = new Uint8Array(8)
          const view = new DataView(padded.buffer)
          view.setUint32(0, Atomics.load(words, at(VcpuWord.DATA_LO)), true)
          view.setUint32(4, Atomics.load(words, at(VcpuWord.DATA_HI)), true)
          exit.data.set(padded.subarray(0, exit.data.length))
        }
        break
      case 'system-event':
        Atomics.store(words, at(VcpuWord.EVENT), exit.type)
        request(SmpRequest.SYSTEM_EVENT)
        break
      case 'memory-fault':
        // Post-copy: the main thread answers once the page (with its tags) is in; the next
        // KVM_RUN retries the access.
        Atomics.store(words, at(VcpuWord.ADDR_LO), exit.gpa >>> 0)
        Atomics.store(words, at(VcpuWord.ADDR_HI), Math.floor(exit.gpa / 2 ** 32))
        request(SmpRequest.MISSING_PAGE)
        break
      default:
        throw new Error(`vCPU ${vcpu.id}: KVM_RUN exit ${exit.kind} is not handled on vCPU threads yet`)
    }
  }
}

/** A parked thread's task (SmpTask): the vCPU is at an instruction boundary, every other one parked. */
function doTask(task: number, vcpu: Vcpu, vm: Vm, words: Int32Array, at: (w: number) => number, init: VcpuThreadInit): void {
  if (task === SmpTask.ADOPT_COUNTERS) {
    vmTimers(vm).adoptCounters(Array.from({ length: 4 }, (_, i) => Atomics.load(words, GlobalWord.COUNTER_OFFSETS + i) >>> 0))
    return
  }
  if (task === SmpTask.SAVE_STATE) {
    if (!init.state) throw new Error('SAVE_STATE without a state buffer')
    // As a VMM before it saves: KVM_RUN with immediate_exit completes an answered MMIO read.
    vcpu.immediateExit = true
    try {
      vcpu.run(0)
    } catch (error) {
      if (!(error instanceof ErrnoError && error.code === 'EINTR')) throw error
    } finally {
      vcpu.immediateExit = false
    }
    publish(vcpu, vm, words, at)
    const regs = vcpu.regList().map((id) => [id, vcpu.getOneReg(id)] as const)
    Atomics.store(words, at(VcpuWord.SAVED_REGS), writeRegs(init.state, init.index, regs))
    return
  }
  if (task === SmpTask.COLLECT_DIRTY) {
    if (!init.dirty) throw new Error('COLLECT_DIRTY without a dirty bitmap')
    const slot = vm.memslots.get(init.ram.slot)
    if (!slot?.dirtyLogging) return
    // KVM_GET_DIRTY_LOG: this thread's bits, its stage 2 write-protected again for the next round.
    const log = new Int32Array(vm.getDirtyLog(init.ram.slot).buffer)
    const shared = new Int32Array(init.dirty)
    for (let i = 0; i < log.length && i < shared.length; i++) if (log[i] !== 0) Atomics.or(shared, i, log[i]!)
    return
  }
  throw new Error(`unknown parked-thread task ${task}`)
}

function publish(vcpu: Vcpu, vm: Vm, words: Int32Array, at: (w: number) => number): void {
  const s = vm.stats
  Atomics.store(words, at(VcpuWord.TAG_PAGES_CLEANED), s.tagPagesCleaned)
  Atomics.store(words, at(VcpuWord.STAGE2_FAULTS), s.stage2Faults)
  Atomics.store(words, at(VcpuWord.PAGES_MAPPED), s.pagesMapped)
  Atomics.store(words, at(VcpuWord.MMIO_EXITS), s.mmioExits)
  writeCount(words, at(VcpuWord.RETIRED_LO), vcpu.cpu.retired)
}
