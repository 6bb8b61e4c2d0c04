import { MmioBus, Pl011, Pl031, isDeviceStateError, type DeviceState } from '@tagvm/devices'
import {
  HostClock,
  InstructionClock,
  KVM_ARM_IRQ_TYPE_SPI,
  KVM_DEV_ARM_VGIC_CTRL_INIT,
  KVM_DEV_ARM_VGIC_GRP_ADDR,
  KVM_DEV_ARM_VGIC_GRP_CTRL,
  KVM_DEV_ARM_VGIC_GRP_NR_IRQS,
  KVM_DEV_TYPE_ARM_VGIC_V3,
  KVM_VGIC_V3_ADDR_TYPE_DIST,
  KVM_VGIC_V3_ADDR_TYPE_REDIST,
  createVmTimers,
  kvmIrqNumber,
  restoreVgicV3,
  saveVgicV3,
  type DeviceFd,
  type GuestClock,
  KVM_ARM_VCPU_POWER_OFF,
  KVM_ARM_VCPU_PSCI_0_2,
  KVM_CAP_ARM_MTE,
  KVM_MP_STATE_RUNNABLE,
  KVM_MP_STATE_STOPPED,
  KVM_SYSTEM_EVENT_RESET,
  KVM_SYSTEM_EVENT_SHUTDOWN,
  Kvm,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  MAP_SHARED,
  MAX_JIT_HOST_MEMORY,
  MAX_PHYSICAL_MEMORY,
  PROT_MTE,
  PROT_READ,
  PROT_WRITE,
  REG_PC,
  REG_PSTATE,
  REG_SP,
  ga,
  isErrnoError,
  isKvmError,
  sysregId,
  xRegId,
  type ErrnoError,
  type MmapOptions,
  type VcpuFd,
  type VmFd,
} from '@tagvm/vmm-api'
import { loadGuest, type BootOptions, type BootPlan } from '../boot.js'
import type { MachineConfig } from '../config.js'
import { MachineRefusedError } from '../errors.js'
import {
  VIRT_GIC_DIST_BASE,
  VIRT_GIC_NR_IRQS,
  VIRT_GIC_REDIST_BASE,
  VIRT_RTC_BASE,
  VIRT_RTC_SIZE,
  VIRT_RTC_SPI,
  VIRT_UART_BASE,
  VIRT_UART_SIZE,
  VIRT_UART_SPI,
} from '../fdt/virt.js'
import { GuestMemory } from '../memory/guest-memory.js'
import type { OneReg, VcpuState } from '../snapshot/records.js'
import { GIC_DEVICE, gicDeviceState, gicStateFromDevice } from './gic-state.js'
import { formatTraceLine, translateForTrace } from './trace.js'
import { VcpuThreads, type SmpStats, type SmpThreadOptions } from '../smp/threads.js'

/** PSTATE at the first instruction of a `-kernel` image on QEMU 10: EL1h, DAIF masked, Z set. */
export const BOOT_PSTATE = 0x4000_03c5n
/** SCTLR_EL1 at the first instruction on QEMU 10 (virt-platform.md): MMU and caches off. */
export const BOOT_SCTLR_EL1 = 0xc5_0838n
const REG_SCTLR_EL1 = sysregId(3, 0, 1, 0, 0)
/** The device record that carries which vCPUs are powered off (not a ONE_REG register). */
export const MP_STATE_DEVICE = 'vcpus'
const MP_STATE_TYPE = 'tagvm-mp-state'

const RAM_SLOT = 0
/** Instructions per run() when one vCPU runs alone, and per turn when several take turns. */
const SOLO_SLICE = 1 << 21
const SHARED_SLICE = 20_000
/** Rounds of every vCPU in a row with no instruction retired before the guest counts as stuck. */
const MAX_IDLE_ROUNDS = 3
/** The longest host-clock sleep before run() looks at the world again (console input, signals). */
const MAX_IDLE_WAIT_MS = 20
/** The RTC's time at counter 0 on the instruction clock (2026-01-01T00:00:00Z): repeatable runs see the same date. */
const INSTRUCTION_CLOCK_EPOCH = 1_767_225_600

