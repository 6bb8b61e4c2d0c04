import { defineProject } from 'vitest/config'

// Workspace packages resolve to their TypeScript source (the "source" export condition).
export default defineProject({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    name: 'web',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Tests never assert on time; the timeout only catches hangs (the browser test builds the
    // page, starts Chromium and runs guests on two shared cores).
    testTimeout: 300_000,
    hookTimeout: 300_000,
  },
})
