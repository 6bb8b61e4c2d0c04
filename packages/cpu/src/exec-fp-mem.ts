// SIMD&FP loads and stores (LDR/STR/LDP/STP of B/H/S/D/Q, LD1-LD4/ST1-ST4 in every form,
// the replicating loads): the address and writeback from the decoded fields, the access
// through the CPU's data path, and the data movement from the SIMD library (SIMD_MEMORY).
//
// Every such instruction touches one contiguous range. The whole range is probed first
// (translation and permission of every page, alignment, the MTE check of every granule),
// as QEMU does with one probe per transfer, so a fault or an exit leaves registers, the
// base register and memory unchanged and the instruction can be retried. Stage-2 aborts
// carry ISV = 0 (the syndrome is only valid for general-register loads and stores), so a
// SIMD access to MMIO is what KVM's io_mem_abort makes of it: KVM_EXIT_ARM_NISV with
// KVM_CAP_ARM_NISV_TO_USER, else ENOSYS from KVM_RUN.

import type { InstructionName } from '@tagvm/a64'
import { splitImm } from './alu.js'
import { ACC_UNCHECKED, PAGE_OFFSET_MASK, PAGE_SIZE, SCTLR, TWO32 } from './constants.js'
import type { Cpu } from './cpu.js'
import type { HostFrame } from './host-frames.js'
import type { Build, Handler, HandlerTable } from './handlers.js'
import { SIMD_MEMORY, type MemoryForm, type SimdMemoryName } from './simd/index.js'
import { rsp } from './state.js'
import { SLOT } from './sysreg-table.js'

/** How an instruction forms its address and what it writes back. */
const enum Addr {
  /** PC + imm (LDR literal; never tag-checked). */
  Literal,
  /** Xn|SP + imm, no writeback. */
  Offset,
  /** Xn|SP + imm, Xn = address. */
  Pre,
  /** Xn|SP, Xn += imm. */
  Post,
  /** Xn|SP + (ExtendReg(Xm, option) << amount). */
  Register,
  /** Xn|SP (LDn/STn/LDnR without writeback). */
  Base,
  /** Xn|SP, Xn += (Rm = 31 ? bytes : Xm) (LDn/STn/LDnR post-index). */
  PostReg,
}

/** The decoded fields the addressing forms read (each row has the ones its form needs). */
interface MemFields {
  readonly rn?: number
  readonly rm?: number
  readonly imm?: number
  readonly option?: number
  readonly amount?: number
  readonly esz: number
}

/**
 * Memory image of a transfer (at most LD4 of four Q registers) that crosses a page or has
 * elements to move one host access each (`imageIn`/`imageOut`).
 */
const image = new Float64Array(8)
const imageBytes = new Uint8Array(image.buffer)
const imageU16 = new Uint16Array(image.buffer)
const imageU32 = new Uint32Array(image.buffer)

/**
 * Copies `len` bytes at byte `at` of a frame's chunk to byte `to` of `image`. With `ebytes` 2,
 * 4 or 8 (`at`, `to` and `len` multiples of it) each element is one host access, single-copy
 * atomic against other vCPU threads (see HostFrame.u16); Float64 elements carry their bits
 * unchanged (as DataPath.word64). With 1, a plain byte copy.
 */
function imageIn(f: HostFrame, at: number, to: number, len: number, ebytes: number): void {
  if (ebytes === 8) for (let i = to >>> 3, e = at >>> 3, end = (to + len) >>> 3; i < end; i++, e++) image[i] = f.f64[e]!
  else if (ebytes === 4) for (let i = to >>> 2, e = at >>> 2, end = (to + len) >>> 2; i < end; i++, e++) imageU32[i] = f.u32[e]!
  else if (ebytes === 2) for (let i = to >>> 1, e = at >>> 1, end = (to + len) >>> 1; i < end; i++, e++) imageU16[i] = f.u16[e]!
  else imageBytes.set(f.bytes.subarray(at, at + len), to)
}

/** `len` bytes from byte `to` of `image` to byte `at` of a frame's chunk (imageIn's other direction). */
function imageOut(f: HostFrame, at: number, to: number, len: number, ebytes: number): void {
  if (ebytes === 8) for (let i = to >>> 3, e = at >>> 3, end = (to + len) >>> 3; i < end; i++, e++) f.f64[e] = image[i]!
  else if (ebytes === 4) for (let i = to >>> 2, e = at >>> 2, end = (to + len) >>> 2; i < end; i++, e++) f.u32[e] = imageU32[i]!
  else if (ebytes === 2) for (let i = to >>> 1, e = at >>> 1, end = (to + len) >>> 1; i < end; i++, e++) f.u16[e] = imageU16[i]!
  else f.bytes.set(imageBytes.subarray(to, to + len), at)
}

function build<K extends SimdMemoryName>(name: K, mode: Addr): Build<K> {
  const form = SIMD_MEMORY[name] as unknown as MemoryForm<InstructionName>
  return (cpu, insn) => memoryHandler(cpu, insn as unknown as MemFields, insn, form, mode)
}

