// The guests that come with tagvm: their ELFs, sources and QEMU's output for each are copied
// from the repository's guests/ into dist/guests/ when the app is built (tsup.config.ts), so an
// installed tagvm finds them next to its own code: `tagvm run --guest mte-demo`.
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/** A guest that comes with tagvm. */
export interface BundledGuest {
  readonly name: string
  /** One line on what it shows. */
  readonly summary: string
}

/** Every guest the package ships (`tagvm guests` lists them; `--guest NAME` runs one). */
export const BUNDLED_GUESTS: readonly BundledGuest[] = [
  { name: 'hello', summary: 'a greeting from EL1 with the MMU off, then power-off (3 lines)' },
  { name: 'mte-demo', summary: 'a tagged heap catches a use-after-free and an out-of-bounds write, and says how' },
  { name: 'tag-workload', summary: 'about 170 M instructions of tagging over 4 MiB, checked at the end (for snapshot, tags and migrate)' },
]

/** The files of each bundled guest, under `<guests dir>/<name>/`. */
export const BUNDLED_GUEST_FILES = (name: string): readonly string[] => [`${name}.elf`, 'main.c', 'qemu.out']

/**
 * Where the bundled guests are: `guests/` beside the built code (dist/cli.js, dist/index.js,
 * and so in an installed package), or the repository's guests/ when tagvm runs from its source.
 */
export function bundledGuestsDir(): string {
  const candidates = [new URL('./guests/', import.meta.url), new URL('../../../guests/', import.meta.url)].map((u) => fileURLToPath(u))
  return candidates.find((dir) => existsSync(`${dir}hello/hello.elf`)) ?? candidates[0]!
}

/** The ELF of a bundled guest; a name tagvm does not ship is undefined. */
export function bundledGuestPath(name: string): string | undefined {
  if (!BUNDLED_GUESTS.some((g) => g.name === name)) return undefined
  return `${bundledGuestsDir()}${name}/${name}.elf`
}
