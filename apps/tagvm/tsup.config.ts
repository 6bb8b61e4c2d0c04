// The app's build: the `tagvm` binary (dist/cli.js) and the package entry (dist/index.js), ESM
// for Node 20, with @tagvm/machine a declared dependency (not bundled: one copy of the machine
// when a program uses both). The version is fixed into the build (`tagvm --version`), and the
// bundled guests are copied beside the code, where src/guests.ts looks for them.
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs'
import { defineConfig } from 'tsup'
import { BUNDLED_GUESTS, BUNDLED_GUEST_FILES } from './src/guests.js'

const manifest = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }

function copyBundledGuests(): void {
  for (const { name } of BUNDLED_GUESTS) {
    mkdirSync(`dist/guests/${name}`, { recursive: true })
    for (const file of BUNDLED_GUEST_FILES(name)) copyFileSync(`../../guests/${name}/${file}`, `dist/guests/${name}/${file}`)
  }
}

export default defineConfig({
  entry: { index: 'src/index.ts', cli: 'src/cli.ts' },
  format: ['esm'],
  // Declarations read @tagvm/machine's built declarations (the `types` condition), not its sources.
  dts: { entry: { index: 'src/index.ts' }, compilerOptions: { customConditions: [] } },
  clean: true,
  // As the libraries: unminified output keeps the source's names; maps would point at src/, which is not shipped.
  sourcemap: false,
  target: 'node20',
  splitting: true,
  define: { __TAGVM_VERSION__: JSON.stringify(manifest.version) },
  onSuccess: async () => copyBundledGuests(),
})
