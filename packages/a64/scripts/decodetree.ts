// Parser and checker for the decodetree subset used by src/tables/*.decode (see HACKING.md).
// Kept apart from the generator's output code so tests can feed it bad tables directly.

export interface FieldPiece {
  readonly pos: number
  readonly len: number
  readonly signed: boolean
}

/** How one argument of a pattern gets its value. */
export type ArgSource =
  | { readonly kind: 'pieces'; readonly pieces: readonly FieldPiece[]; readonly fn: string | undefined }
  | { readonly kind: 'const'; readonly value: number }

/**
 * What an executor needs to know about an instruction without running it (`!flags=`):
 * it may write PC (branch), write data memory (store), read data memory (load), it is a
 * System-class instruction (exceptions, traps, PSTATE, system registers, barriers, hints:
 * an interpreter ends a block after it), or it uses the FP/SIMD registers (trapped by
 * CPACR_EL1.FPEN / CPTR_EL2.TFP).
 */
export const FLAG_NAMES = ['branch', 'store', 'load', 'system', 'fp'] as const
export type FlagName = (typeof FLAG_NAMES)[number]

export interface Pattern {
  readonly name: string
  readonly mask: number
  readonly value: number
  readonly args: ReadonlyMap<string, ArgSource>
  readonly guard: string | undefined
  /** Flags of the instruction (sorted, no repeats): the row's, its format's and its file's default. */
  readonly flags: readonly FlagName[]
  /** Chain of enclosing `{}` groups (ids), outermost first. */
  readonly groups: readonly number[]
  readonly file: string
  readonly line: number
}

export class DecodeTableError extends Error {
  constructor(file: string, line: number, message: string) {
    super(`${file}:${line}: ${message}`)
    this.name = 'DecodeTableError'
  }
}

interface FieldDef {
  readonly pieces: readonly FieldPiece[]
  readonly fn: string | undefined
}

interface FormatDef {
  readonly mask: number
  readonly value: number
  readonly args: Map<string, ArgSource>
  readonly argset: readonly string[] | undefined
  readonly flags: readonly FlagName[]
}

export interface SourceFile {
  readonly name: string
  readonly text: string
}

/**
 * Parses every file (fields, argument sets and formats are shared across files, in order)
 * and returns the patterns in priority order. Throws DecodeTableError on any malformed line,
 * on an overlap between patterns not in a common `{}` group, and on a name used with two
 * different argument lists.
 */
