// The SIMD&FP register file of one CPU and the views the FP and SIMD libraries work on.
//
// Layout (shareable with a compiled tier or a worker thread):
// - `vregs.buffer`: one ArrayBuffer of VREGS_BYTES (640) bytes. Bytes [16n, 16n + 16) are
//   V<n> for n = 0..31, little-endian (byte 0 of V0 is lane 0 of V0.16B); `vregs.file` is
//   the same 512 bytes as 128 uint32 words (V<n> = words 4n..4n+3, least significant
//   first), which is KVM's `fp_regs.vregs[n]` and what snapshots carry. Bytes [512, 640)
//   are scratch registers 32..39 of the SIMD library (not architectural).
// - FPCR and FPSR are stored system registers: the low words of cpu.sys at 2*SLOT.FPCR and
//   2*SLOT.FPSR (the high words stay 0). `status` reads and writes them there, so an FP
//   operation's flags land in the CPU state with no copy.

import type { FpContext, FpStatus } from './fp/index.js'
import { VRegs, type SimdState } from './simd/index.js'
import { PS } from './state.js'

/** FPCR bits a write keeps: AHP, DN, FZ, RMode, FZ16 (no trapped exceptions, no AArch32 Len/Stride). */
export const FPCR_WRITABLE = 0x07c80000
/** FPSR bits a write keeps: QC and the cumulative flags IDC, IXC, UFC, OFC, DZC, IOC. */
export const FPSR_WRITABLE = 0x0800009f

/** FPCR/FPSR as the FP library's status object, backed by the CPU's system register words. */
class StoredFpStatus implements FpStatus {
  constructor(
    private readonly sys: Int32Array,
    private readonly fpcrIndex: number,
    private readonly fpsrIndex: number,
  ) {}
  get fpcr(): number {
    return this.sys[this.fpcrIndex]!
  }
  set fpcr(value: number) {
    this.sys[this.fpcrIndex] = value
  }
  get fpsr(): number {
    return this.sys[this.fpsrIndex]!
  }
  set fpsr(value: number) {
    this.sys[this.fpsrIndex] = value
  }
}

/** PSTATE.NZCV as the FP library's 4-bit value over the CPU's PSTATE array. */
class PstateFpContext implements FpContext {
  constructor(
    readonly v: Uint32Array,
    readonly x: Uint32Array,
    readonly fp: FpStatus,
    private readonly p: Int32Array,
  ) {}
  get nzcv(): number {
    const p = this.p
    return (p[PS.N]! << 3) | (p[PS.Z]! << 2) | (p[PS.C]! << 1) | p[PS.V]!
  }
  set nzcv(value: number) {
    const p = this.p
    p[PS.N] = (value >>> 3) & 1
    p[PS.Z] = (value >>> 2) & 1
    p[PS.C] = (value >>> 1) & 1
    p[PS.V] = value & 1
  }
}

export class FpRegs {
  /** V0-V31 (and the SIMD library's scratch registers); see the layout above. */
  readonly vregs: VRegs
  /** FPCR / FPSR in cpu.sys. */
  readonly status: FpStatus
  /** What FP_HANDLERS take. */
  readonly fpContext: FpContext
  /** What SIMD_EXECUTE / SIMD_MEMORY take. */
  readonly simdState: SimdState

  /**
   * `x` is the CPU's general register array (lo/hi pairs, slot 31 reading zero), `p` its
   * PSTATE array, `sys` its stored system registers with FPCR/FPSR low words at the indexes given;
   * `vregs` where the registers live when not in a buffer of their own (the compiled tier's state page).
   */
  constructor(x: Int32Array, p: Int32Array, sys: Int32Array, fpcrIndex: number, fpsrIndex: number, vregs = new VRegs()) {
    this.vregs = vregs
    const xWords = new Uint32Array(x.buffer, x.byteOffset, x.length)
    this.status = new StoredFpStatus(sys, fpcrIndex, fpsrIndex)
    this.fpContext = new PstateFpContext(this.vregs.u32, xWords, this.status, p)
    this.simdState = { v: this.vregs, fp: this.status, x: xWords }
  }

  /** V<n> as a 128-bit unsigned value (an API edge: KVM ONE_REG, tests). */
  get(n: number): bigint {
    checkV(n)
    const f = this.vregs.file
    let value = 0n
    for (let w = 3; w >= 0; w--) value = (value << 32n) | BigInt(f[4 * n + w]!)
    return value
  }

  /** Sets V<n> from a 128-bit unsigned value. */
  set(n: number, value: bigint): void {
    checkV(n)
    if (typeof value !== 'bigint' || value < 0n || value >> 128n !== 0n) throw new RangeError(`V register value ${String(value)} is not a uint128`)
    const f = this.vregs.file
    for (let w = 0; w < 4; w++) f[4 * n + w] = Number((value >> BigInt(32 * w)) & 0xffffffffn)
  }

  /** Zeroes V0-V31 (reset). FPCR/FPSR reset with the other stored registers. */
  reset(): void {
    this.vregs.u8.fill(0)
  }
}

function checkV(n: number): void {
  if (!Number.isInteger(n) || n < 0 || n > 31) throw new RangeError(`V register ${n} is not 0..31`)
}
