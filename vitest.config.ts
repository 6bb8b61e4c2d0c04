// Lets `pnpm vitest` at the root run or watch every package together; CI runs each
// package's own `vitest run` through turbo instead.
import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    projects: ['packages/*', 'apps/*', 'tools/*'],
  },
})
