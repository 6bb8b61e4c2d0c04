/**
 * The live tag map: all of guest RAM as a picture, one cell per 16-byte granule coloured by its
 * allocation tag. Each 4 KiB page is a 16 × 16 tile of granules (row-major, as addresses
 * run), and pages sit in rows of a power of two, so the map zooms from all of RAM down to one
 * page and one granule. Tags are read straight from the machine's shared memory through a
 * LiveTagView on every frame; the worker is never asked.
 */
import type { LiveTagView } from '@tagvm/machine'

export const GRANULE = 16
export const PAGE = 4096
/** Granules along one side of a page's tile. */
export const TILE = 16

/** Where each page and granule sits in the map's world (units: granules). */
export class MapLayout {
  readonly pagesPerRow: number
  readonly pageRows: number
  /** World size in granules. */
  readonly width: number
  readonly height: number

  constructor(
    readonly ramBase: number,
    readonly pageCount: number,
  ) {
    if (!(Number.isInteger(pageCount) && pageCount > 0)) throw new RangeError(`page count must be a positive integer, got ${pageCount}`)
    // Twice as wide as tall when the count allows: a wide panel shows it best.
    this.pagesPerRow = 2 ** Math.ceil(Math.log2(Math.sqrt(pageCount * 2)))
    this.pageRows = Math.ceil(pageCount / this.pagesPerRow)
    this.width = this.pagesPerRow * TILE
    this.height = this.pageRows * TILE
  }

  /** World position (granule units) of the granule holding `gpa`, or undefined outside RAM. */
  positionOf(gpa: number): { x: number; y: number } | undefined {
    const offset = gpa - this.ramBase
    if (!(offset >= 0 && offset < this.pageCount * PAGE)) return undefined
    const page = Math.floor(offset / PAGE)
    const granule = Math.floor((offset % PAGE) / GRANULE)
    return { x: (page % this.pagesPerRow) * TILE + (granule % TILE), y: Math.floor(page / this.pagesPerRow) * TILE + Math.floor(granule / TILE) }
  }

  /** The granule's guest-physical address at world position (x, y), or undefined off the map. */
  addressAt(x: number, y: number): number | undefined {
    if (!(x >= 0 && y >= 0 && x < this.width && y < this.height)) return undefined
    const gx = Math.floor(x)
    const gy = Math.floor(y)
    const page = Math.floor(gy / TILE) * this.pagesPerRow + Math.floor(gx / TILE)
    if (page >= this.pageCount) return undefined
    return this.ramBase + page * PAGE + ((gy % TILE) * TILE + (gx % TILE)) * GRANULE
  }
}

/** The part of the world on the canvas: top-left corner (granules) and canvas pixels per granule. */
export interface Viewport {
  x: number
  y: number
  scale: number
}

/** Colours as 0xAABBGGRR words (ImageData's byte order on little-endian machines). */
const rgba = (r: number, g: number, b: number): number => (0xff << 24) | (b << 16) | (g << 8) | r

function hsl(h: number, s: number, l: number): [number, number, number] {
  const k = (n: number): number => (n + h / 30) % 12
  const a = s * Math.min(l, 1 - l)
  const f = (n: number): number => l - a * Math.max(-1, Math.min(k(n) - 3, Math.min(9 - k(n), 1)))
  return [Math.round(f(0) * 255), Math.round(f(8) * 255), Math.round(f(4) * 255)]
}

