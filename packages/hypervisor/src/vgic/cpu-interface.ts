// The GICv3 CPU interface of one vCPU as a KVM guest sees it: the ICC_*_EL1 system registers
// (in hardware the ICV_* virtual interface, emulated by KVM in hyp/vgic-v3-sr.c when it traps
// them), running and active priorities, split priority drop / deactivation, SGI generation, and
// the IRQ/FIQ signal the vCPU samples at instruction boundaries.
import { ErrnoError } from '@tagvm/tag-memory'
import { IRQ_ACTIVE, IRQ_ENABLED, IRQ_GROUP1, IRQ_PENDING_LATCH, irqIsPending } from './irq.js'
import {
  BPR_MIN,
  HOST_A3V,
  HOST_ID_BITS,
  HOST_SEIS,
  ICC,
  ICC_CTLR_A3V,
  ICC_CTLR_CBPR,
  ICC_CTLR_EOIMODE,
  ICC_CTLR_ID_BITS_SHIFT,
  ICC_CTLR_PRI_BITS_SHIFT,
  ICC_CTLR_SEIS,
  ICC_SRE_EL1_VALUE,
  IDLE_PRIORITY,
  INTID_SPURIOUS,
  SIGNAL_FIQ,
  SIGNAL_IRQ,
  VGIC_NR_PRIVATE_IRQS,
  VGIC_PRI_BITS,
} from './registers.js'
import type { Vgic } from './vgic.js'

/** Fields of a vCPU's CPU-interface state in `Vgic.cif` (what KVM keeps in ICH_VMCR_EL2 and ICH_AP*R). */
export const CIF_PMR = 0
export const CIF_BPR0 = 1
export const CIF_BPR1 = 2
/** ICC_CTLR_EL1.CBPR and EOImode, in their ICC_CTLR bit positions. */
export const CIF_CTLR = 3
/** Bit 0: IGRPEN0, bit 1: IGRPEN1. */
export const CIF_GRPEN = 4
/** Active priorities of group 0 and group 1: bit n = priority n << BPR_MIN is active. */
export const CIF_AP0R = 5
export const CIF_AP1R = 6
/** ICC_CTLR_EL1.PRIbits + 1 and IDbits as userspace last set them (KVM's num_pri_bits, num_id_bits). */
export const CIF_PRI_BITS = 7
export const CIF_ID_BITS = 8
export const CIF_STRIDE = 9

/** The CPU interface's state after reset (KVM zeroes ICH_VMCR: binary points at their minimum). */
export function resetCpuInterface(cif: Uint32Array, v: number): void {
  const at = v * CIF_STRIDE
  cif.fill(0, at, at + CIF_STRIDE)
  cif[at + CIF_BPR0] = BPR_MIN - 1
  cif[at + CIF_BPR1] = BPR_MIN
  cif[at + CIF_PRI_BITS] = VGIC_PRI_BITS
  cif[at + CIF_ID_BITS] = HOST_ID_BITS
}

/** Implemented bits of a priority or of ICC_PMR_EL1 (the rest are RAZ/WI). */
const PRI_MASK = (0xff << (8 - VGIC_PRI_BITS)) & 0xff

/** The binary point that applies to group 1 (CBPR makes BPR0 + 1 stand in for it). */
function bpr1(cif: Uint32Array, at: number): number {
  if ((cif[at + CIF_CTLR] as number) & ICC_CTLR_CBPR) return Math.min((cif[at + CIF_BPR0] as number) + 1, 7)
  return cif[at + CIF_BPR1] as number
}

/** The group priority of `priority`: its sub-priority bits cleared (__vgic_v3_pri_to_pre). */
function preemptionLevel(cif: Uint32Array, at: number, priority: number, group1: boolean): number {
  const bpr = group1 ? bpr1(cif, at) : (cif[at + CIF_BPR0] as number) + 1
  return priority & (0xff << bpr) & 0xff
}

/** Running priority: the highest active priority, or IDLE_PRIORITY (ICC_RPR_EL1). */
function runningPriority(cif: Uint32Array, at: number): number {
  const active = ((cif[at + CIF_AP0R] as number) | (cif[at + CIF_AP1R] as number)) >>> 0
  if (active === 0) return IDLE_PRIORITY
  return (31 - Math.clz32(active & -active)) << BPR_MIN
}

