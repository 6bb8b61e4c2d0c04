import { expect, test } from 'vitest'
import fc from 'fast-check'
import { renderHtmlTagMap, renderTerminalTagMap, tagGrid, type TagPage } from './tagmap.js'

const RAM = 0x4000_0000
const MiB = 1 << 20

function input(pages: TagPage[], ramSize = 8 * MiB) {
  return { ramBase: RAM, ramSize, pages }
}

test('grid: counts per cell, histogram, power-of-two cells', () => {
  const tags = new Uint8Array(256).map((_, i) => i % 4) // 3/4 non-zero
  const grid = tagGrid(input([{ gpa: RAM + 0x20_0000, tags }, { gpa: RAM + 0x20_1000, tags: new Uint8Array(256) }, { gpa: RAM, tags: null }]), 64, 4)
  // 2048 pages into at most 256 cells -> 8 pages per cell
  expect(grid.pagesPerCell).toBe(8)
  expect(grid.cells).toHaveLength(256)
  expect(grid.cells[64]).toEqual({ gpa: RAM + 0x20_0000, pages: 8, taggedPages: 2, nonZeroGranules: 192, tagsPresent: 0b1111 })
  expect(grid.summary).toEqual({ totalPages: 2048, taggedPages: 2, histogram: [64 + 256, 64, 64, 64, ...Array(12).fill(0)] })
})

test('terminal map: untagged blank, zero tags ".", dense "@", row labels and summary', () => {
  const full = new Uint8Array(256).fill(5)
  const text = renderTerminalTagMap(input([{ gpa: RAM, tags: full }, { gpa: RAM + 0x1000, tags: new Uint8Array(256) }], 64 * 1024), { columns: 29 })
  const lines = text.split('\n')
  expect(lines[0]).toContain('4 KiB per cell')
  expect(lines[1]).toBe('0040000000 |@.              |')
  expect(text).toContain('tagged pages: 2 of 16 (8 KiB), 512 granules, 256 with a non-zero tag')
  expect(text).toContain('tag histogram: 0:256 1:0 2:0 3:0 4:0 5:256')
  const colored = renderTerminalTagMap(input([{ gpa: RAM, tags: full }], 64 * 1024), { columns: 30, color: true })
  expect(colored).toContain('\x1b[48;5;196m \x1b[0m')
})

test('terminal map never exceeds the width or row budget (property)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 21, max: 200 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 4096 }), (columns, maxRows, pages) => {
      const text = renderTerminalTagMap(input([{ gpa: RAM, tags: new Uint8Array(256).fill(1) }], pages * 4096), { columns, maxRows })
      const rows = text.split('\n').filter((l) => /^[0-9a-f]{10} \|/.test(l))
      expect(rows.length).toBeLessThanOrEqual(maxRows)
      for (const r of rows) expect(r.length).toBeLessThanOrEqual(columns)
    }),
  )
})

test('HTML page: one square per cell, escaped title, histogram', () => {
  const html = renderHtmlTagMap(input([{ gpa: RAM, tags: new Uint8Array(256).fill(15) }], 1 * MiB), { title: '<tag-workload> & co', columns: 16 })
  expect(html.startsWith('<!doctype html>')).toBe(true)
  expect(html).toContain('&#60;tag-workload&#62; &#38; co')
  expect(html.match(/<i class=/g)).toHaveLength(256)
  expect(html).toContain('<i class="s5" title="0x40000000: 1/1 pages tagged, 256 non-zero granules, tags {f}">')
  expect(html).toContain('<tr><td>f</td><td>256</td></tr>')
})

test('bad input is refused', () => {
  expect(() => tagGrid(input([{ gpa: RAM - 4096, tags: null }]), 10, 10)).toThrow(/not a page of RAM/)
  expect(() => tagGrid(input([{ gpa: RAM, tags: null }, { gpa: RAM, tags: null }]), 10, 10)).toThrow(/twice/)
  expect(() => tagGrid(input([{ gpa: RAM, tags: new Uint8Array(10) }]), 10, 10)).toThrow(/expected 256/)
  expect(() => tagGrid(input([{ gpa: RAM, tags: new Uint8Array(256).fill(16) }]), 10, 10)).toThrow(/4-bit/)
  expect(() => tagGrid(input([]), 0, 10)).toThrow(RangeError)
})
