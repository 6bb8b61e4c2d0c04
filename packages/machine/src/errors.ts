/**
 * A mark that stays the same in every copy of this package (an ESM and a CJS copy side by
 * side, or two versions), so errors can be recognised where `instanceof` cannot.
 */
export function errorBrand(name: string): { mark(error: Error): void; test(value: unknown): boolean } {
  const key = Symbol.for(`@tagvm/machine.${name}`)
  return {
    mark: (error) => void Object.defineProperty(error, key, { value: true }),
    test: (value) => typeof value === 'object' && value !== null && (value as { [key]?: unknown })[key] === true,
  }
}

const FILE_FORMAT = errorBrand('FileFormatError')
const REFUSED = errorBrand('MachineRefusedError')

/**
 * A file tagvm cannot use: names the file, the byte offset where the problem is, and what was
 * expected there, so the message alone is enough to find the fault. Test for it with
 * {@link isFileFormatError}.
 */
export class FileFormatError extends Error {
  override readonly name = 'FileFormatError'
  constructor(
    readonly file: string,
    readonly offset: number,
    readonly problem: string,
    options?: { readonly cause?: unknown },
  ) {
    super(`${file}: at offset ${offset} (0x${offset.toString(16)}): ${problem}`, options)
    FILE_FORMAT.mark(this)
  }
}

/** Whether `value` is a {@link FileFormatError} made by any copy of this package. */
export function isFileFormatError(value: unknown): value is FileFormatError {
  return FILE_FORMAT.test(value)
}

/** Little-endian field reads that refuse to run past the end of the file. */
export class ByteReader {
  private readonly view: DataView
  constructor(
    readonly bytes: Uint8Array,
    readonly file: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  }

  get length(): number {
    return this.bytes.length
  }

  /** Throws unless `size` bytes are present at `offset`; `what` names the thing read. */
  need(offset: number, size: number, what: string): void {
    if (offset < 0 || size < 0 || offset + size > this.bytes.length) {
      throw new FileFormatError(
        this.file,
        Math.min(Math.max(offset, 0), this.bytes.length),
        `truncated: ${what} needs ${size} bytes at offset ${offset} but the file is ${this.bytes.length} bytes`,
      )
    }
  }

  u8(offset: number, what: string): number {
    this.need(offset, 1, what)
    return this.view.getUint8(offset)
  }
  u16(offset: number, what: string): number {
    this.need(offset, 2, what)
    return this.view.getUint16(offset, true)
  }
  u32(offset: number, what: string): number {
    this.need(offset, 4, what)
    return this.view.getUint32(offset, true)
  }
  /** A 64-bit field as a plain number; values above 2^53 are refused (no guest address is that big). */
  u64(offset: number, what: string): number {
    this.need(offset, 8, what)
    const lo = this.view.getUint32(offset, true)
    const hi = this.view.getUint32(offset + 4, true)
    if (hi >= 0x20_0000) {
      throw new FileFormatError(this.file, offset, `${what} 0x${hi.toString(16)}${lo.toString(16).padStart(8, '0')} is beyond 2^53`)
    }
    return hi * 0x1_0000_0000 + lo
  }
}

/** `0x` and the address in lower-case hex. */
export function hexAddr(n: number): string {
  return `0x${n.toString(16)}`
}

/**
 * What the machine will not take: a config the host cannot build (RAM it cannot give, memory
 * that cannot hold tags) or saved state it refuses (an unknown device, a device state, a
 * register KVM_SET_ONE_REG rejects). `reason` is one line; where the state came from a file or
 * stream, the restore turns this into a FileFormatError naming the file and the record.
 */
export class MachineRefusedError extends Error {
  override readonly name = 'MachineRefusedError'
  constructor(
    readonly reason: string,
    options?: { readonly cause?: unknown },
  ) {
    super(reason, options)
    REFUSED.mark(this)
  }
}

/** Whether `value` is a {@link MachineRefusedError} made by any copy of this package. */
export function isMachineRefusedError(value: unknown): value is MachineRefusedError {
  return REFUSED.test(value)
}
