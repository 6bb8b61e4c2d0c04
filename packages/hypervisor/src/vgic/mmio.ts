// The distributor and redistributor register maps, one row per register range, as Linux's
// vgic-mmio-v3.c lays them out: guest read/write handlers, separate userspace (save/restore)
// handlers where KVM has them, the access widths allowed, and how many bits each interrupt
// takes in per-interrupt registers.
//
// Handlers see 8- or 32-bit accesses; a 64-bit access is two 32-bit halves (every 64-bit
// register here is built from independent halves), so no handler needs a 64-bit value.
import { ErrnoError } from '@tagvm/tag-memory'
import {
  IRQ_ACTIVE,
  IRQ_EDGE,
  IRQ_ENABLED,
  IRQ_GROUP1,
  IRQ_PENDING_LATCH,
  irqIsPending,
} from './irq.js'
import {
  GICD_CTLR,
  GICD_CTLR_ARE,
  GICD_CTLR_DS,
  GICD_CTLR_ENABLE_G1,
  GICD_ICACTIVER,
  GICD_ICENABLER,
  GICD_ICFGR,
  GICD_ICPENDR,
  GICD_IDREGS,
  GICD_IGROUPR,
  GICD_IGRPMODR,
  GICD_IIDR,
  GICD_IIDR_REVISION_MASK,
  GICD_IIDR_REVISION_SHIFT,
  GICD_IPRIORITYR,
  GICD_IROUTER,
  GICD_ISACTIVER,
  GICD_ISENABLER,
  GICD_ISPENDR,
  GICD_ITARGETSR,
  GICD_PIDR2,
  GICD_STATUSR,
  GICD_TYPER,
  GICD_TYPER2,
  GICR_CTLR,
  GICR_CTLR_CES,
  GICR_CTLR_IR,
  GICR_ICACTIVER0,
  GICR_ICENABLER0,
  GICR_ICFGR0,
  GICR_ICPENDR0,
  GICR_IDREGS,
  GICR_IGROUPR0,
  GICR_IGRPMODR0,
  GICR_IIDR,
  GICR_INVALLR,
  GICR_INVLPIR,
  GICR_IPRIORITYR0,
  GICR_ISACTIVER0,
  GICR_ISENABLER0,
  GICR_ISPENDR0,
  GICR_NSACR,
  GICR_PENDBASER,
  GICR_PROPBASER,
  GICR_STATUSR,
  GICR_SYNCR,
  GICR_TYPER,
  GICR_TYPER_LAST,
  GICR_WAKER,
  GIC_PIDR2_V3,
  IMPLEMENTER_ARM,
  INTERRUPT_ID_BITS_SPIS,
  KVM_VGIC_IMP_REV_2,
  KVM_VGIC_IMP_REV_3,
  PRODUCT_ID_KVM,
  VGIC_NR_PRIVATE_IRQS,
  VGIC_PRI_BITS,
} from './registers.js'
import type { Vgic } from './vgic.js'

/** Access widths a register range accepts (VGIC_ACCESS_*). */
export const ACCESS_8 = 1
export const ACCESS_32 = 4
export const ACCESS_64 = 8

/** A guest or userspace read of `len` (1 or 4) bytes at `addr` (frame offset) in range `r`, for vCPU `v`. */
type Read = (g: Vgic, v: number, addr: number, len: number, r: RegisterRegion) => number
/** A write; userspace writes may throw an ErrnoError (KVM's uaccess handlers return -EINVAL). */
type Write = (g: Vgic, v: number, addr: number, len: number, val: number, r: RegisterRegion) => void

/** One register range (struct vgic_register_region). */
export interface RegisterRegion {
  readonly offset: number
  readonly length: number
  /** Bits per interrupt for per-interrupt registers (0: not one). */
  readonly bitsPerIrq: number
  /** Where the register's interrupt 0 would be (for turning an address into an INTID). */
  readonly regBase: number
  /** Accesses to interrupts the VM does not have are RAZ/WI (the distributor's SPI ranges). */
  readonly checkIrqs: boolean
  /** ACCESS_* bits. */
  readonly access: number
  readonly read: Read
  readonly write: Write
  readonly userRead?: Read
  readonly userWrite?: Write
}

/** The first INTID an access at `addr` covers. */
export function intidAt(region: RegisterRegion, addr: number): number {
  return Math.floor(((addr - region.regBase) * 8) / region.bitsPerIrq)
}

// ---- generic handlers (vgic-mmio.c) -------------------------------------------------------

const readRaz: Read = () => 0
const readRao: Read = () => 0xffff_ffff
const writeWi: Write = () => {}

