import { FileFormatError } from '../errors.js'

/** Flattened device tree (devicetree specification v0.4, chapter 5), version 17. */
export const FDT_MAGIC = 0xd00d_feed
export const FDT_VERSION = 17
export const FDT_LAST_COMP_VERSION = 16
const FDT_BEGIN_NODE = 1
const FDT_END_NODE = 2
const FDT_PROP = 3
const FDT_NOP = 4
const FDT_END = 9
const HEADER_SIZE = 40

/** A device-tree property: its name and raw value. */
export interface FdtProperty {
  readonly name: string
  readonly value: Uint8Array
}

/** A device-tree node with its properties and children, in order. */
export interface FdtNode {
  /** Node name with unit address, e.g. `pl011@9000000`; the root's name is ''. */
  readonly name: string
  readonly properties: FdtProperty[]
  readonly children: FdtNode[]
}

/** A memory reservation block entry. */
export interface FdtReservation {
  readonly address: number
  readonly size: number
}

/** A whole device tree: the root node, the reserved memory and the boot CPU. */
export interface Fdt {
  readonly root: FdtNode
  readonly reservations: readonly FdtReservation[]
  readonly bootCpuId: number
}

// --- property values -------------------------------------------------------------------

/** A property value of big-endian 32-bit cells. */
export function propCells(...cells: number[]): Uint8Array {
  const out = new Uint8Array(cells.length * 4)
  const view = new DataView(out.buffer)
  cells.forEach((c, i) => {
    if (!Number.isInteger(c) || c < 0 || c > 0xffff_ffff) throw new RangeError(`cell value ${c} is not a u32`)
    view.setUint32(i * 4, c)
  })
  return out
}

/** 64-bit values as pairs of big-endian cells (the form of `reg` with #address-cells = 2). */
export function propU64(...values: number[]): Uint8Array {
  return propCells(...values.flatMap((v) => {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`64-bit cell value ${v} is not a non-negative safe integer`)
    return [Math.floor(v / 0x1_0000_0000), v % 0x1_0000_0000]
  }))
}

/** A string list: each string NUL-terminated. */
export function propStrings(...strings: string[]): Uint8Array {
  for (const s of strings) if (s.includes('\0')) throw new RangeError(`property string ${JSON.stringify(s)} contains NUL`)
  return new TextEncoder().encode(strings.map((s) => `${s}\0`).join(''))
}

/** The value of a property that is there without a value (`dma-coherent;`). */
export const PROP_EMPTY = new Uint8Array(0)

/** A node from a name, properties in order, and children. */
export function node(name: string, properties: Record<string, Uint8Array>, children: FdtNode[] = []): FdtNode {
  return { name, properties: Object.entries(properties).map(([n, value]) => ({ name: n, value })), children }
}

// --- writer ---------------------------------------------------------------------------------

class Bytes {
  private buf = new Uint8Array(1024)
  length = 0
  private grow(extra: number): void {
    if (this.length + extra <= this.buf.length) return
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + extra))
    next.set(this.buf.subarray(0, this.length))
    this.buf = next
  }
  u32(v: number): void {
    this.grow(4)
    new DataView(this.buf.buffer).setUint32(this.length, v)
    this.length += 4
  }
  bytes(b: Uint8Array): void {
    this.grow(b.length)
    this.buf.set(b, this.length)
    this.length += b.length
  }
  align4(): void {
    while (this.length % 4 !== 0) this.bytes(new Uint8Array(1))
  }
  done(): Uint8Array {
    return this.buf.slice(0, this.length)
  }
}

