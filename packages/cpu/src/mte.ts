// MTE state and rules of one CPU: whether allocation-tag access is enabled (ATAen), whether
// an access is tag-checked, the tag check itself with sync/async/asymmetric reporting, the
// CNET/IRG arithmetic and allocation-tag reads and writes through cached frame tag views.
// The CPU keeps `tagCheckMask` (TLB_TAGGED or 0) so the load/store fast path spends one AND
// on untagged pages or when checking is off; everything else is decided here.

import { TLB_TAGGED } from '@tagvm/mmu'
import type { FrameTags } from '@tagvm/tag-memory'
import { ACC_UNCHECKED, ACC_UNPRIV, type Cpu } from './cpu.js'
import { PS } from './state.js'
import { SLOT } from './sysregs.js'

const PAGE = 4096

// Bits of the high words of the 64-bit registers involved.
/** SCTLR_EL1 (high word): ATA (43), ATA0 (42), TCF 41:40, TCF0 39:38. */
const SCTLR_HI_ATA = 1 << 11
const SCTLR_HI_ATA0 = 1 << 10
const SCTLR_HI_TCF_SHIFT = 8
const SCTLR_HI_TCF0_SHIFT = 6
/** TCR_EL1 (high word): TBI0 (37), TBI1 (38), TCMA0 (57), TCMA1 (58). */
const TCR_HI_TBI0 = 1 << 5
const TCR_HI_TCMA0 = 1 << 25
const TCR_HI = 2 * SLOT.TCR_EL1 + 1
/** HCR_EL2: ATA (56, high), E2H (34, high), TGE (27, low). */
const HCR_HI_ATA = 1 << 24
const HCR_HI_E2H = 1 << 2
const HCR_LO_TGE = 1 << 27

/** Tag check fault status code (DFSC) of a synchronous tag check fault. */
export const DFSC_TAG_CHECK = 0x11