/** Sleeps the thread (Node's main thread may; where it may not, the wait is skipped). */
function sleepMs(ms: number): void {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
  } catch {
    // A browser's main thread cannot block; the caller loops instead.
  }
}
/** Host memory beyond guest RAM: stage-2 tables, the guest's own tables, the VMM's buffers. */
const HOST_OVERHEAD = 256 * 2 ** 20
/** The largest RAM this host can give a guest. */
export const MAX_GUEST_RAM = MAX_PHYSICAL_MEMORY - HOST_OVERHEAD
/** The largest RAM with the compiled tier on: host memory and its tags live in one WebAssembly.Memory (4 GiB). */
export const MAX_JIT_GUEST_RAM = MAX_JIT_HOST_MEMORY - HOST_OVERHEAD

/** Why `Machine.run` returned. */
export type StopReason =
  | { readonly kind: 'power-off' }
  | { readonly kind: 'reset' }
  /**
   * The instruction budget given to run() is spent; the guest can continue. Also on the host
   * clock when every vCPU waits in WFI: after a sleep of at most 20 ms, or at once with
   * `idle: 'return'`, which then sets `idleMs`.
   */
  | { readonly kind: 'budget'; readonly idleMs?: number }
  /** The guest cannot continue: every vCPU off, no progress, or KVM_RUN failed. */
  | { readonly kind: 'error'; readonly message: string }

/** How `Machine.run` spends time while every vCPU waits in WFI on the host clock. */
export interface RunOptions {
  /**
   * 'sleep' (the default): block this thread toward the next deadline, at most 20 ms with a
   * finite budget, then return a 'budget' stop; 'return': return a 'budget' stop at once with
   * `idleMs`, the host milliseconds until a timer or the RTC wakes a vCPU (Infinity: only
   * input can), for a caller with an event loop that waits for that or for input itself, so an
   * idle guest costs no wake-ups. Without a budget run() always sleeps to the deadline.
   */
  readonly idle?: 'sleep' | 'return'
}

/** `runUntilMissing` stopped at a page that has not arrived yet (post-copy). */
export interface MissingPageStop {
  readonly kind: 'missing-page'
  /** Guest-physical address of the page. */
  readonly gpa: number
}

/** Where a machine sends its console, its notes and (when asked) an instruction trace. */
export interface MachineIo {
  /** The guest's console bytes (the PL011's transmit line), in order. */
  console(bytes: Uint8Array): void
  /** tagvm's own notes about the guest (standard error in the CLI). */
  message?(text: string): void
  /** One line per executed instruction; when given, vCPUs run one instruction at a time. */
  trace?(line: string): void
}

/** How the host under a machine is set up: not part of the machine, so never saved or sent. */
export interface MachineHostOptions {
  /**
   * Host memory (guest RAM, its tags and frame flags) in SharedArrayBuffers, so another thread
   * can watch it while this one runs the guest (see `LiveTagPublisher`).
   */
  readonly sharedMemory?: boolean
  /**
   * Run each vCPU on its own thread (smp/README.md) instead of taking turns on this one
   * (lockstep, the default: deterministic). Implies shared memory. Not saved with the machine.
   */
  readonly threads?: SmpThreadOptions
  /**
   * The compiled tier (default off): each vCPU translates hot guest code to WebAssembly
   * (`@tagvm/cpu`'s jit, `threshold` entries before a region is translated, 1..255; 255 with
   * `true`), with
   * host memory in a shared WebAssembly.Memory, so guest RAM is at most MAX_JIT_GUEST_RAM.
   * Guest-visible behaviour, snapshots and migration streams are the interpreter's; lockstep
   * vCPUs only for now (not with `threads` or `sharedMemory`). Not saved with the machine.
   */
  readonly jit?: boolean | { readonly threshold?: number }
}

/**
 * Entries before a region is translated with `jit: true`: the most the tier counts (255), not
 * its default 16. Translation costs ~3 ms a region here; most of a Linux boot's code runs too
 * rarely to repay it (Debian's boot to /init: 41 K regions by 350 M instructions at 16, 11.6 K
 * at 255, the same instructions retired).
 */
const JIT_THRESHOLD = 255

