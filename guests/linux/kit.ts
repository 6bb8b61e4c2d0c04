// Where the Linux guest kit's output is (built by build-kit.sh, gitignored), for the tests that
// boot it. A test without the kit is skipped locally with how to build it, and fails in CI
// (where scripts/ci-setup/50-linux-kit.sh builds it first), so CI never passes by skipping.
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export interface LinuxKit {
  /** The kit's output directory, ending in `/`. */
  readonly dir: string
  readonly image: string
  readonly initramfs: string
  /** Whether both files exist (and `also()` found nothing missing): run the Linux tests. */
  readonly built: boolean
}

/**
 * The kit as `testName` (a test file's name, for the skip message) finds it. `also` returns why
 * something else the test needs is missing (a tool), or undefined.
 */
export function linuxKit(testName: string, also?: () => string | undefined): LinuxKit {
  const dir = fileURLToPath(new URL('./out/', import.meta.url))
  const image = `${dir}Image`
  const initramfs = `${dir}initramfs.cpio.gz`
  const why = existsSync(image) && existsSync(initramfs) ? also?.() : `the Linux kit is not built (${dir}): run guests/linux/build-kit.sh`
  if (why !== undefined) {
    if (process.env.CI) throw new Error(why)
    console.warn(`${testName} skipped: ${why}`)
  }
  return { dir, image, initramfs, built: why === undefined }
}
