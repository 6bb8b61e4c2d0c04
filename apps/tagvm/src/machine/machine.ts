import { MmioBus, Pl011, type DeviceState } from '@tagvm/devices'
import {
  KVM_ARM_TAGS_FROM_GUEST,
  KVM_ARM_TAGS_TO_GUEST,
  KVM_ARM_VCPU_POWER_OFF,
  KVM_ARM_VCPU_PSCI_0_2,
  KVM_CAP_ARM_MTE,
  KVM_MEM_LOG_DIRTY_PAGES,
  KVM_MP_STATE_RUNNABLE,
  KVM_MP_STATE_STOPPED,
  KVM_SYSTEM_EVENT_RESET,
  KVM_SYSTEM_EVENT_SHUTDOWN,
  Kvm,
  KvmError,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  MAP_SHARED,
  PROT_MTE,
  PROT_READ,
  PROT_WRITE,
  REG_PC,
  REG_PSTATE,
  REG_SP,
  ga,
  sysregId,
  xRegId,
  type MmapOptions,
  type VcpuFd,
  type VmFd,
} from '@tagvm/vmm-api'
import { loadGuest, type BootOptions, type BootPlan } from '../boot.js'
import type { MachineConfig } from '../config.js'
import { PAGE_SIZE, TAG_BYTES_PER_PAGE, type OneReg, type PageRecord, type VcpuState } from '../snapshot/records.js'
import { formatTraceLine, translateForTrace } from './trace.js'

/** QEMU virt's PL011 (VIRT_UART). */
export const VIRT_UART_BASE = 0x0900_0000
export const VIRT_UART_SIZE = 0x1000
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

/** Why `Machine.run` returned. */
export type StopReason =
  | { readonly kind: 'power-off' }
  | { readonly kind: 'reset' }
  /** The instruction budget given to run() is spent; the guest can continue. */
  | { readonly kind: 'budget' }
  /** The guest cannot continue: every vCPU off, no progress, or KVM_RUN failed. */
  | { readonly kind: 'error'; readonly message: string }

export interface MachineIo {
  /** The guest's console bytes (the PL011's transmit line), in order. */
  console(bytes: Uint8Array): void
  /** tagvm's own notes about the guest (standard error in the CLI). */
  message?(text: string): void
  /** One line per executed instruction; when given, vCPUs run one instruction at a time. */
  trace?(line: string): void
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

function isZero(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== 0) return false
  return true
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
  readonly bus = new MmioBus()
  /** Host virtual address of guest RAM in this process. */
  readonly ramHva: number
  /** Guest instructions retired since the machine was created. */
  retired = 0
  private consoleBuffer: number[] = []
  private readonly unmappedReported = new Set<number>()
  private dirtyLogging = false
  private lastExitWasMmio = false
  private readonly mmioPending = new Set<VcpuFd>()

  private constructor(
    readonly config: MachineConfig,
    private readonly io: MachineIo,
  ) {
    // Host memory is allocated lazily; leave room for stage-2 and the guest's own tables.
    // A host with FEAT_MTE3, as `-cpu max` has (ID_AA64PFR1_EL1.MTE = 3: asymmetric mode).
    this.kvm = Kvm.open({ hostMemory: Math.max(2 ** 30, config.ramSize + 256 * 2 ** 20), hostMteLevel: 3 })
    this.vm = this.kvm.createVm({ ipaBits: 40 })
    if (config.mte) this.vm.enableCap(KVM_CAP_ARM_MTE) // before any vCPU, as Linux requires
    this.ramHva = this.kvm.mmap(ramMapping(this.kvm, config))
    this.vm.setUserMemoryRegion({ slot: RAM_SLOT, flags: 0, guestPhysAddr: ga(config.ramBase), memorySize: config.ramSize, userspaceAddr: this.ramHva })
    const vcpus: VcpuFd[] = []
    for (let i = 0; i < config.cpus; i++) {
      const vcpu = this.vm.createVcpu(i)
      const features = i === 0 ? [KVM_ARM_VCPU_PSCI_0_2] : [KVM_ARM_VCPU_PSCI_0_2, KVM_ARM_VCPU_POWER_OFF]
      vcpu.init({ ...this.vm.armPreferredTarget(), features })
      vcpus.push(vcpu)
    }
    this.vcpus = vcpus
    this.uart = new Pl011({ name: 'pl011', output: (byte) => this.consoleBuffer.push(byte) })
    this.bus.add(VIRT_UART_BASE, VIRT_UART_SIZE, this.uart)
  }

