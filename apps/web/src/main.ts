/**
 * The page: starts the machine's worker, shows its console in a terminal, draws the live tag
 * map from shared memory, and wires the buttons. `window.tagvm` exposes what the page shows,
 * read-only, for tests and for the curious (`tagvm.consoleText()` in the devtools console).
 */
import '@xterm/xterm/css/xterm.css'
import './style.css'
import { FitAddon } from '@xterm/addon-fit'
import { Terminal } from '@xterm/xterm'
import { LiveTagView, type MachineConfig } from '@tagvm/machine'
import helloUrl from '../../../guests/hello/hello.elf?url'
import mteDemoUrl from '../../../guests/mte-demo/mte-demo.elf?url'
import tagWorkloadUrl from '../../../guests/tag-workload/tag-workload.elf?url'
import type { Command, CpuView, Report, RunState } from './protocol.js'
import { EMPTY_COLOUR, TAG_COLOURS, TagMapCanvas, UNTAGGED_COLOUR, mapStats, type MapStats } from './tagmap.js'

const GUESTS: Record<string, string> = { hello: helloUrl, 'mte-demo': mteDemoUrl, 'tag-workload': tagWorkloadUrl }

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const element = document.getElementById(id)
  if (!element) throw new Error(`the page has no #${id}`)
  return element as T
}
const hex = (n: number, width = 0): string => `0x${n.toString(16).padStart(width, '0')}`

// ---- what the page knows -------------------------------------------------------------------

interface PageState {
  state: RunState
  guest: string
  config: MachineConfig | undefined
  retired: number
  ips: number
  runMs: number
  stop: string | undefined
  inputWaiting: number
  cpu: CpuView | undefined
  errors: string[]
  notes: string[]
  snapshots: number
  /** Machines made so far (each boot or restore makes one). */
  machines: number
}

const page: PageState = { state: 'empty', guest: '', config: undefined, retired: 0, ips: 0, runMs: 0, stop: undefined, inputWaiting: 0, cpu: undefined, errors: [], notes: [], snapshots: 0, machines: 0 }
let consoleBytes: Uint8Array[] = []
let consoleLength = 0

// ---- the isolation check: without it there is no SharedArrayBuffer ------------------------

const message = $('message')
function showMessage(text: string, kind: 'error' | 'info' = 'error'): void {
  message.textContent = text
  message.dataset.kind = kind
  message.hidden = false
}
function clearMessage(): void {
  message.hidden = true
  message.textContent = ''
}

if (!globalThis.crossOriginIsolated) {
  showMessage(
    'This page is not cross-origin isolated, so the browser withholds SharedArrayBuffer and the machine cannot start. Serve it with the headers ' +
      '"Cross-Origin-Opener-Policy: same-origin" and "Cross-Origin-Embedder-Policy: require-corp" (see apps/web/README.md).',
  )
}

// ---- terminal ------------------------------------------------------------------------------

const terminal = new Terminal({
  convertEol: true, // the guests print \n; the terminal needs \r\n
  cursorBlink: true,
  fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", monospace',
  fontSize: 12.5,
  scrollback: 5000,
  theme: { background: '#0d1017', foreground: '#d8dee9', cursor: '#88c0d0', selectionBackground: '#3b4252' },
})
const fit = new FitAddon()
terminal.loadAddon(fit)
terminal.open($('terminal'))
fit.fit()
new ResizeObserver(() => fit.fit()).observe($('terminal'))
terminal.writeln('\x1b[2mChoose a guest above. Keys typed here go to the guest\'s UART.\x1b[0m')

// ---- worker --------------------------------------------------------------------------------

const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'tagvm machine' })
function send(command: Command, transfer: Transferable[] = []): void {
  worker.postMessage(command, transfer)
}
terminal.onData((data) => {
  if (page.state === 'empty') return
  send({ type: 'input', bytes: new TextEncoder().encode(data) })
})

// ---- tag map -------------------------------------------------------------------------------

const canvas = $<HTMLCanvasElement>('map')
const map = new TagMapCanvas(canvas)
let stats: MapStats | undefined
let mapDirty = true
let lastDraw = 0
let lastStats = 0

function sizeCanvas(): void {
  const rect = canvas.getBoundingClientRect()
  const ratio = window.devicePixelRatio || 1
  const width = Math.max(1, Math.round(rect.width * ratio))
  const height = Math.max(1, Math.round(rect.height * ratio))
  if (canvas.width === width && canvas.height === height) return
  canvas.width = width
  canvas.height = height
  map.fitAll()
  mapDirty = true
}
new ResizeObserver(sizeCanvas).observe(canvas)
sizeCanvas()

