// A minimal WebAssembly binary encoder: the sections and opcodes the translator needs, with
// structured control flow addressed by label name instead of depth. (Grown from the
// prototype in bench/jit-prototype; no npm compiler: the translator needs a few dozen
// opcodes and emits them straight into byte arrays.)

export const I32 = 0x7f
export const I64 = 0x7e
export const F32 = 0x7d
export const F64 = 0x7c
export const FUNCREF = 0x70
const EMPTY_BLOCK = 0x40

/** Opcodes used by the translator (WebAssembly core 1.0 numbering). */
export const Op = {
  unreachable: 0x00, block: 0x02, loop: 0x03, if: 0x04, else: 0x05, end: 0x0b, br: 0x0c, brIf: 0x0d, brTable: 0x0e,
  return: 0x0f, call: 0x10, callIndirect: 0x11, drop: 0x1a, select: 0x1b,
  localGet: 0x20, localSet: 0x21, localTee: 0x22,
  i32Load: 0x28, i64Load: 0x29, i32Load8U: 0x2d, i32Load16U: 0x2f, i64Load8S: 0x30, i64Load8U: 0x31, i64Load16S: 0x32,
  i64Load16U: 0x33, i64Load32S: 0x34, i64Load32U: 0x35,
  i32Store: 0x36, i64Store: 0x37, i32Store8: 0x3a, i32Store16: 0x3b, i64Store8: 0x3c, i64Store16: 0x3d, i64Store32: 0x3e,
  i32Const: 0x41, i64Const: 0x42,
  i32Eqz: 0x45, i32Eq: 0x46, i32Ne: 0x47, i32LtS: 0x48, i32LtU: 0x49, i32GtS: 0x4a, i32GtU: 0x4b, i32LeS: 0x4c,
  i32LeU: 0x4d, i32GeS: 0x4e, i32GeU: 0x4f,
  i64Eqz: 0x50, i64Eq: 0x51, i64Ne: 0x52, i64LtS: 0x53, i64LtU: 0x54, i64GtS: 0x55, i64GtU: 0x56, i64LeS: 0x57,
  i64LeU: 0x58, i64GeS: 0x59, i64GeU: 0x5a,
  i32Clz: 0x67, i32Ctz: 0x68, i32Add: 0x6a, i32Sub: 0x6b, i32Mul: 0x6c, i32DivS: 0x6d, i32DivU: 0x6e, i32And: 0x71, i32Or: 0x72,
  i32Xor: 0x73, i32Shl: 0x74, i32ShrS: 0x75, i32ShrU: 0x76, i32Rotr: 0x78,
  i64Clz: 0x79, i64Ctz: 0x7a, i64Add: 0x7c, i64Sub: 0x7d, i64Mul: 0x7e, i64DivS: 0x7f, i64DivU: 0x80, i64And: 0x83, i64Or: 0x84,
  i64Xor: 0x85, i64Shl: 0x86, i64ShrS: 0x87, i64ShrU: 0x88, i64Rotr: 0x8a,
  i32WrapI64: 0xa7, i64ExtendI32S: 0xac, i64ExtendI32U: 0xad,
  i32Extend8S: 0xc0, i32Extend16S: 0xc1, i64Extend8S: 0xc2, i64Extend16S: 0xc3, i64Extend32S: 0xc4,
  f32Load: 0x2a, f64Load: 0x2b, f32Store: 0x38, f64Store: 0x39,
  f32Add: 0x92, f32Sub: 0x93, f32Mul: 0x94, f64Add: 0xa0, f64Sub: 0xa1, f64Mul: 0xa2,
  f32DemoteF64: 0xb6, f64PromoteF32: 0xbb, i32ReinterpretF32: 0xbc, i64ReinterpretF64: 0xbd, f32ReinterpretI32: 0xbe,
  f64ReinterpretI64: 0xbf, f64Abs: 0x99, f64Gt: 0x64,
} as const

export function uleb(out: number[], v: number): void {
  do {
    let byte = v & 0x7f
    v = Math.floor(v / 128)
    if (v !== 0) byte |= 0x80
    out.push(byte)
  } while (v !== 0)
}

/** Appends without spreading (large bodies would overflow the argument list). */
function append(out: number[], items: readonly number[] | Uint8Array): void {
  for (let i = 0; i < items.length; i++) out.push(items[i]!)
}

function name(out: number[], s: string): void {
  const bytes = new TextEncoder().encode(s)
  uleb(out, bytes.length)
  append(out, bytes)
}

