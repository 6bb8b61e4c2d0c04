import {
  Hypervisor,
  KVM_ARM_TARGET_GENERIC_V8,
  KVM_DIRTY_LOG_INITIALLY_SET,
  KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE,
  KVM_MAX_VCPUS,
  KVM_USER_MEM_SLOTS,
  copyTagsIoctlReturn,
  irqLine,
  jitCpuFactory,
  mteCopyTags,
  type MtePolicy,
  type UserMemoryRegion,
  type UserTagBuffer,
  type Vcpu,
  type VcpuExit as HypervisorExit,
  type Vm,
} from '@tagvm/hypervisor'
import {
  ErrnoError,
  HostKernel,
  PAGE_SIZE,
  PhysicalMemory,
  type HostMm,
  type MmapOptions,
} from '@tagvm/tag-memory'
import {
  KVM_API_VERSION,
  KVM_CAP_ARM_EL1_32BIT,
  KVM_CAP_ARM_IRQ_LINE_LAYOUT_2,
  KVM_CAP_ARM_MTE,
  KVM_CAP_ARM_NISV_TO_USER,
  KVM_CAP_ARM_PSCI,
  KVM_CAP_ARM_PSCI_0_2,
  KVM_CAP_ARM_VM_IPA_SIZE,
  KVM_CAP_CHECK_EXTENSION_VM,
  KVM_CAP_DEVICE_CTRL,
  KVM_CAP_ENABLE_CAP_VM,
  KVM_CAP_IMMEDIATE_EXIT,
  KVM_CAP_IRQCHIP,
  KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2,
  KVM_CAP_MAX_VCPUS,
  KVM_CAP_MAX_VCPU_ID,
  KVM_CAP_MP_STATE,
  KVM_CAP_NR_MEMSLOTS,
  KVM_CAP_NR_VCPUS,
  KVM_CAP_ONE_REG,
  KVM_CAP_READONLY_MEM,
  KVM_CAP_SYNC_MMU,
  KVM_CAP_USER_MEMORY,
  KVM_VM_TYPE_ARM_IPA_SIZE_MASK,
} from './constants.js'
import { KvmError, kvmCall } from './errors.js'
import { createDevice, type DeviceFd } from './device.js'
import { guestDebugExtension, type GuestDebug, type GuestTranslation } from './guest-debug.js'

/** A guest physical address (IPA); a branded number so it is not mixed up with host addresses. */
export type GuestAddress = number & { readonly __brand: 'GuestAddress' }
/** Makes a {@link GuestAddress}; throws RangeError unless `address` is a non-negative safe integer. */
export function ga(address: number): GuestAddress {
  if (!Number.isSafeInteger(address) || address < 0) throw new RangeError(`guest address ${address} is not a non-negative safe integer`)
  return address as GuestAddress
}

/** What `Kvm.open` runs on: the host kernel, memory and process a VMM would have. */
export interface KvmOptions {
  /** Host physical memory in bytes (allocated lazily; default 1 GiB). Ignored with `kernel`. */
  readonly hostMemory?: number
  /** Back host memory with SharedArrayBuffers, so other threads can attach to it (`kernel.memory.share()`). Ignored with `kernel`. */
  readonly sharedMemory?: boolean
  /** An existing host kernel to run on (shares its memory, swap and migration). */
  readonly kernel?: HostKernel
  /** The calling process's address space; a new one by default. */
  readonly mm?: HostMm
  /** Host ID_AA64PFR1_EL1.MTE: 0, 2 or 3 (default, as QEMU's -cpu max). */
  readonly hostMteLevel?: 0 | 2 | 3
  /** KVM_CAP_ARM_VM_IPA_SIZE (default 44). */
  readonly ipaLimit?: number
  /** Online host CPUs (KVM_CAP_NR_VCPUS; default 2). */
  readonly hostCpus?: number
  /**
   * The vCPUs' compiled tier (default off): hot guest code translated to WebAssembly, with
   * host memory in a shared WebAssembly.Memory (at most 4 GiB with tags: see
   * MAX_JIT_HOST_MEMORY). Not with `sharedMemory` or `kernel`. Architectural results are the
   * interpreter's.
   */
  readonly jit?: boolean | { readonly threshold?: number }
}

/** The largest `hostMemory` with `jit`: data and tags (1/32 of it) inside one 4 GiB wasm memory, less the vCPUs' state pages. */
export const MAX_JIT_HOST_MEMORY = Math.floor(((2 ** 32 - 2 ** 26) * 32) / 33 / 2 ** 21) * 2 ** 21

