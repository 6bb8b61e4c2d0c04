// KVM's device API for the in-kernel vGICv3: KVM_CREATE_DEVICE and KVM_{SET,GET,HAS}_DEVICE_ATTR
// (virt/kvm/kvm_main.c, arch/arm64/kvm/vgic/vgic-kvm-device.c), with Linux's numbers, attr
// encodings and errnos. Values travel through a user pointer as in C: a VMM address, or a
// buffer standing in for one.
import {
  CpuInterface,
  VGIC_ADDR_UNDEF,
  createVgicV3,
  type Vgic,
} from '@tagvm/hypervisor'
import { ErrnoError, type HostMm } from '@tagvm/tag-memory'
import { KVMIO, ioc } from './constants.js'
import { kvmCall } from './errors.js'
import type { VmFd } from './kvm.js'

// ---- ioctls and structs ------------------------------------------------------------------------
/** struct kvm_create_device { u32 type; u32 fd; u32 flags; } */
export const SIZEOF_KVM_CREATE_DEVICE = 12
/** struct kvm_device_attr { u32 flags; u32 group; u64 attr; u64 addr; } */
export const SIZEOF_KVM_DEVICE_ATTR = 24
/** struct kvm_irq_level { u32 irq; u32 level; } */
export const SIZEOF_KVM_IRQ_LEVEL = 8
/** `_IOWR(KVMIO, 0xe0, struct kvm_create_device)`. */
export const KVM_CREATE_DEVICE = ioc(3, KVMIO, 0xe0, SIZEOF_KVM_CREATE_DEVICE)
/** `_IOW(KVMIO, 0xe1..0xe3, struct kvm_device_attr)`. */
export const KVM_SET_DEVICE_ATTR = ioc(1, KVMIO, 0xe1, SIZEOF_KVM_DEVICE_ATTR)
export const KVM_GET_DEVICE_ATTR = ioc(1, KVMIO, 0xe2, SIZEOF_KVM_DEVICE_ATTR)
export const KVM_HAS_DEVICE_ATTR = ioc(1, KVMIO, 0xe3, SIZEOF_KVM_DEVICE_ATTR)
/** `_IOW(KVMIO, 0x61, struct kvm_irq_level)`. */
export const KVM_IRQ_LINE = ioc(1, KVMIO, 0x61, SIZEOF_KVM_IRQ_LEVEL)

/** enum kvm_device_type (the arm64 ones). Only the vGICv3 is registered here. */
export const KVM_DEV_TYPE_VFIO = 4
export const KVM_DEV_TYPE_ARM_VGIC_V2 = 5
export const KVM_DEV_TYPE_ARM_VGIC_V3 = 7
export const KVM_DEV_TYPE_ARM_VGIC_ITS = 8
/** kvm_create_device.flags: only check that the type exists. */
export const KVM_CREATE_DEVICE_TEST = 1

