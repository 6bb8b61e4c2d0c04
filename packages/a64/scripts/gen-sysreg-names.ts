// Generates src/sysreg-names.ts: LLVM 14's names for every MRS / MSR (register) encoding and
// for the MSR (immediate) PSTATE fields, by sweeping the encodings through llvm-mc.
//
//   npx tsx scripts/gen-sysreg-names.ts
//
// Needs llvm-mc (LLVM 14). The output is committed; tests never run llvm-mc.
import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { LLVM_MATTR } from './corpus-lib.js'

/**
 * The -mattr list the names are generated under: the corpus's (HACKING.md). LLVM only prints
 * a register's name when the register's feature is enabled.
 */
export const LLVM_MC_MATTR = LLVM_MATTR

/**
 * Disassembles `words` with llvm-mc, one word per input line. Returns, per word, LLVM's text
 * with its first tab (between mnemonic and operands) made a space, or null when LLVM reports
 * the word as an invalid instruction encoding. Words LLVM only warns about ("potentially
 * undefined", its SoftFail) keep their text: llvm-mc prints them as valid.
 */
export function llvmDisassemble(words: readonly number[], mattr = LLVM_MC_MATTR): (string | null)[] {
  const input = words
    .map((w) => [w & 0xff, (w >>> 8) & 0xff, (w >>> 16) & 0xff, w >>> 24].map((b) => `0x${b.toString(16)}`).join(','))
    .join('\n')
  const run = spawnSync('llvm-mc', ['--disassemble', '-triple=aarch64', `-mattr=${mattr}`], {
    input,
    encoding: 'utf8',
    maxBuffer: 1 << 30,
  })
  if (run.error) throw run.error
  if (run.status !== 0 && run.status !== 1) throw new Error(`llvm-mc exited with ${run.status}: ${run.stderr.slice(0, 500)}`)
  const invalidLines = new Set<number>()
  for (const match of run.stderr.matchAll(/^<stdin>:(\d+):\d+: warning: invalid instruction encoding$/gm)) {
    invalidLines.add(Number(match[1]))
  }
  // Output lines come in input order, one per valid word.
  const texts = run.stdout.split('\n').filter((line) => line.startsWith('\t') && line !== '\t.text')
  if (texts.length + invalidLines.size !== words.length) {
    throw new Error(`llvm-mc: ${texts.length} texts + ${invalidLines.size} invalid != ${words.length} words`)
  }
  let next = 0
  // LLVM appends remarks such as `// =6959104` after some operands; they are not the text.
  const clean = (line: string): string => line.slice(1).replace(/\s*\/\/.*$/, '').replace('\t', ' ').trimEnd()
  return words.map((_, i) => (invalidLines.has(i + 1) ? null : clean(texts[next++] ?? '')))
}

const GENERIC = /^S[0-3]_[0-7]_C(\d|1[0-5])_C(\d|1[0-5])_[0-7]$/

function sweepRegisters(): { read: Map<number, string>; write: Map<number, string> } {
  const keys: number[] = []
  for (let key = 0x8000; key <= 0xffff; key++) keys.push(key)
  const mrs = llvmDisassemble(keys.map((k) => (0xd5300000 | (k << 5)) >>> 0))
  const msr = llvmDisassemble(keys.map((k) => (0xd5100000 | (k << 5)) >>> 0))
  const read = new Map<number, string>()
  const write = new Map<number, string>()
  keys.forEach((key, i) => {
    const r = /^mrs x0, (\S+)$/.exec(mrs[i] ?? '')
    const w = /^msr (\S+), x0$/.exec(msr[i] ?? '')
    if (!r?.[1] || !w?.[1]) throw new Error(`unexpected llvm-mc text for sysreg ${key.toString(16)}: ${mrs[i]} / ${msr[i]}`)
    if (!GENERIC.test(r[1])) read.set(key, r[1])
    if (!GENERIC.test(w[1])) write.set(key, w[1])
  })
  return { read, write }
}

interface PstateField {
  op1: number
  op2: number
  name: string
  /** Bit i set when CRm = i prints the named form. */
  crmMask: number
}

function sweepPstate(): PstateField[] {
  const words: number[] = []
  for (let op1 = 0; op1 < 8; op1++)
    for (let op2 = 0; op2 < 8; op2++)
      for (let crm = 0; crm < 16; crm++) words.push((0xd500401f | (op1 << 16) | (crm << 8) | (op2 << 5)) >>> 0)
  const texts = llvmDisassemble(words)
  const fields = new Map<number, PstateField>()
  words.forEach((word, i) => {
    const match = /^msr (\w+), #(\d+)$/.exec(texts[i] ?? '')
    if (!match?.[1]) return
    const op1 = (word >>> 16) & 7
    const op2 = (word >>> 5) & 7
    const crm = (word >>> 8) & 15
    if (Number(match[2]) !== crm) throw new Error(`PSTATE immediate is not CRm: ${texts[i]}`)
    const key = (op1 << 3) | op2
    const field = fields.get(key) ?? { op1, op2, name: match[1], crmMask: 0 }
    if (field.name !== match[1]) throw new Error(`PSTATE name depends on CRm at op1=${op1} op2=${op2}`)
    field.crmMask |= 1 << crm
    fields.set(key, field)
  })
  return [...fields.values()].sort((a, b) => (a.op1 << 3) + a.op2 - ((b.op1 << 3) + b.op2))
}