function memoryHandler(cpu: Cpu, f: MemFields, insn: unknown, form: MemoryForm<InstructionName>, mode: Addr): Handler {
  const decoded = insn as Parameters<typeof form.bytes>[0]
  const mem = cpu.data
  const x = cpu.x
  const sys = cpu.sys
  const state = cpu.fpRegs.simdState
  const isWrite = !form.load
  const span = form.bytes(decoded)
  const elemSize = Math.min(1 << f.esz, 16)
  // Single-copy atomic units (Arm ARM B2.2.1; no FEAT_LSE2, ID_AA64MMFR2_EL1.AT = 0): each
  // element aligned to its size, a Q register as two 64-bit doublewords; bytes always.
  const atomBytes = Math.min(elemSize, 8)
  const rn = f.rn ?? 0
  const n = 2 * rsp(rn)
  const spBase = mode !== Addr.Literal && rn === 31
  // Unchecked only for SP-based accesses with an immediate (or no) offset and no writeback.
  const unchecked = mode === Addr.Literal || (spBase && (mode === Addr.Offset || mode === Addr.Base))
  const info = unchecked ? ACC_UNCHECKED : 0
  const [iLo, iHi] = splitImm(f.imm ?? 0)
  const m = 2 * (f.rm ?? 31)
  // Post-index by Rm = 31 means "by the transfer size", not by XZR.
  const byTransferSize = f.rm === 31
  const option = f.option ?? 3
  const amount = f.amount ?? 0
  const sctlrA = 2 * SLOT.SCTLR_EL1
  return () => {
    if (!cpu.fpEnabled()) return cpu.fpInstruction()
    if (spBase) mem.checkSpAlignment()
    const baseLo = mode === Addr.Literal ? cpu.pcLo : x[n]! >>> 0
    const baseHi = mode === Addr.Literal ? cpu.pcHi : x[n + 1]! >>> 0
    let lo = baseLo
    let hi = baseHi
    if (mode === Addr.Literal || mode === Addr.Offset || mode === Addr.Pre) {
      const s = baseLo + iLo
      lo = s >>> 0
      hi = (baseHi + iHi + (s >= TWO32 ? 1 : 0)) >>> 0
    } else if (mode === Addr.Register) {
      // ExtendReg(Xm, option) << amount: UXTW 010, LSL 011, SXTW 110, SXTX 111.
      let oLo = x[m]! >>> 0
      let oHi = (option & 1) !== 0 ? x[m + 1]! >>> 0 : (option & 4) !== 0 ? (oLo >> 31) >>> 0 : 0
      if (amount !== 0) {
        oHi = ((oHi << amount) | (oLo >>> (32 - amount))) >>> 0
        oLo = (oLo << amount) >>> 0
      }
      const s = baseLo + oLo
      lo = s >>> 0
      hi = (baseHi + oHi + (s >= TWO32 ? 1 : 0)) >>> 0
    }
    if ((lo & (elemSize - 1)) !== 0 && (sys[sctlrA]! & SCTLR.A) !== 0) mem.alignmentFault(hi, lo, isWrite)
    mem.probeAccess(hi, lo, span, elemSize, info, isWrite)
    const off = lo & PAGE_OFFSET_MASK
    const f1 = mem.frameList[mem.probeSlot1]!
    // Frames are page-aligned in their chunk: the address's alignment is the host offset's.
    const ebytes = (lo & (atomBytes - 1)) === 0 ? atomBytes : 1
    if (ebytes === 1 && off + span <= PAGE_SIZE) {
      // Byte-aligned only: single-copy atomic per byte, the registers move straight to memory.
      form.transfer(decoded, state, f1.bytes, f1.base + off)
      if (isWrite && f1.code !== 0) mem.codeWritten(f1)
    } else {
      // Through the image: elements one host access each, on either side of a page boundary
      // (it is aligned to every element size, so no aligned element straddles it).
      const firstLen = Math.min(span, PAGE_SIZE - off)
      const f2 = firstLen < span ? mem.frameList[mem.probeSlot2]! : null
      if (isWrite) {
        form.transfer(decoded, state, imageBytes, 0)
        imageOut(f1, f1.base + off, 0, firstLen, ebytes)
        if (f2) imageOut(f2, f2.base, firstLen, span - firstLen, ebytes)
        if (f1.code !== 0) mem.codeWritten(f1)
        if (f2 && f2.code !== 0) mem.codeWritten(f2)
      } else {
        imageIn(f1, f1.base + off, 0, firstLen, ebytes)
        if (f2) imageIn(f2, f2.base, firstLen, span - firstLen, ebytes)
        form.transfer(decoded, state, imageBytes, 0)
      }
    }
    // Writeback, after every access has been performed.
    if (mode === Addr.Pre) {
      x[n] = lo
      x[n + 1] = hi
    } else if (mode === Addr.Post || mode === Addr.PostReg) {
      let aLo = iLo
      let aHi = iHi
      if (mode === Addr.PostReg) {
        if (byTransferSize) {
          aLo = span
          aHi = 0
        } else {
          aLo = x[m]! >>> 0
          aHi = x[m + 1]! >>> 0
        }
      }
      const s = baseLo + aLo
      x[n] = s >>> 0
      x[n + 1] = (baseHi + aHi + (s >= TWO32 ? 1 : 0)) >>> 0
    }
    return 0
  }
}

const MODE_BY_SUFFIX: readonly [RegExp, Addr][] = [
  [/^LDR_fl$/, Addr.Literal],
  [/_fpre$/, Addr.Pre],
  [/_fpost$/, Addr.Post],
  [/_fr$/, Addr.Register],
  [/^(LDR|STR|LDUR|STUR|LDP|STP|LDNP|STNP)_f$/, Addr.Offset],
  [/^(LD|ST)\d(_m|_l|R)$/, Addr.Base],
  [/^(LD|ST)\d(_mp|_lp|R_p)$/, Addr.PostReg],
]

function modeOf(name: string): Addr {
  for (const [re, mode] of MODE_BY_SUFFIX) if (re.test(name)) return mode
  throw new Error(`SIMD&FP load/store ${name}: no addressing form`)
}

/** Every SIMD&FP load and store, by decoder name. */
export const simdLoadsAndStores: HandlerTable = Object.fromEntries(
  (Object.keys(SIMD_MEMORY) as SimdMemoryName[]).map((name) => [name, build(name, modeOf(name))]),
) as HandlerTable