/** Why a host option set cannot have the compiled tier, or undefined. */
function jitRefusal(config: MachineConfig, host: MachineHostOptions): string | undefined {
  if (host.jit === undefined || host.jit === false) return undefined
  if (host.threads !== undefined) return 'the compiled tier (jit) runs lockstep vCPUs only: vCPU threads cannot share its WebAssembly.Memory yet (leave out threads, or the jit)'
  if (host.sharedMemory === true) return 'the compiled tier (jit) keeps host memory in a WebAssembly.Memory, not in the SharedArrayBuffers sharedMemory asks for (leave out one of them)'
  if (config.ramSize > MAX_JIT_GUEST_RAM) return `${config.ramSize} bytes of RAM is more than the compiled tier (jit) can hold in a 4 GiB WebAssembly.Memory with tags (at most ${MAX_JIT_GUEST_RAM}): leave out the jit`
  return undefined
}

/** Which host memory backs guest RAM (the `--backing` option). */
function ramMapping(kvm: Kvm, config: MachineConfig): MmapOptions {
  const prot = PROT_READ | PROT_WRITE | (config.mte ? PROT_MTE : 0)
  switch (config.backing) {
    case 'anon':
      return { length: config.ramSize, prot, flags: MAP_PRIVATE | MAP_ANONYMOUS }
    case 'shmem':
      // As QEMU's memory-backend-memfd,share=on.
      return { length: config.ramSize, prot, flags: MAP_SHARED, file: kvm.kernel.memfdCreate('tagvm-ram', config.ramSize) }
    case 'file':
      // As memory-backend-file,share=on over a regular file: such pages cannot hold tags.
      return { length: config.ramSize, prot, flags: MAP_SHARED, file: kvm.kernel.createFile('tagvm-ram', new Uint8Array(config.ramSize)) }
  }
}

function errnoText(error: ErrnoError): string {
  return error.message.includes(error.code) ? error.message : `${error.message} (${error.code})`
}

function hex(n: bigint | number): string {
  return `0x${n.toString(16)}`
}

/**
 * QEMU's `virt` machine with MTE, assembled through the KVM-shaped API only: guest RAM is
 * this VMM's own mapping (PROT_MTE when MTE is on) given to the VM as memslot 0, vCPUs use
 * PSCI 0.2 over HVC (secondaries start powered off), and the PL011 sits on an MMIO bus that
 * MMIO exits are routed through.
 */
export class Machine {
  readonly kvm: Kvm
  readonly vm: VmFd
  readonly vcpus: readonly VcpuFd[]
  readonly uart: Pl011
  /** The PL031 real-time clock. */
  readonly rtc: Pl031
  /** The in-kernel vGICv3 (KVM_CREATE_DEVICE), as QEMU's virt asks KVM for one with gic-version=3. */
  readonly gic: DeviceFd
  /** The guest's time base (MachineConfig.clock). */
  readonly clock: GuestClock
  readonly bus = new MmioBus()
  /** Guest RAM: addresses, bytes, tags, page walks and the dirty log. */
  readonly memory: GuestMemory
  /** Guest instructions retired since the machine was created. */
  retired = 0
  private consoleBuffer: number[] = []
  private readonly unmappedReported = new Set<number>()
  private lastExitWasMmio = false
  private readonly mmioPending = new Set<VcpuFd>()
  private readonly threadOptions: SmpThreadOptions | undefined
  private threads: VcpuThreads | undefined

