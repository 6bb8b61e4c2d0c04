// The SIMD&FP register file as typed-array views of one buffer: V0–V31, 16 bytes each,
// lanes little-endian (lane i of an esize-byte arrangement is bytes [i*esize, (i+1)*esize)).
// Registers 32..39 follow the architectural ones as scratch space, so a result that reads
// lanes across a register (permutes, widening, narrowing) is built there with the same
// index arithmetic and copied in one go.

/** Architectural registers. */
export const V_COUNT = 32
/** First scratch register (32..39 are scratch). */
export const V_SCRATCH = 32
const TOTAL_REGS = 40

/** Bytes the register file needs: 40 registers of 16 bytes. */
export const VREGS_BYTES = TOTAL_REGS * 16

export class VRegs {
  readonly u8: Uint8Array
  readonly i8: Int8Array
  readonly u16: Uint16Array
  readonly i16: Int16Array
  readonly u32: Uint32Array
  readonly i32: Int32Array
  /** V0–V31 only (128 words): what snapshots and ONE_REG access read and write. */
  readonly file: Uint32Array

  /** `buffer` may be shared (SharedArrayBuffer); it needs VREGS_BYTES bytes from `byteOffset`. */
  constructor(buffer: ArrayBufferLike = new ArrayBuffer(VREGS_BYTES), byteOffset = 0) {
    if (byteOffset % 16 !== 0 || buffer.byteLength - byteOffset < VREGS_BYTES) {
      throw new RangeError(`VRegs needs ${VREGS_BYTES} bytes at a 16-byte aligned offset`)
    }
    this.u8 = new Uint8Array(buffer, byteOffset, VREGS_BYTES)
    this.i8 = new Int8Array(buffer, byteOffset, VREGS_BYTES)
    this.u16 = new Uint16Array(buffer, byteOffset, VREGS_BYTES / 2)
    this.i16 = new Int16Array(buffer, byteOffset, VREGS_BYTES / 2)
    this.u32 = new Uint32Array(buffer, byteOffset, VREGS_BYTES / 4)
    this.i32 = new Int32Array(buffer, byteOffset, VREGS_BYTES / 4)
    this.file = this.u32.subarray(0, V_COUNT * 4)
  }
}

/**
 * Zeroes bytes [bytes, 16) of register r: what every write of a 64-bit vector or a scalar
 * does to the rest of the register. `bytes` is 1, 2, 4, 8 or 16.
 */
export function zeroAbove(V: VRegs, r: number, bytes: number): void {
  if (bytes >= 16) return
  const w = r << 2
  const u32 = V.u32
  if (bytes < 4) {
    u32[w] = u32[w]! & (bytes === 1 ? 0xff : 0xffff)
    u32[w + 1] = 0
    u32[w + 2] = 0
    u32[w + 3] = 0
  } else if (bytes === 4) {
    u32[w + 1] = 0
    u32[w + 2] = 0
    u32[w + 3] = 0
  } else {
    u32[w + 2] = 0
    u32[w + 3] = 0
  }
}

/** Lanes of (8 << esz)-bit elements in a 64-bit (q = 0) or 128-bit (q = 1) vector. */
export function lanesOf(esz: number, q: number): number {
  return (q ? 16 : 8) >> esz
}

/**
 * The unsigned view for (8 << esz)-bit lanes (esz 0..2): lane i of register r is at
 * index r * (16 >> esz) + i. Storing a number keeps its low bits, as a lane write does.
 */
export function lanesArray(V: VRegs, esz: number): Uint8Array | Uint16Array | Uint32Array {
  return esz === 0 ? V.u8 : esz === 1 ? V.u16 : V.u32
}

/** Unsigned value of lane i (esz 0..2) of register r. */
export function getU(V: VRegs, esz: number, r: number, i: number): number {
  switch (esz) {
    case 0:
      return V.u8[(r << 4) + i]!
    case 1:
      return V.u16[(r << 3) + i]!
    default:
      return V.u32[(r << 2) + i]!
  }
}

/** Stores the low (8 << esz) bits of integer x (exact, |x| < 2^53) in lane i of register r. */
export function setLane(V: VRegs, esz: number, r: number, i: number, x: number): void {
  switch (esz) {
    case 0:
      V.u8[(r << 4) + i] = x
      return
    case 1:
      V.u16[(r << 3) + i] = x
      return
    default:
      V.u32[(r << 2) + i] = x
  }
}
