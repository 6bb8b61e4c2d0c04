// Layout of the CPU state arrays. Kept in typed arrays so a compiled tier or a worker
// thread can share them later.

/**
 * General registers: register r at [2r] (low 32 bits) and [2r+1] (high 32 bits).
 * Slot 31 always holds zero (XZR reads), slot 32 is the current stack pointer and slot 33
 * is where writes to XZR go (never read). Decoding maps register fields to these slots,
 * so an instruction never tests for register 31 while it runs.
 */
export const REG_ZR = 31
export const REG_SP = 32
export const REG_DISCARD = 33
export const REG_SLOTS = 34

/** Slot for a register field that reads Xn or XZR (31 = zero). */
export function rz(field: number): number {
  return field
}
/** Slot for a register field that reads Xn or SP (31 = SP). */
export function rsp(field: number): number {
  return field === 31 ? REG_SP : field
}
/** Slot for a destination field that writes Xd or discards (31 = XZR). */
export function wz(field: number): number {
  return field === 31 ? REG_DISCARD : field
}
/** Slot for a destination field that writes Xd or SP (31 = SP). */
export const wsp = rsp

/** Indices into the PSTATE array. */
export const PS = {
  N: 0,
  Z: 1,
  C: 2,
  V: 3,
  EL: 4,
  SPSEL: 5,
  /** DAIF as the 4-bit value of bits 9:6 of SPSR (D=8, A=4, I=2, F=1). */
  DAIF: 6,
  TCO: 7,
  PAN: 8,
  UAO: 9,
  SSBS: 10,
  DIT: 11,
  IL: 12,
  SS: 13,
  BTYPE: 14,
} as const

/** PSTATE.NZCV as the NZCV register's word (bits 31:28), from the PSTATE array. */
export function nzcvWord(p: Int32Array): number {
  return (p[PS.N]! << 31) | (p[PS.Z]! << 30) | (p[PS.C]! << 29) | (p[PS.V]! << 28)
}

/** Sets PSTATE.NZCV in the PSTATE array from the NZCV register's word (bits 31:28). */
export function setNzcvWord(p: Int32Array, word: number): void {
  p[PS.N] = word >>> 31
  p[PS.Z] = (word >>> 30) & 1
  p[PS.C] = (word >>> 29) & 1
  p[PS.V] = (word >>> 28) & 1
}
export const PS_SIZE = 16

/** Packs PSTATE into the SPSR_ELx layout. */
export function packSpsr(p: Int32Array): number {
  return (
    ((p[PS.N]! << 31) |
      (p[PS.Z]! << 30) |
      (p[PS.C]! << 29) |
      (p[PS.V]! << 28) |
      (p[PS.TCO]! << 25) |
      (p[PS.DIT]! << 24) |
      (p[PS.UAO]! << 23) |
      (p[PS.PAN]! << 22) |
      (p[PS.SS]! << 21) |
      (p[PS.IL]! << 20) |
      (p[PS.SSBS]! << 12) |
      (p[PS.BTYPE]! << 10) |
      (p[PS.DAIF]! << 6) |
      (p[PS.EL]! << 2) |
      p[PS.SPSEL]!) >>>
    0
  )
}