  private constructor(
    readonly config: MachineConfig,
    private readonly io: MachineIo,
    host: MachineHostOptions,
  ) {
    if (config.ramSize > MAX_GUEST_RAM) throw new MachineRefusedError(`${config.ramSize} bytes of RAM is more than this host can give (at most ${MAX_GUEST_RAM})`)
    const noJit = jitRefusal(config, host)
    if (noJit !== undefined) throw new MachineRefusedError(noJit)
    // Host memory is allocated lazily; leave room for stage-2 and the guest's own tables.
    // A host with FEAT_MTE3, as `-cpu max` has (ID_AA64PFR1_EL1.MTE = 3: asymmetric mode).
    this.kvm = Kvm.open({
      hostMemory: Math.max(2 ** 30, config.ramSize + HOST_OVERHEAD),
      hostMteLevel: 3,
      sharedMemory: host.sharedMemory === true || host.threads !== undefined,
      ...(host.jit !== undefined && host.jit !== false ? { jit: host.jit === true ? { threshold: JIT_THRESHOLD } : host.jit } : {}),
    })
    this.threadOptions = host.threads
    this.vm = this.kvm.createVm({ ipaBits: 40 })
    this.clock = config.clock === 'host' ? new HostClock() : new InstructionClock()
    createVmTimers(this.vm.vm, { clock: this.clock })
    if (config.mte) this.vm.enableCap(KVM_CAP_ARM_MTE) // before any vCPU, as Linux requires
    const hva = this.kvm.mmap(ramMapping(this.kvm, config))
    this.vm.setUserMemoryRegion({ slot: RAM_SLOT, flags: 0, guestPhysAddr: ga(config.ramBase), memorySize: config.ramSize, userspaceAddr: hva })
    this.memory = new GuestMemory(this.kvm.process, this.vm, { slot: RAM_SLOT, base: config.ramBase, size: config.ramSize, hva }, config.mte)
    const vcpus: VcpuFd[] = []
    for (let i = 0; i < config.cpus; i++) {
      const vcpu = this.vm.createVcpu(i)
      const features = i === 0 ? [KVM_ARM_VCPU_PSCI_0_2] : [KVM_ARM_VCPU_PSCI_0_2, KVM_ARM_VCPU_POWER_OFF]
      vcpu.init({ ...this.vm.armPreferredTarget(), features })
      vcpus.push(vcpu)
    }
    this.vcpus = vcpus
    // QEMU's kvm_arm_gicv3_realize order: NR_IRQS, the frames, then CTRL_INIT.
    this.gic = this.vm.createDevice({ type: KVM_DEV_TYPE_ARM_VGIC_V3 })
    this.gic.setAttrValue(KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, VIRT_GIC_NR_IRQS)
    this.gic.setAttrValue(KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_DIST, VIRT_GIC_DIST_BASE)
    this.gic.setAttrValue(KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_REDIST, VIRT_GIC_REDIST_BASE)
    this.gic.setAttr({ group: KVM_DEV_ARM_VGIC_GRP_CTRL, attr: KVM_DEV_ARM_VGIC_CTRL_INIT, addr: 0 })
    const spiLine = (spi: number) => (level: boolean) => this.vm.irqLine(kvmIrqNumber(KVM_ARM_IRQ_TYPE_SPI, 0, 32 + spi), level)
    this.uart = new Pl011({ name: 'pl011', output: (byte) => this.consoleBuffer.push(byte), onInterrupt: spiLine(VIRT_UART_SPI) })
    this.bus.add(VIRT_UART_BASE, VIRT_UART_SIZE, this.uart)
    const clock = this.clock
    const rtcNow = clock.kind === 'host' ? () => Date.now() / 1000 : () => INSTRUCTION_CLOCK_EPOCH + clock.now() / clock.frequency
    this.rtc = new Pl031({ name: 'pl031', now: rtcNow, onInterrupt: spiLine(VIRT_RTC_SPI) })
    this.bus.add(VIRT_RTC_BASE, VIRT_RTC_SIZE, this.rtc)
  }

  /**
   * A powered-on machine with empty RAM; `boot` or a restore puts a guest in it. A host that
   * cannot build it (RAM it cannot give, a mapping KVM refuses) is a MachineRefusedError.
   */
  static create(config: MachineConfig, io: MachineIo, host: MachineHostOptions = {}): Machine {
    try {
      return new Machine(config, io, host)
    } catch (error) {
      if (isErrnoError(error)) throw new MachineRefusedError(errnoText(error), { cause: error })
      // A file-backed mapping is made of real bytes; the host runs out of them.
      if (error instanceof RangeError && config.backing === 'file') throw new MachineRefusedError(`cannot allocate ${config.ramSize} bytes of file-backed RAM: ${error.message}`, { cause: error })
      throw error
    }
  }

  /**
   * Loads an image (and its DTB) into RAM through this VMM's mapping and sets vCPU 0 up as
   * QEMU starts a `-kernel` image: PC = entry, x0 = the DTB or 0, x1..x3 = 0, SP = 0,
   * PSTATE = EL1h with DAIF masked.
   */
  boot(image: Uint8Array, file: string, options: Omit<BootOptions, 'cpus'> = {}): BootPlan {
    const plan = loadGuest(this.memory, image, file, { ...options, cpus: this.config.cpus })
    const boot = this.vcpus[0]!
    boot.setOneReg(REG_PC, BigInt(plan.entry))
    boot.setOneReg(xRegId(0), BigInt(plan.x0))
    for (let n = 1; n <= 3; n++) boot.setOneReg(xRegId(n), 0n)
    boot.setOneReg(REG_SP, 0n)
    boot.setOneReg(REG_PSTATE, BOOT_PSTATE)
    // QEMU's reset value, not KVM's 0xc50078: guests print it (guests/hello).
    boot.setOneReg(REG_SCTLR_EL1, BOOT_SCTLR_EL1)
    return plan
  }