interface WasmMemoryApi {
  Memory: new (descriptor: { initial: number; maximum: number; shared: boolean }) => { readonly buffer: ArrayBufferLike; grow(pages: number): number }
}

/** Host memory for Kvm.open: plain, in SharedArrayBuffers, or inside a shared WebAssembly.Memory (the compiled tier). */
function hostMemory(options: KvmOptions): PhysicalMemory {
  const size = options.hostMemory ?? 2 ** 30
  if (options.jit === undefined || options.jit === false) return new PhysicalMemory({ size, shared: options.sharedMemory === true })
  if (options.sharedMemory === true) throw new RangeError('jit and sharedMemory cannot be combined: the compiled tier keeps host memory in a WebAssembly.Memory')
  if (size > MAX_JIT_HOST_MEMORY) throw new RangeError(`jit: ${size} bytes of host memory do not fit a WebAssembly.Memory with their tags (at most ${MAX_JIT_HOST_MEMORY})`)
  const Wasm = (globalThis as unknown as { WebAssembly: WasmMemoryApi }).WebAssembly
  // A shared memory: growing it (as RAM is first touched) never detaches the views already made.
  return new PhysicalMemory({ size, wasmMemory: new Wasm.Memory({ initial: 1, maximum: 65536, shared: true }) })
}

/** Arguments of `Kvm.createVm` (KVM_CREATE_VM). */
export interface CreateVmOptions {
  /** KVM_VM_TYPE_ARM_IPA_SIZE(bits); 0 or absent = 40 bits. */
  readonly ipaBits?: number
  /** Who may make guest memory tagged (study option; default Linux's behaviour). */
  readonly mtePolicy?: MtePolicy
}

/**
 * The system handle (`open("/dev/kvm")`) and the VMM process it runs in: `mmap` and the
 * other host calls a VMM needs come from here too.
 */
export class Kvm {
  readonly kernel: HostKernel
  /** The VMM process's address space (mmap, user accesses with and without PROT_MTE). */
  readonly process: HostMm
  readonly hypervisor: Hypervisor
  private readonly hostCpus: number

  private constructor(options: KvmOptions) {
    const jit = options.jit ?? false
    if (jit !== false && options.kernel !== undefined) throw new RangeError('jit needs host memory of its own: leave out kernel')
    this.kernel = options.kernel ?? new HostKernel({ memory: hostMemory(options) })
    this.process = options.mm ?? this.kernel.createMm()
    this.hypervisor = new Hypervisor({
      kernel: this.kernel,
      hostMteLevel: options.hostMteLevel ?? 3,
      ipaLimit: options.ipaLimit ?? 44,
      ...(jit === false ? {} : { cpuFactory: jitCpuFactory(jit === true ? {} : jit) }),
    })
    this.hostCpus = options.hostCpus ?? 2
  }

  /** Opens the hypervisor on a new (or the given) host. */
  static open(options: KvmOptions = {}): Kvm {
    return new Kvm(options)
  }

  /** KVM_GET_API_VERSION. */
  getApiVersion(): number {
    return KVM_API_VERSION
  }

  /** KVM_CHECK_EXTENSION on the system fd: 0 when unsupported, else 1 or the capability's value. */
  checkExtension(cap: number): number {
    return this.extension(cap, undefined)
  }

  /** @internal shared by the system and VM fds. */
  extension(cap: number, vm: Vm | undefined): number {
    const hv = this.hypervisor
    switch (cap) {
      case KVM_CAP_USER_MEMORY:
      case KVM_CAP_SYNC_MMU:
      case KVM_CAP_ONE_REG:
      case KVM_CAP_ARM_PSCI:
      case KVM_CAP_ARM_PSCI_0_2:
      case KVM_CAP_READONLY_MEM:
      case KVM_CAP_MP_STATE:
      case KVM_CAP_IMMEDIATE_EXIT:
      case KVM_CAP_ARM_NISV_TO_USER:
      case KVM_CAP_CHECK_EXTENSION_VM:
      case KVM_CAP_ENABLE_CAP_VM:
      case KVM_CAP_IRQCHIP: // the in-kernel vGICv3 (KVM_CREATE_DEVICE)...
      case KVM_CAP_DEVICE_CTRL:
      case KVM_CAP_ARM_IRQ_LINE_LAYOUT_2: // ...and KVM_IRQ_LINE's 2-level vCPU field
        return 1
      case KVM_CAP_NR_VCPUS:
        return Math.min(this.hostCpus, KVM_MAX_VCPUS)
      case KVM_CAP_MAX_VCPUS:
      case KVM_CAP_MAX_VCPU_ID:
        return KVM_MAX_VCPUS
      case KVM_CAP_NR_MEMSLOTS:
        return KVM_USER_MEM_SLOTS
      case KVM_CAP_ARM_VM_IPA_SIZE:
        return hv.ipaLimit
      case KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2:
        return KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE | KVM_DIRTY_LOG_INITIALLY_SET
      case KVM_CAP_ARM_MTE:
        return hv.hostSupportsMte ? 1 : 0
      case KVM_CAP_ARM_EL1_32BIT:
        return 0
      default:
        void vm
        return guestDebugExtension(cap) ?? 0
    }
  }