/** A per-interrupt bitmap register: bit i is `test` of interrupt intid + i. */
function readBits(test: (flags: number) => boolean): Read {
  return (g, v, addr, len, r) => {
    const irqs = g.irqs
    const first = intidAt(r, addr)
    let value = 0
    for (let i = 0; i < len * 8; i++) {
      if (test(irqs.flags[irqs.slot(v, first + i)] as number)) value |= 1 << i
    }
    return value >>> 0
  }
}

/** Applies `update` to the flags of every interrupt whose bit is set (or every bit with `all`). */
function writeBits(update: (flags: number, bit: number) => number, all = false): Write {
  return (g, v, addr, len, val, r) => {
    const irqs = g.irqs
    const first = intidAt(r, addr)
    for (let i = 0; i < len * 8; i++) {
      const bit = (val >>> i) & 1
      if (!bit && !all) continue
      const slot = irqs.slot(v, first + i)
      irqs.flags[slot] = update(irqs.flags[slot] as number, bit)
      g.touch(v, first + i)
    }
  }
}

const readGroup = readBits((f) => (f & IRQ_GROUP1) !== 0)
const writeGroup = writeBits((f, bit) => (bit ? f | IRQ_GROUP1 : f & ~IRQ_GROUP1), true)
const readEnable = readBits((f) => (f & IRQ_ENABLED) !== 0)
const writeSetEnable = writeBits((f) => f | IRQ_ENABLED)
const writeClearEnable = writeBits((f) => f & ~IRQ_ENABLED)
const readPending = readBits(irqIsPending)
/** Userspace sees the latch only; line levels are saved through GRP_LEVEL_INFO. */
const userReadPending = readBits((f) => (f & IRQ_PENDING_LATCH) !== 0)
const writeSetPending = writeBits((f) => f | IRQ_PENDING_LATCH)
const writeClearPending = writeBits((f) => f & ~IRQ_PENDING_LATCH)
/** A restore writes the whole latch, whatever the trigger (vgic_v3_uaccess_write_pending). */
const userWritePending = writeBits((f, bit) => (bit ? f | IRQ_PENDING_LATCH : f & ~IRQ_PENDING_LATCH), true)
const readActive = readBits((f) => (f & IRQ_ACTIVE) !== 0)
const writeSetActive = writeBits((f) => f | IRQ_ACTIVE)
const writeClearActive = writeBits((f) => f & ~IRQ_ACTIVE)

/** The priority bits KVM keeps (GENMASK(7, 8 - VGIC_PRI_BITS)). */
export const PRIORITY_MASK = (0xff << (8 - VGIC_PRI_BITS)) & 0xff

const readPriority: Read = (g, v, addr, len, r) => {
  const irqs = g.irqs
  const first = intidAt(r, addr)
  let value = 0
  for (let i = 0; i < len; i++) value |= (irqs.priority[irqs.slot(v, first + i)] as number) << (8 * i)
  return value >>> 0
}

const writePriority: Write = (g, v, addr, len, val, r) => {
  const irqs = g.irqs
  const first = intidAt(r, addr)
  for (let i = 0; i < len; i++) {
    irqs.priority[irqs.slot(v, first + i)] = (val >>> (8 * i)) & PRIORITY_MASK
    g.touch(v, first + i)
  }
}

/** GICD_ICFGR: two bits per interrupt, bit 1 of each = edge. */
const readConfig: Read = (g, v, addr, len, r) => {
  const irqs = g.irqs
  const first = intidAt(r, addr)
  let value = 0
  for (let i = 0; i < len * 4; i++) if ((irqs.flags[irqs.slot(v, first + i)] as number) & IRQ_EDGE) value |= 2 << (2 * i)
  return value >>> 0
}

const writeConfig: Write = (g, v, addr, len, val, r) => {
  const irqs = g.irqs
  const first = intidAt(r, addr)
  for (let i = 0; i < len * 4; i++) {
    // SGIs are edge by definition; KVM makes PPIs read-only too (the timer needs them level).
    if (first + i < VGIC_NR_PRIVATE_IRQS) continue
    const slot = irqs.slot(v, first + i)
    const flags = irqs.flags[slot] as number
    irqs.flags[slot] = (val >>> (2 * i + 1)) & 1 ? flags | IRQ_EDGE : flags & ~IRQ_EDGE
    g.touch(v, first + i)
  }
}

// ---- distributor-specific handlers (vgic-mmio-v3.c) ---------------------------------------