  /**
   * Runs the guest for at most `budget` instructions (all vCPUs together), round-robin in
   * this thread. Console bytes reach `io.console` as they are written (flushed per line and
   * whenever run() returns).
   */
  run(budget = Number.POSITIVE_INFINITY, options: RunOptions = {}): StopReason {
    const stop = this.runUntilMissing(budget, options)
    if (stop.kind !== 'missing-page') return stop
    return { kind: 'error', message: `the guest touched page 0x${stop.gpa.toString(16)}, which has not arrived yet (post-copy migration): run it through the migration` }
  }

  /**
   * As `run`, but a guest access to a page that has not arrived (post-copy, see
   * GuestMemory.markMissing) stops the run at that access, to be retried once the page is in.
   */
  runUntilMissing(budget = Number.POSITIVE_INFINITY, options: RunOptions = {}): StopReason | MissingPageStop {
    if (!(budget >= 0)) throw new RangeError(`budget must be a non-negative number, got ${budget}`)
    if (this.threadOptions) {
      // The threads take the VMM's userfault bitmap when they start (a post-copy destination
      // runs first with its pages missing); threads that started without it cannot see pages go missing.
      if (this.memory.missingPages > 0 && this.threads && !this.threads.userfault) return { kind: 'error', message: 'pages of guest memory went missing after the vCPU threads started (they have no view of missing pages): load post-copy state into a fresh machine' }
      return this.runOnThreads(budget)
    }
    const start = this.retired
    const solo = this.vcpus.length === 1
    let idleRounds = 0
    try {
      for (;;) {
        let roundRetired = 0
        let anyRunnable = false
        for (const vcpu of this.vcpus) {
          if (vcpu.getMpState() === KVM_MP_STATE_STOPPED) continue
          anyRunnable = true
          const left = budget - (this.retired - start)
          if (left <= 0) return { kind: 'budget' }
          const slice = this.io.trace ? 1 : Math.min(left, solo ? SOLO_SLICE : SHARED_SLICE)
          const before = this.retired
          const stop = this.io.trace ? this.traceStep(vcpu) : this.runVcpu(vcpu, slice)
          roundRetired += this.retired - before
          if (stop) return stop
        }
        if (!anyRunnable) return { kind: 'error', message: 'every vCPU is powered off (PSCI CPU_OFF) and nothing can wake them' }
        if (budget - (this.retired - start) <= 0) return { kind: 'budget' }
        this.rtc.update()
        if (roundRetired === 0) {
          const idle = this.idle(Number.isFinite(budget), options.idle === 'return')
          if (idle === 'woken') {
            idleRounds = 0
            continue
          }
          if (idle !== undefined) return idle
        }
        idleRounds = roundRetired === 0 ? idleRounds + 1 : 0
        if (idleRounds >= MAX_IDLE_ROUNDS) {
          const pc = this.vcpus[0]!.getOneReg(REG_PC)
          return { kind: 'error', message: `the guest makes no progress (vCPU 0 at pc 0x${pc.toString(16)} retires no instructions)` }
        }
      }
    } catch (error) {
      if (isKvmError(error)) return { kind: 'error', message: errnoText(error) }
      throw error
    } finally {
      this.flushConsole()
    }
  }

  /** Machine.run with every vCPU on its own thread (smp/threads.ts); the threads start on the first run. */
  private runOnThreads(budget: number): StopReason | MissingPageStop {
    this.threads ??= new VcpuThreads(
      {
        kvm: this.kvm,
        vm: this.vm,
        vcpus: this.vcpus,
        ram: this.memory.region,
        mte: this.config.mte,
        ...(this.memory.missingBitmap ? { userfault: this.memory.missingBitmap } : {}),
        isMissing: (gpa) => this.memory.isMissing(gpa),
        mmio: (a, w, d) => this.mmio(a, w, d),
        idle: () => this.flushConsole(),
      },
      this.threadOptions!,
    )
    const before = this.threads.retired()
    const end = this.threads.run(budget)
    this.retired += this.threads.retired() - before
    this.flushConsole()
    if (end.kind === 'missing-page') return { kind: 'missing-page', gpa: end.gpa }
    if (end.kind !== 'system-event') return end
    if (end.type === KVM_SYSTEM_EVENT_SHUTDOWN) return { kind: 'power-off' }
    if (end.type === KVM_SYSTEM_EVENT_RESET) return { kind: 'reset' }
    return { kind: 'error', message: `the guest raised system event ${end.type}, which this machine does not handle` }
  }

