import { defineProject } from 'vitest/config'

// Workspace packages resolve to their TypeScript source (the "source" export condition),
// so tests never run against a stale build.
export default defineProject({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    name: 'fuzz',
    include: ['src/**/*.test.ts'],
    // Loading the CPU and its decoder tables takes seconds on a busy machine.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
})