export function parseTables(files: readonly SourceFile[], knownFunctions: ReadonlySet<string>): Pattern[] {
  const fields = new Map<string, FieldDef>()
  const argsets = new Map<string, readonly string[]>()
  const formats = new Map<string, FormatDef>()
  const patterns: Pattern[] = []
  let nextGroup = 1

  for (const file of files) {
    const groupStack: number[] = []
    // A `!flags=...` line on its own sets flags for every pattern after it in this file.
    let fileFlags: readonly FlagName[] = []
    const lines = joinContinuations(file.text)
    for (const { text: rawLine, line } of lines) {
      const fail = (msg: string): never => {
        throw new DecodeTableError(file.name, line, msg)
      }
      const text = rawLine.replace(/#.*$/, '').trim()
      if (text === '') continue
      if (text === '{') {
        groupStack.push(nextGroup++)
        continue
      }
      if (text === '}') {
        if (groupStack.length === 0) fail('"}" without an open group')
        groupStack.pop()
        continue
      }
      const tokens = text.split(/\s+/)
      const head = tokens[0] as string
      if (head.startsWith('!flags=')) {
        if (tokens.length > 1) fail('a !flags= line takes nothing else')
        fileFlags = parseFlags(head, fail)
        continue
      }
      const rest = tokens.slice(1)
      if (head.startsWith('%')) {
        const name = head.slice(1)
        checkIdent(name, fail)
        if (fields.has(name)) fail(`field %${name} defined twice`)
        const pieces: FieldPiece[] = []
        let fn: string | undefined
        for (const t of rest) {
          const fnMatch = /^!function=(\w+)$/.exec(t)
          if (fnMatch) {
            fn = fnMatch[1] as string
            if (!knownFunctions.has(fn)) fail(`unknown function ${fn}`)
            continue
          }
          const m = /^(\d+):(s?)(\d+)$/.exec(t)
          if (!m) fail(`bad field piece "${t}"`)
          const pos = Number(m?.[1])
          const len = Number(m?.[3])
          if (len < 1 || pos + len > 32) fail(`field piece ${t} is outside the 32-bit word`)
          pieces.push({ pos, len, signed: m?.[2] === 's' })
        }
        if (pieces.length === 0 && fn === undefined) fail(`field %${name} has no bits and no function`)
        const total = pieces.reduce((n, p) => n + p.len, 0)
        if (total > 31) fail(`field %${name} is wider than 31 bits`)
        fields.set(name, { pieces, fn })
        continue
      }
      if (head.startsWith('&')) {
        const name = head.slice(1)
        checkIdent(name, fail)
        if (argsets.has(name)) fail(`argument set &${name} defined twice`)
        for (const a of rest) checkIdent(a, fail)
        argsets.set(name, rest)
        continue
      }
      const isFormat = head.startsWith('@')
      const name = isFormat ? head.slice(1) : head
      checkIdent(name, fail)
      const body = parseBody(rest, fail, fields, argsets, formats, knownFunctions)
      if (isFormat) {
        if (formats.has(name)) fail(`format @${name} defined twice`)
        if (body.guard !== undefined) fail('a format cannot have a guard')
        if (body.width !== 32) fail(`format @${name} has ${body.width} bits, not 32`)
        formats.set(name, { mask: body.mask, value: body.value, args: body.args, argset: body.argset, flags: body.flags })
        continue
      }
      if (body.width !== 32) fail(`pattern ${name} has ${body.width} bits, not 32`)
      if (body.argset) {
        for (const a of body.argset) if (!body.args.has(a)) fail(`argument ${a} of the argument set has no value`)
        for (const a of body.args.keys()) if (!body.argset.includes(a)) fail(`argument ${a} is not in the argument set`)
      }
      if (name === 'UNDEFINED' && body.flags.length > 0) fail('an UNDEFINED row takes no flags')
      patterns.push({
        name,
        mask: body.mask >>> 0,
        value: body.value >>> 0,
        args: body.args,
        guard: body.guard,
        flags: name === 'UNDEFINED' ? [] : mergeFlags(fileFlags, body.flags),
        groups: [...groupStack],
        file: file.name,
        line,
      })
    }
    if (groupStack.length !== 0) throw new DecodeTableError(file.name, lines.length, 'group "{" not closed')
  }

  checkNames(patterns)
  checkOverlaps(patterns)
  return patterns
}

function joinContinuations(text: string): { text: string; line: number }[] {
  const out: { text: string; line: number }[] = []
  const raw = text.split('\n')
  for (let i = 0; i < raw.length; i++) {
    const start = i + 1
    let t = raw[i] as string
    while (t.trimEnd().endsWith('\\') && i + 1 < raw.length) {
      t = t.trimEnd().slice(0, -1) + ' ' + (raw[++i] as string)
    }
    out.push({ text: t, line: start })
  }
  return out
}

function checkIdent(name: string, fail: (msg: string) => never): void {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) fail(`bad name "${name}"`)
  if (name === 'id' || name === 'name') fail(`"${name}" is reserved`)
}

interface Body {
  mask: number
  value: number
  width: number
  args: Map<string, ArgSource>
  argset: readonly string[] | undefined
  guard: string | undefined
  flags: readonly FlagName[]
}

function parseFlags(token: string, fail: (msg: string) => never): FlagName[] {
  const list = token.slice('!flags='.length)
  const names = list === '' ? [] : list.split(',')
  for (const n of names) if (!(FLAG_NAMES as readonly string[]).includes(n)) fail(`unknown flag "${n}" (flags: ${FLAG_NAMES.join(', ')})`)
  return mergeFlags([], names as FlagName[])
}

function mergeFlags(a: readonly FlagName[], b: readonly FlagName[]): FlagName[] {
  return FLAG_NAMES.filter((f) => a.includes(f) || b.includes(f))
}