const readMisc: Read = (g, _v, addr) => {
  switch (addr & 0xc) {
    case GICD_CTLR:
      return (g.enabled ? GICD_CTLR_ENABLE_G1 : 0) | GICD_CTLR_ARE | GICD_CTLR_DS
    case GICD_TYPER:
      return (((g.irqs.nrIrqs >>> 5) - 1) | ((INTERRUPT_ID_BITS_SPIS - 1) << 19)) >>> 0
    case GICD_TYPER2:
      return 0
    case GICD_IIDR:
      return ((PRODUCT_ID_KVM << 24) | (g.implementationRev << GICD_IIDR_REVISION_SHIFT) | IMPLEMENTER_ARM) >>> 0
  }
  return 0
}

const writeMisc: Write = (g, _v, addr, _len, val) => {
  // TYPER, TYPER2 and IIDR ignore guest writes; CTLR keeps EnableGrp1 (ARE and DS are fixed).
  if ((addr & 0xc) !== GICD_CTLR) return
  g.setEnabled((val & GICD_CTLR_ENABLE_G1) !== 0)
}

const userWriteMisc: Write = (g, v, addr, len, val, r) => {
  switch (addr & 0xc) {
    case GICD_TYPER2:
      if (val !== readMisc(g, v, addr, len, r)) throw new ErrnoError('EINVAL', 'GICD_TYPER2 differs from what this vGIC has')
      return
    case GICD_IIDR: {
      const rev = (val & GICD_IIDR_REVISION_MASK) >>> GICD_IIDR_REVISION_SHIFT
      if (((readMisc(g, v, addr, len, r) ^ val) & ~GICD_IIDR_REVISION_MASK) !== 0) {
        throw new ErrnoError('EINVAL', `GICD_IIDR 0x${val.toString(16)} is not KVM's`)
      }
      if (rev !== KVM_VGIC_IMP_REV_2 && rev !== KVM_VGIC_IMP_REV_3) throw new ErrnoError('EINVAL', `vGIC revision ${rev} is not 2 or 3`)
      g.implementationRev = rev
      return
    }
    case GICD_CTLR:
      // A restore sets the enable without the guest-side side effects.
      g.setEnabled((val & GICD_CTLR_ENABLE_G1) !== 0)
      return
  }
}

/** GICD_IROUTER<n>: Aff2.Aff1.Aff0 in the low word; the upper word (Aff3) and IRM are RAZ/WI. */
const readIrouter: Read = (g, _v, addr, _len, r) => {
  if (addr & 4) return 0
  return g.irqs.route[intidAt(r, addr) - VGIC_NR_PRIVATE_IRQS] as number
}

const writeIrouter: Write = (g, _v, addr, _len, val, r) => {
  if (addr & 4) return
  g.routeSpi(intidAt(r, addr), val & 0xff_ffff)
}

const readIdregs: Read = (_g, _v, addr) => ((addr & 0xffff) === GICD_PIDR2 ? GIC_PIDR2_V3 : 0)

// ---- redistributor-specific handlers -------------------------------------------------------

const readRdCtlr: Read = (g) => (g.implementationRev >= KVM_VGIC_IMP_REV_3 ? GICR_CTLR_IR | GICR_CTLR_CES : 0)

const readRdIidr: Read = () => ((PRODUCT_ID_KVM << 24) | IMPLEMENTER_ARM) >>> 0

/** GICR_TYPER: Affinity (Aff2.Aff1.Aff0) in 55:32, Processor_Number = vCPU id, Last. */
const readRdTyper: Read = (g, v, addr) => {
  if (addr & 4) return g.affinityOf(v) & 0xff_ffff
  return (((g.vcpuIdOf(v) & 0xffff) << 8) | (g.redistIsLast(v) ? GICR_TYPER_LAST : 0)) >>> 0
}

// GICR_PROPBASER / GICR_PENDBASER: kept (with KVM's sanitising) although there are no LPIs,
// so a restore finds what it saved. Fields: shareability 11:10, inner cache 9:7, outer 58:56.
const PROPBASER_RES0 = [0x60, 0xf8f0_0000] as const // bits 6:5 | bits 63:59, 55:52
const PENDBASER_RES0 = [0xf07f, 0xb8f0_0000] as const // bits 15:12, 6:0 | bit 63, 61:59, 55:52
const PENDBASER_PTZ_HI = 1 << 30