// ---- vGIC attribute groups (arch/arm64/include/uapi/asm/kvm.h) ------------------------------------
export const KVM_DEV_ARM_VGIC_GRP_ADDR = 0
export const KVM_DEV_ARM_VGIC_GRP_DIST_REGS = 1
export const KVM_DEV_ARM_VGIC_GRP_CPU_REGS = 2
export const KVM_DEV_ARM_VGIC_GRP_NR_IRQS = 3
export const KVM_DEV_ARM_VGIC_GRP_CTRL = 4
export const KVM_DEV_ARM_VGIC_GRP_REDIST_REGS = 5
export const KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS = 6
export const KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO = 7
export const KVM_DEV_ARM_VGIC_GRP_ITS_REGS = 8
/** GRP_ADDR attributes. */
export const KVM_VGIC_V2_ADDR_TYPE_DIST = 0
export const KVM_VGIC_V2_ADDR_TYPE_CPU = 1
export const KVM_VGIC_V3_ADDR_TYPE_DIST = 2
export const KVM_VGIC_V3_ADDR_TYPE_REDIST = 3
export const KVM_VGIC_ITS_ADDR_TYPE = 4
export const KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION = 5
/** The u64 of KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION: count 63:52, base 51:16, flags 15:12, index 11:0. */
export const KVM_VGIC_V3_RDIST_INDEX_MASK = 0xfffn
export const KVM_VGIC_V3_RDIST_FLAGS_SHIFT = 12n
export const KVM_VGIC_V3_RDIST_BASE_MASK = 0x000f_ffff_ffff_0000n
export const KVM_VGIC_V3_RDIST_COUNT_SHIFT = 52n
/** GRP_CTRL attributes. */
export const KVM_DEV_ARM_VGIC_CTRL_INIT = 0
export const KVM_DEV_ARM_ITS_SAVE_TABLES = 1
export const KVM_DEV_ARM_ITS_RESTORE_TABLES = 2
export const KVM_DEV_ARM_VGIC_SAVE_PENDING_TABLES = 3
/** Register attributes: the vCPU's MPIDR affinity (Aff3.Aff2.Aff1.Aff0) in 63:32, the offset in 31:0. */
export const KVM_DEV_ARM_VGIC_V3_MPIDR_SHIFT = 32n
export const KVM_DEV_ARM_VGIC_OFFSET_MASK = 0xffff_ffffn
/** GRP_CPU_SYSREGS: op0:op1:CRn:CRm:op2 in the low 16 bits. */
export const KVM_DEV_ARM_VGIC_SYSREG_INSTR_MASK = 0xffffn
/** GRP_LEVEL_INFO: the info type in 31:10 (0 = line level), the first INTID in 9:0. */
export const KVM_DEV_ARM_VGIC_LINE_LEVEL_INFO_SHIFT = 10n
export const KVM_DEV_ARM_VGIC_LINE_LEVEL_INFO_MASK = 0x3f_ffffn << 10n
export const KVM_DEV_ARM_VGIC_LINE_LEVEL_INTID_MASK = 0x3ffn
export const VGIC_LEVEL_INFO_LINE_LEVEL = 0

/** An MPIDR_EL1 value as the attr field packs it: Aff3.Aff2.Aff1.Aff0 in 32 bits, at 63:32. */
export function vgicMpidrField(mpidr: bigint): bigint {
  const packed = (mpidr & 0xff_ffffn) | (((mpidr >> 32n) & 0xffn) << 24n)
  return packed << KVM_DEV_ARM_VGIC_V3_MPIDR_SHIFT
}

/** The attr of a redistributor register, a CPU system register or a line-level word of the vCPU with `mpidr`. */
export function vgicVcpuAttr(mpidr: bigint, low: number | bigint): bigint {
  return vgicMpidrField(mpidr) | (BigInt(low) & KVM_DEV_ARM_VGIC_OFFSET_MASK)
}

/** VGIC_TO_MPIDR: the attr's 32-bit affinity field back to MPIDR_EL1 layout. */
function attrMpidr(attr: bigint): bigint {
  const field = (attr >> KVM_DEV_ARM_VGIC_V3_MPIDR_SHIFT) & 0xffff_ffffn
  return (field & 0xff_ffffn) | ((field >> 24n) << 32n)
}

/** The u64 of KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION. */
export function redistRegionAttrValue(index: number, base: bigint, count: number): bigint {
  return BigInt(index) | base | (BigInt(count) << KVM_VGIC_V3_RDIST_COUNT_SHIFT)
}

// ---- user memory ---------------------------------------------------------------------------

/** struct kvm_device_attr: `addr` is a VMM address, or a buffer standing in for one. */
export interface DeviceAttr {
  readonly flags?: number
  readonly group: number
  readonly attr: bigint | number
  readonly addr: number | ArrayBufferView
}

/** get_user / put_user of a little-endian u32 or u64 at `addr`; EFAULT when it is not there. */
class UserValue {
  constructor(
    private readonly mm: HostMm,
    private readonly addr: number | ArrayBufferView,
  ) {}