/**
 * One function body. Blocks, loops and ifs carry a label; br/brIf find the depth by label.
 * The bytes go straight into a growing Uint8Array (the emitter writes tens of megabytes over a
 * Linux boot: pushing onto a number[] through the generic LEB helpers cost more CPU than V8's
 * compile of the result).
 */
export class FunctionBody {
  private buf = new Uint8Array(2048)
  private len = 0
  private readonly labels: string[] = []
  private readonly localTypes: number[] = []
  readonly params: number

  constructor(params: number) {
    this.params = params
  }

  /** A new local of type t; returns its index. */
  local(t: number): number {
    this.localTypes.push(t)
    return this.params + this.localTypes.length - 1
  }

  /** Makes room for n more bytes; returns the buffer to write them into. */
  private room(n: number): Uint8Array {
    if (this.len + n > this.buf.length) {
      const bigger = new Uint8Array(Math.max(2 * this.buf.length, this.len + n))
      bigger.set(this.buf.subarray(0, this.len))
      this.buf = bigger
    }
    return this.buf
  }
  /** Unsigned LEB128 of v (0 <= v < 2^32). */
  private u(v: number): void {
    const b = this.room(5)
    let at = this.len
    v >>>= 0
    while (v >= 0x80) {
      b[at++] = (v & 0x7f) | 0x80
      v >>>= 7
    }
    b[at++] = v
    this.len = at
  }
  private byte(v: number): void {
    this.room(1)[this.len++] = v
  }

  /** Up to six opcodes (no rest array: this runs for every emitted operation). */
  op(a: number, b = -1, c = -1, d = -1, e = -1, f = -1): this {
    const code = this.room(6)
    let at = this.len
    code[at++] = a
    if (b >= 0) code[at++] = b
    if (c >= 0) code[at++] = c
    if (d >= 0) code[at++] = d
    if (e >= 0) code[at++] = e
    if (f >= 0) code[at++] = f
    this.len = at
    return this
  }
  get(i: number): this {
    this.byte(Op.localGet)
    this.u(i)
    return this
  }
  set(i: number): this {
    this.byte(Op.localSet)
    this.u(i)
    return this
  }
  tee(i: number): this {
    this.byte(Op.localTee)
    this.u(i)
    return this
  }
  i32(v: number): this {
    const b = this.room(6)
    let at = this.len
    b[at++] = Op.i32Const
    v |= 0
    for (;;) {
      const byte = v & 0x7f
      v >>= 7
      if ((v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0)) {
        b[at++] = byte
        break
      }
      b[at++] = byte | 0x80
    }
    this.len = at
    return this
  }
  i64(lo: number, hi = lo < 0 ? -1 : 0): this {
    const b = this.room(11)
    let at = this.len
    b[at++] = Op.i64Const
    lo |= 0
    hi |= 0
    for (;;) {
      const byte = lo & 0x7f
      // Arithmetic shift right by 7 of the pair.
      lo = (lo >>> 7) | (hi << 25)
      hi >>= 7
      if ((hi === 0 && lo === 0 && (byte & 0x40) === 0) || (hi === -1 && lo === -1 && (byte & 0x40) !== 0)) {
        b[at++] = byte
        break
      }
      b[at++] = byte | 0x80
    }
    this.len = at
    return this
  }
  /** A load or store with a constant offset (natural alignment hint 0: any). */
  mem(opcode: number, offset: number): this {
    const b = this.room(2)
    b[this.len++] = opcode
    b[this.len++] = 0
    this.u(offset)
    return this
  }
  call(fn: number): this {
    this.byte(Op.call)
    this.u(fn)
    return this
  }
  callIndirect(type: number): this {
    this.byte(Op.callIndirect)
    this.u(type)
    this.byte(0)
    return this
  }

  block(label: string, type = EMPTY_BLOCK): this {
    this.labels.push(label)
    return this.op(Op.block, type)
  }
  loop(label: string): this {
    this.labels.push(label)
    return this.op(Op.loop, EMPTY_BLOCK)
  }
  if(label = '', type = EMPTY_BLOCK): this {
    this.labels.push(label)
    return this.op(Op.if, type)
  }
  else(): this {
    return this.op(Op.else)
  }
  end(): this {
    if (this.labels.length === 0) throw new Error('end without a block')
    this.labels.pop()
    return this.op(Op.end)
  }
  private depth(label: string): number {
    const i = this.labels.lastIndexOf(label)
    if (i < 0) throw new Error(`no label ${label}`)
    return this.labels.length - 1 - i
  }
  br(label: string): this {
    this.byte(Op.br)
    this.u(this.depth(label))
    return this
  }
  brIf(label: string): this {
    this.byte(Op.brIf)
    this.u(this.depth(label))
    return this
  }
  brTable(labels: string[], defaultLabel: string): this {
    this.byte(Op.brTable)
    this.u(labels.length)
    for (const l of labels) this.u(this.depth(l))
    this.u(this.depth(defaultLabel))
    return this
  }

