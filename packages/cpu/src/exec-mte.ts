// MTE instructions: IRG, GMI, ADDG, SUBG, SUBP(S), the tag stores STG/STZG/ST2G/STZ2G (every
// index form), STGP, LDG, the EL1 block forms LDGM/STGM/STZGM, and the DC by-tag operations.
// All of them are UNDEFINED when ID_AA64PFR1_EL1.MTE = 0; with allocation-tag access
// disabled (ATAen false) they still execute, but tags read as 0 and tag writes are dropped.

import { ACCESS_READ, ACCESS_WRITE } from '@tagvm/mmu'
import { add64, alu, R_HI, R_LO } from './alu.js'
import { ACC_UNCHECKED, TWO32 } from './constants.js'
import type { Cpu } from './cpu.js'
import type { Build, HandlerTable } from './handlers.js'
import { chooseNonExcludedTag, lfsrStep4 } from './mte.js'
import { setNzcvFromAlu } from './pstate.js'
import { PS, REG_DISCARD, rsp, rz, wsp, wz } from './state.js'
import { SLOT } from './sysreg-table.js'


/** Bits 59:56 of a register's high word. */
const TAG_HI = 0x0f000000

/** Whether the translation just made (cpu.data.translateData) ended in Tagged memory. */
function lastTagged(cpu: Cpu): boolean {
  return cpu.data.lastTranslationTagged()
}

function requireMte(cpu: Cpu, level: number): void {
  if (cpu.mteLevel() < level) cpu.undefined()
}

function ataHere(cpu: Cpu): boolean {
  return cpu.mte.ataEnabled(cpu.p[PS.EL]!)
}

// ---- tag arithmetic ----

const irg: Build<'IRG'> = (cpu, f) => {
  const x = cpu.x
  const sys = cpu.sys
  const n = 2 * rsp(f.rn)
  const d = 2 * wsp(f.rd)
  const m = 2 * rz(f.rm)
  return () => {
    requireMte(cpu, 1)
    let tag = 0
    if (ataHere(cpu)) {
      const gcr = sys[2 * SLOT.GCR_EL1]!
      const exclude = (x[m]! | gcr) & 0xffff
      const rgsr = sys[2 * SLOT.RGSR_EL1]!
      let seed = (rgsr >>> 8) & 0xffff
      // RRND = 1 asks for an IMPLEMENTATION DEFINED random tag; like QEMU we keep the
      // architected generator, with a fixed non-zero seed instead of a host-random one.
      if ((gcr & (1 << 16)) !== 0 && seed === 0) seed = 1
      const step = lfsrStep4(seed)
      tag = chooseNonExcludedTag(rgsr & 15, step & 15, exclude)
      sys[2 * SLOT.RGSR_EL1] = ((step >>> 4) << 8) | tag
      sys[2 * SLOT.RGSR_EL1 + 1] = 0
    }
    x[d] = x[n]!
    x[d + 1] = (x[n + 1]! & ~TAG_HI) | (tag << 24)
    return 0
  }
}

function addSubTag(sub: boolean): Build<'ADDG' | 'SUBG'> {
  return (cpu, f) => {
    const x = cpu.x
    const n = 2 * rsp(f.rn)
    const d = 2 * wsp(f.rd)
    const offset = f.offset
    const tagOffset = f.tag
    return () => {
      requireMte(cpu, 1)
      const hi = x[n + 1]! >>> 0
      const tag = ataHere(cpu) ? chooseNonExcludedTag(hi >>> 24, tagOffset, cpu.sys[2 * SLOT.GCR_EL1]!) : 0
      if (sub) add64(x[n]! >>> 0, hi, ~offset >>> 0, 0xffffffff, 1)
      else add64(x[n]! >>> 0, hi, offset, 0, 0)
      x[d] = alu[R_LO]!
      x[d + 1] = (alu[R_HI]! & ~TAG_HI) | (tag << 24)
      return 0
    }
  }
}

const gmi: Build<'GMI'> = (cpu, f) => {
  const x = cpu.x
  const n = 2 * rsp(f.rn)
  const m = 2 * rz(f.rm)
  const d = 2 * wz(f.rd)
  return () => {
    requireMte(cpu, 1)
    const bit = (x[n + 1]! >>> 24) & 15
    x[d] = x[m]! | (1 << bit)
    x[d + 1] = x[m + 1]!
    return 0
  }
}