/**
 * The highest-priority interrupt that is pending, enabled, not active, in an enabled group
 * and targets vCPU `v` (ties go to the lowest INTID), or -1. Its priority and flags are left
 * in `g.hppiPriority` and `g.hppiFlags`.
 */
export function highestPending(g: Vgic, v: number): number {
  if (!g.enabled) return -1
  const irqs = g.irqs
  const grpen = g.cif[v * CIF_STRIDE + CIF_GRPEN] as number
  // Private interrupts of v, then the SPIs routed to v, in INTID order.
  const privateBase = v * VGIC_NR_PRIVATE_IRQS
  const spiBase = irqs.nrVcpus * VGIC_NR_PRIVATE_IRQS
  const end = VGIC_NR_PRIVATE_IRQS + irqs.nrSpis
  let best = -1
  let bestPriority = 0x100
  let bestFlags = 0
  for (let intid = 0; intid < end; intid++) {
    let slot: number
    if (intid < VGIC_NR_PRIVATE_IRQS) slot = privateBase + intid
    else if (irqs.target[intid - VGIC_NR_PRIVATE_IRQS] === v) slot = spiBase + intid - VGIC_NR_PRIVATE_IRQS
    else continue
    const f = irqs.flags[slot] as number
    if ((f & (IRQ_ENABLED | IRQ_ACTIVE)) !== IRQ_ENABLED || !irqIsPending(f)) continue
    if ((grpen & (f & IRQ_GROUP1 ? 2 : 1)) === 0) continue
    const p = irqs.priority[slot] as number
    if (p < bestPriority) {
      best = intid
      bestPriority = p
      bestFlags = f
    }
  }
  g.hppiPriority = bestPriority
  g.hppiFlags = bestFlags
  return best
}

/**
 * What the CPU interface signals to vCPU `v`: SIGNAL_IRQ for a group-1 interrupt, SIGNAL_FIQ
 * for group 0, when the highest pending interrupt beats both the priority mask and the
 * running priority; 0 otherwise.
 */
export function computeSignal(g: Vgic, v: number): number {
  if (highestPending(g, v) < 0) return 0
  const cif = g.cif
  const at = v * CIF_STRIDE
  const group1 = (g.hppiFlags & IRQ_GROUP1) !== 0
  if (g.hppiPriority >= (cif[at + CIF_PMR] as number)) return 0
  if (preemptionLevel(cif, at, g.hppiPriority, group1) >= runningPriority(cif, at)) return 0
  return group1 ? SIGNAL_IRQ : SIGNAL_FIQ
}

/** A listener told the vCPU's IRQ/FIQ signal changed (the new SIGNAL_* bits). */
export type SignalListener = (signal: number) => void

/**
 * One vCPU's CPU interface. `read(key)`/`write(key, lo, hi)` are what the CPU's system
 * register rows call for MRS/MSR of an ICC_*_EL1 register: they return false when the access
 * is UNDEFINED (a write-only register read, a read-only register written, an ICC_AP*R<n>
 * beyond the implemented priority bits); a read leaves the value in `valueLo`/`valueHi`.
 * Every readable ICC register is 32 bits wide, so `valueHi` is 0; ICC_SGI*R take 64 bits
 * as two halves.
 */
export class CpuInterface {
  readonly vgic: Vgic
  /** Index of the vCPU in the VM (creation order). */
  readonly vcpu: number
  valueLo = 0
  valueHi = 0
  /** Called whenever the signal this interface drives into the vCPU changes. */
  onSignal: SignalListener | null = null

  /** @internal made by the Vgic at KVM_DEV_ARM_VGIC_CTRL_INIT */
  constructor(vgic: Vgic, vcpu: number) {
    this.vgic = vgic
    this.vcpu = vcpu
  }

  /** SIGNAL_IRQ / SIGNAL_FIQ bits: an interrupt the vCPU takes at its next instruction boundary when PSTATE allows. */
  get signal(): number {
    return this.vgic.signals[this.vcpu] as number
  }

  private get at(): number {
    return this.vcpu * CIF_STRIDE
  }

  /** MRS of an ICC register; false = UNDEFINED. The value is in valueLo (valueHi = 0). */
  read(key: number): boolean {
    return this.vgic.locked(() => {
      const value = this.readValue(key)
      if (value < 0) return false
      this.valueLo = value >>> 0
      this.valueHi = 0
      return true
    })
  }

