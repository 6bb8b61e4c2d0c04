// MTE state and rules of one CPU: whether allocation-tag access is enabled (ATAen), whether
// an access is tag-checked, the tag check itself with sync/async/asymmetric reporting, the
// CNET/IRG arithmetic and allocation-tag reads and writes through cached frame tag views.
// The CPU keeps `tagCheckMask` (TLB_TAGGED or 0) so the load/store fast path spends one AND
// on untagged pages or when checking is off; everything else is decided here.

import { TLB_TAGGED } from '@tagvm/mmu'
import { ACC_UNCHECKED, ACC_UNPRIV, HCR, PAGE_OFFSET_MASK } from './constants.js'
import type { Cpu } from './cpu.js'
import { setTagOf, tagOf, type HostFrames } from './host-frames.js'
import { PS } from './state.js'
import { SLOT } from './sysreg-table.js'

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

/** MTE machinery of one CPU. Tag views come from the data path's host frames. */
export class MteUnit {
  private readonly frames: HostFrames

  constructor(private readonly cpu: Cpu, frames: HostFrames) {
    this.frames = frames
  }

  /** ID_AA64PFR1_EL1.MTE: 0 none, 1 instructions only, 2 MTE2, 3 MTE3. */
  level(): number {
    return (this.cpu.sys[2 * SLOT.ID_AA64PFR1_EL1]! >>> 8) & 0xf
  }

  /** Allocation tag access enabled at `el` (ATAen): HCR_EL2.ATA (or E2H+TGE) and SCTLR_EL1.ATA/ATA0. */
  ataEnabled(el: number): boolean {
    const cpu = this.cpu
    if (this.level() < 2) return false
    const hcrOk = (cpu.hcrHi & HCR.HI_ATA) !== 0 || ((cpu.hcrHi & HCR.HI_E2H) !== 0 && (cpu.hcrLo & HCR.TGE) !== 0)
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
    if ((info & ACC_UNPRIV) === 0 && (lo & 15) + size <= 16 && this.frames.hasTags(slot)) {
      const tag = tagOf(this.frames.list[slot]!, (lo & PAGE_OFFSET_MASK) >>> 4)
      if (tag === ((hi >>> 24) & 15) && (this.cpu.sys[TCR_HI]! & (TCR_HI_TBI0 << ((hi >>> 23) & 1))) !== 0) return
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
    const frame = this.frames.hasTags(slot) ? this.frames.list[slot]! : null
    const off = lo & PAGE_OFFSET_MASK
    const last = off + size - 1
    for (let g = off >>> 4; g <= last >>> 4; g++) {
      const allocation = frame === null ? 0 : tagOf(frame, g)
      if (allocation === logical) continue
      if (mode === TCF_SYNC || (mode === TCF_ASYMMETRIC && !isWrite)) {
        // QEMU's FAR: the access address when its first granule fails, else the granule.
        const farLo = g === off >>> 4 && firstByte ? lo : ((lo & ~PAGE_OFFSET_MASK) | (g << 4)) >>> 0
        cpu.data.tagCheckFault(hi, farLo, isWrite)
      }
      const reg = el === 0 ? SLOT.TFSRE0_EL1 : SLOT.TFSR_EL1
      cpu.sys[2 * reg] = cpu.sys[2 * reg]! | (1 << upper)
      return
    }
  }

  /** The allocation tag of the granule at page offset `off` of host slot `slot`. */
  readTag(slot: number, off: number): number {
    return this.frames.hasTags(slot) ? tagOf(this.frames.list[slot]!, off >>> 4) : 0
  }

  /** Sets the allocation tags of `granules` granules from page offset `off` of host slot `slot`. */
  writeTags(slot: number, off: number, granules: number, tag: number): void {
    if (!this.frames.hasTags(slot) && tag === 0) return
    const frame = this.frames.ensureTags(slot)
    const first = off >>> 4
    for (let g = first; g < first + granules; g++) setTagOf(frame, g, tag)
    this.frames.tagsWritten(frame)
  }

  /** Sets the granule tags of [off, off+16*n) from consecutive nibbles of a 64-bit value (STGM). */
  writeTagNibbles(slot: number, off: number, granules: number, lo: number, hi: number): void {
    if (!this.frames.hasTags(slot) && (lo | hi) === 0) return
    const frame = this.frames.ensureTags(slot)
    const first = off >>> 4
    for (let g = first; g < first + granules; g++) {
      const i = g & 15
      setTagOf(frame, g, (i < 8 ? lo >>> (4 * i) : hi >>> (4 * (i - 8))) & 15)
    }
    this.frames.tagsWritten(frame)
  }
}
