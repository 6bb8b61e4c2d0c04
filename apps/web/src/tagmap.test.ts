import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import fc from 'fast-check'
import { expect, test } from 'vitest'
import { LiveTagPublisher, LiveTagView, Machine } from '@tagvm/machine'
import { DEFAULT_CONFIG } from './runner.js'
import { MapLayout, TagMapCanvas, mapStats } from './tagmap.js'

const RAM = 0x4000_0000
const PAGES = (128 << 20) / 4096

test('every granule has one place on the map and the place gives its address back', () => {
  const layout = new MapLayout(RAM, PAGES)
  expect(layout.pagesPerRow).toBe(256) // twice as wide as tall: 256 × 128 pages
  expect(layout.pageRows).toBe(128)
  fc.assert(
    fc.property(fc.integer({ min: 0, max: PAGES * 256 - 1 }), (granule) => {
      const gpa = RAM + granule * 16
      const at = layout.positionOf(gpa)!
      expect(layout.addressAt(at.x, at.y)).toBe(gpa)
      expect(layout.addressAt(at.x + 0.99, at.y + 0.99)).toBe(gpa) // anywhere inside the cell
      expect(layout.positionOf(gpa + 15)).toEqual(at) // one cell per 16-byte granule
    }),
  )
  // A page is a 16 × 16 tile, granules row by row.
  expect(layout.positionOf(RAM + 4096)).toEqual({ x: 16, y: 0 })
  expect(layout.positionOf(RAM + 16 * 17)).toEqual({ x: 1, y: 1 })
  expect(layout.positionOf(RAM + 256 * 4096)).toEqual({ x: 0, y: 16 })
  expect(layout.positionOf(RAM - 16)).toBeUndefined()
  expect(layout.positionOf(RAM + PAGES * 4096)).toBeUndefined()
  expect(layout.addressAt(-1, 0)).toBeUndefined()
  expect(layout.addressAt(layout.width, 0)).toBeUndefined()
  // A count that leaves the last row short: cells past the last page are off the map.
  const short = new MapLayout(RAM, 3)
  expect(short.pagesPerRow).toBe(4)
  expect(short.addressAt(3 * 16, 0)).toBeUndefined()
  expect(() => new MapLayout(RAM, 0)).toThrow(/positive integer/)
})

/** A canvas as far as the map's geometry needs one (drawing is checked in Chromium). */
const canvas = (width: number, height: number): HTMLCanvasElement => ({ width, height }) as HTMLCanvasElement

test('zooming: all of RAM clears the address gutter, a page fills the view, and the pointer finds the granule drawn there', () => {
  let console = ''
  const machine = Machine.create(DEFAULT_CONFIG, { console: (b) => (console += String.fromCharCode(...b)) }, { sharedMemory: true })
  machine.boot(readFileSync(fileURLToPath(new URL('../../../guests/mte-demo/mte-demo.elf', import.meta.url))), 'mte-demo.elf')
  const publisher = new LiveTagPublisher(machine)
  const map = new TagMapCanvas(canvas(800, 400))
  map.attach(new LiveTagView(publisher.source))
  expect(map.fitTagged()).toBe(false) // nothing tagged before the guest runs
  expect(machine.run().kind).toBe('power-off')
  publisher.refresh()

  map.fitAll()
  const first = map.canvasPointOf(RAM, 0, 0)!
  expect(first.x).toBeGreaterThanOrEqual(84) // right of the labels
  const last = map.canvasPointOf(RAM + (128 << 20) - 16, 1, 1)!
  expect(last.x).toBeLessThanOrEqual(800 + 1e-9)
  expect(last.y).toBeLessThanOrEqual(400 + 1e-9)

  expect(map.showPage(0x4021_0040)).toBe(true)
  const c = map.canvasPointOf(0x4021_0040)!
  expect(map.pointAt(c.x, c.y)).toEqual({ gpa: 0x4021_0040, page: 0x210, state: 'tagged', tag: 5 })
  const corner = map.canvasPointOf(0x4021_0ff0, 1, 1)!
  expect(corner.y).toBeLessThanOrEqual(400)
  expect(map.viewport.scale).toBeGreaterThanOrEqual(16) // big enough to write the tags in

  // Zooming keeps the point under the pointer; zooming out stops at all of RAM.
  map.zoomAt(c.x, c.y, 0.5)
  expect(map.pointAt(c.x, c.y)?.gpa).toBe(0x4021_0040)
  map.zoomAt(400, 200, 1e-9)
  map.fitAll()
  const fitScale = map.viewport.scale
  map.zoomAt(400, 200, 0.001)
  expect(map.viewport.scale).toBeCloseTo(fitScale)

  expect(map.fitTagged()).toBe(true)
  expect(map.pointAt(map.canvasPointOf(0x4021_0000)!.x, map.canvasPointOf(0x4021_0000)!.y)?.tag).toBe(7)
  expect(map.showPage(0x3fff_f000)).toBe(false)
  map.fitAll()
  expect(map.pointAt(10, 200)).toBeUndefined() // the gutter holds labels, not memory

  const stats = mapStats(map.attached!)
  expect(stats.pages).toBe(PAGES)
  expect(stats.histogram.slice(1).reduce((a, b) => a + b, 0)).toBe(6)
  expect(console).toContain('2 of 2 bugs caught')
})