/** SUBP/SUBPS: difference of the 56-bit sign-extended addresses. */
function subp(setFlags: boolean): Build<'SUBP' | 'SUBPS'> {
  return (cpu, f) => {
    const x = cpu.x
    const p = cpu.p
    const n = 2 * rsp(f.rn)
    const m = 2 * rsp(f.rm)
    const d = 2 * wz(f.rd)
    return () => {
      requireMte(cpu, 1)
      const aHi = (x[n + 1]! << 8) >> 8
      const bHi = (x[m + 1]! << 8) >> 8
      add64(x[n]! >>> 0, aHi >>> 0, ~x[m]! >>> 0, ~bHi >>> 0, 1)
      x[d] = alu[R_LO]!
      x[d + 1] = alu[R_HI]!
      if (setFlags) setNzcvFromAlu(p)
      return 0
    }
  }
}

// ---- tag loads and stores ----

/** Base (Xn|SP) plus imm unless post-indexed, left in alu[R_LO]/alu[R_HI]. */
function tagAddress(cpu: Cpu, n: number, spBase: boolean, imm: number, post: boolean): void {
  if (spBase) cpu.data.checkSpAlignment()
  const x = cpu.x
  if (post) {
    alu[R_LO] = x[n]! >>> 0
    alu[R_HI] = x[n + 1]! >>> 0
  } else {
    add64(x[n]! >>> 0, x[n + 1]! >>> 0, imm >>> 0, imm < 0 ? 0xffffffff : 0, 0)
  }
}

/** Writes back the base register after a pre- or post-indexed tag store. */
function writeBack(cpu: Cpu, n: number, lo: number, hi: number, imm: number, post: boolean): void {
  const x = cpu.x
  if (post) {
    const s = lo + (imm >>> 0)
    x[n] = s
    x[n + 1] = hi + (imm < 0 ? 0xffffffff : 0) + (s >= TWO32 ? 1 : 0)
  } else {
    x[n] = lo
    x[n + 1] = hi
  }
}

/** STG, STZG, ST2G, STZ2G: mode 1 post-index, 2 signed offset, 3 pre-index. */
function tagStore(granules: number, zero: boolean): Build<'STG' | 'STZG' | 'ST2G' | 'STZ2G'> {
  return (cpu, f) => {
    const x = cpu.x
    const rn = f.rn
    const n = 2 * rsp(rn)
    const t = 2 * rsp(f.rt) // the tag source is Xt|SP
    const imm = f.imm
    const mode = f.mode
    const post = mode === 1
    const wb = mode !== 2
    return () => {
      requireMte(cpu, 1)
      tagAddress(cpu, n, rn === 31, imm, post)
      const lo = alu[R_LO]!
      const hi = alu[R_HI]!
      if ((lo & 15) !== 0) cpu.data.alignmentFault(hi, lo, true)
      const tag = (x[t + 1]! >>> 24) & 15
      const ata = ataHere(cpu)
      // ST2G/STZ2G may cross a page: translate both before writing either granule.
      if (granules > 1) cpu.data.probeParts(hi, lo, 16 * granules, 16, ACC_UNCHECKED, true)
      for (let g = 0; g < granules; g++) {
        const gLo = (lo + 16 * g) >>> 0
        const gHi = gLo < lo ? (hi + 1) >>> 0 : hi
        if (zero) {
          // The data part is an unchecked store (and may be MMIO: then it exits like STP).
          cpu.data.wr64(gHi, gLo, 0, 0, ACC_UNCHECKED)
          cpu.data.wr64(gHi, (gLo + 8) >>> 0, 0, 0, ACC_UNCHECKED)
        }
        const s = cpu.data.translateData(gHi, gLo, ACCESS_WRITE, 0, 16)
        if (ata && lastTagged(cpu)) cpu.mte.writeTags(s, gLo & 0xfff, 1, tag)
      }
      if (wb) writeBack(cpu, n, lo, hi, imm, post)
      return 0
    }
  }
}

