/**
 * Tag maps of guest memory for `tagvm tags`: a terminal heat map and an HTML page, computed
 * from "tags per page" (a snapshot, or a machine's memory read through
 * KVM_ARM_MTE_COPY_TAGS), so they do not depend on where the tags come from.
 */
import { PAGE_SIZE, TAG_BYTES_PER_PAGE as GRANULES_PER_PAGE } from './memory/page.js'

/** A page and its tags, as a tag map reads them. */
export interface TagPage {
  readonly gpa: number
  /** 256 tags (one per 16-byte granule), or null when the page is not tagged. */
  readonly tags: Uint8Array | null
}

/** RAM and the pages that carry tags: what a tag map is drawn from. */
export interface TagMapInput {
  readonly ramBase: number
  readonly ramSize: number
  /** Pages that carry tags; pages not listed are untagged. */
  readonly pages: Iterable<TagPage>
}

/** One cell of a map: a run of pages. */
export interface TagCell {
  readonly gpa: number
  readonly pages: number
  readonly taggedPages: number
  /** Granules in the cell whose tag is not 0. */
  readonly nonZeroGranules: number
  /** Bit n set: tag n occurs in a tagged page of the cell. */
  readonly tagsPresent: number
}

/** Counts over all of RAM. */
export interface TagSummary {
  readonly totalPages: number
  readonly taggedPages: number
  /** Granules per tag value over tagged pages. */
  readonly histogram: readonly number[]
}

/** RAM grouped into cells for drawing. */
export interface TagGrid {
  readonly pagesPerCell: number
  readonly columns: number
  readonly cells: readonly TagCell[]
  readonly summary: TagSummary
}

/**
 * Groups RAM into cells of `pagesPerCell` pages (a power of two chosen so the map has at most
 * `maxRows` rows of `columns` cells) and counts tags per cell.
 */
export function tagGrid(input: TagMapInput, columns: number, maxRows: number): TagGrid {
  if (!Number.isInteger(columns) || columns < 1) throw new RangeError(`columns must be a positive integer, got ${columns}`)
  if (!Number.isInteger(maxRows) || maxRows < 1) throw new RangeError(`maxRows must be a positive integer, got ${maxRows}`)
  if (input.ramBase % PAGE_SIZE !== 0 || input.ramSize % PAGE_SIZE !== 0 || input.ramSize <= 0) throw new RangeError('RAM base and size must be whole pages')
  const totalPages = input.ramSize / PAGE_SIZE
  let pagesPerCell = 1
  while (Math.ceil(totalPages / pagesPerCell) > columns * maxRows) pagesPerCell *= 2
  const cellCount = Math.ceil(totalPages / pagesPerCell)
  const tagged = new Uint32Array(cellCount)
  const nonZero = new Float64Array(cellCount)
  const present = new Uint16Array(cellCount)
  const histogram = new Array<number>(16).fill(0)
  let taggedPages = 0
  const seen = new Set<number>()
  for (const page of input.pages) {
    const index = (page.gpa - input.ramBase) / PAGE_SIZE
    if (!Number.isInteger(index) || index < 0 || index >= totalPages) throw new RangeError(`page 0x${page.gpa.toString(16)} is not a page of RAM`)
    if (seen.has(index)) throw new RangeError(`page 0x${page.gpa.toString(16)} listed twice`)
    seen.add(index)
    if (!page.tags) continue
    if (page.tags.length !== GRANULES_PER_PAGE) throw new RangeError(`page 0x${page.gpa.toString(16)}: ${page.tags.length} tags, expected ${GRANULES_PER_PAGE}`)
    const cell = Math.floor(index / pagesPerCell)
    taggedPages++
    tagged[cell]!++
    for (const t of page.tags) {
      if (t > 15) throw new RangeError(`page 0x${page.gpa.toString(16)}: tag ${t} is not 4-bit`)
      histogram[t]!++
      if (t !== 0) nonZero[cell]!++
      present[cell]! |= 1 << t
    }
  }
  const cells: TagCell[] = []
  for (let c = 0; c < cellCount; c++) {
    cells.push({
      gpa: input.ramBase + c * pagesPerCell * PAGE_SIZE,
      pages: Math.min(pagesPerCell, totalPages - c * pagesPerCell),
      taggedPages: tagged[c]!,
      nonZeroGranules: nonZero[c]!,
      tagsPresent: present[c]!,
    })
  }
  return { pagesPerCell, columns, cells, summary: { totalPages, taggedPages, histogram } }
}

/** Share of a cell's granules with a non-zero tag, 0..1. */
export function cellDensity(cell: TagCell): number {
  return cell.nonZeroGranules / (cell.pages * GRANULES_PER_PAGE)
}

const SHADES = ['.', '-', '+', '*', '#', '@'] // tagged, then rising share of non-zero tags
const ANSI_SHADES = [24, 31, 37, 179, 208, 196] // 256-colour backgrounds, same order

