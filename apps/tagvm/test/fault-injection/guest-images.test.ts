// Files that are not guest images, and damaged ones that look like one, given where an image
// goes (`run`, `snapshot`, `tags`, `migrate send`): each ends in exit status 1 with one line
// saying what the file looks like, or runs as the image it is, never exit status 4.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { expectCleanFailure, tagvm, tagvmInProcess, tempDir } from './harness.js'

const dir = tempDir('images')

/** Bytes that start like one of the kinds tagvm looks for, then go wrong anywhere. */
const lookalike = fc.oneof(
  // ELF: any class, byte order, type, machine and program-header table, truncated anywhere.
  fc.tuple(fc.uint8Array({ minLength: 0, maxLength: 300 }), fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 }), fc.integer({ min: 0, max: 5 }), fc.constantFrom(3, 40, 62, 183, 243, 9999), fc.nat(400), fc.nat(20), fc.nat(80)).map(
    ([rest, elfClass, order, type, machine, phoff, phnum, phentsize]) => {
      const bytes = new Uint8Array(Math.max(64, rest.length))
      bytes.set(rest)
      bytes.set([0x7f, 0x45, 0x4c, 0x46, elfClass, order, 1], 0)
      const view = new DataView(bytes.buffer)
      view.setUint16(16, type, order === 1)
      view.setUint16(18, machine, order === 1)
      view.setUint32(32, phoff, true)
      view.setUint16(54, phentsize, true)
      view.setUint16(56, phnum, true)
      return bytes.subarray(0, rest.length < 20 ? rest.length + 20 : bytes.length)
    },
  ),
  // gzip: of random bytes, of an Image header, or cut short.
  fc.tuple(fc.uint8Array({ maxLength: 200 }), fc.boolean(), fc.nat(100)).map(([payload, image, cut]) => {
    if (image && payload.length >= 64) new DataView(payload.buffer, payload.byteOffset).setUint32(0x38, 0x644d5241, true)
    const packed = new Uint8Array(gzipSync(payload))
    return cut > 50 ? packed.subarray(0, cut - 50) : packed
  }),
  // EFI zboot: any payload offset, size and compression name.
  fc.tuple(fc.nat(0xffff), fc.nat(0xffff), fc.constantFrom('gzip', 'zstd', 'lzma', ''), fc.uint8Array({ maxLength: 100 })).map(([offset, size, compression, payload]) => {
    const bytes = new Uint8Array(64 + payload.length)
    bytes.set([0x4d, 0x5a, 0, 0, 0x7a, 0x69, 0x6d, 0x67], 0)
    const view = new DataView(bytes.buffer)
    view.setUint32(8, offset, true)
    view.setUint32(12, size, true)
    bytes.set(new TextEncoder().encode(compression), 24)
    bytes.set(payload, 64)
    return bytes
  }),
  // Anything at all, and printable text.
  fc.uint8Array({ maxLength: 200 }),
  fc.string({ maxLength: 100 }).map((text) => new TextEncoder().encode(text)),
)

describe('files where a guest image goes', () => {
  test('look-alikes and random bytes: exit 0, 1 or 3, never 4; a failure is one clean line (property)', async () => {
    const path = join(dir, 'candidate')
    await fc.assert(
      fc.asyncProperty(lookalike, async (bytes) => {
        writeFileSync(path, bytes)
        const outcome = await tagvmInProcess(['run', path, '--max-insns', '20000'])
        expect([0, 1, 3]).toContain(outcome.status)
        if (outcome.status === 1) {
          expect(outcome.stderr).not.toMatch(/internal error|\n\s+at /)
          expect(outcome.stderr).toMatch(/^tagvm: [^\n]*\n$/)
        }
      }),
      { numRuns: 300, seed: 19 },
    )
  })

  test('the built binary: a text file through run, snapshot, tags and migrate send', async () => {
    const text = join(dir, 'notes.txt')
    writeFileSync(text, 'remember the milk\n')
    const message = /^tagvm: \S*notes\.txt: not a guest image: this is a text file \(it starts "remember the milk"\); tagvm runs an AArch64 ELF/
    expectCleanFailure(await tagvm(['run', text]), 1, message)
    expectCleanFailure(await tagvm(['snapshot', text, join(dir, 'out.snap'), '--quiet']), 1, message)
    expectCleanFailure(await tagvm(['tags', text]), 1, message)
    expectCleanFailure(await tagvm(['migrate', 'send', text, '--to', join(dir, 'nobody.sock'), '--quiet']), 1, message)
  })
})
