/**
 * Debian's Chromium driven by playwright-core (no browser download). This machine's network
 * is closed, so everything that would reach out (updates, sync, QUIC probes) is switched off,
 * and each launch gets a fresh profile.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { build } from 'vite'
import { chromium, type BrowserContext } from 'playwright-core'

export const CHROMIUM = process.env.TAGVM_CHROMIUM ?? '/usr/bin/chromium'
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']

/** Why the browser cannot run here, or undefined when it can. */
export function chromiumMissing(): string | undefined {
  return existsSync(CHROMIUM) ? undefined : `Chromium is not installed at ${CHROMIUM} (apt-get install -y --no-install-recommends chromium fonts-dejavu-core, or scripts/ci-setup/chromium.sh as root; .ci/run runs it)`
}

export interface Chromium {
  readonly context: BrowserContext
  readonly downloads: string
  close(): Promise<void>
}

/** Starts headless Chromium with a fresh profile; downloads land in `downloads`. */
export async function launchChromium(): Promise<Chromium> {
  const profile = mkdtempSync(join(tmpdir(), 'tagvm-chromium-'))
  const downloads = mkdtempSync(join(tmpdir(), 'tagvm-downloads-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    acceptDownloads: true,
    downloadsPath: downloads,
    viewport: { width: 1440, height: 900 },
    deviceScaleFactor: 1,
  })
  return {
    context,
    downloads,
    close: async () => {
      await context.close()
      rmSync(profile, { recursive: true, force: true })
      rmSync(downloads, { recursive: true, force: true })
    },
  }
}

/** Builds the page into `outDir` (the same build `pnpm build` makes). */
export async function buildPage(root: string, outDir: string): Promise<void> {
  await build({ root, configFile: join(root, 'vite.config.ts'), logLevel: 'warn', build: { outDir, emptyOutDir: true } })
}
