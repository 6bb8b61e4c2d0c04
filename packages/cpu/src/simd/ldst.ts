// SIMD&FP loads and stores as pure data movement between the register file and a byte
// buffer holding the transfer's memory image (little-endian). Every SIMD&FP transfer
// touches one contiguous range [address, address + bytes): the caller translates and checks
// that range (permissions, alignment, MTE tags of every granule) and copies it, then calls
// these. See README.md for what the wiring has to do around them.

import { type VRegs, zeroAbove } from './vregs.js'

/** Bytes moved by LD1–LD4/ST1–ST4 (multiple structures) with `regs` registers. */
export function multipleBytes(regs: number, q: number): number {
  return regs * (q ? 16 : 8)
}

/**
 * LDn/STn (multiple structures). `selem` elements per structure (1 for LD1/ST1, 2..4 for
 * LD2..LD4/ST2..ST4) and `rpt` repetitions (1..4 registers for LD1/ST1, 1 otherwise);
 * registers Vt, Vt+1, … wrap from V31 to V0. Element e of structure member s of repetition r
 * is at byte ((r * lanes + e) * selem + s) << esz. Loads of 64-bit vectors zero the upper
 * halves of every register written.
 */
export function transferMultiple(V: VRegs, load: boolean, selem: number, rpt: number, esz: number, q: number, rt: number, buf: Uint8Array, off: number): void {
  const lanes = (q ? 16 : 8) >> esz
  const ebytes = 1 << esz
  const u8 = V.u8
  let p = off
  if (selem === 1) {
    // LD1/ST1: each register's elements are consecutive little-endian bytes, so it is one copy.
    const bytes = q ? 16 : 8
    for (let r = 0; r < rpt; r++, p += bytes) {
      const at = ((rt + r) & 31) << 4
      if (load) for (let b = 0; b < bytes; b++) u8[at + b] = buf[p + b]!
      else for (let b = 0; b < bytes; b++) buf[p + b] = u8[at + b]!
    }
    if (load && !q) for (let r = 0; r < rpt; r++) zeroAbove(V, (rt + r) & 31, 8)
    return
  }
  for (let r = 0; r < rpt; r++) {
    for (let e = 0; e < lanes; e++) {
      for (let s = 0; s < selem; s++) {
        const reg = (rt + r + s) & 31
        const at = (reg << 4) + (e << esz)
        if (load) for (let b = 0; b < ebytes; b++) u8[at + b] = buf[p + b]!
        else for (let b = 0; b < ebytes; b++) buf[p + b] = u8[at + b]!
        p += ebytes
      }
    }
  }
  if (load && !q) for (let r = 0; r < selem * rpt; r++) zeroAbove(V, (rt + r) & 31, 8)
}

/**
 * LDn/STn (single structure): lane idx of Vt..Vt+selem-1 to or from bytes [s << esz];
 * the registers' other lanes are kept.
 */
export function transferLane(V: VRegs, load: boolean, selem: number, esz: number, idx: number, rt: number, buf: Uint8Array, off: number): void {
  const ebytes = 1 << esz
  const u8 = V.u8
  for (let s = 0; s < selem; s++) {
    const at = (((rt + s) & 31) << 4) + (idx << esz)
    const p = off + s * ebytes
    if (load) for (let b = 0; b < ebytes; b++) u8[at + b] = buf[p + b]!
    else for (let b = 0; b < ebytes; b++) buf[p + b] = u8[at + b]!
  }
}

/** LD1R–LD4R: element s of the structure replicated to every lane of Vt+s. */
export function loadReplicate(V: VRegs, selem: number, esz: number, q: number, rt: number, buf: Uint8Array, off: number): void {
  const ebytes = 1 << esz
  const bytes = q ? 16 : 8
  const u8 = V.u8
  for (let s = 0; s < selem; s++) {
    const reg = ((rt + s) & 31) << 4
    const p = off + s * ebytes
    for (let at = 0; at < bytes; at += ebytes) for (let b = 0; b < ebytes; b++) u8[reg + at + b] = buf[p + b]!
    if (!q) zeroAbove(V, (rt + s) & 31, 8)
  }
}

/**
 * LDR/LDUR/LDP/LDNP (SIMD&FP): 1 << esz bytes (esz 0..4: B, H, S, D, Q) into Vt, the rest of
 * the register zeroed. STR/STUR/STP/STNP store the low 1 << esz bytes.
 */
export function transferRegister(V: VRegs, load: boolean, esz: number, rt: number, buf: Uint8Array, off: number): void {
  const bytes = 1 << esz
  const u8 = V.u8
  const at = rt << 4
  if (load) {
    for (let b = 0; b < bytes; b++) u8[at + b] = buf[off + b]!
    zeroAbove(V, rt, bytes)
  } else for (let b = 0; b < bytes; b++) buf[off + b] = u8[at + b]!
}
