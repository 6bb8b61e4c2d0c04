// The built page in a real browser: Debian's Chromium (headless) driven by playwright-core,
// loading the static files `vite build` writes, served with the isolation headers. Chromium
// must be installed (.ci/run installs it); without it this test fails, it never skips.
import { createHash } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { buildPage, chromiumMissing, launchChromium, type Chromium } from './chromium.js'
import { serveStatic, type StaticServer } from './serve.js'

const root = fileURLToPath(new URL('../', import.meta.url))
const guests = fileURLToPath(new URL('../../../guests/', import.meta.url))
/** The README's picture: rewritten only with TAGVM_UPDATE_SCREENSHOT=1 (Chromium's PNG bytes differ run to run, so a plain test run must not dirty the tree). */
export const SCREENSHOT = join(root, 'docs', 'mte-demo.png')
const recorded = (name: string): string => readFileSync(join(guests, name, 'qemu.out'), 'latin1')

let outDir = ''
let server: StaticServer | undefined
let browser: Chromium | undefined
let page: Page
/** Uncaught errors and console errors in the page or its worker: any is a failure. */
const pageErrors: string[] = []
/** Requests for anything but the built files: the page must work offline. */
const foreignRequests: string[] = []

beforeAll(async () => {
  const missing = chromiumMissing()
  if (missing) throw new Error(missing)
  outDir = mkdtempSync(join(tmpdir(), 'tagvm-web-'))
  await buildPage(root, outDir)
  server = await serveStatic(outDir)
  browser = await launchChromium()
  page = await browser.context.newPage()
  page.on('pageerror', (error) => pageErrors.push(`page: ${error.message}`))
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(`console: ${message.text()}`)
  })
  page.on('request', (request) => {
    const url = request.url()
    if (!url.startsWith(server!.url) && !url.startsWith('blob:') && !url.startsWith('data:')) foreignRequests.push(url)
  })
  page.on('worker', (worker) => worker.on('console', (message) => message.type() === 'error' && pageErrors.push(`worker: ${message.text()}`)))
  await page.goto(server.url)
})

afterAll(async () => {
  await browser?.close()
  await server?.close()
  if (outDir) rmSync(outDir, { recursive: true, force: true })
})

/** Waits until the page's status is `state` (the worker reports it). */
async function waitForState(state: string): Promise<void> {
  await page.waitForFunction((want) => window.tagvm.status().state === want, state, { polling: 50 })
}

/**
 * The page's pixel in the granule holding `gpa` (near its top-left corner, clear of the grid
 * and of the tag's digit drawn in the middle when zoomed in), and the colour of `tag`, as RGBA.
 */
async function pixelAndColour(gpa: number, tag: number): Promise<{ pixel: number[]; colour: number[] }> {
  return page.evaluate(
    ({ gpa, tag }) => {
      const at = window.tagvm.canvasPointOf(gpa, 0.25, 0.25)
      if (!at) throw new Error(`0x${gpa.toString(16)} is not on the map`)
      const colour = [...(window.tagvm.tagColours[tag]!.match(/\d+/g) ?? []).map(Number), 255]
      return { pixel: window.tagvm.pixel(at.x, at.y), colour }
    },
    { gpa, tag },
  )
}

test('the page is served cross-origin isolated, so the machine gets SharedArrayBuffer', async () => {
  expect(await page.evaluate(() => crossOriginIsolated)).toBe(true)
  expect(await page.locator('#message').isHidden()).toBe(true)
  expect(await page.evaluate(() => window.tagvm.status().state)).toBe('empty')
})

