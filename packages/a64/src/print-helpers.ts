// Shared pieces of LLVM's A64 operand syntax, used by every src/disasm module.

/** `x<n>`, with 31 meaning xzr. */
export function xr(n: number): string {
  return n === 31 ? 'xzr' : `x${n}`
}
/** `w<n>`, with 31 meaning wzr. */
export function wr(n: number): string {
  return n === 31 ? 'wzr' : `w${n}`
}
/** `x<n>`, with 31 meaning sp. */
export function xsp(n: number): string {
  return n === 31 ? 'sp' : `x${n}`
}
/** `w<n>`, with 31 meaning wsp. */
export function wsp(n: number): string {
  return n === 31 ? 'wsp' : `w${n}`
}
/** General register by width: sf=1 → x, sf=0 → w; 31 is the zero register. */
export function gr(sf: number, n: number): string {
  return sf ? xr(n) : wr(n)
}
/** General register by width where 31 is the stack pointer. */
export function grsp(sf: number, n: number): string {
  return sf ? xsp(n) : wsp(n)
}

/** Lower-case hex with 0x, optionally zero-padded to `digits`. */
export function hex(value: number, digits = 0): string {
  return `0x${(value >>> 0).toString(16).padStart(digits, '0')}`
}

/** A 64-bit value given as two uint32 halves, in hex as LLVM prints logical immediates. */
export function hex64(hi: number, lo: number): string {
  if (hi === 0) return `0x${(lo >>> 0).toString(16)}`
  return `0x${(hi >>> 0).toString(16)}${(lo >>> 0).toString(16).padStart(8, '0')}`
}

/** `#n` in decimal (LLVM's default immediate style). */
export function imm(n: number): string {
  return `#${n}`
}

/** `#0x..` or `#-0x..` as LLVM prints signed hex immediates. */
export function immHex(n: number): string {
  return n < 0 ? `#-0x${(-n).toString(16)}` : `#0x${n.toString(16)}`
}

export const CONDITIONS = ['eq', 'ne', 'hs', 'lo', 'mi', 'pl', 'vs', 'vc', 'hi', 'ls', 'ge', 'lt', 'gt', 'le', 'al', 'nv'] as const

export function cond(c: number): string {
  return CONDITIONS[c & 15] as string
}

export const SHIFTS = ['lsl', 'lsr', 'asr', 'ror'] as const

/** `, <shift> #n` or nothing when the amount is 0 with LSL. */
export function shiftSuffix(shift: number, amount: number): string {
  if (shift === 0 && amount === 0) return ''
  return `, ${SHIFTS[shift & 3]} #${amount}`
}

export const EXTENDS = ['uxtb', 'uxth', 'uxtw', 'uxtx', 'sxtb', 'sxth', 'sxtw', 'sxtx'] as const

/** Join a mnemonic and its operands the way the corpus stores LLVM's text. */
export function insn(mnemonic: string, ...operands: string[]): string {
  return operands.length ? `${mnemonic} ${operands.join(', ')}` : mnemonic
}

/** `[base]`, `[base, #imm]`, pre-index `[base, #imm]!`, post-index `[base], #imm`. */
export function memImm(base: string, offset: number, mode: 'offset' | 'pre' | 'post'): string {
  if (mode === 'post') return `[${base}], #${offset}`
  if (mode === 'pre') return `[${base}, #${offset}]!`
  return offset === 0 ? `[${base}]` : `[${base}, #${offset}]`
}