/** CSS colour of each tag: 0 a quiet slate (tagged memory, tag 0), 1..15 spread around the hue wheel. */
export const TAG_COLOURS: readonly string[] = Array.from({ length: 16 }, (_, tag) => {
  if (tag === 0) return 'rgb(84, 96, 122)'
  const [r, g, b] = hsl(((tag - 1) * 24 + 200) % 360, 0.78, 0.58)
  return `rgb(${r}, ${g}, ${b})`
})
const TAG_WORDS = TAG_COLOURS.map((css) => {
  const [r, g, b] = css.match(/\d+/g)!.map(Number) as [number, number, number]
  return rgba(r, g, b)
})
/** Never touched by the guest (no host frame behind it). */
export const EMPTY_COLOUR = 'rgb(22, 27, 37)'
/** Touched, not tagged. */
export const UNTAGGED_COLOUR = 'rgb(38, 44, 56)'
const EMPTY_WORD = rgba(22, 27, 37)
/** Beyond the end of RAM. */
const OUTSIDE_WORD = rgba(11, 14, 20)
const UNTAGGED_WORD = rgba(38, 44, 56)

/** What the map shows at one point. */
export interface MapPoint {
  readonly gpa: number
  readonly page: number
  readonly state: 'untouched' | 'untagged' | 'tagged'
  readonly tag: number
}

/** Counts over all of RAM, for the panel under the map. */
export interface MapStats {
  readonly pages: number
  readonly resident: number
  readonly tagged: number
  /** Granules of tagged pages per tag value. */
  readonly histogram: readonly number[]
}

/** Reads the tag map's counts from the live view. */
export function mapStats(view: LiveTagView): MapStats {
  const histogram = new Array<number>(16).fill(0)
  const tags = new Uint8Array(256)
  let resident = 0
  let tagged = 0
  for (let page = 0; page < view.pageCount; page++) {
    if (!view.isResident(page)) continue
    resident++
    if (!view.readPageTags(page, tags)) continue
    tagged++
    for (const t of tags) histogram[t]!++
  }
  return { pages: view.pageCount, resident, tagged, histogram }
}

const MIN_SCALE_FACTOR = 1 // of the fit-all scale
const MAX_SCALE = 96 // canvas pixels per granule
/** Canvas pixels kept free on the left for the address labels when fitting the map. */
const GUTTER = 84

/** Draws a LiveTagView onto a canvas and answers "what is here?" for the pointer. */
export class TagMapCanvas {
  private view: LiveTagView | undefined
  private layout: MapLayout | undefined
  readonly viewport: Viewport = { x: 0, y: 0, scale: 1 }
  private image: ImageData | undefined
  private priority = new Uint8Array(0)
  private readonly tags = new Uint8Array(256)
  /** World position under the pointer, outlined. */
  highlight: { x: number; y: number } | undefined

  constructor(private readonly canvas: HTMLCanvasElement) {}

  get attached(): LiveTagView | undefined {
    return this.view
  }

  get mapLayout(): MapLayout | undefined {
    return this.layout
  }

  /** Shows a machine's tags (or nothing); the view starts at all of RAM. */
  attach(view: LiveTagView | undefined): void {
    const sameShape = view && this.layout && this.layout.ramBase === view.ramBase && this.layout.pageCount === view.pageCount
    this.view = view
    if (!sameShape) {
      this.layout = view ? new MapLayout(view.ramBase, view.pageCount) : undefined
      this.fitAll()
    }
  }

  /**
   * Shows the world rectangle [x0, x1) × [y0, y1) (granules) as large as fits in `share` of the
   * canvas right of the address gutter, centred there.
   */
  private fitRect(x0: number, y0: number, x1: number, y1: number, share: number, maxScale = Infinity): void {
    const width = Math.max(1, this.canvas.width - GUTTER)
    const height = this.canvas.height
    const scale = Math.min(maxScale, (width * share) / (x1 - x0), (height * share) / (y1 - y0))
    this.viewport.scale = scale
    this.viewport.x = (x0 + x1) / 2 - (GUTTER + width / 2) / scale
    this.viewport.y = (y0 + y1) / 2 - height / 2 / scale
  }

  /** Scale at which all of RAM fits beside the gutter (the furthest one can zoom out). */
  private fitScale(): number {
    if (!this.layout) return 1
    return Math.min(Math.max(1, this.canvas.width - GUTTER) / this.layout.width, this.canvas.height / this.layout.height)
  }