  private bytes(size: number): Uint8Array {
    const addr = this.addr
    if (typeof addr !== 'number') {
      if (addr.byteLength < size) throw new ErrnoError('EFAULT', `the buffer holds ${addr.byteLength} bytes, not ${size}`)
      return new Uint8Array(addr.buffer, addr.byteOffset, size)
    }
    const out = new Uint8Array(size)
    try {
      this.mm.userRead(addr, out)
    } catch (error) {
      throw new ErrnoError('EFAULT', `cannot read 0x${addr.toString(16)}: ${(error as Error).message}`)
    }
    return out
  }

  get(size: 4 | 8): bigint {
    const view = new DataView(this.bytes(size).slice().buffer)
    return size === 4 ? BigInt(view.getUint32(0, true)) : view.getBigUint64(0, true)
  }

  put(size: 4 | 8, value: bigint): void {
    const data = new Uint8Array(size)
    const view = new DataView(data.buffer)
    if (size === 4) view.setUint32(0, Number(value & 0xffff_ffffn), true)
    else view.setBigUint64(0, value, true)
    const addr = this.addr
    if (typeof addr !== 'number') {
      this.bytes(size).set(data)
      return
    }
    try {
      this.mm.userWrite(addr, data)
    } catch (error) {
      throw new ErrnoError('EFAULT', `cannot write 0x${addr.toString(16)}: ${(error as Error).message}`)
    }
  }
}

const U64_UNDEF = (1n << 64n) - 1n

/** A device file descriptor from KVM_CREATE_DEVICE (here always the vGICv3). */
export class DeviceFd {
  readonly vmFd: VmFd
  readonly type: number
  /**
   * The hypervisor's vGIC, for inspection, and until the CPU takes interrupts itself for
   * driving the vCPUs' CPU interfaces (`vgic.cpuInterface(i)`) directly.
   */
  readonly vgic: Vgic

  /** @internal use VmFd.createDevice */
  constructor(vmFd: VmFd, type: number, vgic: Vgic) {
    this.vmFd = vmFd
    this.type = type
    this.vgic = vgic
  }

  /** KVM_SET_DEVICE_ATTR (vgic_v3_set_attr). */
  setAttr(attr: DeviceAttr): void {
    kvmCall('KVM_SET_DEVICE_ATTR', () => this.access(attr, true))
  }

  /** KVM_GET_DEVICE_ATTR (vgic_v3_get_attr): the value goes to `attr.addr`. */
  getAttr(attr: DeviceAttr): void {
    kvmCall('KVM_GET_DEVICE_ATTR', () => this.access(attr, false))
  }

  /** KVM_HAS_DEVICE_ATTR (vgic_v3_has_attr): returns if the attribute exists, else ENXIO (EINVAL for a register of no vCPU). */
  hasAttr(attr: DeviceAttr): void {
    kvmCall('KVM_HAS_DEVICE_ATTR', () => this.has(attr))
  }

  /** KVM_GET_DEVICE_ATTR for a u64 or u32 attribute, into a fresh buffer (a convenience over getAttr). */
  getAttrValue(group: number, attr: bigint | number, size: 4 | 8, seed = 0n): bigint {
    const buffer = new BigUint64Array([seed])
    this.getAttr({ group, attr, addr: buffer })
    return size === 4 ? buffer[0]! & 0xffff_ffffn : buffer[0]!
  }

  /** KVM_SET_DEVICE_ATTR with a u64 or u32 value (a convenience over setAttr). */
  setAttrValue(group: number, attr: bigint | number, value: bigint | number): void {
    this.setAttr({ group, attr, addr: new BigUint64Array([BigInt(value)]) })
  }

