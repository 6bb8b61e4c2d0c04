// The GDB remote serial protocol's framing: `$payload#cs` packets with a modulo-256
// checksum, `+`/`-` acknowledgements (until QStartNoAckMode), a bare 0x03 byte for Ctrl-C,
// and the escapes of binary data ('}' then the byte xor 0x20). Bytes stay bytes: payloads
// are latin1 strings, one character per byte.

/** What the decoder found in the byte stream. */
export type RspEvent =
  | { readonly kind: 'packet'; readonly payload: string }
  /** A packet whose checksum did not match (answered with '-' while acks are on). */
  | { readonly kind: 'bad-checksum' }
  | { readonly kind: 'interrupt' }
  | { readonly kind: 'ack' }
  | { readonly kind: 'nack' }

/** Longest payload accepted; longer packets are dropped as garbage (PacketSize advertises less). */
export const MAX_PACKET = 0x10000

/** Incremental decoder: feed it bytes in any chunking; it yields whole events. */
export class RspDecoder {
  private state: 'idle' | 'payload' | 'checksum' = 'idle'
  private payload: number[] = []
  private sum = 0
  private checkDigits = ''

  feed(bytes: Uint8Array): RspEvent[] {
    const events: RspEvent[] = []
    for (const b of bytes) {
      switch (this.state) {
        case 'idle':
          if (b === 0x24) {
            this.state = 'payload'
            this.payload = []
            this.sum = 0
          } else if (b === 0x03) events.push({ kind: 'interrupt' })
          else if (b === 0x2b) events.push({ kind: 'ack' })
          else if (b === 0x2d) events.push({ kind: 'nack' })
          // Anything else between packets is noise and is skipped, as GDB's own stubs do.
          break
        case 'payload':
          if (b === 0x23) {
            this.state = 'checksum'
            this.checkDigits = ''
          } else if (b === 0x24) {
            // A new packet start inside a packet: the first was cut short; start over.
            this.payload = []
            this.sum = 0
          } else if (this.payload.length >= MAX_PACKET) {
            this.state = 'idle'
            events.push({ kind: 'bad-checksum' })
          } else {
            this.payload.push(b)
            this.sum = (this.sum + b) & 0xff
          }
          break
        case 'checksum':
          this.checkDigits += String.fromCharCode(b)
          if (this.checkDigits.length === 2) {
            this.state = 'idle'
            const given = /^[0-9a-fA-F]{2}$/.test(this.checkDigits) ? parseInt(this.checkDigits, 16) : -1
            if (given !== this.sum) events.push({ kind: 'bad-checksum' })
            else events.push({ kind: 'packet', payload: latin1(this.payload) })
          }
          break
      }
    }
    return events
  }
}

function latin1(bytes: readonly number[]): string {
  let s = ''
  for (let i = 0; i < bytes.length; i += 8192) s += String.fromCharCode(...bytes.slice(i, i + 8192))
  return s
}

/** `$payload#cs` with '#', '$', '}' and '*' escaped, as bytes to send. */
export function encodePacket(payload: string): Uint8Array {
  let body = ''
  for (const ch of payload) {
    if (ch === '#' || ch === '$' || ch === '}' || ch === '*') body += '}' + String.fromCharCode(ch.charCodeAt(0) ^ 0x20)
    else body += ch
  }
  let sum = 0
  for (let i = 0; i < body.length; i++) sum = (sum + body.charCodeAt(i)) & 0xff
  return Uint8Array.from(`$${body}#${sum.toString(16).padStart(2, '0')}`, (c) => c.charCodeAt(0) & 0xff)
}

/** Undoes the binary escapes of an X packet's data. */
export function unescapeBinary(data: string): Uint8Array | undefined {
  const out: number[] = []
  for (let i = 0; i < data.length; i++) {
    let b = data.charCodeAt(i)
    if (b === 0x7d) {
      if (++i >= data.length) return undefined
      b = data.charCodeAt(i) ^ 0x20
    }
    out.push(b & 0xff)
  }
  return Uint8Array.from(out)
}

export function toHex(bytes: Uint8Array): string {
  let s = ''
  for (const b of bytes) s += b.toString(16).padStart(2, '0')
  return s
}

/** Hex digits to bytes; undefined for an odd length or a non-hex digit. */
export function fromHex(text: string): Uint8Array | undefined {
  if (text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) return undefined
  const out = new Uint8Array(text.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16)
  return out
}

/** A hex number of at most 16 digits as a u64; undefined otherwise. */
export function parseHexU64(text: string): bigint | undefined {
  if (!/^[0-9a-fA-F]{1,16}$/.test(text)) return undefined
  return BigInt(`0x${text}`)
}

/** A hex number that fits a safe integer (lengths, counts); undefined otherwise. */
export function parseHexCount(text: string, max = MAX_PACKET * 16): number | undefined {
  if (!/^[0-9a-fA-F]{1,8}$/.test(text)) return undefined
  const n = parseInt(text, 16)
  return n <= max ? n : undefined
}

/** A u64 as 8 little-endian bytes in hex (a register in a 'g' reply). */
export function u64LeHex(value: bigint, bytes = 8): string {
  let s = ''
  for (let i = 0; i < bytes; i++) s += Number((value >> BigInt(8 * i)) & 0xffn).toString(16).padStart(2, '0')
  return s
}

/** Little-endian hex bytes to a number (registers from 'G'/'P'). */
export function leHexToU64(text: string): bigint | undefined {
  const bytes = fromHex(text)
  if (bytes === undefined) return undefined
  let v = 0n
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]!)
  return v
}

/** Latin1 text as hex (qXfer objects are sent as binary; o/O output as hex). */
export function textToHex(text: string): string {
  return toHex(Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff))
}
