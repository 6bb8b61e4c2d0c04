import { defineConfig } from 'tsup'

export default defineConfig({
  entry: { index: 'src/index.ts', cli: 'src/cli.ts' },
  format: ['esm'],
  dts: { entry: 'src/index.ts' },
  clean: true,
  sourcemap: true,
  target: 'node20',
  // The CLI is one file that runs with plain `node`; workspace packages are bundled in.
  splitting: false,
  noExternal: [/^@tagvm\//],
})