/** DC by-tag operations (op0 = 1 SYS keys). */
const sysKey = (op1: number, crn: number, crm: number, op2: number): number => (1 << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2
export const DC_GVA = sysKey(3, 7, 4, 3)
export const DC_GZVA = sysKey(3, 7, 4, 4)

/** A DC by-tag clean/invalidate operation: by VA (translates) or by set/way, EL0-capable or not. */
export interface TagMaintenance {
  readonly byVa: boolean
  readonly el0: boolean
  /** Invalidation needs write permission. */
  readonly invalidate: boolean
}

/** DC {C,CI,I}G{D}{VAC,VAP,VADP,SW} by SYS key. */
export const BY_TAG_MAINTENANCE = new Map<number, TagMaintenance>()
for (const op2 of [3, 5]) {
  // EL0-capable (op1 = 3): CGVAC/CGDVAC (CRm 10), CGVAP/CGDVAP (12), CGVADP/CGDVADP (13), CIGVAC/CIGDVAC (14).
  for (const crm of [10, 12, 13, 14]) BY_TAG_MAINTENANCE.set(sysKey(3, 7, crm, op2), { byVa: true, el0: true, invalidate: false })
  // IGVAC/IGDVAC (op1 = 0, CRm 6).
  BY_TAG_MAINTENANCE.set(sysKey(0, 7, 6, op2), { byVa: true, el0: false, invalidate: true })
}
// By set/way (EL1 only): IGSW, IGDSW, CGSW, CGDSW, CIGSW, CIGDSW.
for (const [crm, op2] of [[6, 4], [6, 6], [10, 4], [10, 6], [14, 4], [14, 6]] as const) {
  BY_TAG_MAINTENANCE.set(sysKey(0, 7, crm, op2), { byVa: false, el0: false, invalidate: false })
}

/** HCR_EL2.TSW traps the by-tag set/way operations; HCR_EL2.TPC the by-VA ones (to PoC/PoP). */
export function tagMaintenanceTrap(key: number): 'set-way' | 'by-va' | undefined {
  const m = BY_TAG_MAINTENANCE.get(key)
  return m === undefined ? undefined : m.byVa ? 'by-va' : 'set-way'
}

/** TCF values (2 is asynchronous). */
const TCF_NONE = 0
const TCF_SYNC = 1
const TCF_ASYMMETRIC = 3

/**
 * ChooseNonExcludedTag: `offset` steps from `tag` over the tags not set in `exclude`
 * (offset 0 still moves off an excluded start tag); 0 when every tag is excluded.
 */
export function chooseNonExcludedTag(tag: number, offset: number, exclude: number): number {
  if ((exclude & 0xffff) === 0xffff) return 0
  let t = tag & 15
  if (offset === 0) {
    while ((exclude >>> t) & 1) t = (t + 1) & 15
    return t
  }
  for (let i = 0; i < offset; i++) {
    t = (t + 1) & 15
    while ((exclude >>> t) & 1) t = (t + 1) & 15
  }
  return t
}

/**
 * Advances the RGSR_EL1 seed four steps of the architected LFSR
 * (feedback s<5>^s<3>^s<2>^s<0> shifted in at bit 15) and returns the 4-bit offset
 * (first output bit in bit 0) and the new seed as `offset | seed << 4`.
 */
export function lfsrStep4(seed: number): number {
  let s = seed & 0xffff
  let offset = 0
  for (let i = 0; i < 4; i++) {
    const b = ((s >>> 5) ^ (s >>> 3) ^ (s >>> 2) ^ s) & 1
    s = (b << 15) | (s >>> 1)
    offset |= b << i
  }
  return offset | (s << 4)
}

/** MTE machinery of one CPU. */
export class MteUnit {
  /** Packed tag views by host slot (undefined: not looked up yet; null: frame has no tags). */
  private readonly tagsBySlot: (FrameTags | null | undefined)[] = []

  constructor(private readonly cpu: Cpu) {}

  /** ID_AA64PFR1_EL1.MTE: 0 none, 1 instructions only, 2 MTE2, 3 MTE3. */
  level(): number {
    return (this.cpu.sys[2 * SLOT.ID_AA64PFR1_EL1]! >>> 8) & 0xf
  }

  /** Allocation tag access enabled at `el` (ATAen): HCR_EL2.ATA (or E2H+TGE) and SCTLR_EL1.ATA/ATA0. */
  ataEnabled(el: number): boolean {
    const cpu = this.cpu
    if (this.level() < 2) return false
    const hcrOk = (cpu.hcrHi & HCR_HI_ATA) !== 0 || ((cpu.hcrHi & HCR_HI_E2H) !== 0 && (cpu.hcrLo & HCR_LO_TGE) !== 0)
    if (!hcrOk) return false
    const sctlrHi = cpu.sys[2 * SLOT.SCTLR_EL1 + 1]!
    return (sctlrHi & (el === 0 ? SCTLR_HI_ATA0 : SCTLR_HI_ATA)) !== 0
  }

  /** TCF (EL1) or TCF0 (EL0) as it applies: TCF = 3 is reserved (no checks) without MTE3. */
  private tcf(el: number): number {
    const sctlrHi = this.cpu.sys[2 * SLOT.SCTLR_EL1 + 1]!
    const v = (sctlrHi >>> (el === 0 ? SCTLR_HI_TCF0_SHIFT : SCTLR_HI_TCF_SHIFT)) & 3
    return v === TCF_ASYMMETRIC && this.level() < 3 ? TCF_NONE : v
  }

  /** The fast path's mask: TLB_TAGGED when accesses at the current EL may be checked. */
  checkMask(): number {
    const el = this.cpu.p[PS.EL]!
    return this.cpu.p[PS.TCO] === 0 && this.ataEnabled(el) && this.tcf(el) !== TCF_NONE ? TLB_TAGGED : 0
  }

  /**
   * Checks a data access of `size` bytes at [hi:lo] (all inside one page, whose host slot is
   * `slot` and whose TLB entry says Tagged) against the allocation tags. Raises the
   * synchronous tag check fault or records the asynchronous one. `firstByte` is false for
   * the second page of a page-crossing access (the FAR then names the granule).
   */
  check(hi: number, lo: number, size: number, info: number, isWrite: boolean, slot: number, firstByte = true): void {
    if ((info & ACC_UNCHECKED) !== 0) return
    // Fast answer for the common case: TBI on, one granule, tags equal (TCMA, TCO, ATAen
    // and TCF only matter when they differ; the CPU's mask already covers the current EL).
    if ((info & ACC_UNPRIV) === 0 && (lo & 15) + size <= 16) {
      const tags = this.tagsBySlot[slot]
      if (tags) {
        const g = (lo & 0xfff) >>> 4
        const byte = tags.packed[tags.offset + (g >>> 1)]!
        if (((g & 1 ? byte >>> 4 : byte) & 15) === ((hi >>> 24) & 15) && (this.cpu.sys[TCR_HI]! & (TCR_HI_TBI0 << ((hi >>> 23) & 1))) !== 0) return
      }
    }
    this.checkFull(hi, lo, size, info, isWrite, slot, firstByte)
  }

  private checkFull(hi: number, lo: number, size: number, info: number, isWrite: boolean, slot: number, firstByte: boolean): void {
    const cpu = this.cpu
    const p = cpu.p
    const el = (info & ACC_UNPRIV) !== 0 && p[PS.UAO] === 0 ? 0 : p[PS.EL]!
    const upper = (hi >>> 23) & 1
    const tcrHi = cpu.sys[TCR_HI]!
    if ((tcrHi & (TCR_HI_TBI0 << upper)) === 0) return
    const top = (hi >>> 23) & 0x1f
    if ((tcrHi & (TCR_HI_TCMA0 << upper)) !== 0 && top === (upper ? 0x1f : 0)) return
    if (p[PS.TCO] !== 0 || !this.ataEnabled(el)) return
    const mode = this.tcf(el)
    if (mode === TCF_NONE) return
    const logical = (hi >>> 24) & 15
    const tags = this.tagsOf(slot)
    const off = lo & 0xfff
    const last = off + size - 1
    for (let g = off >>> 4; g <= last >>> 4; g++) {
      const allocation = tags === null ? 0 : nibble(tags, g)
      if (allocation === logical) continue
      if (mode === TCF_SYNC || (mode === TCF_ASYMMETRIC && !isWrite)) {
        // QEMU's FAR: the access address when its first granule fails, else the granule.
        const farLo = g === off >>> 4 && firstByte ? lo : ((lo & ~0xfff) | (g << 4)) >>> 0
        cpu.tagCheckFault(hi, farLo, isWrite)
      }
      const reg = el === 0 ? SLOT.TFSRE0_EL1 : SLOT.TFSR_EL1
      cpu.sys[2 * reg] = cpu.sys[2 * reg]! | (1 << upper)
      return
    }
  }

  /** The allocation tag of the granule at page offset `off` of host slot `slot`. */
  readTag(slot: number, off: number): number {
    const tags = this.tagsOf(slot)
    return tags === null ? 0 : nibble(tags, off >>> 4)
  }

  /** Sets the allocation tags of `granules` granules from page offset `off` of host slot `slot`. */
  writeTags(slot: number, off: number, granules: number, tag: number): void {
    let tags = this.tagsOf(slot)
    if (tags === null) {
      if (tag === 0) return
      tags = this.allocateTags(slot)
    }
    const first = off >>> 4
    for (let g = first; g < first + granules; g++) setNibble(tags, g, tag)
  }

  /** Sets the granule tags of [off, off+16*n) from consecutive nibbles of a 64-bit value (STGM). */
  writeTagNibbles(slot: number, off: number, granules: number, lo: number, hi: number): void {
    let tags = this.tagsOf(slot)
    if (tags === null) {
      if ((lo | hi) === 0) return
      tags = this.allocateTags(slot)
    }
    const first = off >>> 4
    for (let g = first; g < first + granules; g++) {
      const i = g & 15
      setNibble(tags, g, (i < 8 ? lo >>> (4 * i) : hi >>> (4 * (i - 8))) & 15)
    }
  }

  private tagsOf(slot: number): FrameTags | null {
    const cached = this.tagsBySlot[slot]
    if (cached) return cached
    const memory = this.cpu.memory
    if (memory.frameTags === undefined) return null
    // Frames without tag storage read as zero until something writes a tag.
    const tags = memory.frameTags(this.cpu.slotPaPage[slot]! / PAGE, false)
    if (tags !== null) this.remember(slot, tags)
    return tags
  }

  private allocateTags(slot: number): FrameTags {
    const memory = this.cpu.memory
    if (memory.frameTags === undefined) throw new RangeError('this memory has no allocation tag storage')
    const tags = memory.frameTags(this.cpu.slotPaPage[slot]! / PAGE, true)
    if (tags === null) throw new RangeError('frameTags(pfn, true) returned null')
    this.remember(slot, tags)
    return tags
  }

  /** Caches a frame's tag view here and in the CPU's per-slot arrays (its fast path). */
  private remember(slot: number, tags: FrameTags): void {
    this.tagsBySlot[slot] = tags
    this.cpu.tagBytes[slot] = tags.packed
    this.cpu.tagBase[slot] = tags.offset
  }
}

function nibble(tags: FrameTags, g: number): number {
  const byte = tags.packed[tags.offset + (g >>> 1)]!
  return g & 1 ? byte >>> 4 : byte & 15
}

function setNibble(tags: FrameTags, g: number, tag: number): void {
  const at = tags.offset + (g >>> 1)
  const byte = tags.packed[at]!
  tags.packed[at] = g & 1 ? (byte & 0x0f) | (tag << 4) : (byte & 0xf0) | tag
}

