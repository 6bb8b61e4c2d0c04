import { ErrnoError, PAGE_SIZE, type HostKernel, type PhysicalMemory } from '@tagvm/tag-memory'
import { defaultCpuFactory, type GuestCpuFactory } from './guest-cpu.js'
import { Vm, type VmOptions } from './vm.js'

export interface HypervisorOptions {
  /** The host kernel: its page allocator gives stage-2 table pages; its memory holds guest RAM. */
  readonly kernel: HostKernel
  /**
   * The host CPU's MTE level as ID_AA64PFR1_EL1.MTE reports it: 0 = none, 2 = MTE2,
   * 3 = MTE3 (default 3, as QEMU's -cpu max). KVM_CAP_ARM_MTE exists only when this is at least 2.
   */
  readonly hostMteLevel?: 0 | 2 | 3
  /** Largest IPA size (KVM_CAP_ARM_VM_IPA_SIZE; default 44, 32..48). */
  readonly ipaLimit?: number
  /** Makes the CPU behind each vCPU (default: `@tagvm/cpu`'s Cpu over the host memory). */
  readonly cpuFactory?: GuestCpuFactory
}

/** VMIDs are 16 bits; 0 is the host's. */
const VMID_COUNT = 1 << 16
/** IPA size of a VM created with type 0 (KVM_PHYS_SHIFT). */
export const KVM_PHYS_SHIFT_DEFAULT = 40

/** The host side of the KVM model (one per host kernel): VMID allocation, host limits. */
export class Hypervisor {
  readonly kernel: HostKernel
  readonly memory: PhysicalMemory
  readonly hostMteLevel: 0 | 2 | 3
  readonly ipaLimit: number
  readonly cpuFactory: GuestCpuFactory
  private readonly vms = new Set<Vm>()
  private nextVmid = 1

  constructor(options: HypervisorOptions) {
    const { kernel, hostMteLevel = 3, ipaLimit = 44, cpuFactory = defaultCpuFactory } = options
    if (!Number.isInteger(ipaLimit) || ipaLimit < 32 || ipaLimit > 48) {
      throw new RangeError(`ipaLimit must be 32..48, got ${ipaLimit}`)
    }
    if (hostMteLevel !== 0 && hostMteLevel !== 2 && hostMteLevel !== 3) {
      throw new RangeError(`hostMteLevel must be 0, 2 or 3, got ${String(hostMteLevel)}`)
    }
    this.kernel = kernel
    this.memory = kernel.memory
    this.hostMteLevel = hostMteLevel
    this.ipaLimit = ipaLimit
    this.cpuFactory = cpuFactory
  }

  /** KVM_CHECK_EXTENSION(KVM_CAP_ARM_MTE). */
  get hostSupportsMte(): boolean {
    return this.hostMteLevel >= 2
  }

  /**
   * KVM_CREATE_VM for the process whose address space is `options.mm`. `ipaBits` 0 or
   * absent means 40 bits; otherwise 32..ipaLimit, else EINVAL.
   */
  createVm(options: VmOptions): Vm {
    const ipaBits = options.ipaBits ?? 0
    if (!Number.isInteger(ipaBits) || ipaBits < 0) throw new RangeError(`ipaBits must be a non-negative integer, got ${ipaBits}`)
    const bits = ipaBits === 0 ? KVM_PHYS_SHIFT_DEFAULT : ipaBits
    if (bits < 32 || bits > this.ipaLimit) {
      throw new ErrnoError('EINVAL', `IPA size ${bits} is outside 32..${this.ipaLimit}`)
    }
    const vm = new Vm(this, this.allocateVmid(), { ...options, ipaBits: bits })
    this.vms.add(vm)
    return vm
  }

  /** A page from the host allocator for a stage-2 table (the builder zeroes it); returns its PA. */
  allocTablePage(): number {
    return this.kernel.allocFrame() * PAGE_SIZE
  }

  freeTablePage(pa: number): void {
    this.kernel.freeFrame(pa / PAGE_SIZE)
  }

  /** @internal called by Vm.destroy */
  releaseVm(vm: Vm): void {
    this.vms.delete(vm)
  }

  get vmCount(): number {
    return this.vms.size
  }

  private allocateVmid(): number {
    const inUse = new Set([...this.vms].map((vm) => vm.vmid))
    for (let tries = 0; tries < VMID_COUNT; tries++) {
      const vmid = this.nextVmid
      this.nextVmid = vmid + 1 >= VMID_COUNT ? 1 : vmid + 1
      if (!inUse.has(vmid)) return vmid
    }
    throw new ErrnoError('ENOSPC', 'every VMID is in use')
  }
}