const legend = $('legend')
legend.innerHTML =
  TAG_COLOURS.map((colour, tag) => `<span class="swatch" title="tag ${tag.toString(16)}"><i style="background:${colour}"></i>${tag.toString(16)}</span>`).join('') +
  `<span class="swatch wide"><i style="background:${UNTAGGED_COLOUR}"></i>untagged</span><span class="swatch wide"><i style="background:${EMPTY_COLOUR}"></i>untouched</span>`

function renderStats(): void {
  const view = map.attached
  const box = $('map-stats')
  if (!view) {
    box.textContent = ''
    return
  }
  stats = mapStats(view)
  const nonZero = stats.histogram.slice(1).reduce((a, b) => a + b, 0)
  const max = Math.max(1, ...stats.histogram.slice(1))
  const bars = stats.histogram
    .map((n, tag) => (tag === 0 ? '' : `<i title="tag ${tag.toString(16)}: ${n} granules" style="height:${n === 0 ? 0 : Math.max(2, Math.round((n / max) * 28))}px;background:${TAG_COLOURS[tag]}"></i>`))
    .join('')
  box.innerHTML =
    `<span><b>${stats.resident.toLocaleString('en')}</b> of ${stats.pages.toLocaleString('en')} pages touched</span>` +
    `<span title="pages whose frame holds valid tags (PG_mte_tagged): KVM gives every page a tagged guest maps its tags, zeroed"><b>${stats.tagged.toLocaleString('en')}</b> with tags</span>` +
    `<span><b>${nonZero.toLocaleString('en')}</b> granules with a non-zero tag</span>` +
    `<span class="histogram" title="granules per tag value (1..f)">${bars}</span>`
}

function visibleRange(): string {
  const layout = map.mapLayout
  if (!layout) return ''
  const v = map.viewport
  const first = layout.addressAt(Math.max(0, v.x), Math.max(0, v.y)) ?? layout.ramBase
  const granulesAcross = canvas.width / v.scale
  const zoom = v.scale >= 1 ? `${v.scale.toFixed(v.scale >= 10 ? 0 : 1)} px per granule` : `${(1 / v.scale).toFixed(1)} granules per px`
  return granulesAcross <= 16 * 1.2 ? `page ${hex(first - (first % 4096))} · ${zoom}` : `from ${hex(first)} · ${zoom}`
}

function frame(time: number): void {
  // Live while running (10 frames a second is plenty and leaves the cores to the guest).
  if (mapDirty || (page.state === 'running' && time - lastDraw > 100)) {
    map.draw()
    $('map-range').textContent = visibleRange()
    lastDraw = time
    mapDirty = false
  }
  if (map.attached && (time - lastStats > 400 || !stats)) {
    if (page.state === 'running' || !stats) renderStats()
    lastStats = time
  }
  requestAnimationFrame(frame)
}
requestAnimationFrame(frame)

// Pointer: hover shows the granule, wheel zooms, drag pans, double-click zooms in.
let drag: { x: number; y: number } | undefined
const ratio = (): number => window.devicePixelRatio || 1
function canvasPoint(event: MouseEvent): { x: number; y: number } {
  const rect = canvas.getBoundingClientRect()
  return { x: (event.clientX - rect.left) * ratio(), y: (event.clientY - rect.top) * ratio() }
}
function describePoint(x: number, y: number): void {
  const point = map.pointAt(x, y)
  const hover = $('map-hover')
  const v = map.viewport
  map.highlight = point ? { x: v.x + x / v.scale, y: v.y + y / v.scale } : undefined
  mapDirty = true
  if (!point) {
    hover.textContent = 'Outside guest RAM.'
    return
  }
  const pageAddr = point.gpa - (point.gpa % 4096)
  const granule = (point.gpa % 4096) / 16
  const state =
    point.state === 'tagged'
      ? `tag <b class="tag" style="background:${TAG_COLOURS[point.tag]}">${point.tag.toString(16)}</b>`
      : point.state === 'untagged'
        ? 'untagged page (tags read as 0)'
        : 'untouched page (no host memory yet)'
  hover.innerHTML = `granule <code>${hex(point.gpa, 8)}</code>–<code>${hex(point.gpa + 15, 8)}</code> · ${state} · page <code>${hex(pageAddr, 8)}</code>, granule ${granule} of 256`
}
canvas.addEventListener('mousemove', (event) => {
  const p = canvasPoint(event)
  if (drag) {
    map.panBy(p.x - drag.x, p.y - drag.y)
    drag = p
  }
  describePoint(p.x, p.y)
})
canvas.addEventListener('mousedown', (event) => (drag = canvasPoint(event)))
window.addEventListener('mouseup', () => (drag = undefined))
canvas.addEventListener('mouseleave', () => {
  map.highlight = undefined
  mapDirty = true
})
canvas.addEventListener(
  'wheel',
  (event) => {
    event.preventDefault()
    const p = canvasPoint(event)
    map.zoomAt(p.x, p.y, Math.exp(-event.deltaY * 0.0015))
    describePoint(p.x, p.y)
  },
  { passive: false },
)
canvas.addEventListener('dblclick', (event) => {
  const p = canvasPoint(event)
  map.zoomAt(p.x, p.y, 4)
  mapDirty = true
})
$('map-all').addEventListener('click', () => ((mapDirty = true), map.fitAll()))
$('map-tagged').addEventListener('click', () => {
  mapDirty = true
  if (!map.fitTagged()) showMessage('No page of guest RAM holds a non-zero tag yet.', 'info')
})
$('map-in').addEventListener('click', () => ((mapDirty = true), map.zoomAt(canvas.width / 2, canvas.height / 2, 2)))
$('map-out').addEventListener('click', () => ((mapDirty = true), map.zoomAt(canvas.width / 2, canvas.height / 2, 0.5)))
$('map-goto').addEventListener('submit', (event) => {
  event.preventDefault()
  const text = $<HTMLInputElement>('map-address').value.trim().replace(/_/g, '')
  const gpa = /^(0x)?[0-9a-f]+$/i.test(text) ? parseInt(text.replace(/^0x/i, ''), 16) : NaN
  if (!map.showPage(gpa)) showMessage(`${text || '(nothing)'} is not an address in guest RAM${page.config ? ` (${hex(page.config.ramBase)}..${hex(page.config.ramBase + page.config.ramSize - 1)})` : ''}`)
  else clearMessage()
  mapDirty = true
})