  /** All of RAM, centred right of the address gutter (so the labels never hide a granule). */
  fitAll(): void {
    const layout = this.layout
    if (!layout) return
    this.fitRect(0, 0, layout.width, layout.height, 1)
  }

  /** Zooms to the pages holding non-zero tags (whole rows of pages when they span rows). False when there are none. */
  fitTagged(): boolean {
    const layout = this.layout
    const view = this.view
    if (!layout || !view) return false
    let first = -1
    let last = -1
    for (let page = 0; page < layout.pageCount; page++) {
      if (!view.readPageTags(page, this.tags) || !this.tags.some((t) => t !== 0)) continue
      if (first < 0) first = page
      last = page
    }
    if (first < 0) return false
    const row0 = Math.floor(first / layout.pagesPerRow)
    const row1 = Math.floor(last / layout.pagesPerRow)
    const x0 = row0 === row1 ? (first % layout.pagesPerRow) * TILE : 0
    const x1 = row0 === row1 ? ((last % layout.pagesPerRow) + 1) * TILE : layout.width
    this.fitRect(x0, row0 * TILE, x1, (row1 + 1) * TILE, 0.92, MAX_SCALE)
    return true
  }

  /** Zooms by `factor` keeping the world point under canvas pixel (cx, cy) in place. */
  zoomAt(cx: number, cy: number, factor: number): void {
    const v = this.viewport
    const wx = v.x + cx / v.scale
    const wy = v.y + cy / v.scale
    v.scale = Math.min(MAX_SCALE, Math.max(this.fitScale() * MIN_SCALE_FACTOR, v.scale * factor))
    v.x = wx - cx / v.scale
    v.y = wy - cy / v.scale
  }

  /** Moves the view by canvas pixels. */
  panBy(dx: number, dy: number): void {
    this.viewport.x -= dx / this.viewport.scale
    this.viewport.y -= dy / this.viewport.scale
  }

  /** Zooms to the page holding `gpa` (its 16 × 16 granules fill the canvas). False outside RAM. */
  showPage(gpa: number): boolean {
    const at = this.layout?.positionOf(gpa)
    if (!at) return false
    const x = at.x - (at.x % TILE)
    const y = at.y - (at.y % TILE)
    this.fitRect(x, y, x + TILE, y + TILE, 0.92, MAX_SCALE)
    return true
  }

  /**
   * Canvas pixel of the granule holding `gpa` (for tests and pointers), or undefined: its centre,
   * or the point `fx`, `fy` of the way across and down it.
   */
  canvasPointOf(gpa: number, fx = 0.5, fy = 0.5): { x: number; y: number } | undefined {
    const at = this.layout?.positionOf(gpa)
    if (!at) return undefined
    const v = this.viewport
    return { x: (at.x + fx - v.x) * v.scale, y: (at.y + fy - v.y) * v.scale }
  }

  /** What is at canvas pixel (cx, cy). */
  pointAt(cx: number, cy: number): MapPoint | undefined {
    const layout = this.layout
    const view = this.view
    if (!layout || !view) return undefined
    const gpa = layout.addressAt(this.viewport.x + cx / this.viewport.scale, this.viewport.y + cy / this.viewport.scale)
    if (gpa === undefined) return undefined
    const page = Math.floor((gpa - layout.ramBase) / PAGE)
    const state = view.isTagged(page) ? 'tagged' : view.isResident(page) ? 'untagged' : 'untouched'
    return { gpa, page, state, tag: state === 'tagged' ? view.tagAt(gpa) : 0 }
  }

