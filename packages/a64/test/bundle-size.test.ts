// What a program that imports @tagvm/a64 pays in bundle size: bundling only the decoder must
// leave the disassembler (its printers and name tables) out. The published ESM build keeps one
// file per source module (tsup.config.ts) and the package has `sideEffects: false`, so a
// bundler drops every module a program does not reach; esbuild sees the same module graph here
// from the sources. The figures are in README.md ("Bundle size").
import { build } from 'esbuild'
import { gzipSync } from 'node:zlib'
import { fileURLToPath } from 'node:url'
import { expect, test } from 'vitest'

const ENTRY = fileURLToPath(new URL('../src/index.ts', import.meta.url))

// Decoder-only bundle ceiling: the decode tables are ~162 kB minified today; the disassembler
// adds ~56 kB more, so leaking it back in (or the tables growing by a quarter) fails.
const DECODER_ONLY_MAX_BYTES = 190_000
// The disassembler must stay at least this share of the full bundle.
const MIN_DISASSEMBLER_SHARE = 0.15

async function bundledBytes(names: readonly string[]): Promise<{ minified: number; gzipped: number }> {
  const result = await build({
    stdin: {
      contents: `import { ${names.join(', ')} } from ${JSON.stringify(ENTRY)}\nglobalThis.keep = [${names.join(', ')}]\n`,
      resolveDir: fileURLToPath(new URL('.', import.meta.url)),
      loader: 'js',
    },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'neutral',
    write: false,
    logLevel: 'silent',
  })
  const output = result.outputFiles[0]
  if (!output) throw new Error('esbuild wrote no bundle')
  return { minified: output.contents.length, gzipped: gzipSync(output.contents).length }
}

test('a program that only decodes bundles measurably smaller than one that also disassembles', async () => {
  const decoderOnly = await bundledBytes(['decode'])
  const withDisassembler = await bundledBytes(['decode', 'disassemble'])
  console.log(
    `@tagvm/a64 bundle (esbuild, minified / gzip): decode only ${decoderOnly.minified} / ${decoderOnly.gzipped} B, ` +
      `decode + disassemble ${withDisassembler.minified} / ${withDisassembler.gzipped} B`,
  )
  expect(decoderOnly.minified).toBeLessThanOrEqual(DECODER_ONLY_MAX_BYTES)
  expect(decoderOnly.minified).toBeLessThan(withDisassembler.minified * (1 - MIN_DISASSEMBLER_SHARE))
  // The whole public surface costs no more than decode + disassemble: nothing else is hidden
  // behind the entry point.
  const everything = await bundledBytes(['decode', 'decodeWord', 'disassemble', 'toInstructionWord', 'INSTRUCTION_NAMES', 'UNDEFINED_INSTRUCTION'])
  expect(everything.minified).toBeLessThan(withDisassembler.minified * 1.05)
})