  /** KVM_CREATE_VM: EINVAL for an IPA size outside 32..KVM_CAP_ARM_VM_IPA_SIZE. */
  createVm(options: CreateVmOptions = {}): VmFd {
    const ipaBits = options.ipaBits ?? 0
    if (!Number.isInteger(ipaBits) || ipaBits < 0 || ipaBits > KVM_VM_TYPE_ARM_IPA_SIZE_MASK) {
      throw new KvmError('KVM_CREATE_VM', new ErrnoError('EINVAL', `invalid VM type (IPA size ${ipaBits})`))
    }
    const vm = kvmCall('KVM_CREATE_VM', () =>
      this.hypervisor.createVm({ mm: this.process, ipaBits, ...(options.mtePolicy ? { mtePolicy: options.mtePolicy } : {}) }),
    )
    return new VmFd(this, vm)
  }

  /** mmap(2) in the VMM process (PROT_MTE for memory the VMM itself reads and writes tags in). */
  mmap(options: MmapOptions): number {
    return this.process.mmap(options)
  }

  /** munmap(2) in the calling process's address space. */
  munmap(addr: number, length: number): void {
    this.process.munmap(addr, length)
  }

  /** mprotect(2) in the calling process's address space (PROT_MTE included). */
  mprotect(addr: number, length: number, prot: number): void {
    this.process.mprotect(addr, length, prot)
  }
}

/** struct kvm_userspace_memory_region with a branded guest address. */
export interface MemoryRegion {
  readonly slot: number
  readonly flags: number
  readonly guestPhysAddr: GuestAddress | number
  readonly memorySize: number
  /** Host virtual address in the VMM process (from `Kvm.mmap`). */
  readonly userspaceAddr: number
  /** With KVM_MEM_USERFAULT: one bit per page, set while the page is missing (the VMM clears it once the page is in place). */
  readonly userfaultBitmap?: Uint8Array
}

/** struct kvm_arm_copy_mte_tags. `addr` is a VMM address, or a JS buffer standing in for one. */
export interface CopyMteTags {
  readonly guestIpa: GuestAddress | number
  readonly length: number
  readonly addr: number | Uint8Array
  readonly flags: number
  readonly reserved?: readonly [number, number]
}

/** A VM file descriptor. */
export class VmFd {
  readonly kvm: Kvm
  /** The hypervisor's VM (for inspection: stats, stage-2 tables). */
  readonly vm: Vm

  /** @internal use Kvm.createVm */
  constructor(kvm: Kvm, vm: Vm) {
    this.kvm = kvm
    this.vm = vm
  }

  /** KVM_CHECK_EXTENSION on the VM fd. */
  checkExtension(cap: number): number {
    return this.kvm.extension(cap, this.vm)
  }

  /**
   * KVM_ENABLE_CAP on the VM fd: KVM_CAP_ARM_MTE (before any vCPU, host MTE needed),
   * KVM_CAP_ARM_NISV_TO_USER, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 (args[0] = flags).
   * EINVAL for non-zero `flags` and for every other capability.
   */
  enableCap(cap: number, args: readonly number[] = [], flags = 0): void {
    kvmCall('KVM_ENABLE_CAP', () => {
      if (flags !== 0) throw new ErrnoError('EINVAL', 'kvm_enable_cap.flags must be 0')
      switch (cap) {
        case KVM_CAP_ARM_MTE:
          this.vm.enableMte()
          return
        case KVM_CAP_ARM_NISV_TO_USER:
          this.vm.nisvToUser = true
          return
        case KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2:
          this.vm.enableManualDirtyLogProtect(args[0] ?? 0)
          return
        default:
          throw new ErrnoError('EINVAL', `capability ${cap} cannot be enabled on a VM`)
      }
    })
  }