  private access(attr: DeviceAttr, write: boolean): void {
    const a = attrValue(attr.attr)
    const user = new UserValue(this.vmFd.kvm.process, attr.addr)
    switch (attr.group) {
      case KVM_DEV_ARM_VGIC_GRP_DIST_REGS:
      case KVM_DEV_ARM_VGIC_GRP_REDIST_REGS:
      case KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS:
      case KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO:
        this.regsAccess(attr.group, a, user, write)
        return
      case KVM_DEV_ARM_VGIC_GRP_ADDR:
        this.addrAccess(Number(a & 0xffff_ffffn) === Number(a) ? Number(a) : -1, user, write)
        return
      case KVM_DEV_ARM_VGIC_GRP_NR_IRQS:
        if (write) this.vgic.setNrIrqs(Number(user.get(4)))
        else user.put(4, BigInt(this.vgic.nrIrqs))
        return
      case KVM_DEV_ARM_VGIC_GRP_CTRL:
        if (!write) break
        if (a === BigInt(KVM_DEV_ARM_VGIC_CTRL_INIT)) {
          this.vgic.init()
          return
        }
        // No LPIs, so there are no pending tables to write back.
        if (a === BigInt(KVM_DEV_ARM_VGIC_SAVE_PENDING_TABLES)) return
        break
    }
    throw new ErrnoError('ENXIO', `no vGICv3 attribute ${attr.group}:0x${a.toString(16)}`)
  }

  /** kvm_vgic_addr. */
  private addrAccess(type: number, user: UserValue, write: boolean): void {
    const vgic = this.vgic
    switch (type) {
      case KVM_VGIC_V3_ADDR_TYPE_DIST:
        if (write) vgic.setDistBase(user.get(8))
        else user.put(8, addrOrUndef(vgic.distBase))
        return
      case KVM_VGIC_V3_ADDR_TYPE_REDIST:
        if (write) vgic.setRedistBase(user.get(8))
        else user.put(8, addrOrUndef(vgic.redistBase))
        return
      case KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION: {
        // Reading a region needs its index, so the value is read in both directions.
        const value = user.get(8)
        const index = Number(value & KVM_VGIC_V3_RDIST_INDEX_MASK)
        if (write) {
          const flags = (value >> KVM_VGIC_V3_RDIST_FLAGS_SHIFT) & 0xfn
          const count = Number(value >> KVM_VGIC_V3_RDIST_COUNT_SHIFT)
          if (count === 0 || flags !== 0n) throw new ErrnoError('EINVAL', 'a redistributor region needs a count and no flags')
          vgic.addRedistRegion(index, value & KVM_VGIC_V3_RDIST_BASE_MASK, count)
        } else {
          const region = vgic.redistRegion(index)
          user.put(8, redistRegionAttrValue(region.index, BigInt(region.base), region.count))
        }
        return
      }
      default:
        // The GICv2 and ITS address types belong to other devices (ENODEV, reported as ENXIO).
        throw new ErrnoError('ENXIO', `no vGICv3 address type ${type}`)
    }
  }

  /** vgic_v3_parse_attr: the vCPU a register attribute names (vCPU 0 for the distributor). */
  private vcpuOf(group: number, attr: bigint): number {
    const v = group === KVM_DEV_ARM_VGIC_GRP_DIST_REGS ? (this.vgic.vm.vcpus.length > 0 ? 0 : -1) : this.vgic.vcpuByMpidr(attrMpidr(attr))
    if (v < 0) throw new ErrnoError('EINVAL', `no vCPU with MPIDR affinity 0x${(attr >> 32n).toString(16)}`)
    return v
  }

