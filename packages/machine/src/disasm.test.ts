import { describe, expect, test } from 'vitest'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { disassembleBytes, disassembleElf, disassembleRaw, instructionText } from './disasm.js'
import { FileFormatError } from './errors.js'

const root = (p: string): string => fileURLToPath(new URL(`../${p}`, import.meta.url))
const guest = (name: string): Uint8Array => new Uint8Array(readFileSync(root(`../../guests/${name}/${name}.elf`)))

/** address -> [text of the line after the address] from an objdump-style listing. */
function byAddress(listing: string): Map<number, string> {
  const map = new Map<number, string>()
  for (const line of listing.split('\n')) {
    const m = /^([0-9a-f]+):\s*(?:[0-9a-f]{8} |(?:[0-9a-f]{2} ){3}[0-9a-f]{2})?\t(.*)$/.exec(line)
    // llvm-objdump appends "// =value" comments to some immediates; tagvm prints the operands only.
    if (m) map.set(parseInt(m[1]!, 16), m[2]!.replace(/\s+\/\/ .*$/, ""))
  }
  return map
}

describe('tagvm disasm against llvm-objdump-14 (recorded by scripts/objdump-guests.sh)', () => {
  test.each(['hello', 'mte-demo'])('%s: same addresses, labels, mnemonics and branch targets', (name) => {
    const ours = disassembleElf(guest(name), `${name}.elf`)
    const theirs = readFileSync(root(`test/fixtures/${name}.objdump.txt`), 'utf8')
    const a = byAddress(ours)
    const b = byAddress(theirs)
    expect([...a.keys()]).toEqual([...b.keys()])
    let targets = 0
    for (const [addr, text] of b) {
      const mine = a.get(addr)!
      if (text.startsWith('.word') || text.startsWith('<unknown>')) continue
      // The mnemonic always agrees; the operands too, except for targets (compared below).
      expect(mine.split('\t')[0], `0x${addr.toString(16)}`).toBe(text.split('\t')[0])
      const target = /(0x[0-9a-f]+) </.exec(text)
      if (target) {
        targets++
        expect(mine, `0x${addr.toString(16)}`).toContain(`${target[1]} <`)
      } else if (!/#-?\d+$/.test(text)) {
        expect(mine, `0x${addr.toString(16)}`).toBe(text)
      }
    }
    expect(targets).toBeGreaterThan(50)
    // Function labels from the symbol table, as objdump shows them.
    expect(ours).toContain('0000000040000000 <_start>:')
    expect(ours).toMatch(/\tbl\t0x[0-9a-f]+ <main>/)
  })

  test('data words in text ($d mapping symbols) are .word', () => {
    const listing = disassembleElf(guest('hello'), 'hello.elf')
    expect(listing).toContain('40001048:\t40045000 \t.word\t0x40045000')
  })
})

describe('PC-relative targets', () => {
  test.each([
    [0x1400_0004, 0x1000, 'b\t0x1010'],
    [0x97ff_fffc, 0x1000, 'bl\t0xff0'],
    [0x5400_0041, 0x1000, 'b.ne\t0x1008'],
    [0xb400_0060, 0x1000, 'cbz\tx0, 0x100c'],
    [0x3600_0060, 0x1000, 'tbz\tw0, #0, 0x100c'],
    [0x1000_0040, 0x1000, 'adr\tx0, 0x1008'],
    [0x9000_0020, 0x1234, 'adrp\tx0, 0x5000'],
    [0x5800_0040, 0x1000, 'ldr\tx0, 0x1008'],
    [0xd65f_03c0, 0x1000, 'ret'],
  ])('%s at %s', (word, pc, text) => {
    expect(instructionText(word, pc)).toBe(text)
  })

  test('kernel addresses above 2^53 (a bigint PC): exact targets, and wrapping at 2^64', () => {
    expect(instructionText(0x97ff_fffc, 0xffff_8000_0801_0000n)).toBe('bl\t0xffff80000800fff0')
    expect(instructionText(0x9000_0020, 0xffff_8000_0801_0abcn)).toBe('adrp\tx0, 0xffff800008014000')
    expect(instructionText(0x1400_0004, 0xffff_ffff_ffff_fff8n)).toBe('b\t0x8')
  })
})

describe('raw files and errors', () => {
  test('raw listing at --base', () => {
    const bytes = new Uint8Array([0x04, 0x00, 0x00, 0x14, 0x1f, 0x20, 0x03, 0xd5, 0xaa])
    const text = disassembleRaw(bytes, 'x.bin', 0x4000_0000)
    expect(text).toContain('40000000:\t14000004 \tb\t0x40000010')
    expect(text).toContain('40000004:\td503201f \tnop')
    expect(text).toContain('40000008:\taa\t.byte\t0xaa')
    expect(disassembleBytes(bytes, 'x.bin')).toContain('00000000:\t14000004 \tb\t0x10')
  })
  test('errors name the file', () => {
    expect(() => disassembleRaw(new Uint8Array(0), 'e.bin')).toThrow(/e\.bin: .*empty file/)
    expect(() => disassembleBytes(guest('hello'), 'h.elf', { base: 0 })).toThrow(/h\.elf: .*--base applies to raw binaries only/)
    expect(() => disassembleBytes(guest('hello').subarray(0, 30), 'cut.elf')).toThrow(FileFormatError)
    expect(() => disassembleBytes(guest('hello').subarray(0, 30), 'cut.elf')).toThrow(/cut\.elf: at offset/)
    expect(() => disassembleRaw(new Uint8Array(4), 'x.bin', -4)).toThrow(RangeError)
  })
})
