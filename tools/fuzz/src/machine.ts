/**
 * One guest VM as a VMM builds it through @tagvm/vmm-api: memslots over the VMM's own
 * mappings, vCPUs, and the host calls the fuzzer perturbs it with. Also the two ways of
 * moving it: the parts of a migration (memory, tags, registers) are here, the schedule in
 * run.ts.
 */
import {
  HostKernel,
  PhysicalMemory,
  MADV_MERGEABLE,
  type HostMm,
} from '@tagvm/tag-memory'
import {
  InstructionClock,
  createVmTimers,
  KVM_ARM_TAGS_FROM_GUEST,
  KVM_ARM_TAGS_TO_GUEST,
  KVM_ARM_VCPU_POWER_OFF,
  KVM_ARM_VCPU_PSCI_0_2,
  KVM_CAP_ARM_MTE,
  KVM_CAP_ARM_NISV_TO_USER,
  KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2,
  KVM_MEM_LOG_DIRTY_PAGES,
  KVM_MEM_READONLY,
  Kvm,
  KvmError,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  MAP_SHARED,
  PROT_MTE,
  PROT_READ,
  PROT_WRITE,
  REG_PC,
  REG_SP,
  REG_SP_EL1,
  ga,
  xRegId,
  type VcpuFd,
  type VmFd,
} from '@tagvm/vmm-api'
import { setupGpa } from './layout.js'
import { fromHex, type Scenario, type SlotSpec } from './scenario.js'
import type { SlotImage } from './image.js'

export const PAGE = 4096
const TAGS_PER_PAGE = PAGE / 16

export interface SlotState {
  readonly spec: SlotSpec
  /** The VMM's mapping of the slot. */
  readonly hva: number
  /** Memslot flags as last set. */
  flags: number
}

/** A host: a kernel and a VMM process (Kvm) on it. */
export function openHost(s: Scenario): Kvm {
  const kernel = new HostKernel({ memory: new PhysicalMemory({ size: s.hostMemoryMiB << 20 }), transparentHugepages: s.thp })
  return Kvm.open({ kernel, hostMteLevel: s.hostMteLevel })
}

/** Another VMM process on the same host kernel. */
export function openProcess(s: Scenario, on: Kvm): Kvm {
  return Kvm.open({ kernel: on.kernel, hostMteLevel: s.hostMteLevel })
}

export function isKvmError(error: unknown, code: string): error is KvmError {
  return error instanceof KvmError && error.code === code
}

export interface MachineOptions {
  /** Initial contents of each slot (a fresh machine), or null for a migration target. */
  readonly image: Map<number, SlotImage> | null
  /** Contents for file-backed slots of a migration target (read from the source). */
  readonly fileContents?: Map<number, Uint8Array>
  /** Host-side settings only the perturbed run uses (manual dirty log protection, KSM). */
  readonly perturbed: boolean
  /** Dirty logging wanted per slot at creation. */
  readonly dirtyLogged?: ReadonlySet<number>
}

export class Machine {
  readonly kvm: Kvm
  readonly vm: VmFd
  readonly vcpus: VcpuFd[] = []
  readonly slots: SlotState[] = []
  readonly scenario: Scenario

  constructor(s: Scenario, kvm: Kvm, options: MachineOptions) {
    this.scenario = s
    this.kvm = kvm
    const vm = kvm.createVm({ ipaBits: s.ipaBits })
    this.vm = vm
    // Guest time from retired instructions: the timer ONE_REGs (counters, CVAL) are then the
    // same in the reference and the perturbed run, as everything else the differential compares.
    createVmTimers(vm.vm, { clock: new InstructionClock() })
    if (s.mte) vm.enableCap(KVM_CAP_ARM_MTE)
    if (s.nisvToUser) vm.enableCap(KVM_CAP_ARM_NISV_TO_USER)
    if (options.perturbed && s.manualDirtyLog !== 0) vm.enableCap(KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, [s.manualDirtyLog])
    for (const spec of s.slots) {
      const image = options.image?.get(spec.slot)
      const hva = this.mapSlot(spec, image, options.fileContents?.get(spec.slot))
      const flags = (spec.readonly ? KVM_MEM_READONLY : 0) | (options.dirtyLogged?.has(spec.slot) ? KVM_MEM_LOG_DIRTY_PAGES : 0)
      const state: SlotState = { spec, hva, flags }
      this.slots.push(state)
      if (options.perturbed && spec.backing === 'anon') kvm.process.madvise(hva, spec.size, MADV_MERGEABLE)
      this.setRegion(state, flags)
      if (image && s.mte) for (const [page, tags] of image.tags) this.copyTags(spec.gpa + page * PAGE, tags, KVM_ARM_TAGS_TO_GUEST)
    }
    s.vcpus.forEach((spec, id) => {
      const vcpu = vm.createVcpu(id)
      const features = [KVM_ARM_VCPU_PSCI_0_2]
      if (options.image && spec.startedByPsci) features.push(KVM_ARM_VCPU_POWER_OFF)
      vcpu.init({ ...vm.armPreferredTarget(), features })
      if (options.image) {
        spec.x.forEach((value, n) => vcpu.setOneReg(xRegId(n), fromHex(value)))
        vcpu.setOneReg(REG_SP, fromHex(spec.spEl0))
        vcpu.setOneReg(REG_SP_EL1, fromHex(spec.spEl1))
        vcpu.setOneReg(REG_PC, BigInt(setupGpa(id)))
      }
      this.vcpus.push(vcpu)
    })
  }