// ---- status, debugger ----------------------------------------------------------------------

const STATE_TEXT: Record<RunState, string> = { empty: 'no guest', running: 'running', paused: 'paused', stopped: 'stopped' }

function renderStatus(): void {
  $('status').dataset.state = page.state
  $('status-state').textContent = STATE_TEXT[page.state]
  $('status-guest').textContent = page.guest
  $('status-retired').textContent = page.state === 'empty' ? '' : `${page.retired.toLocaleString('en')} instructions`
  $('status-speed').textContent = page.state === 'running' && page.ips > 0 ? `${(page.ips / 1e6).toFixed(1)} MIPS` : page.state === 'stopped' ? (page.stop ?? '') : ''
  const running = page.state === 'running'
  const paused = page.state === 'paused'
  $<HTMLButtonElement>('pause').disabled = !running
  $<HTMLButtonElement>('continue').disabled = !paused
  $<HTMLButtonElement>('step').disabled = !(running || paused)
  $<HTMLButtonElement>('save').disabled = !(running || paused)
  $('debug-note').textContent = running ? 'running: pause to inspect' : paused ? `paused at ${page.retired.toLocaleString('en')} instructions` : page.state === 'stopped' ? (page.stop ?? 'stopped') : 'no guest'
  document.body.classList.toggle('is-running', running)
}

function renderCpu(cpu: CpuView): void {
  const escape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;')
  $('disasm').innerHTML = cpu.disassembly
    .map((line) => {
      const label = line.symbol && !line.symbol.includes('+') ? `<li class="label">&lt;${escape(line.symbol)}&gt;:</li>` : ''
      return `${label}<li${line.current ? ' class="current" aria-current="true"' : ''}><span class="addr">${line.address.replace(/^0{8}/, '')}</span><span class="word">${line.word}</span><span class="text">${escape(line.text)}</span></li>`
    })
    .join('')
  const regs = (list: CpuView['registers']): string => list.map((r) => `<div${r.changed ? ' class="changed"' : ''}><dt>${r.name}</dt><dd>${r.value}</dd></div>`).join('')
  $('registers').innerHTML = `<div class="pc"><dt>pc</dt><dd>${cpu.pc}</dd></div>` + regs(cpu.registers)
  $('sysregs').innerHTML = regs(cpu.system)
  $('pstate').textContent = cpu.pstate
}

function download(name: string, bytes: Uint8Array): void {
  const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }))
  const link = document.createElement('a')
  link.href = url
  link.download = name
  document.body.append(link)
  link.click()
  link.remove()
  setTimeout(() => URL.revokeObjectURL(url), 60_000)
}

