import { describe, expect, test } from 'vitest'
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DecodeTableError, parseTables } from '../scripts/decodetree.js'
import { disasmModules, generate, knownFunctions, loadPatterns } from '../scripts/gen-decoder.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const badDir = join(root, 'test/bad-tables')

describe('table generator', () => {
  const badTables = readdirSync(badDir).filter((n) => n.endsWith('.decode'))
  test('there are bad tables to reject', () => {
    expect(badTables.length).toBeGreaterThanOrEqual(10)
  })
  test.each(badTables)('rejects test/bad-tables/%s', (name) => {
    // Each bad table starts with `# expect: <part of the error message>`.
    const text = readFileSync(join(badDir, name), 'utf8')
    const expected = /^# expect: (.+)$/m.exec(text)?.[1]
    expect(expected).toBeDefined()
    expect(() => parseTables([{ name, text }], knownFunctions())).toThrow(DecodeTableError)
    expect(() => parseTables([{ name, text }], knownFunctions())).toThrow(expected)
  })

  test('allows overlaps inside a {} group and keeps their order', () => {
    const text = `
{
  SPECIFIC  11111111 11111111 11111111 11111111
  GENERAL   11111111 11111111 11111111 x:8
}
`
    const rows = parseTables([{ name: 'ok.decode', text }], knownFunctions())
    expect(rows.map((r) => r.name)).toEqual(['SPECIFIC', 'GENERAL'])
    expect(rows[0]?.mask).toBe(0xffffffff)
    expect(rows[1]?.mask).toBe(0xffffff00)
  })

  test('joins field pieces high to low and marks signed pieces', () => {
    const text = `
%split   31:1 19:s5
X        . 0000000 ..... 00000000000000 00000  v=%split
`
    const [row] = parseTables([{ name: 'ok.decode', text }], knownFunctions())
    const v = row?.args.get('v')
    expect(v).toEqual({ kind: 'pieces', fn: undefined, pieces: [{ pos: 31, len: 1, signed: false }, { pos: 19, len: 5, signed: true }] })
  })

  test('the committed src/generated files match the tables', () => {
    const { decoder, printers } = generate(loadPatterns(join(root, 'src/tables')), disasmModules(join(root, 'src/disasm')))
    expect(readFileSync(join(root, 'src/generated/decoder.ts'), 'utf8')).toBe(decoder)
    expect(readFileSync(join(root, 'src/generated/printer-modules.ts'), 'utf8')).toBe(printers)
  })
})
