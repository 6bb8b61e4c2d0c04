// Test helpers: machine code for asm`...` snippets (encoded by the hypervisor package's
// scripts/gen-asm.ts: `npx tsx ../hypervisor/scripts/gen-asm.ts src`), and a tiny ELF loader.
import { ASSEMBLED } from './asm.generated.js'

export function asm(strings: TemplateStringsArray): Uint8Array {
  const source = strings.raw.join('')
  const words = ASSEMBLED.get(source)
  if (!words) throw new Error(`snippet not assembled yet, run gen-asm: ${source}`)
  const bytes = new Uint8Array(words.length * 4)
  const view = new DataView(bytes.buffer)
  words.forEach((word, i) => view.setUint32(i * 4, word, true))
  return bytes
}

/** Fills 64 KiB at 0x4010_0000 with a pattern, then sums it back (x5: writes, x6: reads); SYSTEM_OFF. */
export const CHECKSUM_GUEST = asm`movz x1, #0x4010, lsl #16; mov x2, #0; mov x5, #0; mov x6, #0; mov x3, #8192; 1: add x4, x2, x2, lsl #3; eor x4, x4, x2, lsl #13; str x4, [x1, x2, lsl #3]; add x5, x5, x4; add x2, x2, #1; cmp x2, x3; b.ne 1b; mov x2, #0; 2: ldr x4, [x1, x2, lsl #3]; add x6, x6, x4; add x2, x2, #1; cmp x2, x3; b.ne 2b; movz x0, #0x8400, lsl #16; movk x0, #8; hvc #0`

export interface LoadSegment {
  readonly paddr: number
  readonly data: Uint8Array
  readonly memsz: number
}

/** The entry point and PT_LOAD segments of a little-endian ELF64 image. */
export function readElf(image: Uint8Array): { entry: number; segments: LoadSegment[] } {
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength)
  if (view.getUint32(0, false) !== 0x7f454c46 || image[4] !== 2 || image[5] !== 1) throw new Error('not a little-endian ELF64 image')
  const entry = Number(view.getBigUint64(24, true))
  const phoff = Number(view.getBigUint64(32, true))
  const phentsize = view.getUint16(54, true)
  const phnum = view.getUint16(56, true)
  const segments: LoadSegment[] = []
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize
    if (view.getUint32(at, true) !== 1) continue // PT_LOAD
    const offset = Number(view.getBigUint64(at + 8, true))
    const paddr = Number(view.getBigUint64(at + 24, true))
    const filesz = Number(view.getBigUint64(at + 32, true))
    const memsz = Number(view.getBigUint64(at + 40, true))
    segments.push({ paddr, data: image.subarray(offset, offset + filesz), memsz })
  }
  return { entry, segments }
}

/** Counts x1 down from 0x2fa0000 (49.9 M) to 0, then SYSTEM_OFF: two instructions a step. */
export const SPIN_GUEST = asm`movz x1, #0x2fa, lsl #16; 1: subs x1, x1, #1; b.ne 1b; movz x0, #0x8400, lsl #16; movk x0, #8; hvc #0`

/** Writes the PL011 data register 65536 times (one MMIO exit each), then SYSTEM_OFF. */
export const UART_GUEST = asm`movz x2, #0x900, lsl #16; movz x1, #0x1, lsl #16; 1: strb w1, [x2]; subs x1, x1, #1; b.ne 1b; movz x0, #0x8400, lsl #16; movk x0, #8; hvc #0`