  /** The body as the code section holds it: its size, the locals, the code, `end`. */
  encode(): Uint8Array {
    if (this.labels.length !== 0) throw new Error(`unclosed blocks: ${this.labels.join(', ')}`)
    const locals: number[] = []
    // Locals grouped in runs of one type.
    const runs: [number, number][] = []
    for (const t of this.localTypes) {
      const last = runs[runs.length - 1]
      if (last !== undefined && last[1] === t) last[0]++
      else runs.push([1, t])
    }
    uleb(locals, runs.length)
    for (const [n, t] of runs) {
      uleb(locals, n)
      locals.push(t)
    }
    const size: number[] = []
    uleb(size, locals.length + this.len + 1)
    const body = new Uint8Array(size.length + locals.length + this.len + 1)
    body.set(size, 0)
    body.set(locals, size.length)
    body.set(this.buf.subarray(0, this.len), size.length + locals.length)
    body[body.length - 1] = Op.end
    return body
  }
}

export interface FuncType {
  params: number[]
  results: number[]
}

export interface ModuleSpec {
  types: FuncType[]
  /** Imported functions come first in the function index space. */
  importFunctions: { module: string; field: string; type: number }[]
  importMemory?: { module: string; field: string; min: number; max: number; shared: boolean }
  importTable?: { module: string; field: string; min: number }
  functions: { type: number; body: FunctionBody; export?: string }[]
  /**
   * Written into a custom section: V8 caches compiled modules by their bytes, so a
   * measurement that compiles the same region twice must make the bytes differ.
   */
  salt?: number
}

/** Bytes kept as a list of chunks, copied once at the end. */
class Chunks {
  readonly parts: (number[] | Uint8Array)[] = []
  length = 0
  add(part: number[] | Uint8Array): void {
    this.parts.push(part)
    this.length += part.length
  }
  bytes(): Uint8Array {
    const out = new Uint8Array(this.length)
    let at = 0
    for (const p of this.parts) {
      out.set(p, at)
      at += p.length
    }
    return out
  }
}

function section(out: Chunks, id: number, content: number[] | Uint8Array): void {
  const head = [id]
  uleb(head, content.length)
  out.add(head)
  out.add(content)
}

export function encodeModule(spec: ModuleSpec): Uint8Array {
  const out = new Chunks()
  out.add([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00])
  const types: number[] = []
  uleb(types, spec.types.length)
  for (const t of spec.types) {
    types.push(0x60)
    uleb(types, t.params.length)
    types.push(...t.params)
    uleb(types, t.results.length)
    types.push(...t.results)
  }
  section(out, 1, types)

  const imports: number[] = []
  const importCount = spec.importFunctions.length + (spec.importMemory ? 1 : 0) + (spec.importTable ? 1 : 0)
  uleb(imports, importCount)
  if (spec.importMemory) {
    const m = spec.importMemory
    name(imports, m.module)
    name(imports, m.field)
    imports.push(0x02, m.shared ? 0x03 : 0x01)
    uleb(imports, m.min)
    uleb(imports, m.max)
  }
  if (spec.importTable) {
    const t = spec.importTable
    name(imports, t.module)
    name(imports, t.field)
    imports.push(0x01, FUNCREF, 0x00)
    uleb(imports, t.min)
  }
  for (const f of spec.importFunctions) {
    name(imports, f.module)
    name(imports, f.field)
    imports.push(0x00)
    uleb(imports, f.type)
  }
  section(out, 2, imports)

  const funcs: number[] = []
  uleb(funcs, spec.functions.length)
  for (const f of spec.functions) uleb(funcs, f.type)
  section(out, 3, funcs)

  const exports: number[] = []
  const exported = spec.functions.map((f, i) => ({ f, i })).filter((x) => x.f.export !== undefined)
  uleb(exports, exported.length)
  for (const { f, i } of exported) {
    name(exports, f.export!)
    exports.push(0x00)
    uleb(exports, spec.importFunctions.length + i)
  }
  section(out, 7, exports)

  const code = new Chunks()
  const count: number[] = []
  uleb(count, spec.functions.length)
  code.add(count)
  for (const f of spec.functions) code.add(f.body.encode())
  section(out, 10, code.bytes())
  if (spec.salt !== undefined) {
    const custom: number[] = []
    name(custom, 'salt')
    uleb(custom, spec.salt >>> 0)
    section(out, 0, custom)
  }
  return out.bytes()
}
