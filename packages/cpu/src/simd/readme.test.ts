import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { test } from 'vitest'
import { readmeExample } from '../../../../scripts/readme-example.js'

// The module README's example imports './index.js'; run it from a directory beside it.
test('the src/simd README example runs', async () => {
  const here = fileURLToPath(new URL('.', import.meta.url))
  const source = readmeExample(here).replace(/from '\.\/index\.js'/g, `from '${pathToFileURL(join(here, 'index.ts')).href}'`)
  const dir = mkdtempSync(join(here, '.readme-'))
  try {
    writeFileSync(join(dir, 'example.ts'), source)
    await import(/* @vite-ignore */ pathToFileURL(join(dir, 'example.ts')).href)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