test('the MTE demo runs in the worker: console byte for byte as QEMU printed it, and the tag map shows the heap tags', async () => {
  await page.click('button[data-guest="mte-demo"]')
  await waitForState('stopped')
  const status = await page.evaluate(() => window.tagvm.status())
  expect(status).toMatchObject({ guest: 'mte-demo.elf', stop: 'the guest powered off (PSCI SYSTEM_OFF)' })
  expect(await page.evaluate(() => window.tagvm.consoleText())).toBe(recorded('mte-demo'))
  // What a person sees: the terminal's last line and the status bar.
  await expect.poll(() => page.locator('#terminal').innerText()).toContain('Summary: 2 of 2 bugs caught by MTE')
  expect(await page.locator('#status-state').innerText()).toBe('stopped')

  // The demo's heap, read from the shared tag storage: a (freed, retagged 7), b (4), c (5),
  // two granules each; the granule after c was never tagged by the guest (tag 0).
  const tags = await page.evaluate(() => [0x4021_0000, 0x4021_0010, 0x4021_0020, 0x4021_0030, 0x4021_0040, 0x4021_0050, 0x4021_0060].map((a) => window.tagvm.tagAt(a)))
  expect(tags).toEqual([7, 7, 4, 4, 5, 5, 0])
  const stats = (await page.evaluate(() => window.tagvm.stats()))!
  expect(stats.tagged).toBeGreaterThan(0)
  expect(stats.histogram[7]).toBe(2)
  expect(stats.histogram[4]).toBe(2)
  expect(stats.histogram[5]).toBe(2)
  expect(stats.histogram.slice(1).reduce((a, b) => a + b, 0)).toBe(6)

  // The canvas: zoomed to the demo's heap, each granule is drawn in its tag's colour.
  expect(await page.evaluate(() => window.tagvm.showPage(0x4021_0000))).toBe(true)
  for (const [gpa, tag] of [
    [0x4021_0000, 7],
    [0x4021_0020, 4],
    [0x4021_0040, 5],
    [0x4021_0060, 0],
  ] as const) {
    const { pixel, colour } = await pixelAndColour(gpa, tag)
    expect(pixel, `granule 0x${gpa.toString(16)}`).toEqual(colour)
  }
  // All of RAM (a granule is a fraction of a pixel): the heap's pixel still shows a set tag's
  // colour, not the colour of the zero tags around it (set tags are drawn at least 2 × 2 pixels).
  await page.evaluate(() => window.tagvm.showAll())
  const wholeMap = await Promise.all([7, 4, 5].map((tag) => pixelAndColour(0x4021_0020, tag)))
  expect(wholeMap.map((m) => m.colour)).toContainEqual(wholeMap[0]!.pixel)

  // The debugger panel shows where the guest stopped.
  const cpu = (await page.evaluate(() => window.tagvm.cpu()))!
  expect(cpu.disassembly.some((line) => line.current)).toBe(true)
  expect(cpu.system.find((r) => r.name === 'GCR_EL1')).toBeDefined()

  // The README's picture: the map zoomed to the tagged heap, hovering over b's first granule.
  await page.click('#map-tagged')
  const b = (await page.evaluate(() => window.tagvm.canvasPointOf(0x4021_0020)))!
  const box = (await page.locator('#map').boundingBox())!
  await page.mouse.move(box.x + b.x, box.y + b.y)
  await expect.poll(() => page.locator('#map-hover').innerText()).toContain('tag 4')
  mkdirSync(join(root, 'docs'), { recursive: true })
  const shot = process.env['TAGVM_UPDATE_SCREENSHOT'] === '1' ? SCREENSHOT : join(outDir, 'mte-demo.png')
  await page.screenshot({ path: shot, animations: 'disabled', caret: 'hide' })
  expect(readFileSync(shot).subarray(1, 4).toString('latin1')).toBe('PNG')
  expect(pageErrors).toEqual([])
})