/** vgic_sanitise_{shareability,inner_cacheability} on the low word, outer on the high word. */
function sanitiseBaser(lo: number, hi: number, half: 0 | 1): number {
  if (half === 0) {
    let sh = (lo >>> 10) & 3
    if (sh === 2) sh = 1 // outer shareable becomes inner shareable
    let inner = (lo >>> 7) & 7
    if (inner === 0 || inner === 1) inner = 3 // no inner non-cacheable: RaWb
    return ((lo & ~(0xf << 7) & ~(0x3 << 10)) | (sh << 10) | (inner << 7)) >>> 0
  }
  const outer = (hi >>> 24) & 7
  return outer === 0 || outer === 1 ? hi : (hi & ~(7 << 24)) >>> 0
}

function baserHandlers(get: (g: Vgic, v: number) => Uint32Array, res0: readonly [number, number], readMask: readonly [number, number]): { read: Read; write: Write } {
  return {
    read: (g, v, addr) => {
      const half = (addr >>> 2) & 1
      return ((get(g, v)[half] as number) & ~(readMask[half] as number)) >>> 0
    },
    write: (g, v, addr, _len, val) => {
      const reg = get(g, v)
      const half = ((addr >>> 2) & 1) as 0 | 1
      const lo = half === 0 ? val : (reg[0] as number)
      const hi = half === 1 ? val : (reg[1] as number)
      reg[half] = sanitiseBaser(lo, hi, half) & ~(res0[half] as number)
    },
  }
}

const propbaser = baserHandlers((g) => g.propbaser, PROPBASER_RES0, [0, 0])
const pendbaser = baserHandlers((g, v) => g.pendbaser.subarray(2 * v, 2 * v + 2), PENDBASER_RES0, [0, PENDBASER_PTZ_HI])

// ---- the tables -----------------------------------------------------------------------------

function region(
  offset: number,
  length: number,
  access: number,
  read: Read,
  write: Write,
  extra: Partial<Pick<RegisterRegion, 'bitsPerIrq' | 'regBase' | 'checkIrqs' | 'userRead' | 'userWrite'>> = {},
): RegisterRegion {
  return { offset, length, access, read, write, bitsPerIrq: 0, regBase: offset, checkIrqs: false, ...extra }
}

/**
 * A distributor per-interrupt register: its private-interrupt part is RAZ/WI (affinity
 * routing puts those in the redistributors), the rest covers SPIs up to INTID 1023
 * (REGISTER_DESC_WITH_BITS_PER_IRQ_SHARED).
 */
function shared(offset: number, bitsPerIrq: number, access: number, read: Read, write: Write, userRead?: Read, userWrite?: Write): RegisterRegion[] {
  const privateLength = (bitsPerIrq * VGIC_NR_PRIVATE_IRQS) / 8
  return [
    region(offset, privateLength, access, readRaz, writeWi, { bitsPerIrq, regBase: offset, checkIrqs: true }),
    region(offset + privateLength, (bitsPerIrq * (1024 - VGIC_NR_PRIVATE_IRQS)) / 8, access, read, write, {
      bitsPerIrq,
      regBase: offset,
      checkIrqs: true,
      ...(userRead ? { userRead } : {}),
      ...(userWrite ? { userWrite } : {}),
    }),
  ]
}

/** vgic_v3_dist_registers. */
export const DIST_REGISTERS: readonly RegisterRegion[] = [
  region(GICD_CTLR, 16, ACCESS_32, readMisc, writeMisc, { userWrite: userWriteMisc }),
  region(GICD_STATUSR, 4, ACCESS_32, readRao, writeWi),
  ...shared(GICD_IGROUPR, 1, ACCESS_32, readGroup, writeGroup),
  ...shared(GICD_ISENABLER, 1, ACCESS_32, readEnable, writeSetEnable),
  ...shared(GICD_ICENABLER, 1, ACCESS_32, readEnable, writeClearEnable),
  ...shared(GICD_ISPENDR, 1, ACCESS_32, readPending, writeSetPending, userReadPending, userWritePending),
  ...shared(GICD_ICPENDR, 1, ACCESS_32, readPending, writeClearPending, readRaz, writeWi),
  ...shared(GICD_ISACTIVER, 1, ACCESS_32, readActive, writeSetActive),
  ...shared(GICD_ICACTIVER, 1, ACCESS_32, readActive, writeClearActive),
  ...shared(GICD_IPRIORITYR, 8, ACCESS_32 | ACCESS_8, readPriority, writePriority),
  ...shared(GICD_ITARGETSR, 8, ACCESS_32 | ACCESS_8, readRaz, writeWi),
  ...shared(GICD_ICFGR, 2, ACCESS_32, readConfig, writeConfig),
  ...shared(GICD_IGRPMODR, 1, ACCESS_32, readRaz, writeWi),
  ...shared(GICD_IROUTER, 64, ACCESS_64 | ACCESS_32, readIrouter, writeIrouter),
  region(GICD_IDREGS, 48, ACCESS_32, readIdregs, writeWi),
]