  /** KVM_SET_USER_MEMORY_REGION: create, move, delete (size 0) or re-flag a slot. */
  setUserMemoryRegion(region: MemoryRegion): void {
    const plain: UserMemoryRegion = { ...region, guestPhysAddr: region.guestPhysAddr as number }
    kvmCall('KVM_SET_USER_MEMORY_REGION', () => this.vm.setUserMemoryRegion(plain))
  }

  /** KVM_CREATE_VCPU. */
  createVcpu(id: number): VcpuFd {
    return new VcpuFd(kvmCall('KVM_CREATE_VCPU', () => this.vm.createVcpu(id)))
  }

  /** KVM_ARM_PREFERRED_TARGET: the target and features to pass to KVM_ARM_VCPU_INIT. */
  armPreferredTarget(): { target: number; features: number } {
    return { target: KVM_ARM_TARGET_GENERIC_V8, features: 0 }
  }

  /** KVM_GET_DIRTY_LOG: the slot's bitmap, one bit per page in 64-bit little-endian words. */
  getDirtyLog(slot: number): Uint8Array {
    return kvmCall('KVM_GET_DIRTY_LOG', () => this.vm.getDirtyLog(slot))
  }

  /** KVM_CLEAR_DIRTY_LOG. */
  clearDirtyLog(log: { slot: number; firstPage: number; numPages: number; dirtyBitmap: Uint8Array }): void {
    kvmCall('KVM_CLEAR_DIRTY_LOG', () => this.vm.clearDirtyLog(log.slot, log.firstPage, log.numPages, log.dirtyBitmap))
  }

  /**
   * KVM_ARM_MTE_COPY_TAGS: one tag per byte (low nibble), 256 bytes per 4 KiB page. Returns
   * the ioctl's value: `length`, or the bytes of guest memory done before a later page
   * failed (an `int`). Errors: EINVAL (no MTE, reserved or unknown flags, unaligned, a
   * length above INT_MAX, as Linux 6.3 and later), EFAULT (no memslot, device memory, a bad
   * buffer on the first page).
   */
  mteCopyTags(request: CopyMteTags): number {
    const user = userBuffer(this.kvm.process, request.addr)
    const done = kvmCall('KVM_ARM_MTE_COPY_TAGS', () =>
      mteCopyTags(
        this.vm,
        { guestIpa: request.guestIpa as number, length: request.length, flags: request.flags, ...(request.reserved ? { reserved: request.reserved } : {}) },
        user,
      ),
    )
    return copyTagsIoctlReturn(done)
  }

  /**
   * KVM_CREATE_DEVICE: the vGICv3 (KVM_DEV_TYPE_ARM_VGIC_V3) is the only type. With
   * KVM_CREATE_DEVICE_TEST in `flags` only checks the type and returns null.
   */
  createDevice(device: { readonly type: number; readonly flags?: 0 }): DeviceFd
  createDevice(device: { readonly type: number; readonly flags?: number }): DeviceFd | null
  createDevice(device: { readonly type: number; readonly flags?: number }): DeviceFd | null {
    return createDevice(this, device)
  }

  /** KVM_IRQ_LINE: `irq` packs type, vCPU and number (`kvmIrqNumber`); level 0 or 1. */
  irqLine(irq: number, level: number | boolean): void {
    kvmCall('KVM_IRQ_LINE', () => irqLine(this.vm, irq, level === true || (typeof level === 'number' && level !== 0)))
  }
}

/** The user side of a tag copy: a VMM address (through the process's mappings) or a buffer. */
function userBuffer(mm: HostMm, addr: number | Uint8Array): UserTagBuffer {
  if (addr instanceof Uint8Array) {
    return {
      copyToUser(offset, tags) {
        const n = Math.max(0, Math.min(tags.length, addr.length - offset))
        addr.set(tags.subarray(0, n), offset)
        return n
      },
      copyFromUser(offset, tags) {
        const n = Math.max(0, Math.min(tags.length, addr.length - offset))
        tags.set(addr.subarray(offset, offset + n))
        return n
      },
    }
  }
  // A user pointer: copy_{to,from}_user through the VMM's own mappings; a fault copies nothing.
  const through = (fn: () => void): boolean => {
    try {
      fn()
      return true
    } catch (error) {
      if (error instanceof ErrnoError) return false
      throw error
    }
  }
  // One copy for the whole request; when it faults, again a user page at a time up to the
  // fault, as copy_{to,from}_user report the bytes they managed.
  const copy = (offset: number, tags: Uint8Array, access: (at: number, part: Uint8Array) => void): number => {
    if (through(() => access(addr + offset, tags))) return tags.length
    let done = 0
    while (done < tags.length) {
      const at = addr + offset + done
      const n = Math.min(tags.length - done, PAGE_SIZE - (at % PAGE_SIZE))
      if (!through(() => access(at, tags.subarray(done, done + n)))) break
      done += n
    }
    return done
  }
  return {
    copyToUser: (offset, tags) => copy(offset, tags, (at, part) => mm.userWrite(at, part)),
    copyFromUser: (offset, tags) => copy(offset, tags, (at, part) => mm.userRead(at, part)),
  }
}