  /** vgic_v3_attr_regs_access. */
  private regsAccess(group: number, attr: bigint, user: UserValue, write: boolean): void {
    const vgic = this.vgic
    const v = this.vcpuOf(group, attr)
    const offset = Number(attr & KVM_DEV_ARM_VGIC_OFFSET_MASK)
    const isSysreg = group === KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS
    const value = write && !isSysreg ? Number(user.get(4)) : 0
    if (!vgic.initialized) throw new ErrnoError('EBUSY', 'the vGIC is not initialized (KVM_DEV_ARM_VGIC_CTRL_INIT)')
    switch (group) {
      case KVM_DEV_ARM_VGIC_GRP_DIST_REGS:
      case KVM_DEV_ARM_VGIC_GRP_REDIST_REGS: {
        const redist = group === KVM_DEV_ARM_VGIC_GRP_REDIST_REGS
        if (write) vgic.userWrite(redist, v, offset, value)
        else user.put(4, BigInt(vgic.userRead(redist, v, offset)))
        return
      }
      case KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS: {
        const key = Number(attr & KVM_DEV_ARM_VGIC_SYSREG_INSTR_MASK)
        const cif = vgic.cpuInterface(v)
        if (write) cif.setUser(key, user.get(8))
        else user.put(8, cif.getUser(key))
        return
      }
      default: {
        const info = Number((attr & KVM_DEV_ARM_VGIC_LINE_LEVEL_INFO_MASK) >> KVM_DEV_ARM_VGIC_LINE_LEVEL_INFO_SHIFT)
        if (info !== VGIC_LEVEL_INFO_LINE_LEVEL) throw new ErrnoError('EINVAL', `unknown level info type ${info}`)
        const intid = Number(attr & KVM_DEV_ARM_VGIC_LINE_LEVEL_INTID_MASK)
        if (write) vgic.writeLineLevels(v, intid, value)
        else user.put(4, BigInt(vgic.readLineLevels(v, intid)))
      }
    }
  }

  private has(attr: DeviceAttr): void {
    const a = attrValue(attr.attr)
    switch (attr.group) {
      case KVM_DEV_ARM_VGIC_GRP_ADDR:
        if (a === 2n || a === 3n || a === 5n) return
        break
      case KVM_DEV_ARM_VGIC_GRP_DIST_REGS:
      case KVM_DEV_ARM_VGIC_GRP_REDIST_REGS: {
        this.vcpuOf(attr.group, a)
        if (this.vgic.hasRegister(attr.group === KVM_DEV_ARM_VGIC_GRP_REDIST_REGS, Number(a & KVM_DEV_ARM_VGIC_OFFSET_MASK))) return
        break
      }
      case KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS:
        this.vcpuOf(attr.group, a)
        if (CpuInterface.hasUserRegister(Number(a & KVM_DEV_ARM_VGIC_SYSREG_INSTR_MASK))) return
        break
      case KVM_DEV_ARM_VGIC_GRP_NR_IRQS:
        return
      case KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO:
        if ((a & KVM_DEV_ARM_VGIC_LINE_LEVEL_INFO_MASK) >> KVM_DEV_ARM_VGIC_LINE_LEVEL_INFO_SHIFT === BigInt(VGIC_LEVEL_INFO_LINE_LEVEL)) return
        break
      case KVM_DEV_ARM_VGIC_GRP_CTRL:
        if (a === BigInt(KVM_DEV_ARM_VGIC_CTRL_INIT) || a === BigInt(KVM_DEV_ARM_VGIC_SAVE_PENDING_TABLES)) return
        break
    }
    throw new ErrnoError('ENXIO', `no vGICv3 attribute ${attr.group}:0x${a.toString(16)}`)
  }
}

function attrValue(attr: bigint | number): bigint {
  const a = BigInt(attr)
  if (a < 0n || a >> 64n !== 0n) throw new RangeError(`attr must be a u64, got ${attr}`)
  return a
}

function addrOrUndef(addr: number): bigint {
  return addr === VGIC_ADDR_UNDEF ? U64_UNDEF : BigInt(addr)
}

/**
 * KVM_CREATE_DEVICE (kvm_ioctl_create_device): ENODEV for a type this host does not have;
 * with KVM_CREATE_DEVICE_TEST only that check (null, no device); else the vGIC is created
 * (EEXIST when the VM has one, EBUSY once a vCPU has run).
 */
export function createDevice(vmFd: VmFd, request: { readonly type: number; readonly flags?: number }): DeviceFd | null {
  return kvmCall('KVM_CREATE_DEVICE', () => {
    if (request.type !== KVM_DEV_TYPE_ARM_VGIC_V3) throw new ErrnoError('ENODEV', `device type ${request.type} is not supported`)
    if ((request.flags ?? 0) & KVM_CREATE_DEVICE_TEST) return null
    return new DeviceFd(vmFd, request.type, createVgicV3(vmFd.vm))
  })
}