  /** Whether the vCPUs run on threads (`--smp-mode threads`), not in turns on this thread. */
  get onThreads(): boolean {
    return this.threadOptions !== undefined
  }

  /** Counters of the vCPU threads (undefined before the first run on threads). */
  smpStats(): SmpStats | undefined {
    return this.threads?.stats()
  }

  /** Ends the vCPU threads, if any (a machine on threads must be closed, or its threads keep the process alive). */
  close(): void {
    this.threads?.close()
  }

  /**
   * Every runnable vCPU is blocked in WFI: time goes to the earliest deadline (their timers,
   * the RTC's alarm). The instruction
   * clock jumps there ('woken'). On the host clock with a finite budget run() returns (a
   * 'budget' stop that retired nothing), so the caller can feed console input: at once with
   * `idleMs` when `returnIdle`, else after sleeping toward the deadline, at most
   * MAX_IDLE_WAIT_MS. Without a budget nothing but the deadline can wake the guest, so the
   * sleep goes all the way (one wake-up, not one per 20 ms). undefined: some vCPU is not waiting.
   */
  private idle(finiteBudget: boolean, returnIdle: boolean): StopReason | 'woken' | undefined {
    let deadline = Infinity
    for (const vcpu of this.vcpus) {
      if (vcpu.getMpState() === KVM_MP_STATE_STOPPED) continue
      const wait = vcpu.waitDeadline
      if (wait === undefined) return undefined
      deadline = Math.min(deadline, wait)
    }
    // The RTC's alarm is a wake-up too (its SPI reaches the vCPU once rtc.update() sees it).
    const alarm = this.rtc.secondsToInterrupt()
    if (alarm !== Infinity) deadline = Math.min(deadline, this.clock.now() + Math.max(1, Math.ceil(alarm * this.clock.frequency)))
    const ms = this.clock.idle(deadline)
    if (ms === 0) return 'woken'
    if (ms === Infinity && !finiteBudget) return { kind: 'error', message: 'every vCPU waits for an interrupt (WFI) and no timer is armed to wake it' }
    this.flushConsole()
    if (finiteBudget && returnIdle) return { kind: 'budget', idleMs: ms }
    sleepMs(finiteBudget ? Math.min(ms, MAX_IDLE_WAIT_MS) : ms)
    return finiteBudget ? { kind: 'budget' } : 'woken'
  }

  /** One KVM_RUN on one vCPU, with its exit handled; a StopReason ends run(). */
  private runVcpu(vcpu: VcpuFd, slice: number): StopReason | MissingPageStop | undefined {
    const before = vcpu.retiredInstructions
    // An answered MMIO access retires at the start of the next KVM_RUN, on top of its budget.
    const completing = this.mmioPending.delete(vcpu) ? 1 : 0
    const exit = vcpu.run(Math.max(0, slice - completing))
    this.retired += Math.max(0, vcpu.retiredInstructions - before)
    switch (exit.kind) {
      case 'intr':
        // A slice ended: what the guest printed since the last line goes out now, so a prompt
        // without a newline (or a guest that then spins) is not held back.
        this.flushConsole()
        return undefined
      case 'mmio':
        this.lastExitWasMmio = true
        this.mmioPending.add(vcpu)
        this.mmio(exit.addr, exit.write, exit.data)
        return undefined
      case 'system-event':
        if (exit.type === KVM_SYSTEM_EVENT_SHUTDOWN) return { kind: 'power-off' }
        if (exit.type === KVM_SYSTEM_EVENT_RESET) return { kind: 'reset' }
        return { kind: 'error', message: `the guest raised system event ${exit.type}, which this machine does not handle` }
      case 'arm-nisv':
        return { kind: 'error', message: `MMIO access without a syndrome at IPA 0x${exit.faultIpa.toString(16)}` }
      case 'memory-fault':
        return { kind: 'missing-page', gpa: exit.gpa }
    }
  }