  get process(): HostMm {
    return this.kvm.process
  }

  get kernel(): HostKernel {
    return this.kvm.kernel
  }

  private mapSlot(spec: SlotSpec, image: SlotImage | undefined, fileContent: Uint8Array | undefined): number {
    const kvm = this.kvm
    const prot = PROT_READ | (spec.vmmReadOnly ? 0 : PROT_WRITE) | (spec.protMte ? PROT_MTE : 0)
    let hva: number
    switch (spec.backing) {
      case 'anon':
        hva = kvm.mmap({ length: spec.size, prot, flags: MAP_PRIVATE | MAP_ANONYMOUS })
        break
      case 'anon-shared':
        hva = kvm.mmap({ length: spec.size, prot, flags: MAP_SHARED | MAP_ANONYMOUS })
        break
      case 'memfd': {
        const file = kvm.kernel.memfdCreate(`guest-slot-${spec.slot}`, spec.size)
        hva = kvm.mmap({ length: spec.size, prot, flags: MAP_SHARED, file })
        break
      }
      case 'file': {
        // A disk image the guest sees: its data comes from the file, not from VMM writes.
        let content = fileContent
        if (!content) {
          content = new Uint8Array(spec.size)
          for (const [page, bytes] of image?.pages ?? []) content.set(bytes, page * PAGE)
        }
        const file = kvm.kernel.createFile(`guest-slot-${spec.slot}.img`, content)
        return kvm.mmap({ length: spec.size, prot, flags: MAP_PRIVATE, file })
      }
    }
    for (const [page, bytes] of image?.pages ?? []) kvm.process.userWrite(hva + page * PAGE, bytes)
    return hva
  }

  setRegion(slot: SlotState, flags: number): void {
    this.vm.setUserMemoryRegion({ slot: slot.spec.slot, flags, guestPhysAddr: ga(slot.spec.gpa), memorySize: slot.spec.size, userspaceAddr: slot.hva })
    slot.flags = flags
  }

  deleteRegion(slot: SlotState): void {
    this.vm.setUserMemoryRegion({ slot: slot.spec.slot, flags: 0, guestPhysAddr: ga(slot.spec.gpa), memorySize: 0, userspaceAddr: slot.hva })
  }

  slot(id: number): SlotState {
    const slot = this.slots.find((s) => s.spec.slot === id)
    if (!slot) throw new RangeError(`no slot ${id}`)
    return slot
  }

  /** The slot holding guest physical address `gpa`, if any. */
  slotAt(gpa: number): SlotState | undefined {
    return this.slots.find((s) => gpa >= s.spec.gpa && gpa < s.spec.gpa + s.spec.size)
  }

  copyTags(gpa: number, buffer: Uint8Array, flags: number): number {
    return this.vm.mteCopyTags({ guestIpa: ga(gpa), length: buffer.length * 16, addr: buffer, flags })
  }

  /** The guest instructions every vCPU of this VM has retired. */
  get retired(): number {
    let n = 0
    for (const vcpu of this.vcpus) n += vcpu.retiredInstructions
    return n
  }

  /**
   * KVM's rule before reading vCPU state for a save or a migration: KVM_RUN with
   * immediate_exit set, so an MMIO access the VMM has answered completes. Returns false
   * if KVM_RUN did not fail with EINTR (immediate_exit ignored).
   */
  completePending(vcpu: VcpuFd): boolean {
    vcpu.immediateExit = true
    try {
      vcpu.run()
      return false
    } catch (error) {
      if (isKvmError(error, 'EINTR')) return true
      throw error
    } finally {
      vcpu.immediateExit = false
    }
  }

