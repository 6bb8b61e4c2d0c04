// Runs the first ```ts block of a package README as a test, so the example users copy
// is known to work. The block imports the package by name; that import is pointed at the
// package's own source so the test does not need a build.
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

export function readmeExample(packageDir: string): string {
  const readme = readFileSync(join(packageDir, 'README.md'), 'utf8')
  const match = /```ts\n([\s\S]*?)```/.exec(readme)
  if (!match?.[1]) throw new Error(`${packageDir}/README.md has no \`\`\`ts example block`)
  return match[1]
}

/** Rewrites `from '@tagvm/<name>'` to the package source and imports the result. */
export async function runReadmeExample(packageDir: string, packageName: string): Promise<void> {
  const source = readmeExample(packageDir)
  const entry = pathToFileURL(join(packageDir, 'src', 'index.ts')).href
  const escaped = packageName.replace(/[/.]/g, (c) => `\\${c}`)
  const rewritten = source.replace(new RegExp(`from '${escaped}'`, 'g'), `from '${entry}'`)
  const dir = mkdtempSync(join(packageDir, '.readme-'))
  const file = join(dir, 'example.ts')
  writeFileSync(file, rewritten)
  try {
    await import(/* @vite-ignore */ pathToFileURL(file).href)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