  /** One instruction on one vCPU, printed once it has executed (an MMIO access completes first). */
  private traceStep(vcpu: VcpuFd): StopReason | MissingPageStop | undefined {
    const pc = vcpu.getOneReg(REG_PC)
    const pa = translateForTrace(vcpu, pc, (addr, out) => this.memory.tryRead(addr, out))
    const word = new Uint8Array(4)
    const fetched = pa !== undefined && this.memory.tryRead(pa, word)
    const retiredBefore = this.retired
    this.lastExitWasMmio = false
    const stop = this.runVcpu(vcpu, 1)
    // Complete an MMIO access now (KVM_RUN with budget 0), so the instruction retires before it is printed.
    if (!stop && this.lastExitWasMmio) this.runVcpu(vcpu, 0)
    const after = vcpu.getOneReg(REG_PC)
    if (this.retired !== retiredBefore || after !== pc || stop) {
      this.flushConsole()
      this.io.trace!(formatTraceLine(vcpu.id, pc, fetched ? new DataView(word.buffer).getUint32(0, true) : undefined))
    }
    return stop
  }

  /** An MMIO exit: the exit's bytes go to (or come from) the device on the bus, unchanged. */
  private mmio(addr: number, write: boolean, data: Uint8Array): void {
    if (write ? this.bus.write(addr, data) : this.bus.read(addr, data)) {
      if (write && this.consoleBuffer.length > 0 && (this.consoleBuffer.includes(10) || this.consoleBuffer.length >= 4096)) this.flushConsole()
      return
    }
    // QEMU's virt ignores writes to unassigned addresses and reads them as zero under KVM.
    if (!write) data.fill(0)
    if (!this.unmappedReported.has(addr)) {
      this.unmappedReported.add(addr)
      this.io.message?.(`guest ${write ? 'wrote to' : 'read from'} 0x${addr.toString(16)}, where no device is (${write ? 'ignored' : 'read as zero'})`)
    }
  }

  /**
   * Where virtual address `va` of vCPU `index` is in guest-physical memory, found as a debugger
   * finds it: a stage-1 walk of the guest's EL1 tables read through RAM (MMU off: the address
   * itself; 4 KiB granules only). Undefined when the walk fails.
   */
  virtualToPhysical(index: number, va: bigint): number | undefined {
    const vcpu = this.vcpus[index]
    if (!vcpu) throw new RangeError(`vCPU ${index} does not exist (the machine has ${this.vcpus.length})`)
    return translateForTrace(vcpu, va, (addr, out) => this.memory.tryRead(addr, out))
  }

  /** Hands the console bytes held back so far to `io.console` (run() does it per line and whenever it returns). */
  flushConsole(): void {
    if (this.consoleBuffer.length === 0) return
    const bytes = Uint8Array.from(this.consoleBuffer)
    this.consoleBuffer = []
    this.io.console(bytes)
  }

  // ---- state: registers, memory with tags, devices ------------------------------------

  /**
   * Completes what every vCPU has pending before its state is read: KVM_RUN with
   * immediate_exit set, as KVM's API documentation asks of a VMM before saving or migrating
   * (an answered MMIO access retires, PSCI work finishes) without running guest code.
   */
  completePendingWork(): void {
    // On threads every vCPU is parked between runs; each completes its pending work when
    // saveVcpus asks its thread for its state.
    if (this.threads) return
    for (const vcpu of this.vcpus) {
      const before = vcpu.retiredInstructions
      vcpu.immediateExit = true
      try {
        vcpu.run(0)
      } catch (error) {
        if (!(isKvmError(error) && error.code === 'EINTR')) throw error
      } finally {
        vcpu.immediateExit = false
      }
      this.retired += Math.max(0, vcpu.retiredInstructions - before)
      this.mmioPending.delete(vcpu)
    }
  }

  /** Every vCPU's registers (KVM_GET_REG_LIST, then KVM_GET_ONE_REG for each), pending work completed first. */
  saveVcpus(): VcpuState[] {
    if (this.threads) {
      let states
      try {
        states = this.threads.saveStates()
      } catch (error) {
        throw new MachineRefusedError(`the vCPU threads cannot be saved: ${(error as Error).message}`, { cause: error })
      }
      return states.map((state, index) => ({ index, regs: state.regs.map(([id, value]): OneReg => ({ id, value })) }))
    }
    this.completePendingWork()
    return this.vcpus.map((vcpu, index) => ({ index, regs: vcpu.getRegList().map((id): OneReg => ({ id, value: vcpu.getOneReg(id) })) }))
  }