function parseBody(
  tokens: readonly string[],
  fail: (msg: string) => never,
  fields: ReadonlyMap<string, FieldDef>,
  argsets: ReadonlyMap<string, readonly string[]>,
  formats: ReadonlyMap<string, FormatDef>,
  knownFunctions: ReadonlySet<string>,
): Body {
  // Bits are collected MSB first; `pos` counts how many bits are still to place.
  let pos = 32
  let mask = 0
  let value = 0
  let width = 0
  const args = new Map<string, ArgSource>()
  let argset: readonly string[] | undefined
  let guard: string | undefined
  let flags: readonly FlagName[] = []
  let format: FormatDef | undefined
  const setArg = (n: string, src: ArgSource): void => {
    if (args.has(n)) fail(`argument ${n} given twice`)
    args.set(n, src)
  }
  for (const t of tokens) {
    if (/^[01.-]+$/.test(t)) {
      for (const ch of t) {
        pos--
        width++
        if (pos < 0) continue
        if (ch === '0' || ch === '1') {
          mask |= 1 << pos
          if (ch === '1') value |= 1 << pos
        }
      }
      continue
    }
    const inline = /^([A-Za-z_]\w*):(s?)(\d+)$/.exec(t)
    if (inline) {
      const len = Number(inline[3])
      pos -= len
      width += len
      if (pos < 0) continue
      checkIdent(inline[1] as string, fail)
      setArg(inline[1] as string, { kind: 'pieces', pieces: [{ pos, len, signed: inline[2] === 's' }], fn: undefined })
      continue
    }
    if (t.startsWith('@')) {
      if (format) fail('only one format per pattern')
      const f = formats.get(t.slice(1))
      if (!f) fail(`unknown format ${t}`)
      format = f
      continue
    }
    if (t.startsWith('&')) {
      const s = argsets.get(t.slice(1))
      if (!s) fail(`unknown argument set ${t}`)
      argset = s
      continue
    }
    const g = /^!guard=(\w+)$/.exec(t)
    if (g) {
      if (!knownFunctions.has(g[1] as string)) fail(`unknown guard function ${g[1]}`)
      guard = g[1]
      continue
    }
    if (t.startsWith('!flags=')) {
      flags = mergeFlags(flags, parseFlags(t, fail))
      continue
    }
    const field = /^%(\w+)$/.exec(t)
    if (field) {
      const f = fields.get(field[1] as string)
      if (!f) fail(`unknown field ${t}`)
      setArg(field[1] as string, { kind: 'pieces', pieces: f?.pieces ?? [], fn: f?.fn })
      continue
    }
    const assign = /^(\w+)=(%?)(-?\w+)$/.exec(t)
    if (assign) {
      const argName = assign[1] as string
      checkIdent(argName, fail)
      if (assign[2] === '%') {
        const f = fields.get(assign[3] as string)
        if (!f) fail(`unknown field %${assign[3]}`)
        setArg(argName, { kind: 'pieces', pieces: f?.pieces ?? [], fn: f?.fn })
      } else {
        const v = Number(assign[3])
        if (!Number.isInteger(v)) fail(`bad constant in "${t}"`)
        setArg(argName, { kind: 'const', value: v })
      }
      continue
    }
    fail(`cannot parse "${t}"`)
  }
  if (format) {
    // A pattern's own bits and arguments take precedence; the format fills in the rest.
    if (width === 0) width = 32
    const both = mask & format.mask
    if (((value ^ format.value) & both) !== 0) fail('pattern bits contradict its format')
    mask |= format.mask
    value |= format.value
    for (const [n, src] of format.args) if (!args.has(n)) args.set(n, src)
    argset ??= format.argset
    flags = mergeFlags(flags, format.flags)
  }
  return { mask, value, width, args, argset, guard, flags }
}

function argSignature(p: Pattern): string {
  return [...p.args.keys()].sort().join(',')
}

function checkNames(patterns: readonly Pattern[]): void {
  const seen = new Map<string, Pattern>()
  for (const p of patterns) {
    if (p.name === 'UNDEFINED') {
      // Marks unallocated encodings inside a {} group (Arm's "unallocated" rows).
      if (p.args.size > 0) throw new DecodeTableError(p.file, p.line, 'an UNDEFINED row takes no arguments')
      if (p.groups.length === 0) throw new DecodeTableError(p.file, p.line, 'an UNDEFINED row belongs in a {} group')
      continue
    }
    const first = seen.get(p.name)
    if (!first) {
      seen.set(p.name, p)
      continue
    }
    if (argSignature(first) !== argSignature(p)) {
      throw new DecodeTableError(
        p.file,
        p.line,
        `${p.name} has arguments {${argSignature(p)}} but ${first.file}:${first.line} gave it {${argSignature(first)}}`,
      )
    }
    if (first.flags.join(',') !== p.flags.join(',')) {
      throw new DecodeTableError(p.file, p.line, `${p.name} has flags {${p.flags.join(',')}} but ${first.file}:${first.line} gave it {${first.flags.join(',')}}`)
    }
  }
}

function sharesGroup(a: Pattern, b: Pattern): boolean {
  const x = a.groups[0]
  return x !== undefined && x === b.groups[0]
}

function checkOverlaps(patterns: readonly Pattern[]): void {
  // Sorting by mask/value lets most pairs be skipped, but tables are small enough for a
  // plain pairwise check (a few hundred thousand pairs).
  for (let i = 0; i < patterns.length; i++) {
    const a = patterns[i] as Pattern
    for (let j = i + 1; j < patterns.length; j++) {
      const b = patterns[j] as Pattern
      if (((a.value ^ b.value) & a.mask & b.mask) !== 0) continue
      if (sharesGroup(a, b)) continue
      throw new DecodeTableError(
        b.file,
        b.line,
        `${b.name} overlaps ${a.name} (${a.file}:${a.line}) outside a {} group`,
      )
    }
  }
}
