import { readFileSync } from 'node:fs'

// The build (tsup.config.ts) replaces this name with the package's version; when tagvm runs
// from its TypeScript source (tests, tsx) it is not defined and package.json is read instead.
declare const __TAGVM_VERSION__: string | undefined

function versionFromPackageJson(): string {
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
  return manifest.version
}

/** The version of the `@tagvm/tagvm` package. */
export const VERSION: string = typeof __TAGVM_VERSION__ === 'string' ? __TAGVM_VERSION__ : versionFromPackageJson()

/**
 * The QEMU machine type tagvm's machine follows: QEMU 10.0's `virt` (an alias of `virt-10.0`),
 * the QEMU that recorded every guest's expected output (guests/QEMU_VERSION).
 */
export const QEMU_MACHINE = 'virt-10.0'

/**
 * What `tagvm --version` prints. The first line is name and version, with the version after
 * the last space (as GNU tools print it, so scripts can take it); the second says which QEMU
 * machine the guests see, and what of it is modelled (packages/machine/docs/dtb.md).
 */
export function versionText(version: string): string {
  return [`tagvm ${version}`, `machine: QEMU ${QEMU_MACHINE} compatible (-M virt,mte=on: memory map, GICv3, architected timers, PL011 UART, PL031 RTC, PSCI and device tree; no virtio yet)`, ''].join('\n')
}