const NODE_NAME = /^[A-Za-z0-9,._+-]{1,31}(@[A-Za-z0-9,._+-]+)?$/
const PROP_NAME = /^[A-Za-z0-9,._+?#-]{1,31}$/

/**
 * Writes a DTB: header, memory reservation map (8-byte aligned, terminated by a zero entry),
 * structure block and strings block (property names deduplicated). `totalSize` pads the blob
 * with free space as QEMU does (its virt DTB is 1 MiB); it must be at least the content size.
 */
export function writeFdt(fdt: Fdt, options: { readonly totalSize?: number } = {}): Uint8Array {
  const struct = new Bytes()
  const strings = new Bytes()
  const stringOffsets = new Map<string, number>()
  const nameOffset = (name: string): number => {
    let offset = stringOffsets.get(name)
    if (offset === undefined) {
      offset = strings.length
      stringOffsets.set(name, offset)
      strings.bytes(new TextEncoder().encode(`${name}\0`))
    }
    return offset
  }
  const emit = (n: FdtNode, isRoot: boolean): void => {
    if (isRoot ? n.name !== '' : !NODE_NAME.test(n.name)) throw new RangeError(`bad node name ${JSON.stringify(n.name)}`)
    struct.u32(FDT_BEGIN_NODE)
    struct.bytes(new TextEncoder().encode(`${n.name}\0`))
    struct.align4()
    const seen = new Set<string>()
    for (const p of n.properties) {
      if (!PROP_NAME.test(p.name)) throw new RangeError(`bad property name ${JSON.stringify(p.name)} in node ${JSON.stringify(n.name)}`)
      if (seen.has(p.name)) throw new RangeError(`property ${p.name} appears twice in node ${JSON.stringify(n.name)}`)
      seen.add(p.name)
      struct.u32(FDT_PROP)
      struct.u32(p.value.length)
      struct.u32(nameOffset(p.name))
      struct.bytes(p.value)
      struct.align4()
    }
    const childNames = new Set<string>()
    for (const c of n.children) {
      if (childNames.has(c.name)) throw new RangeError(`two nodes named ${c.name} under ${JSON.stringify(n.name)}`)
      childNames.add(c.name)
      emit(c, false)
    }
    struct.u32(FDT_END_NODE)
  }
  emit(fdt.root, true)
  struct.u32(FDT_END)

  const rsvOffset = HEADER_SIZE // already 8-byte aligned
  const rsvSize = (fdt.reservations.length + 1) * 16
  const structOffset = rsvOffset + rsvSize
  const structBytes = struct.done()
  const stringsOffset = structOffset + structBytes.length
  const stringBytes = strings.done()
  const contentSize = stringsOffset + stringBytes.length
  const totalSize = options.totalSize ?? contentSize
  if (!Number.isInteger(totalSize) || totalSize < contentSize) {
    throw new RangeError(`totalSize ${totalSize} is smaller than the ${contentSize} bytes of content`)
  }
  const out = new Uint8Array(totalSize)
  const view = new DataView(out.buffer)
  const header = [FDT_MAGIC, totalSize, structOffset, stringsOffset, rsvOffset, FDT_VERSION, FDT_LAST_COMP_VERSION, fdt.bootCpuId, stringBytes.length, structBytes.length]
  header.forEach((v, i) => view.setUint32(i * 4, v))
  fdt.reservations.forEach((r, i) => {
    view.setBigUint64(rsvOffset + i * 16, BigInt(r.address))
    view.setBigUint64(rsvOffset + i * 16 + 8, BigInt(r.size))
  })
  out.set(structBytes, structOffset)
  out.set(stringBytes, stringsOffset)
  return out
}

// --- reader ---------------------------------------------------------------------------------

/** Parses a DTB (version 16 or later), checking every offset against the blob. */
export function readFdt(dtb: Uint8Array, file = 'dtb'): Fdt {
  const fail = (offset: number, problem: string): never => {
    throw new FileFormatError(file, offset, problem)
  }
  if (dtb.length < HEADER_SIZE) fail(0, `truncated: a DTB header needs ${HEADER_SIZE} bytes, the blob has ${dtb.length}`)
  const view = new DataView(dtb.buffer, dtb.byteOffset, dtb.byteLength)
  const h = (i: number): number => view.getUint32(i * 4)
  if (h(0) !== FDT_MAGIC) fail(0, `bad magic 0x${h(0).toString(16)}: expected 0xd00dfeed`)
  const [totalSize, structOffset, stringsOffset, rsvOffset, version, lastComp, bootCpuId, stringsSize, structSize] = [h(1), h(2), h(3), h(4), h(5), h(6), h(7), h(8), h(9)]
  if (totalSize > dtb.length) fail(4, `totalsize ${totalSize} exceeds the ${dtb.length}-byte blob`)
  if (version < 16 || lastComp > FDT_VERSION) fail(20, `version ${version} (last compatible ${lastComp}) is not readable as version 17`)
  if (structOffset % 4 !== 0 || structOffset + structSize > totalSize) fail(8, `structure block [${structOffset}, +${structSize}) is misaligned or outside totalsize`)
  if (stringsOffset + stringsSize > totalSize) fail(12, `strings block [${stringsOffset}, +${stringsSize}) is outside totalsize`)
  if (rsvOffset % 8 !== 0 || rsvOffset >= totalSize) fail(16, `memory reservation map offset ${rsvOffset} is misaligned or outside totalsize`)

  const reservations: FdtReservation[] = []
  for (let at = rsvOffset; ; at += 16) {
    if (at + 16 > totalSize) fail(at, 'memory reservation map is not terminated')
    const address = Number(view.getBigUint64(at))
    const size = Number(view.getBigUint64(at + 8))
    if (address === 0 && size === 0) break
    reservations.push({ address, size })
  }

  const decoder = new TextDecoder()
  const cstring = (at: number, limit: number, what: string): [string, number] => {
    let end = at
    while (end < limit && dtb[end] !== 0) end++
    if (end >= limit) fail(at, `${what} runs past the end of its block`)
    return [decoder.decode(dtb.subarray(at, end)), end + 1]
  }
  const structEnd = structOffset + structSize
  let at = structOffset
  const token = (): number => {
    if (at + 4 > structEnd) fail(at, 'structure block ends without FDT_END')
    const t = view.getUint32(at)
    at += 4
    return t
  }
  const stack: FdtNode[] = []
  let root: FdtNode | undefined
  for (;;) {
    const tokenAt = at
    const t = token()
    if (t === FDT_BEGIN_NODE) {
      const [name, next] = cstring(at, structEnd, 'node name')
      at = (next + 3) & ~3
      const n: FdtNode = { name, properties: [], children: [] }
      const parent = stack[stack.length - 1]
      if (parent) parent.children.push(n)
      else if (root) fail(tokenAt, 'a second root node')
      else root = n
      stack.push(n)
    } else if (t === FDT_PROP) {
      const parent = stack[stack.length - 1] ?? fail(tokenAt, 'property outside any node')
      const len = token()
      const nameOff = token()
      if (at + len > structEnd) fail(at, `property value of ${len} bytes runs past the structure block`)
      if (nameOff >= stringsSize) fail(at - 4, `property name offset ${nameOff} is outside the strings block`)
      const [name] = cstring(stringsOffset + nameOff, stringsOffset + stringsSize, 'property name')
      parent.properties.push({ name, value: dtb.slice(at, at + len) })
      at = (at + len + 3) & ~3
    } else if (t === FDT_END_NODE) {
      if (!stack.pop()) fail(tokenAt, 'FDT_END_NODE without a matching FDT_BEGIN_NODE')
    } else if (t === FDT_NOP) {
      continue
    } else if (t === FDT_END) {
      if (stack.length !== 0) fail(tokenAt, `FDT_END with ${stack.length} node(s) still open`)
      break
    } else {
      fail(tokenAt, `unknown structure token ${t}`)
    }
  }
  return { root: root ?? fail(structOffset, 'no root node'), reservations, bootCpuId }
}

// --- lookups for tests and tools -----------------------------------------------------------

/** The node at a `/`-separated path of node names (with unit addresses), or undefined. */
export function findNode(root: FdtNode, path: string): FdtNode | undefined {
  let current: FdtNode | undefined = root
  for (const part of path.split('/').filter(Boolean)) current = current?.children.find((c) => c.name === part)
  return current
}

/** A node's property value by name, or undefined. */
export function getProp(n: FdtNode, name: string): Uint8Array | undefined {
  return n.properties.find((p) => p.name === name)?.value
}

/** A property value as its NUL-separated strings. */
export function propAsStrings(value: Uint8Array): string[] {
  const text = new TextDecoder().decode(value)
  return text.endsWith('\0') ? text.slice(0, -1).split('\0') : [text]
}

/** A property value as big-endian 32-bit cells. */
export function propAsCells(value: Uint8Array): number[] {
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength)
  return Array.from({ length: value.length >> 2 }, (_, i) => view.getUint32(i * 4))
}