  /** MSR of an ICC register; false = UNDEFINED. */
  write(key: number, lo: number, hi: number): boolean {
    const g = this.vgic
    return g.locked(() => {
      const ok = this.writeValue(key, lo >>> 0, hi >>> 0)
      if (ok) g.flush()
      return ok
    })
  }

  private readValue(key: number): number {
    const cif = this.vgic.cif
    const at = this.at
    switch (key) {
      case ICC.IAR1_EL1:
        return this.acknowledge(true)
      case ICC.IAR0_EL1:
        return this.acknowledge(false)
      case ICC.HPPIR1_EL1:
        return this.highestPendingId(true)
      case ICC.HPPIR0_EL1:
        return this.highestPendingId(false)
      case ICC.RPR_EL1:
        return runningPriority(cif, at)
      case ICC.PMR_EL1:
        return cif[at + CIF_PMR] as number
      case ICC.BPR0_EL1:
        return cif[at + CIF_BPR0] as number
      case ICC.BPR1_EL1:
        return bpr1(cif, at)
      case ICC.CTLR_EL1:
        return this.ctlr()
      case ICC.SRE_EL1:
        return ICC_SRE_EL1_VALUE
      case ICC.IGRPEN0_EL1:
        return (cif[at + CIF_GRPEN] as number) & 1
      case ICC.IGRPEN1_EL1:
        return ((cif[at + CIF_GRPEN] as number) >>> 1) & 1
      case ICC.AP0R0_EL1:
        return cif[at + CIF_AP0R] as number
      case ICC.AP1R0_EL1:
        return cif[at + CIF_AP1R] as number
      default:
        // EOIR, DIR, SGI*R are write-only; AP*R1..3 do not exist with 5 priority bits.
        return -1
    }
  }

  private writeValue(key: number, lo: number, hi: number): boolean {
    const g = this.vgic
    const cif = g.cif
    const at = this.at
    switch (key) {
      case ICC.EOIR1_EL1:
        this.endOfInterrupt(lo & 0xff_ffff, true)
        return true
      case ICC.EOIR0_EL1:
        this.endOfInterrupt(lo & 0xff_ffff, false)
        return true
      case ICC.DIR_EL1:
        this.deactivateById(lo & 0xff_ffff)
        return true
      case ICC.SGI1R_EL1:
        g.dispatchSgi(this.vcpu, lo, hi, true)
        return true
      case ICC.ASGI1R_EL1:
      case ICC.SGI0R_EL1:
        // With GICD_CTLR.DS = 1 both can only raise group-0 SGIs.
        g.dispatchSgi(this.vcpu, lo, hi, false)
        return true
      case ICC.PMR_EL1:
        cif[at + CIF_PMR] = lo & PRI_MASK
        break
      case ICC.BPR0_EL1:
        cif[at + CIF_BPR0] = Math.max(lo & 7, BPR_MIN - 1)
        break
      case ICC.BPR1_EL1:
        // With CBPR set, BPR1 follows BPR0 and writes are ignored.
        if (((cif[at + CIF_CTLR] as number) & ICC_CTLR_CBPR) === 0) cif[at + CIF_BPR1] = Math.max(lo & 7, BPR_MIN)
        break
      case ICC.CTLR_EL1:
        cif[at + CIF_CTLR] = lo & (ICC_CTLR_CBPR | ICC_CTLR_EOIMODE)
        break
      case ICC.SRE_EL1:
        // SRE, DFB and DIB are fixed at 1 for the guest.
        return true
      case ICC.IGRPEN0_EL1:
        cif[at + CIF_GRPEN] = ((cif[at + CIF_GRPEN] as number) & ~1) | (lo & 1)
        break
      case ICC.IGRPEN1_EL1:
        cif[at + CIF_GRPEN] = ((cif[at + CIF_GRPEN] as number) & ~2) | ((lo & 1) << 1)
        break
      case ICC.AP0R0_EL1:
        cif[at + CIF_AP0R] = lo
        break
      case ICC.AP1R0_EL1:
        cif[at + CIF_AP1R] = lo
        break
      default:
        return false
    }
    g.touchVcpu(this.vcpu)
    return true
  }

  private ctlr(): number {
    const cif = this.vgic.cif
    const at = this.at
    return (
      ((((cif[at + CIF_PRI_BITS] as number) - 1) << ICC_CTLR_PRI_BITS_SHIFT) |
        ((cif[at + CIF_ID_BITS] as number) << ICC_CTLR_ID_BITS_SHIFT) |
        (HOST_SEIS ? ICC_CTLR_SEIS : 0) |
        (HOST_A3V ? ICC_CTLR_A3V : 0) |
        (cif[at + CIF_CTLR] as number)) >>>
      0
    )
  }

