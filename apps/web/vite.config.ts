// The page is static: `vite build` writes dist/ (HTML, JS, CSS, the guest ELFs), which needs
// nothing from the network. Guest memory is a SharedArrayBuffer, which browsers give only to
// cross-origin isolated pages: every server of the page must send the two headers below.
import { defineConfig, defaultClientConditions } from 'vite'

/** What makes a page cross-origin isolated (and so allowed SharedArrayBuffer). */
export const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
} as const

export default defineConfig({
  // Relative asset URLs: dist/ works from any path on any static host.
  base: './',
  // Workspace packages from their TypeScript source, as in tests: no stale builds.
  resolve: { conditions: ['source', ...defaultClientConditions] },
  worker: { format: 'es' },
  build: {
    outDir: 'dist',
    target: 'es2022',
    // Guest ELFs stay files next to the page instead of base64 inside the script.
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 2048,
    // The bundler's timing advice is noise on shared CI machines.
    rolldownOptions: { checks: { bundlerTimings: false } },
  },
  server: { headers: ISOLATION_HEADERS },
  preview: { headers: ISOLATION_HEADERS },
})