/** Per-interrupt registers of the SGI_base frame cover the 32 private interrupts. */
function sgiFrame(offset: number, length: number, bitsPerIrq: number, access: number, read: Read, write: Write, userRead?: Read, userWrite?: Write): RegisterRegion {
  return region(offset, length, access, read, write, {
    bitsPerIrq,
    ...(userRead ? { userRead } : {}),
    ...(userWrite ? { userWrite } : {}),
  })
}

/** vgic_v3_rd_registers: RD_base then SGI_base. */
export const REDIST_REGISTERS: readonly RegisterRegion[] = [
  region(GICR_CTLR, 4, ACCESS_32, readRdCtlr, writeWi),
  region(GICR_IIDR, 4, ACCESS_32, readRdIidr, writeWi),
  region(GICR_TYPER, 8, ACCESS_64 | ACCESS_32, readRdTyper, writeWi),
  region(GICR_STATUSR, 4, ACCESS_32, readRaz, writeWi),
  // WAKER is RAZ/WI: the redistributor is always awake (ChildrenAsleep reads 0).
  region(GICR_WAKER, 4, ACCESS_32, readRaz, writeWi),
  region(GICR_PROPBASER, 8, ACCESS_64 | ACCESS_32, propbaser.read, propbaser.write),
  region(GICR_PENDBASER, 8, ACCESS_64 | ACCESS_32, pendbaser.read, pendbaser.write),
  region(GICR_INVLPIR, 8, ACCESS_64 | ACCESS_32, readRaz, writeWi),
  region(GICR_INVALLR, 8, ACCESS_64 | ACCESS_32, readRaz, writeWi),
  region(GICR_SYNCR, 4, ACCESS_32, readRaz, writeWi),
  region(GICR_IDREGS, 48, ACCESS_32, readIdregs, writeWi),
  sgiFrame(GICR_IGROUPR0, 4, 1, ACCESS_32, readGroup, writeGroup),
  sgiFrame(GICR_ISENABLER0, 4, 1, ACCESS_32, readEnable, writeSetEnable),
  sgiFrame(GICR_ICENABLER0, 4, 1, ACCESS_32, readEnable, writeClearEnable),
  sgiFrame(GICR_ISPENDR0, 4, 1, ACCESS_32, readPending, writeSetPending, userReadPending, userWritePending),
  sgiFrame(GICR_ICPENDR0, 4, 1, ACCESS_32, readPending, writeClearPending, readRaz, writeWi),
  sgiFrame(GICR_ISACTIVER0, 4, 1, ACCESS_32, readActive, writeSetActive),
  sgiFrame(GICR_ICACTIVER0, 4, 1, ACCESS_32, readActive, writeClearActive),
  sgiFrame(GICR_IPRIORITYR0, 32, 8, ACCESS_32 | ACCESS_8, readPriority, writePriority),
  sgiFrame(GICR_ICFGR0, 8, 2, ACCESS_32, readConfig, writeConfig),
  sgiFrame(GICR_IGRPMODR0, 4, 1, ACCESS_32, readRaz, writeWi),
  sgiFrame(GICR_NSACR, 4, 1, ACCESS_32, readRaz, writeWi),
]

/** Binary search for the range holding `offset` (vgic_find_mmio_region). */
export function findRegion(regions: readonly RegisterRegion[], offset: number): RegisterRegion | undefined {
  let lo = 0
  let hi = regions.length - 1
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1
    const r = regions[mid] as RegisterRegion
    if (offset < r.offset) hi = mid - 1
    else if (offset >= r.offset + r.length) lo = mid + 1
    else return r
  }
  return undefined
}

/**
 * vgic_get_mmio_region + check_region: the range, if the width is allowed there, the access
 * is naturally aligned and (for SPI ranges) the first interrupt exists.
 */
export function accessibleRegion(regions: readonly RegisterRegion[], offset: number, len: number, nrIrqs: number): RegisterRegion | undefined {
  const r = findRegion(regions, offset)
  if (!r) return undefined
  const width = len === 1 ? ACCESS_8 : len === 4 ? ACCESS_32 : len === 8 ? ACCESS_64 : 0
  if ((r.access & width) === 0 || offset % len !== 0) return undefined
  if (r.checkIrqs && intidAt(r, offset) >= nrIrqs) return undefined
  return r
}
