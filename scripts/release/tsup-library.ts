// The build every library package shares (each package's tsup.config.ts calls this):
// - ESM (`dist/*.js`) for `import` and CJS (`dist/index.cjs`) for `require`, each with its
//   own declarations (`index.d.ts` / `index.d.cts`) so TypeScript sees the format Node loads;
// - no source maps: the output is unminified and keeps the source's names, a map without its
//   sources would point at src/ files the tarball does not ship, and one with them made up
//   two thirds of every install (scripts/release/README.md has the sizes);
// - `preserveModules` keeps one ESM file per source module so a bundler can drop whole modules
//   a program does not use (with `sideEffects: false`), e.g. @tagvm/a64's disassembler.
import { rmSync } from 'node:fs'
import type { Options } from 'tsup'

export interface LibraryBuildOptions {
  /** Emit one ESM file per source module instead of a single bundle. */
  readonly preserveModules?: boolean
  /** Extra TypeScript options for the declaration build (e.g. `stripInternal`). */
  readonly dtsCompilerOptions?: Record<string, unknown>
}

export function libraryBuild(options: LibraryBuildOptions = {}): Options[] {
  // Declarations see other @tagvm packages through their built declarations (the `types`
  // condition), not their sources: each package's declaration build then compiles only its own
  // sources, and turbo builds dependencies first.
  const dts = { entry: { index: 'src/index.ts' }, compilerOptions: { customConditions: [], ...options.dtsCompilerOptions } }
  const bundled: Options = { entry: { index: 'src/index.ts' }, target: 'node20', sourcemap: false }
  if (!options.preserveModules) return [{ ...bundled, format: ['esm', 'cjs'], dts, clean: true }]
  // Two builds that run at once, so neither may use tsup's `clean` (each would delete the
  // other's output): the old dist goes here, once, before both start.
  rmSync('dist', { recursive: true, force: true })
  const modules: Options = {
    entry: ['src/**/*.ts', '!src/**/*.test.ts', '!src/printer-types.ts'],
    target: 'node20',
    sourcemap: false,
    format: ['esm'],
    bundle: false,
    dts,
  }
  return [modules, { ...bundled, format: ['cjs'], dts }]
}