  /** Draws the map as the tags are now. */
  draw(): void {
    const { canvas } = this
    const ctx = canvas.getContext('2d')
    if (!ctx) return
    const w = canvas.width
    const h = canvas.height
    if (!this.image || this.image.width !== w || this.image.height !== h) {
      this.image = ctx.createImageData(w, h)
      this.priority = new Uint8Array(w * h)
    }
    const pixels = new Uint32Array(this.image.data.buffer)
    pixels.fill(OUTSIDE_WORD)
    this.priority.fill(0)
    const layout = this.layout
    const view = this.view
    if (layout && view) {
      const fullRows = Math.floor(layout.pageCount / layout.pagesPerRow)
      this.fill(pixels, w, h, 0, 0, layout.width, EMPTY_WORD, 0, fullRows * TILE)
      const rest = layout.pageCount % layout.pagesPerRow
      if (rest > 0) this.fill(pixels, w, h, 0, fullRows * TILE, rest * TILE, EMPTY_WORD, 0, TILE)
      this.paint(layout, view, pixels, w, h)
    }
    ctx.putImageData(this.image, 0, 0)
    if (layout) this.overlay(ctx, layout)
  }

  /**
   * Fills a world-space rectangle (`width` × `height` granules); where several cells share a
   * pixel the higher priority wins, so a set tag shows over zero tags when zoomed out. Set tags
   * are at least 2 × 2 pixels, so a single tagged granule stays visible in all of RAM.
   */
  private fill(pixels: Uint32Array, w: number, h: number, wx: number, wy: number, width: number, colour: number, priority: number, height = width): void {
    const v = this.viewport
    const x0 = Math.floor((wx - v.x) * v.scale)
    const y0 = Math.floor((wy - v.y) * v.scale)
    const least = priority === 3 ? 2 : 1
    const x1 = Math.max(x0 + least, Math.floor((wx + width - v.x) * v.scale))
    const y1 = Math.max(y0 + least, Math.floor((wy + height - v.y) * v.scale))
    const xa = Math.max(0, x0)
    const xb = Math.min(w, x1)
    for (let y = Math.max(0, y0); y < Math.min(h, y1); y++) {
      const row = y * w
      for (let x = xa; x < xb; x++) {
        if (this.priority[row + x]! > priority) continue
        this.priority[row + x] = priority
        pixels[row + x] = colour
      }
    }
  }

  private paint(layout: MapLayout, view: LiveTagView, pixels: Uint32Array, w: number, h: number): void {
    const v = this.viewport
    const col0 = Math.max(0, Math.floor(v.x / TILE))
    const col1 = Math.min(layout.pagesPerRow - 1, Math.floor((v.x + w / v.scale) / TILE))
    const row0 = Math.max(0, Math.floor(v.y / TILE))
    const row1 = Math.min(layout.pageRows - 1, Math.floor((v.y + h / v.scale) / TILE))
    const tags = this.tags
    for (let row = row0; row <= row1; row++) {
      for (let col = col0; col <= col1; col++) {
        const page = row * layout.pagesPerRow + col
        if (page >= layout.pageCount) break
        if (!view.isResident(page)) continue
        const px = col * TILE
        const py = row * TILE
        if (!view.readPageTags(page, tags)) {
          this.fill(pixels, w, h, px, py, TILE, UNTAGGED_WORD, 1)
          continue
        }
        for (let g = 0; g < 256; g++) {
          const tag = tags[g]!
          this.fill(pixels, w, h, px + (g & 15), py + (g >> 4), 1, TAG_WORDS[tag]!, tag === 0 ? 2 : 3)
        }
      }
    }
  }

