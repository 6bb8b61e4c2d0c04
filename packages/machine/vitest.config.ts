import { defineProject } from 'vitest/config'

// Workspace packages resolve to their TypeScript source (the "source" export condition),
// so tests never run against a stale build.
export default defineProject({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    name: 'machine',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Generous: CI runs every package's suite at once on two cores. Tests never assert on time;
    // the timeout only catches hangs.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
})