  /** ICC_HPPIR<n>_EL1: the highest pending interrupt if it is of the group asked for, else 1023. */
  private highestPendingId(group1: boolean): number {
    const intid = highestPending(this.vgic, this.vcpu)
    if (intid < 0 || ((this.vgic.hppiFlags & IRQ_GROUP1) !== 0) !== group1) return INTID_SPURIOUS
    return intid
  }

  /**
   * ICC_IAR<n>_EL1 (__vgic_v3_read_iar): take the highest pending interrupt if it is of this
   * group, beats the priority mask and preempts the running priority; it becomes active (a
   * level-sensitive one whose line is still high also stays pending) and its group priority
   * is marked active.
   */
  private acknowledge(group1: boolean): number {
    const g = this.vgic
    const v = this.vcpu
    const intid = highestPending(g, v)
    if (intid < 0 || ((g.hppiFlags & IRQ_GROUP1) !== 0) !== group1) return INTID_SPURIOUS
    const cif = g.cif
    const at = this.at
    const priority = g.hppiPriority
    if ((cif[at + CIF_PMR] as number) <= priority) return INTID_SPURIOUS
    const level = preemptionLevel(cif, at, priority, group1)
    if (runningPriority(cif, at) <= level) return INTID_SPURIOUS
    const irqs = g.irqs
    const slot = irqs.slot(v, intid)
    irqs.flags[slot] = ((irqs.flags[slot] as number) | IRQ_ACTIVE) & ~IRQ_PENDING_LATCH
    const field = at + (group1 ? CIF_AP1R : CIF_AP0R)
    cif[field] = ((cif[field] as number) | (1 << (level >>> BPR_MIN))) >>> 0
    g.touchVcpu(v)
    g.flush()
    return intid
  }

  /**
   * ICC_EOIR<n>_EL1 (__vgic_v3_write_eoir): drop the highest active priority; with EOImode 0
   * also deactivate the interrupt, if it is active, of this group and of the priority dropped.
   * Special INTIDs (1020..1023) are ignored.
   */
  private endOfInterrupt(intid: number, group1: boolean): void {
    if (intid >= 1020 && intid <= INTID_SPURIOUS) return
    const g = this.vgic
    const cif = g.cif
    const at = this.at
    const dropped = this.dropPriority()
    g.touchVcpu(this.vcpu)
    if ((cif[at + CIF_CTLR] as number) & ICC_CTLR_EOIMODE) return
    const slot = this.activeSlot(intid)
    if (slot < 0) return
    const irqs = g.irqs
    const flags = irqs.flags[slot] as number
    if (((flags & IRQ_GROUP1) !== 0) !== group1) return
    if (preemptionLevel(cif, at, irqs.priority[slot] as number, group1) !== dropped) return
    irqs.flags[slot] = flags & ~IRQ_ACTIVE
    g.touch(this.vcpu, intid)
  }

  /** ICC_DIR_EL1: deactivate, only meaningful with EOImode 1. */
  private deactivateById(intid: number): void {
    const g = this.vgic
    if (((g.cif[this.at + CIF_CTLR] as number) & ICC_CTLR_EOIMODE) === 0) return
    const slot = this.activeSlot(intid)
    if (slot < 0) return
    g.irqs.flags[slot] = (g.irqs.flags[slot] as number) & ~IRQ_ACTIVE
    g.touch(this.vcpu, intid)
  }

  /** The slot of an existing, active interrupt as this vCPU names it, or -1. */
  private activeSlot(intid: number): number {
    const irqs = this.vgic.irqs
    if (intid >= irqs.nrIrqs) return -1
    const slot = irqs.slot(this.vcpu, intid)
    return (irqs.flags[slot] as number) & IRQ_ACTIVE ? slot : -1
  }