  /** Page borders, granule grid and tag values when they are big enough to read; the pointer's granule. */
  private overlay(ctx: CanvasRenderingContext2D, layout: MapLayout): void {
    const v = this.viewport
    const w = this.canvas.width
    const h = this.canvas.height
    const toX = (wx: number): number => Math.round((wx - v.x) * v.scale) + 0.5
    const toY = (wy: number): number => Math.round((wy - v.y) * v.scale) + 0.5
    const line = (ax: number, ay: number, bx: number, by: number): void => {
      ctx.moveTo(ax, ay)
      ctx.lineTo(bx, by)
    }
    const x0 = Math.max(0, Math.floor(v.x))
    const x1 = Math.min(layout.width, Math.ceil(v.x + w / v.scale))
    const y0 = Math.max(0, Math.floor(v.y))
    const y1 = Math.min(layout.height, Math.ceil(v.y + h / v.scale))
    ctx.save()
    if (v.scale >= 6) {
      ctx.strokeStyle = 'rgba(0, 0, 0, 0.35)'
      ctx.lineWidth = 1
      ctx.beginPath()
      for (let x = x0; x <= x1; x++) line(toX(x), toY(y0), toX(x), toY(y1))
      for (let y = y0; y <= y1; y++) line(toX(x0), toY(y), toX(x1), toY(y))
      ctx.stroke()
    }
    if (v.scale * TILE >= 20) {
      ctx.strokeStyle = 'rgba(255, 255, 255, 0.28)'
      ctx.lineWidth = 1
      ctx.beginPath()
      for (let x = x0 - (x0 % TILE); x <= x1; x += TILE) line(toX(x), toY(y0), toX(x), toY(y1))
      for (let y = y0 - (y0 % TILE); y <= y1; y += TILE) line(toX(x0), toY(y), toX(x1), toY(y))
      ctx.stroke()
    }
    const view = this.view
    if (view && v.scale >= 16) {
      ctx.font = `${Math.min(16, Math.floor(v.scale * 0.5))}px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace`
      ctx.textAlign = 'center'
      ctx.textBaseline = 'middle'
      for (let y = y0; y < y1; y++) {
        for (let x = x0; x < x1; x++) {
          const gpa = layout.addressAt(x, y)
          if (gpa === undefined) continue
          const page = Math.floor((gpa - layout.ramBase) / PAGE)
          if (!view.isTagged(page)) continue
          const tag = view.tagAt(gpa)
          ctx.fillStyle = tag === 0 ? 'rgba(255, 255, 255, 0.55)' : 'rgba(10, 12, 18, 0.85)'
          ctx.fillText(tag.toString(16), (x + 0.5 - v.x) * v.scale, (y + 0.5 - v.y) * v.scale)
        }
      }
    }
    // Addresses down the left edge: the first visible page of each labelled row of pages.
    let every = 1
    while (every * TILE * v.scale < 18) every *= 2
    const firstCol = Math.min(layout.pagesPerRow - 1, Math.max(0, Math.floor(v.x / TILE)))
    ctx.font = '11px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace'
    ctx.textAlign = 'left'
    ctx.textBaseline = 'top'
    for (let row = Math.max(0, Math.floor(v.y / TILE)); row < layout.pageRows && (row * TILE - v.y) * v.scale < h; row++) {
      if (row % every !== 0) continue
      const top = (row * TILE - v.y) * v.scale
      // A row that starts above the view is labelled at the top edge, unless the next label is too close.
      if (top < 0 && ((row + every) * TILE - v.y) * v.scale < 16) continue
      const y = Math.max(0, top)
      const page = row * layout.pagesPerRow + firstCol
      if (page >= layout.pageCount) continue
      const text = `0x${(layout.ramBase + page * PAGE).toString(16)}`
      ctx.fillStyle = 'rgba(11, 14, 20, 0.72)'
      ctx.fillRect(2, y + 1, ctx.measureText(text).width + 8, 14)
      ctx.fillStyle = 'rgba(216, 222, 233, 0.9)'
      ctx.fillText(text, 6, y + 2.5)
    }
    if (this.highlight) {
      const { x, y } = this.highlight
      const cell = v.scale >= 3 ? 1 : TILE
      const hx = cell === 1 ? Math.floor(x) : Math.floor(x / TILE) * TILE
      const hy = cell === 1 ? Math.floor(y) : Math.floor(y / TILE) * TILE
      ctx.strokeStyle = '#ffffff'
      ctx.lineWidth = 2
      ctx.strokeRect((hx - v.x) * v.scale, (hy - v.y) * v.scale, Math.max(3, cell * v.scale), Math.max(3, cell * v.scale))
    }
    ctx.restore()
  }
}