  /** Every ONE_REG register of a vCPU, in KVM_GET_REG_LIST order. */
  registers(vcpu: VcpuFd): Map<bigint, bigint> {
    const values = new Map<bigint, bigint>()
    for (const id of vcpu.getRegList()) values.set(id, vcpu.getOneReg(id))
    return values
  }

  /** A slot's data, page by page, read through the VMM's mapping. */
  readPage(slot: SlotState, page: number, into: Uint8Array): void {
    this.process.userRead(slot.hva + page * PAGE, into)
  }

  /** A slot's tags (one byte per granule) through KVM_ARM_MTE_COPY_TAGS. */
  readTags(slot: SlotState, firstPage: number, pages: number): Uint8Array {
    const tags = new Uint8Array(pages * TAGS_PER_PAGE)
    const done = this.copyTags(slot.spec.gpa + firstPage * PAGE, tags, KVM_ARM_TAGS_FROM_GUEST)
    if (done !== pages * PAGE) throw new Error(`KVM_ARM_MTE_COPY_TAGS of slot ${slot.spec.slot} copied ${done} of ${pages * PAGE} bytes`)
    return tags
  }
}

/**
 * A migration target for `source`: same slots (with the source's file contents), vCPUs
 * created and initialised, nothing run. Registers and memory come later.
 */
export function migrationTarget(source: Machine, kvm: Kvm, dirtyLogged: ReadonlySet<number>): Machine {
  const fileContents = new Map<number, Uint8Array>()
  for (const slot of source.slots) {
    if (slot.spec.backing !== 'file') continue
    const content = new Uint8Array(slot.spec.size)
    source.process.userRead(slot.hva, content)
    fileContents.set(slot.spec.slot, content)
  }
  return new Machine(source.scenario, kvm, { image: null, fileContents, perturbed: true, dirtyLogged })
}

function isZero(bytes: Uint8Array): boolean {
  const words = new Int32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4)
  for (let i = 0; i < words.length; i++) if (words[i] !== 0) return false
  return true
}

/**
 * Copies pages of a slot from `source` to `target`: data through the VMM mappings, tags
 * through KVM_ARM_MTE_COPY_TAGS. `all` is the first full pass (zero pages skipped, the
 * target being fresh); otherwise only `pages`.
 */
export function copySlotPages(source: Machine, target: Machine, slotId: number, pages: readonly number[] | 'all'): number {
  const from = source.slot(slotId)
  const to = target.slot(slotId)
  const spec = from.spec
  const total = spec.size / PAGE
  const list = pages === 'all' ? [...Array(total).keys()] : pages
  const data = new Uint8Array(PAGE)
  let copied = 0
  for (const page of list) {
    if (spec.backing === 'file' && pages === 'all') break // the target's file already holds it
    source.readPage(from, page, data)
    if (pages === 'all' && isZero(data)) continue
    if (spec.vmmReadOnly) throw new Error(`page ${page} of read-only mapped slot ${slotId} is dirty`)
    target.process.userWrite(to.hva + page * PAGE, data)
    copied++
  }
  if (!source.scenario.mte) return copied
  if (pages === 'all') {
    const tags = source.readTags(from, 0, total)
    if (tags.every((t) => t === 0)) return copied
    if (spec.readonly) {
      // KVM_ARM_MTE_COPY_TAGS cannot write a read-only memslot: restore the tags through a
      // writable slot over the same memory, then make it read-only again.
      target.deleteRegion(to)
      target.setRegion(to, to.flags & ~KVM_MEM_READONLY)
      target.copyTags(spec.gpa, tags, KVM_ARM_TAGS_TO_GUEST)
      target.deleteRegion(to)
      target.setRegion(to, to.flags | KVM_MEM_READONLY)
    } else {
      target.copyTags(spec.gpa, tags, KVM_ARM_TAGS_TO_GUEST)
    }
    return copied
  }
  for (const page of list) {
    const tags = source.readTags(from, page, 1)
    target.copyTags(spec.gpa + page * PAGE, tags, KVM_ARM_TAGS_TO_GUEST)
  }
  return copied
}

/** Registers and MP state of every vCPU, through ONE_REG (after completing pending work). */
export function copyVcpuState(source: Machine, target: Machine): void {
  source.vcpus.forEach((vcpu, i) => {
    const to = target.vcpus[i] as VcpuFd
    for (const [id, value] of source.registers(vcpu)) to.setOneReg(id, value)
    to.setMpState(vcpu.getMpState())
  })
}