  /** Clears the lowest set active-priority bit (group 0 first on a tie); returns its priority or IDLE_PRIORITY. */
  private dropPriority(): number {
    const cif = this.vgic.cif
    const at = this.at
    const ap0 = cif[at + CIF_AP0R] as number
    const ap1 = cif[at + CIF_AP1R] as number
    if (ap0 === 0 && ap1 === 0) return IDLE_PRIORITY
    const c0 = ap0 ? 31 - Math.clz32(ap0 & -ap0) : 32
    const c1 = ap1 ? 31 - Math.clz32(ap1 & -ap1) : 32
    if (c0 < c1) {
      cif[at + CIF_AP0R] = (ap0 & ~(1 << c0)) >>> 0
      return c0 << BPR_MIN
    }
    cif[at + CIF_AP1R] = (ap1 & ~(1 << c1)) >>> 0
    return c1 << BPR_MIN
  }

  // ---- userspace access (KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, vgic-sys-reg-v3.c) --------------

  /** Whether userspace can save and restore `key` (vgic_v3_has_cpu_sysregs_attr). */
  static hasUserRegister(key: number): boolean {
    return USER_REGISTERS.has(key)
  }

  /** Reads `key` for a save. ENXIO for registers that are not saved, EINVAL for AP*R beyond the priority bits. */
  getUser(key: number): bigint {
    this.checkUserRegister(key)
    const value = this.readValue(key)
    if (value < 0) throw new ErrnoError('EINVAL', `ICC register 0x${key.toString(16)} is not implemented with ${VGIC_PRI_BITS} priority bits`)
    return BigInt(value)
  }

  /** Writes `key` for a restore, with KVM's checks (ICC_CTLR_EL1 must fit this vGIC, SRE must be set). */
  setUser(key: number, value: bigint): void {
    this.checkUserRegister(key)
    const lo = Number(value & 0xffff_ffffn)
    const cif = this.vgic.cif
    const at = this.at
    switch (key) {
      case ICC.CTLR_EL1: {
        const priBits = ((lo >>> ICC_CTLR_PRI_BITS_SHIFT) & 7) + 1
        const idBits = (lo >>> ICC_CTLR_ID_BITS_SHIFT) & 7
        if (priBits > (cif[at + CIF_PRI_BITS] as number)) throw new ErrnoError('EINVAL', `ICC_CTLR_EL1.PRIbits ${priBits} exceeds ${cif[at + CIF_PRI_BITS]}`)
        if (idBits > (cif[at + CIF_ID_BITS] as number)) throw new ErrnoError('EINVAL', `ICC_CTLR_EL1.IDbits ${idBits} exceeds ${cif[at + CIF_ID_BITS]}`)
        if (((lo & ICC_CTLR_SEIS) !== 0) !== (HOST_SEIS === 1)) throw new ErrnoError('EINVAL', 'ICC_CTLR_EL1.SEIS differs from the host')
        if (((lo & ICC_CTLR_A3V) !== 0) !== (HOST_A3V === 1)) throw new ErrnoError('EINVAL', 'ICC_CTLR_EL1.A3V differs from the host')
        cif[at + CIF_PRI_BITS] = priBits
        cif[at + CIF_ID_BITS] = idBits
        cif[at + CIF_CTLR] = lo & (ICC_CTLR_CBPR | ICC_CTLR_EOIMODE)
        this.vgic.touchVcpu(this.vcpu)
        this.vgic.flush()
        return
      }
      case ICC.SRE_EL1:
        if ((lo & 1) === 0) throw new ErrnoError('EINVAL', 'ICC_SRE_EL1.SRE cannot be cleared')
        return
      default:
        if (!this.write(key, lo, Number(value >> 32n))) {
          throw new ErrnoError('EINVAL', `ICC register 0x${key.toString(16)} is not implemented with ${VGIC_PRI_BITS} priority bits`)
        }
    }
  }

  private checkUserRegister(key: number): void {
    if (!USER_REGISTERS.has(key)) throw new ErrnoError('ENXIO', `ICC register 0x${key.toString(16)} is not saved through GRP_CPU_SYSREGS`)
  }
}

/** The registers KVM saves and restores (gic_v3_icc_reg_descs). */
const USER_REGISTERS = new Set<number>([
  ICC.PMR_EL1, ICC.BPR0_EL1, ICC.AP0R0_EL1, ICC.AP0R1_EL1, ICC.AP0R2_EL1, ICC.AP0R3_EL1,
  ICC.AP1R0_EL1, ICC.AP1R1_EL1, ICC.AP1R2_EL1, ICC.AP1R3_EL1, ICC.BPR1_EL1, ICC.CTLR_EL1,
  ICC.SRE_EL1, ICC.IGRPEN0_EL1, ICC.IGRPEN1_EL1,
])