const stgp: Build<'STGP'> = (cpu, f) => {
  const x = cpu.x
  const rn = f.rn
  const n = 2 * rsp(rn)
  const t1 = 2 * rz(f.rt)
  const t2 = 2 * rz(f.rt2)
  const imm = f.imm
  const mode = f.mode
  const post = mode === 1
  const wb = mode !== 2
  return () => {
    requireMte(cpu, 1)
    tagAddress(cpu, n, rn === 31, imm, post)
    const lo = alu[R_LO]!
    const hi = alu[R_HI]!
    if ((lo & 15) !== 0) cpu.data.alignmentFault(hi, lo, true)
    const aLo = x[t1]!
    const aHi = x[t1 + 1]!
    const bLo = x[t2]!
    const bHi = x[t2 + 1]!
    cpu.data.wr64(hi, lo, aLo, aHi, ACC_UNCHECKED)
    cpu.data.wr64(hi, (lo + 8) >>> 0, bLo, bHi, ACC_UNCHECKED)
    // The tag comes from the address, not from the data registers.
    const s = cpu.data.translateData(hi, lo, ACCESS_WRITE, 0, 16)
    if (ataHere(cpu) && lastTagged(cpu)) cpu.mte.writeTags(s, lo & 0xfff, 1, (hi >>> 24) & 15)
    if (wb) writeBack(cpu, n, lo, hi, imm, post)
    return 0
  }
}

const ldg: Build<'LDG'> = (cpu, f) => {
  const x = cpu.x
  const rn = f.rn
  const n = 2 * rsp(rn)
  const t = 2 * rz(f.rt)
  const td = 2 * (f.rt === 31 ? REG_DISCARD : f.rt)
  const imm = f.imm
  return () => {
    requireMte(cpu, 1)
    tagAddress(cpu, n, rn === 31, imm, false)
    const lo = (alu[R_LO]! & ~15) >>> 0
    const hi = alu[R_HI]!
    const s = cpu.data.translateData(hi, lo, ACCESS_READ, 0, 1)
    const tag = ataHere(cpu) && lastTagged(cpu) ? cpu.mte.readTag(s, lo & 0xfff) : 0
    x[td] = x[t]!
    x[td + 1] = (x[t + 1]! & ~TAG_HI) | (tag << 24)
    return 0
  }
}

/** LDGM, STGM, STZGM: EL1 only, over a GMID_EL1 (LDGM/STGM) or DCZID_EL0 (STZGM) block. */
function tagBlock(kind: 'LDGM' | 'STGM' | 'STZGM'): Build<'LDGM' | 'STGM' | 'STZGM'> {
  return (cpu, f) => {
    const x = cpu.x
    const sys = cpu.sys
    const n = 2 * rsp(f.rn)
    const t = 2 * rz(f.rt)
    const td = 2 * (f.rt === 31 ? REG_DISCARD : f.rt)
    const isLoad = kind === 'LDGM'
    const spBase = f.rn === 31
    return () => {
      requireMte(cpu, 2)
      if (cpu.p[PS.EL] === 0) cpu.undefined()
      if (spBase) cpu.data.checkSpAlignment()
      const bs = kind === 'STZGM' ? sys[2 * SLOT.DCZID_EL0]! & 15 : sys[2 * SLOT.GMID_EL1]! & 15
      const size = 4 << bs
      const lo = (x[n]! & ~(size - 1)) >>> 0
      const hi = x[n + 1]! >>> 0
      if (kind === 'STZGM') for (let o = 0; o < size; o += 8) cpu.data.wr64(hi, (lo + o) >>> 0, 0, 0, ACC_UNCHECKED)
      const s = cpu.data.translateData(hi, lo, isLoad ? ACCESS_READ : ACCESS_WRITE, 0, 1)
      const active = ataHere(cpu) && lastTagged(cpu)
      const off = lo & 0xfff
      const granules = size >>> 4
      if (isLoad) {
        let rLo = 0
        let rHi = 0
        if (active) {
          for (let g = 0; g < granules; g++) {
            const i = ((lo >>> 4) + g) & 15
            const tag = cpu.mte.readTag(s, off + 16 * g)
            if (i < 8) rLo |= tag << (4 * i)
            else rHi |= tag << (4 * (i - 8))
          }
        }
        x[td] = rLo
        x[td + 1] = rHi
      } else if (active) {
        if (kind === 'STGM') cpu.mte.writeTagNibbles(s, off, granules, x[t]!, x[t + 1]!)
        else cpu.mte.writeTags(s, off, granules, x[t]! & 15)
      }
      return 0
    }
  }
}

export const mteInstructions: HandlerTable = {
  IRG: irg,
  GMI: gmi,
  ADDG: addSubTag(false),
  SUBG: addSubTag(true),
  SUBP: subp(false),
  SUBPS: subp(true),
  STG: tagStore(1, false),
  STZG: tagStore(1, true),
  ST2G: tagStore(2, false),
  STZ2G: tagStore(2, true),
  STGP: stgp,
  LDG: ldg,
  LDGM: tagBlock('LDGM'),
  STGM: tagBlock('STGM'),
  STZGM: tagBlock('STZGM'),
}
