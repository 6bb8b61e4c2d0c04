// The machine runs in a browser or Web Worker: its entry, with every workspace package it
// pulls in, must bundle for the browser without a single Node built-in, and its own code must
// not lean on Node's globals. Also: no value import cycles in this package or in devices.
import { build, type BuildOptions } from 'esbuild'
import { fileURLToPath } from 'node:url'
import { expect, test } from 'vitest'
import { valueImportCycles } from '../../../scripts/import-cycles.js'

const entry = fileURLToPath(new URL('./index.ts', import.meta.url))
const root = fileURLToPath(new URL('../../../', import.meta.url))

/** The entry bundled as a browser app would bundle it (workspace packages from source). */
const forBrowser: BuildOptions = { entryPoints: [entry], bundle: true, platform: 'browser', format: 'esm', conditions: ['source'], absWorkingDir: root, write: false, logLevel: 'silent' }

test('the package bundles for the browser with no Node built-in, and its modules have no value import cycle', async () => {
  const result = await build({ ...forBrowser, metafile: true })
  expect(result.errors).toEqual([])
  const metafile = result.metafile!
  const inputs = Object.keys(metafile.inputs)
  // Everything the browser would load; a Node built-in would not even resolve for platform browser.
  expect(inputs.filter((p) => p.startsWith('node:') || /^(fs|net|path|os|crypto|child_process|worker_threads)$/.test(p))).toEqual([])
  expect(inputs.some((p) => p.includes('packages/vmm-api/src/'))).toBe(true)
  const mine = (p: string): boolean => p.startsWith('packages/machine/src/') || p.startsWith('packages/devices/src/')
  expect(valueImportCycles(metafile, mine)).toEqual([])
}, 120_000)

test("the package's own code uses no Node global (process, Buffer, require, __dirname)", async () => {
  const result = await build({ ...forBrowser, external: ['@tagvm/*'], minify: true })
  // Minified, comments are gone and a global cannot be renamed: any mention is a real use.
  const code = result.outputFiles![0]!.text
  expect(code.match(/(?<![.\w$])(process|Buffer|require|__dirname|__filename|setImmediate)\b/g) ?? []).toEqual([])
})

test('the cycle finder finds a cycle when there is one', () => {
  const metafile = { inputs: { a: { imports: [{ path: 'b' }] }, b: { imports: [{ path: 'c' }] }, c: { imports: [{ path: 'a' }] }, d: { imports: [{ path: 'a' }] } } }
  expect(valueImportCycles(metafile, () => true)).toEqual([['a', 'b', 'c']])
  expect(valueImportCycles(metafile, (p) => p !== 'c')).toEqual([])
})
