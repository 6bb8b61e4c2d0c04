// The first ```ts block of this module's README runs as written.
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { test } from 'vitest'

test('the fp README example runs', async () => {
  const dir = fileURLToPath(new URL('.', import.meta.url))
  const readme = readFileSync(join(dir, 'README.md'), 'utf8')
  const block = /```ts\n([\s\S]*?)```/.exec(readme)?.[1]
  if (!block) throw new Error('src/fp/README.md has no ```ts block')
  const source = block.replace(/from '\.\/index\.js'/g, `from '${pathToFileURL(join(dir, 'index.ts')).href}'`)
  const tmp = mkdtempSync(join(dir, '.readme-'))
  const file = join(tmp, 'example.ts')
  writeFileSync(file, source)
  try {
    await import(/* @vite-ignore */ pathToFileURL(file).href)
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
})