/** What `VcpuFd.run()` returns: the hypervisor's exits plus nothing else (see VcpuExit there). */
export type VcpuExit = HypervisorExit

/** A vCPU file descriptor. */
export class VcpuFd {
  readonly vcpu: Vcpu

  /** @internal use VmFd.createVcpu */
  constructor(vcpu: Vcpu) {
    this.vcpu = vcpu
  }

  /** KVM_ARM_VCPU_INIT. `features` is features[0] of struct kvm_vcpu_init, as bit numbers or a mask. */
  init(init: { target: number; features?: readonly number[] | number }): void {
    const features = Array.isArray(init.features) ? init.features.reduce((mask: number, bit: number) => mask | (1 << bit), 0) : ((init.features as number | undefined) ?? 0)
    kvmCall('KVM_ARM_VCPU_INIT', () => this.vcpu.init({ target: init.target, features }))
  }

  /** The vCPU index given to KVM_CREATE_VCPU. */
  get id(): number {
    return this.vcpu.id
  }

  /**
   * Guest instructions this vCPU has retired. A tagvm extension: real KVM has no such ioctl
   * (VMMs count with perf); tagvm's CLI uses it for `--max-insns` and `--after-insns`.
   */
  get retiredInstructions(): number {
    return this.vcpu.cpu.retired
  }

  /** KVM_RUN. Fill `exit.data` of an MMIO read before calling it again. */
  run(budget?: number): VcpuExit {
    return kvmCall('KVM_RUN', () => this.vcpu.run(budget))
  }

  /**
   * KVM_SET_GUEST_DEBUG (guest-debug.ts): breakpoints, watchpoints, BRK and single-step
   * stops as KVM_EXIT_DEBUG exits (`kind: 'debug'`). EINVAL for unknown control bits.
   */
  setGuestDebug(dbg: GuestDebug): void {
    kvmCall('KVM_SET_GUEST_DEBUG', () => this.vcpu.setGuestDebug(dbg))
  }

  /**
   * KVM_TRANSLATE (arm64 KVM refuses it; a tagvm extension for debuggers): the guest's
   * stage-1 view of virtual address `va` in the EL1&0 regime, and whether it is Tagged.
   */
  translate(va: bigint): GuestTranslation {
    return kvmCall('KVM_TRANSLATE', () => this.vcpu.translate(va))
  }

  /**
   * Blocked in WFI: the host-counter tick that wakes it (Infinity: only an interrupt will),
   * undefined when runnable. A tagvm extension: a real KVM_RUN sleeps instead of returning
   * KVM_EXIT_INTR, and the VMM's event loop runs on other threads.
   */
  get waitDeadline(): number | undefined {
    return this.vcpu.waitDeadline
  }

  /** kvm_run.immediate_exit. */
  get immediateExit(): boolean {
    return this.vcpu.immediateExit
  }

  set immediateExit(value: boolean) {
    this.vcpu.immediateExit = value
  }

  /** KVM_GET_ONE_REG. */
  getOneReg(id: bigint): bigint {
    return kvmCall('KVM_GET_ONE_REG', () => this.vcpu.getOneReg(id))
  }

  /** KVM_SET_ONE_REG. */
  setOneReg(id: bigint, value: bigint): void {
    kvmCall('KVM_SET_ONE_REG', () => this.vcpu.setOneReg(id, value))
  }

  /** KVM_GET_REG_LIST: E2BIG when `capacity` (kvm_reg_list.n) is too small. */
  getRegList(capacity = Number.MAX_SAFE_INTEGER): bigint[] {
    return kvmCall('KVM_GET_REG_LIST', () => {
      const ids = this.vcpu.regList()
      if (ids.length > capacity) throw new ErrnoError('E2BIG', `${ids.length} registers do not fit in ${capacity}`)
      return ids
    })
  }

  /** KVM_GET_MP_STATE. */
  getMpState(): number {
    return this.vcpu.mpState
  }

  /** KVM_SET_MP_STATE. */
  setMpState(state: number): void {
    kvmCall('KVM_SET_MP_STATE', () => this.vcpu.setMpState(state))
  }
}