function hex4(n: number): string {
  return `0x${n.toString(16).padStart(4, '0')}`
}

function entries(list: [number, string][]): string {
  return list.map(([key, name]) => `  [${hex4(key)}, '${name}'],`).join('\n')
}

export function render(read: Map<number, string>, write: Map<number, string>, pstate: PstateField[]): string {
  const both: [number, string][] = []
  const readOnly: [number, string][] = []
  const writeOnly: [number, string][] = []
  for (const [key, name] of read) (write.get(key) === name ? both : readOnly).push([key, name])
  for (const [key, name] of write) if (read.get(key) !== name) writeOnly.push([key, name])
  for (const list of [both, readOnly, writeOnly]) list.sort((a, b) => a[0] - b[0])
  return `// GENERATED by scripts/gen-sysreg-names.ts from llvm-mc (LLVM 14) with
// -mattr=${LLVM_MC_MATTR}
// Do not edit by hand: rerun the script.

/**
 * System register names as LLVM 14 prints them in MRS and MSR (register), keyed by the
 * 16-bit encoding op0:op1:CRn:CRm:op2 (instruction bits [20:5]).
 */
const READ_AND_WRITE: readonly (readonly [number, string])[] = [
${entries(both)}
]

/** Names LLVM prints only in MRS (read-only registers, or a different write name). */
const READ_ONLY: readonly (readonly [number, string])[] = [
${entries(readOnly)}
]

/** Names LLVM prints only in MSR (write-only registers, or a different read name). */
const WRITE_ONLY: readonly (readonly [number, string])[] = [
${entries(writeOnly)}
]

/** MSR (immediate) PSTATE fields: [op1, op2, name, mask of CRm values LLVM prints by name]. */
const PSTATE_FIELDS: readonly (readonly [number, number, string, number])[] = [
${pstate.map((f) => `  [${f.op1}, ${f.op2}, '${f.name}', 0x${f.crmMask.toString(16)}],`).join('\n')}
]

const readNames = new Map<number, string>([...READ_AND_WRITE, ...READ_ONLY])
const writeNames = new Map<number, string>([...READ_AND_WRITE, ...WRITE_ONLY])
const pstateNames = new Map<number, readonly [number, number, string, number]>(
  PSTATE_FIELDS.map((f) => [(f[0] << 3) | f[1], f]),
)

function checkEncoding(encoding: number): void {
  if (!Number.isInteger(encoding) || encoding < 0x8000 || encoding > 0xffff) {
    throw new RangeError(\`system register encoding must be an integer in [0x8000, 0xffff] (op0 2 or 3), got \${encoding}\`)
  }
}

/** The 16-bit system register encoding of op0, op1, CRn, CRm, op2 (as in instruction bits [20:5]). */
export function sysregEncoding(op0: number, op1: number, crn: number, crm: number, op2: number): number {
  const fields: [string, number, number][] = [['op0', op0, 3], ['op1', op1, 7], ['CRn', crn, 15], ['CRm', crm, 15], ['op2', op2, 7]]
  for (const [name, value, max] of fields) {
    if (!Number.isInteger(value) || value < 0 || value > max) throw new RangeError(\`\${name} must be an integer in [0, \${max}], got \${value}\`)
  }
  if (op0 < 2) throw new RangeError(\`op0 of a system register must be 2 or 3, got \${op0}\`)
  return (op0 << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2
}

/** LLVM's generic spelling of a system register, e.g. \`S3_0_C1_C0_6\`. */
export function genericSysregName(encoding: number): string {
  checkEncoding(encoding)
  return \`S\${encoding >>> 14}_\${(encoding >>> 11) & 7}_C\${(encoding >>> 7) & 15}_C\${(encoding >>> 3) & 15}_\${encoding & 7}\`
}

/** The register operand LLVM prints for \`mrs xN, <reg>\` with this encoding. */
export function sysregReadName(encoding: number): string {
  return readNames.get(encoding) ?? genericSysregName(encoding)
}

/** The register operand LLVM prints for \`msr <reg>, xN\` with this encoding. */
export function sysregWriteName(encoding: number): string {
  return writeNames.get(encoding) ?? genericSysregName(encoding)
}

/**
 * LLVM's name for the PSTATE field of MSR (immediate) with these op1, op2 and CRm (the
 * immediate), or undefined when LLVM does not print the named form (it then prints the word
 * as \`msr S0_<op1>_C4_C<CRm>_<op2>, xzr\`).
 */
export function pstateFieldName(op1: number, op2: number, crm: number): string | undefined {
  if (!Number.isInteger(op1) || op1 < 0 || op1 > 7 || !Number.isInteger(op2) || op2 < 0 || op2 > 7 || !Number.isInteger(crm) || crm < 0 || crm > 15) {
    throw new RangeError(\`PSTATE field needs op1, op2 in [0, 7] and CRm in [0, 15], got \${op1}, \${op2}, \${crm}\`)
  }
  const field = pstateNames.get((op1 << 3) | op2)
  return field && (field[3] >>> crm) & 1 ? field[2] : undefined
}
`
}

function main(): void {
  const { read, write } = sweepRegisters()
  const pstate = sweepPstate()
  const out = fileURLToPath(new URL('../src/sysreg-names.ts', import.meta.url))
  writeFileSync(out, render(read, write, pstate))
  console.log(`${read.size} read names, ${write.size} write names, ${pstate.length} PSTATE fields -> ${out}`)
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main()