  /** A powered-on machine with empty RAM; `boot` or `restore` puts a guest in it. */
  static create(config: MachineConfig, io: MachineIo): Machine {
    return new Machine(config, io)
  }

  /**
   * Loads an image (and its DTB) into RAM through this VMM's mapping and sets vCPU 0 up as
   * QEMU starts a `-kernel` image: PC = entry, x0 = the DTB or 0, x1..x3 = 0, SP = 0,
   * PSTATE = EL1h with DAIF masked.
   */
  boot(image: Uint8Array, file: string, options: Omit<BootOptions, 'cpus'> = {}): BootPlan {
    const target = {
      ramBase: this.config.ramBase,
      ramSize: this.config.ramSize,
      write: (gpa: number, bytes: Uint8Array) => this.kvm.process.userWrite(this.ramHva + (gpa - this.config.ramBase), bytes),
    }
    const plan = loadGuest(target, image, file, { ...options, cpus: this.config.cpus })
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
  run(budget = Number.POSITIVE_INFINITY): StopReason {
    if (!(budget >= 0)) throw new RangeError(`budget must be a non-negative number, got ${budget}`)
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
        idleRounds = roundRetired === 0 ? idleRounds + 1 : 0
        if (idleRounds >= MAX_IDLE_ROUNDS) {
          const pc = this.vcpus[0]!.getOneReg(REG_PC)
          return { kind: 'error', message: `the guest makes no progress (vCPU 0 at pc 0x${pc.toString(16)} retires no instructions)` }
        }
      }
    } catch (error) {
      if (error instanceof KvmError) return { kind: 'error', message: error.message.includes(error.code) ? error.message : `${error.message} (${error.code})` }
      throw error
    } finally {
      this.flushConsole()
    }
  }

  /** One KVM_RUN on one vCPU, with its exit handled; a StopReason ends run(). */
  private runVcpu(vcpu: VcpuFd, slice: number): StopReason | undefined {
    const before = vcpu.retiredInstructions
    // An answered MMIO access retires at the start of the next KVM_RUN, on top of its budget.
    const completing = this.mmioPending.delete(vcpu) ? 1 : 0
    const exit = vcpu.run(Math.max(0, slice - completing))
    this.retired += Math.max(0, vcpu.retiredInstructions - before)
    switch (exit.kind) {
      case 'intr':
        return undefined
      case 'mmio':
        this.lastExitWasMmio = true
        this.mmioPending.add(vcpu)
        this.mmio(exit.addr, exit.size, exit.write, exit.data)
        return undefined
      case 'system-event':
        if (exit.type === KVM_SYSTEM_EVENT_SHUTDOWN) return { kind: 'power-off' }
        if (exit.type === KVM_SYSTEM_EVENT_RESET) return { kind: 'reset' }
        return { kind: 'error', message: `the guest raised system event ${exit.type}, which this machine does not handle` }
      case 'arm-nisv':
        return { kind: 'error', message: `MMIO access without a syndrome at IPA 0x${exit.faultIpa.toString(16)}` }
    }
  }

  /** One instruction on one vCPU, printed once it has executed (an MMIO access completes first). */
  private traceStep(vcpu: VcpuFd): StopReason | undefined {
    const pc = vcpu.getOneReg(REG_PC)
    const pa = translateForTrace(vcpu, pc, (addr, out) => this.readGuest(addr, out))
    const word = new Uint8Array(4)
    const fetched = pa !== undefined && this.readGuest(pa, word)
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

  /** Reads guest-physical RAM through the VMM's mapping; false outside RAM. */
  readGuest(gpa: number, out: Uint8Array): boolean {
    const { ramBase, ramSize } = this.config
    if (gpa < ramBase || gpa + out.length > ramBase + ramSize) return false
    this.kvm.process.userRead(this.ramHva + (gpa - ramBase), out)
    return true
  }

  private mmio(addr: number, size: number, write: boolean, data: Uint8Array): void {
    const hit = this.bus.find(addr)
    if (!hit) {
      // QEMU's virt ignores writes to unassigned addresses and reads them as zero under KVM.
      data.fill(0)
      if (!this.unmappedReported.has(addr)) {
        this.unmappedReported.add(addr)
        this.io.message?.(`guest ${write ? 'wrote to' : 'read from'} 0x${addr.toString(16)}, where no device is (${write ? 'ignored' : 'read as zero'})`)
      }
      return
    }
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
    if (write) {
      const value = size === 8 ? view.getUint32(0, true) + view.getUint32(4, true) * 2 ** 32 : size === 4 ? view.getUint32(0, true) : size === 2 ? view.getUint16(0, true) : view.getUint8(0)
      hit.device.write(hit.offset, size, value)
      if (this.consoleBuffer.length > 0 && (this.consoleBuffer.includes(10) || this.consoleBuffer.length >= 4096)) this.flushConsole()
    } else {
      const value = hit.device.read(hit.offset, size)
      if (size === 8) {
        view.setUint32(0, value >>> 0, true)
        view.setUint32(4, Math.floor(value / 2 ** 32) >>> 0, true)
      } else if (size === 4) view.setUint32(0, value >>> 0, true)
      else if (size === 2) view.setUint16(0, value, true)
      else view.setUint8(0, value)
    }
  }

  flushConsole(): void {
    if (this.consoleBuffer.length === 0) return
    const bytes = Uint8Array.from(this.consoleBuffer)
    this.consoleBuffer = []
    this.io.console(bytes)
  }

  // ---- state: registers, memory with tags, devices ------------------------------------

  /** Every vCPU's registers (KVM_GET_REG_LIST, then KVM_GET_ONE_REG for each). */
  saveVcpus(): VcpuState[] {
    return this.vcpus.map((vcpu, index) => ({ index, regs: vcpu.getRegList().map((id): OneReg => ({ id, value: vcpu.getOneReg(id) })) }))
  }

  loadVcpus(states: readonly VcpuState[]): void {
    if (states.length !== this.vcpus.length) throw new RangeError(`${states.length} vCPU states for a machine with ${this.vcpus.length} vCPUs`)
    for (const state of states) {
      const vcpu = this.vcpus[state.index]
      if (!vcpu) throw new RangeError(`vCPU ${state.index} does not exist`)
      for (const reg of state.regs) vcpu.setOneReg(reg.id, reg.value)
    }
  }

  /** Device state records: the PL011, and which vCPUs are powered off. */
  saveDevices(): { name: string; state: DeviceState }[] {
    return [
      { name: this.uart.name, state: this.uart.saveState() },
      { name: MP_STATE_DEVICE, state: { type: MP_STATE_TYPE, version: 1, stopped: this.vcpus.map((v) => v.getMpState() === KVM_MP_STATE_STOPPED) } },
    ]
  }

  loadDevice(name: string, state: DeviceState): void {
    if (name === this.uart.name) {
      this.uart.loadState(state)
      return
    }
    if (name === MP_STATE_DEVICE && state.type === MP_STATE_TYPE && state.version === 1) {
      const stopped = state.stopped
      if (!Array.isArray(stopped) || stopped.length !== this.vcpus.length || !stopped.every((s) => typeof s === 'boolean')) {
        throw new RangeError(`device ${name}: stopped must list ${this.vcpus.length} booleans`)
      }
      this.vcpus.forEach((v, i) => v.setMpState(stopped[i] ? KVM_MP_STATE_STOPPED : KVM_MP_STATE_RUNNABLE))
      return
    }
    throw new RangeError(`device ${JSON.stringify(name)} (${String(state.type)} version ${String(state.version)}) is not part of this machine`)
  }

  get ramPages(): number {
    return this.config.ramSize / PAGE_SIZE
  }

  /**
   * One page's data and tags (tags through KVM_ARM_MTE_COPY_TAGS, since the VMM's own
   * mapping sees what the guest wrote only when it has PROT_MTE). `tags` is null when every
   * tag is 0: restoring such a page untagged gives the guest the same tags, because KVM
   * zeroes the tags of a page on its first tagged mapping.
   */
  readPage(gpa: number, data = new Uint8Array(PAGE_SIZE), tags = new Uint8Array(TAG_BYTES_PER_PAGE)): PageRecord {
    this.kvm.process.userRead(this.ramHva + (gpa - this.config.ramBase), data)
    let tagged = false
    if (this.config.mte) {
      this.vm.mteCopyTags({ guestIpa: ga(gpa), length: PAGE_SIZE, addr: tags, flags: KVM_ARM_TAGS_FROM_GUEST })
      tagged = !isZero(tags)
    }
    return { gpa, data: isZero(data) ? null : data, tags: tagged ? tags : null }
  }

  /** Pages worth saving (non-zero data or non-zero tags), lowest address first. */
  *savedPages(): Generator<PageRecord> {
    const { ramBase, ramSize } = this.config
    const chunk = 256 * PAGE_SIZE
    const data = new Uint8Array(chunk)
    const tags = new Uint8Array((chunk / PAGE_SIZE) * TAG_BYTES_PER_PAGE)
    for (let offset = 0; offset < ramSize; offset += chunk) {
      const length = Math.min(chunk, ramSize - offset)
      const gpa = ramBase + offset
      this.kvm.process.userRead(this.ramHva + offset, data.subarray(0, length))
      if (this.config.mte) this.vm.mteCopyTags({ guestIpa: ga(gpa), length, addr: tags, flags: KVM_ARM_TAGS_FROM_GUEST })
      for (let p = 0; p < length / PAGE_SIZE; p++) {
        const pageData = data.subarray(p * PAGE_SIZE, (p + 1) * PAGE_SIZE)
        const pageTags = tags.subarray(p * TAG_BYTES_PER_PAGE, (p + 1) * TAG_BYTES_PER_PAGE)
        const hasData = !isZero(pageData)
        const hasTags = this.config.mte && !isZero(pageTags)
        if (hasData || hasTags) yield { gpa: gpa + p * PAGE_SIZE, data: hasData ? pageData.slice() : null, tags: hasTags ? pageTags.slice() : null }
      }
    }
  }

  /** Writes a page's data (zeroes when null) and, when given, its tags (KVM_ARM_MTE_COPY_TAGS to the guest). */
  writePage(page: PageRecord, clearTags = false): void {
    const { ramBase, ramSize } = this.config
    if (page.gpa < ramBase || page.gpa + PAGE_SIZE > ramBase + ramSize || page.gpa % PAGE_SIZE !== 0) {
      throw new RangeError(`page 0x${page.gpa.toString(16)} is outside RAM`)
    }
    this.kvm.process.userWrite(this.ramHva + (page.gpa - ramBase), page.data ?? new Uint8Array(PAGE_SIZE))
    const tags = page.tags ?? (clearTags ? new Uint8Array(TAG_BYTES_PER_PAGE) : null)
    if (tags) {
      if (!this.config.mte) throw new RangeError(`page 0x${page.gpa.toString(16)} has tags, but the machine has MTE off`)
      this.vm.mteCopyTags({ guestIpa: ga(page.gpa), length: PAGE_SIZE, addr: tags, flags: KVM_ARM_TAGS_TO_GUEST })
    }
  }

  // ---- dirty log (migration) ----------------------------------------------------------

  /** Turns on KVM_MEM_LOG_DIRTY_PAGES on RAM; pages written from now on show in `dirtyPages()`. */
  startDirtyLog(): void {
    this.setRamFlags(KVM_MEM_LOG_DIRTY_PAGES)
    this.dirtyLogging = true
  }

  stopDirtyLog(): void {
    if (!this.dirtyLogging) return
    this.setRamFlags(0)
    this.dirtyLogging = false
  }

  /** KVM_GET_DIRTY_LOG: guest-physical addresses of pages written since the last call. */
  dirtyPages(): number[] {
    const bitmap = this.vm.getDirtyLog(RAM_SLOT)
    const pages: number[] = []
    for (let byte = 0; byte < bitmap.length; byte++) {
      const bits = bitmap[byte]!
      if (bits === 0) continue
      for (let bit = 0; bit < 8; bit++) if (bits & (1 << bit)) pages.push(this.config.ramBase + (byte * 8 + bit) * PAGE_SIZE)
    }
    return pages
  }

  private setRamFlags(flags: number): void {
    this.vm.setUserMemoryRegion({ slot: RAM_SLOT, flags, guestPhysAddr: ga(this.config.ramBase), memorySize: this.config.ramSize, userspaceAddr: this.ramHva })
  }
}
