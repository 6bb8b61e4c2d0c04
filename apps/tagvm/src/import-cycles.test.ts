// No value import cycles among the app's modules (commands do not import the dispatcher back).
import { build } from 'esbuild'
import { fileURLToPath } from 'node:url'
import { expect, test } from 'vitest'
import { valueImportCycles } from '../../../scripts/import-cycles.js'

test('the CLI and the package entry have no value import cycle among the app modules', async () => {
  const result = await build({
    entryPoints: [fileURLToPath(new URL('./cli.ts', import.meta.url)), fileURLToPath(new URL('./index.ts', import.meta.url))],
    bundle: true,
    platform: 'node',
    format: 'esm',
    outdir: 'unused',
    external: ['@tagvm/*'],
    absWorkingDir: fileURLToPath(new URL('../../../', import.meta.url)),
    write: false,
    metafile: true,
    logLevel: 'silent',
  })
  const modules = Object.keys(result.metafile.inputs).filter((p) => p.startsWith('apps/tagvm/src/'))
  expect(modules).toContain('apps/tagvm/src/commands/migrate.ts')
  expect(valueImportCycles(result.metafile, (p) => p.startsWith('apps/tagvm/src/'))).toEqual([])
})