function shadeIndex(cell: TagCell): number {
  if (cell.nonZeroGranules === 0) return 0
  return 1 + Math.min(SHADES.length - 2, Math.floor(cellDensity(cell) * (SHADES.length - 1)))
}

function sizeText(bytes: number): string {
  return bytes >= 1 << 20 ? `${(bytes / (1 << 20)).toFixed(bytes % (1 << 20) ? 1 : 0)} MiB` : `${bytes / 1024} KiB`
}

function summaryLines(grid: TagGrid): string[] {
  const s = grid.summary
  const granules = s.taggedPages * GRANULES_PER_PAGE
  const hist = s.histogram.map((n, t) => `${t.toString(16)}:${n}`).join(' ')
  return [
    `tagged pages: ${s.taggedPages} of ${s.totalPages} (${sizeText(s.taggedPages * PAGE_SIZE)}), ${granules} granules, ${granules - s.histogram[0]!} with a non-zero tag`,
    `tag histogram: ${hist}`,
  ]
}

/**
 * The terminal heat map, `columns` wide (at least 21): one character per cell, a row label with the row's first address.
 * ' ' untagged, '.' tagged with all tags 0, '-' '+' '*' '#' '@' rising share of non-zero tags.
 * With `color`, cells are drawn as ANSI 256-colour backgrounds instead.
 */
export function renderTerminalTagMap(input: TagMapInput, options: { readonly columns?: number; readonly maxRows?: number; readonly color?: boolean } = {}): string {
  // each row: 10 hex digits, ' |', the cells, '|'
  const columns = Math.max(8, (options.columns ?? 80) - 13)
  const grid = tagGrid(input, columns, options.maxRows ?? 32)
  const lines = [`tag map: ${sizeText(grid.pagesPerCell * PAGE_SIZE)} per cell; ' ' untagged, '.' tags all 0, ${SHADES.slice(1).map((c) => `'${c}'`).join(' ')} more non-zero tags`]
  for (let row = 0; row * columns < grid.cells.length; row++) {
    const cells = grid.cells.slice(row * columns, (row + 1) * columns)
    const body = cells
      .map((c) => {
        if (c.taggedPages === 0) return ' '
        const i = shadeIndex(c)
        return options.color ? `\x1b[48;5;${ANSI_SHADES[i]}m \x1b[0m` : SHADES[i]!
      })
      .join('')
    lines.push(`${cells[0]!.gpa.toString(16).padStart(10, '0')} |${body}|`)
  }
  lines.push(...summaryLines(grid))
  return `${lines.join('\n')}\n`
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

/** A self-contained HTML page: the same grid, one square per cell with its details on hover. */
export function renderHtmlTagMap(input: TagMapInput, options: { readonly title?: string; readonly columns?: number; readonly maxRows?: number } = {}): string {
  const columns = options.columns ?? 128
  const grid = tagGrid(input, columns, options.maxRows ?? 512)
  const colours = ['#cfe3f7', '#fde0c5', '#f9b384', '#f5844c', '#e4512b', '#b01c1c']
  const title = escapeHtml(options.title ?? 'tagvm tag map')
  const cells = grid.cells
    .map((c) => {
      const detail = `0x${c.gpa.toString(16)}: ${c.taggedPages}/${c.pages} pages tagged, ${c.nonZeroGranules} non-zero granules, tags {${[...Array(16).keys()].filter((t) => c.tagsPresent & (1 << t)).map((t) => t.toString(16)).join(',')}}`
      const cls = c.taggedPages === 0 ? 'u' : `s${shadeIndex(c)}`
      return `<i class="${cls}" title="${escapeHtml(detail)}"></i>`
    })
    .join('')
  const histogram = grid.summary.histogram.map((n, t) => `<tr><td>${t.toString(16)}</td><td>${n}</td></tr>`).join('')
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title}</title>
<style>
body{font:14px system-ui,sans-serif;margin:1.5em}
.map{display:grid;grid-template-columns:repeat(${columns},8px);gap:1px;background:#fff}
.map i{display:block;width:8px;height:8px}
.u{background:#eee}${colours.map((c, i) => `.s${i}{background:${c}}`).join('')}
table{border-collapse:collapse;margin-top:1em}td{border:1px solid #ccc;padding:2px 8px;text-align:right}
</style></head><body>
<h1>${title}</h1>
<p>RAM 0x${input.ramBase.toString(16)}–0x${(input.ramBase + input.ramSize).toString(16)}, ${sizeText(grid.pagesPerCell * PAGE_SIZE)} per square, ${columns} squares per row. Grey: untagged; blue: tagged, all tags 0; orange to red: rising share of non-zero tags. Hover for details.</p>
<div class="map">${cells}</div>
<p>${summaryLines(grid).map(escapeHtml).join('<br>')}</p>
<table><tr><th>tag</th><th>granules</th></tr>${histogram}</table>
</body></html>
`
}