test('tags appear on the map while the guest runs; pause, step and continue work from the buttons', async () => {
  await page.click('button[data-guest="tag-workload"]')
  await waitForState('running')
  // Read from the page thread while the worker runs the guest: the workload tags 4 MiB.
  const live = await page.waitForFunction(
    () => {
      const status = window.tagvm.status()
      const stats = window.tagvm.stats()
      const nonZero = stats ? stats.histogram.slice(1).reduce((a, b) => a + b, 0) : 0
      return status.state === 'running' && nonZero > 10_000 ? { nonZero, retired: status.retired } : false
    },
    undefined,
    { polling: 50 },
  )
  const seen = (await live.jsonValue()) as { nonZero: number; retired: number }
  expect(seen.nonZero).toBeGreaterThan(10_000)
  await page.click('#pause')
  await waitForState('paused')
  const paused = await page.evaluate(() => window.tagvm.status())
  expect(paused.retired).toBeGreaterThan(0)
  expect(paused.runMs).toBeGreaterThan(0)
  expect(await page.locator('#disasm li.current').count()).toBe(1)
  const pcBefore = (await page.evaluate(() => window.tagvm.cpu()))!.pc

  // Step 10 instructions: exactly 10 retire and the PC moves.
  await page.selectOption('#step-count', '10')
  await page.click('#step')
  await page.waitForFunction((before) => window.tagvm.status().retired === before + 10, paused.retired, { polling: 50 })
  await expect.poll(async () => (await page.evaluate(() => window.tagvm.cpu()))!.pc).not.toBe(pcBefore)
  // Paused, the map stays as the guest left it; continuing tags more.
  const atPause = (await page.evaluate(() => window.tagvm.stats()))!
  await page.click('#continue')
  await waitForState('running')
  await page.waitForFunction((before) => window.tagvm.status().retired > before + 5_000_000, paused.retired, { polling: 50 })
  await page.click('#pause')
  await waitForState('paused')
  const later = (await page.evaluate(() => window.tagvm.stats()))!
  expect(later.resident).toBeGreaterThanOrEqual(atPause.resident)
  expect(await page.evaluate(() => window.tagvm.consoleText())).toContain('tag-workload: deterministic MTE tagging workload')
  expect(recorded('tag-workload').startsWith(await page.evaluate(() => window.tagvm.consoleText()))).toBe(true)
  expect(pageErrors).toEqual([])
})

test('a snapshot downloads in the CLI format and restores with the same tags; a bad file gets a message and changes nothing', async () => {
  const atSave = (await page.evaluate(() => window.tagvm.stats()))!
  const download = page.waitForEvent('download')
  await page.click('#save')
  const file = await download
  expect(file.suggestedFilename()).toMatch(/^tag-workload-\d+\.snap$/)
  // Under its own name, as a user would keep it (a path, not bytes: Chromium reads it directly).
  const saved = join(outDir, file.suggestedFilename())
  await file.saveAs(saved)
  // The CLI's decoder reads it (with Node's SHA-256, as the CLI's file code passes it in).
  const { decodeSnapshot } = await import('@tagvm/machine')
  const sha256 = () => {
    const hash = createHash('sha256')
    return { update: (bytes: Uint8Array) => void hash.update(bytes), digest: () => new Uint8Array(hash.copy().digest()) }
  }
  const snapshot = decodeSnapshot(readFileSync(saved), file.suggestedFilename(), { sha256 })
  expect(snapshot.pages.some((p) => p.tags?.some((t) => t !== 0))).toBe(true)

  // Restored from the file (paused, on a new machine), the map shows the same set tags.
  await page.setInputFiles('#snapshot-file', saved)
  await page.waitForFunction((name) => window.tagvm.status().guest === name && window.tagvm.status().state === 'paused', file.suggestedFilename(), { polling: 50 })
  const restored = (await page.evaluate(() => window.tagvm.stats()))!
  expect(restored.histogram.slice(1)).toEqual(atSave.histogram.slice(1))
  expect(restored.histogram.slice(1).reduce((a, b) => a + b, 0)).toBeGreaterThan(10_000)

  const before = await page.evaluate(() => window.tagvm.status())
  await page.setInputFiles('#snapshot-file', { name: 'junk.snap', mimeType: 'application/octet-stream', buffer: Buffer.from('not a snapshot at all') })
  await expect.poll(() => page.locator('#message').innerText()).toContain('junk.snap')
  const after = await page.evaluate(() => window.tagvm.status())
  expect(after).toMatchObject({ state: before.state, guest: before.guest, retired: before.retired, machines: before.machines })
  expect(await page.evaluate(() => window.tagvm.errors().length)).toBe(1)
})

test('an ELF loaded from disk runs like a bundled one; nothing was fetched from outside the built files', async () => {
  await page.setInputFiles('#elf-file', join(guests, 'hello', 'hello.elf'))
  await page.waitForFunction(() => window.tagvm.status().guest === 'hello.elf' && window.tagvm.status().state === 'stopped', undefined, { polling: 50 })
  expect(await page.evaluate(() => window.tagvm.consoleText())).toBe(recorded('hello'))
  expect(await page.locator('#message').isHidden()).toBe(true) // a new machine clears the old message
  expect(foreignRequests).toEqual([])
  expect(pageErrors).toEqual([])
})