  /** One vCPU's registers by KVM_SET_ONE_REG; a register KVM refuses is a MachineRefusedError naming it. */
  loadVcpu(state: VcpuState): void {
    this.refuseStartedThreads()
    const vcpu = this.vcpus[state.index]
    if (!vcpu) throw new MachineRefusedError(`vCPU ${state.index} does not exist (the machine has ${this.vcpus.length})`)
    for (const reg of state.regs) {
      try {
        vcpu.setOneReg(reg.id, reg.value)
      } catch (error) {
        if (isErrnoError(error)) throw new MachineRefusedError(`vCPU ${state.index}: register ${hex(reg.id)} = ${hex(reg.value)}: ${errnoText(error)}`, { cause: error })
        throw error
      }
    }
  }

  /** Every vCPU's registers (see loadVcpu); the states must cover the machine's vCPUs. */
  loadVcpus(states: readonly VcpuState[]): void {
    if (states.length !== this.vcpus.length) throw new MachineRefusedError(`${states.length} vCPU states for a machine with ${this.vcpus.length} vCPUs`)
    for (const state of states) this.loadVcpu(state)
  }

  /** Device state records: the PL011, the PL031, the vGIC, and which vCPUs are powered off. */
  saveDevices(): { name: string; state: DeviceState }[] {
    const stopped = this.threads ? this.threads.powerOff() : this.vcpus.map((v) => v.getMpState() === KVM_MP_STATE_STOPPED)
    return [
      { name: this.uart.name, state: this.uart.saveState() },
      { name: this.rtc.name, state: this.rtc.saveState() },
      // Under the vGIC's lock: with vCPU threads its state is shared (parked threads change
      // nothing, but a VMM-side injection or a late kick must not land mid-save).
      { name: GIC_DEVICE, state: gicDeviceState(this.gic.vgic.locked(() => saveVgicV3(this.gic, this.vcpus))) },
      { name: MP_STATE_DEVICE, state: { type: MP_STATE_TYPE, version: 1, stopped } },
    ]
  }

  /** State goes into a threaded machine before its threads start (they take it from the main thread's vCPUs then). */
  private refuseStartedThreads(): void {
    if (this.threads) throw new MachineRefusedError('the vCPU threads of this machine have started: load saved state into a fresh machine (before its first run)')
  }

  /** Gives a device its saved state; an unknown device or a state it refuses is a MachineRefusedError. */
  loadDevice(name: string, state: DeviceState): void {
    this.refuseStartedThreads()
    const device = name === this.uart.name ? this.uart : name === this.rtc.name ? this.rtc : undefined
    if (device) {
      try {
        device.loadState(state)
      } catch (error) {
        if (isDeviceStateError(error)) throw new MachineRefusedError(`device ${JSON.stringify(name)}: ${error.message}`, { cause: error })
        throw error
      }
      return
    }
    if (name === GIC_DEVICE) {
      const gic = gicStateFromDevice(state)
      try {
        restoreVgicV3(this.gic, this.vcpus, gic)
      } catch (error) {
        if (isErrnoError(error) || error instanceof RangeError) throw new MachineRefusedError(`device ${GIC_DEVICE}: ${error.message}`, { cause: error })
        throw error
      }
      return
    }
    if (name === MP_STATE_DEVICE && state.type === MP_STATE_TYPE && state.version === 1) {
      const stopped = state.stopped
      if (!Array.isArray(stopped) || stopped.length !== this.vcpus.length || !stopped.every((s) => typeof s === 'boolean')) {
        throw new MachineRefusedError(`device ${name}: stopped must list ${this.vcpus.length} booleans`)
      }
      this.vcpus.forEach((v, i) => v.setMpState(stopped[i] ? KVM_MP_STATE_STOPPED : KVM_MP_STATE_RUNNABLE))
      return
    }
    throw new MachineRefusedError(`device ${JSON.stringify(name)} (${String(state.type)} version ${String(state.version)}) is not part of this machine`)
  }
}