worker.onmessage = (event: MessageEvent<Report>) => {
  const report = event.data
  switch (report.type) {
    case 'machine':
      // Everything about the old machine goes; its status must not show against the new one.
      page.machines++
      page.guest = report.name
      page.config = report.config
      page.cpu = undefined
      page.stop = undefined
      page.state = report.state
      page.retired = report.retired
      page.ips = 0
      page.runMs = 0
      page.inputWaiting = 0
      consoleBytes = []
      consoleLength = 0
      terminal.reset()
      map.attach(new LiveTagView(report.tags))
      stats = undefined
      mapDirty = true
      clearMessage()
      renderStatus()
      return
    case 'console':
      consoleBytes.push(report.bytes)
      consoleLength += report.bytes.length
      terminal.write(report.bytes)
      return
    case 'status':
      page.state = report.state
      page.retired = report.retired
      page.ips = report.ips
      page.runMs = report.runMs
      page.stop = report.stop
      page.inputWaiting = report.inputWaiting
      renderStatus()
      if (report.state !== 'running') {
        mapDirty = true
        renderStats()
      }
      return
    case 'cpu':
      page.cpu = report.cpu
      renderCpu(report.cpu)
      return
    case 'snapshot':
      page.snapshots++
      download(report.name, report.bytes)
      return
    case 'error':
      page.errors.push(report.message)
      showMessage(report.message)
      return
    case 'note':
      page.notes.push(report.text)
      return
  }
}
worker.onerror = (event) => {
  page.errors.push(event.message)
  showMessage(`The machine's worker failed: ${event.message}`)
}

// ---- buttons -------------------------------------------------------------------------------

async function bootFrom(name: string, bytes: Promise<ArrayBuffer>): Promise<void> {
  try {
    const data = new Uint8Array(await bytes)
    send({ type: 'boot', name, bytes: data }, [data.buffer])
    terminal.focus()
  } catch (error) {
    showMessage(`Cannot read ${name}: ${error instanceof Error ? error.message : String(error)}`)
  }
}

for (const button of document.querySelectorAll<HTMLButtonElement>('[data-guest]')) {
  const guest = button.dataset.guest!
  button.addEventListener('click', () => void bootFrom(`${guest}.elf`, fetch(GUESTS[guest]!).then((r) => (r.ok ? r.arrayBuffer() : Promise.reject(new Error(`HTTP ${r.status}`))))))
}
$<HTMLInputElement>('elf-file').addEventListener('change', (event) => {
  const input = event.target as HTMLInputElement
  const file = input.files?.[0]
  if (file) void bootFrom(file.name, file.arrayBuffer())
  input.value = ''
})
$<HTMLInputElement>('snapshot-file').addEventListener('change', (event) => {
  const input = event.target as HTMLInputElement
  const file = input.files?.[0]
  input.value = ''
  if (!file) return
  void file.arrayBuffer().then((buffer) => send({ type: 'restore', name: file.name, bytes: new Uint8Array(buffer) }, [buffer]))
})
$('pause').addEventListener('click', () => send({ type: 'pause' }))
$('continue').addEventListener('click', () => (send({ type: 'continue' }), terminal.focus()))
$('step').addEventListener('click', () => send({ type: 'step', count: Number($<HTMLSelectElement>('step-count').value) }))
$('save').addEventListener('click', () => send({ type: 'snapshot' }))
renderStatus()

// ---- window.tagvm: what the page shows, for tests and the devtools console ------------------

const inspector = {
  /** Everything the guest has written to its console since it was booted or restored (Latin-1). */
  consoleText(): string {
    let text = ''
    for (const chunk of consoleBytes) for (const byte of chunk) text += String.fromCharCode(byte)
    return text
  },
  consoleLength: (): number => consoleLength,
  status: () => ({ state: page.state, guest: page.guest, retired: page.retired, ips: page.ips, runMs: page.runMs, stop: page.stop, inputWaiting: page.inputWaiting, snapshots: page.snapshots, machines: page.machines }),
  errors: (): readonly string[] => page.errors,
  notes: (): readonly string[] => page.notes,
  cpu: (): CpuView | undefined => page.cpu,
  /** The allocation tag the map shows for the granule at `gpa`. */
  tagAt: (gpa: number): number | undefined => map.attached?.tagAt(gpa),
  stats: (): MapStats | undefined => (map.attached ? mapStats(map.attached) : undefined),
  /** Zooms the map to the page holding `gpa` and draws it now. */
  showPage(gpa: number): boolean {
    const shown = map.showPage(gpa)
    map.draw()
    return shown
  },
  showTagged(): boolean {
    const shown = map.fitTagged()
    map.draw()
    return shown
  },
  showAll(): void {
    map.fitAll()
    map.draw()
  },
  /** Canvas pixel (device pixels) of the granule holding `gpa`: its centre, or `fx`, `fy` of the way across and down. */
  canvasPointOf: (gpa: number, fx?: number, fy?: number) => map.canvasPointOf(gpa, fx, fy),
  /** The RGBA of a canvas pixel as drawn. */
  pixel(x: number, y: number): number[] {
    return [...canvas.getContext('2d')!.getImageData(Math.floor(x), Math.floor(y), 1, 1).data]
  },
  tagColours: TAG_COLOURS,
}
declare global {
  interface Window {
    tagvm: typeof inspector
  }
}
window.tagvm = inspector
