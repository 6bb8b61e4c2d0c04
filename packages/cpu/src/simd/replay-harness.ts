// Test support (not exported): replays the cases of guests/simd through the semantics
// library, playing the part of the CPU around it (decode, addressing and writeback of
// loads and stores), and prints the same per-form lines the guest printed under QEMU.

import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { decode } from '@tagvm/a64'
import { FLAG_MEMORY, type Form, HASH_INIT, MEM_BYTES, Rng, drawCase, formSeed, hashCase, newCaseState } from '../../../../guests/simd/harness.js'
import { SIMD_EXECUTE, SIMD_MEMORY, type SimdExecuteName, type SimdMemoryName, type SimdState } from './execute.js'
import { VRegs } from './vregs.js'

export const GUEST_DIR = fileURLToPath(new URL('../../../../guests/simd/', import.meta.url))

export function loadForms(): Form[] {
  return JSON.parse(readFileSync(GUEST_DIR + 'forms.json', 'utf8')) as Form[]
}

/** What the guest printed before the form lines: where its buffer and code slot are. */
export interface GuestLayout {
  /** X1 for memory forms: the middle of the guest's buffer. */
  readonly base: bigint
  readonly slot: bigint
  /** 40 words from slot - 64 (the slot itself at index 16). */
  readonly around: Uint32Array
}

export function parseLayout(lines: readonly string[]): GuestLayout {
  const buffer = lines.find((l) => l.startsWith('buffer '))
  const slot = lines.find((l) => l.startsWith('slot '))
  if (!buffer || !slot) throw new Error('simd replay: qemu.out has no buffer/slot header')
  const words = slot.split(' ').slice(2)
  return {
    base: BigInt('0x' + buffer.split(' ')[1]),
    slot: BigInt('0x' + slot.split(' ')[1]),
    around: Uint32Array.from(words.map((w) => parseInt(w, 16))),
  }
}

const MASK64 = (1n << 64n) - 1n

function readX(x: Uint32Array, r: number): bigint {
  return (BigInt(x[2 * r + 1]!) << 32n) | BigInt(x[2 * r]!)
}
function writeX(x: Uint32Array, r: number, v: bigint): void {
  v &= MASK64
  x[2 * r] = Number(v & 0xffffffffn)
  x[2 * r + 1] = Number(v >> 32n)
}

/** ExtendReg for register-offset addressing: option 010 UXTW, 011 LSL, 110 SXTW, 111 SXTX. */
function extend(v: bigint, option: number): bigint {
  if ((option & 3) === 2) {
    const w = v & 0xffffffffn
    return option & 4 ? BigInt.asIntN(32, w) : w
  }
  return option & 4 ? BigInt.asIntN(64, v) : v
}

/**
 * Runs one SIMD&FP load or store the way the CPU will: address from the base register,
 * offset or index, the access over one contiguous range, then writeback.
 */
function runMemory(st: SimdState, word: number, name: SimdMemoryName, mem: Uint8Array, layout: GuestLayout): void {
  const insn = decode(word) as unknown as Record<string, number> & { name: SimdMemoryName }
  const form = SIMD_MEMORY[name] as unknown as {
    bytes(i: unknown): number
    transfer(i: unknown, s: SimdState, buf: Uint8Array, off: number): void
  }
  const bytes = form.bytes(insn)
  const x = st.x
  let addr: bigint
  let writeback: bigint | undefined
  if (name === 'LDR_fl') {
    addr = layout.slot + BigInt(insn.imm!)
    const image = new Uint8Array(layout.around.length * 4)
    const words = new Uint32Array(image.buffer)
    words.set(layout.around)
    words[16] = word
    const off = Number(addr - layout.slot) + 64
    if (off < 0 || off + bytes > image.length) throw new Error('simd replay: literal outside the dumped words')
    form.transfer(insn, st, image, off)
    return
  }
  const base = readX(x, insn.rn!)
  if (name.endsWith('_fpre')) {
    addr = base + BigInt(insn.imm!)
    writeback = addr
  } else if (name.endsWith('_fpost')) {
    addr = base
    writeback = base + BigInt(insn.imm!)
  } else if (name.endsWith('_fr')) {
    addr = base + (extend(readX(x, insn.rm!), insn.option!) << BigInt(insn.amount!))
  } else if (name.endsWith('_f')) {
    addr = base + BigInt(insn.imm!)
  } else {
    addr = base
    if (name.endsWith('_mp') || name.endsWith('_lp') || name.endsWith('R_p')) {
      writeback = base + (insn.rm === 31 ? BigInt(bytes) : readX(x, insn.rm!))
    }
  }
  const off = Number((addr & MASK64) - (layout.base - BigInt(MEM_BYTES / 2)))
  if (off < 0 || off + bytes > MEM_BYTES) throw new Error(`simd replay: ${name} access at offset ${off} outside the buffer`)
  form.transfer(insn, st, mem, off)
  if (writeback !== undefined) writeX(x, insn.rn!, writeback)
}

export interface FormResult {
  readonly line: string
  /** Per-case hashes (only when asked for). */
  readonly caseHashes?: number[]
}

/** Replays one form and returns the line the guest prints for it. */
export function replayForm(form: Form, index: number, layout: GuestLayout, perCase = false): FormResult {
  const rng = new Rng(formSeed(index))
  const s = newCaseState()
  const V = new VRegs()
  const x = new Uint32Array(64)
  const st: SimdState = { v: V, fp: { fpsr: 0 }, x }
  const mem = new Uint8Array(s.mem.buffer)
  const memory = (form.flags & FLAG_MEMORY) !== 0
  let h = HASH_INIT
  let qc = 0
  const caseHashes: number[] = []
  for (let c = 0; c < form.cases; c++) {
    const word = drawCase(rng, form, s, Number(layout.base))
    V.file.set(s.v)
    x.set(s.x)
    x[62] = x[63] = 0
    st.fp.fpsr = s.fpsr
    const insn = decode(word)
    if (insn.name in SIMD_EXECUTE) {
      const run = SIMD_EXECUTE[insn.name as SimdExecuteName] as (i: unknown, s: SimdState) => void
      run(insn, st)
    } else if (insn.name in SIMD_MEMORY) {
      runMemory(st, word, insn.name as SimdMemoryName, mem, layout)
    } else {
      throw new Error(`simd replay: ${form.name} drew ${word.toString(16)} (${insn.name}), which has no handler`)
    }
    const fpsrIn = s.fpsr
    s.v.set(V.file)
    s.x.set(x.subarray(0, 62))
    s.fpsr = st.fp.fpsr
    if (s.fpsr & (1 << 27) && !fpsrIn) qc++
    if (perCase) caseHashes.push(hashCase(HASH_INIT, s, memory))
    h = hashCase(h, s, memory)
  }
  const line = `${form.name} line ${form.line} cases ${form.cases} qc ${qc} hash ${h.toString(16).padStart(8, '0')}`
  return perCase ? { line, caseHashes } : { line }
}
