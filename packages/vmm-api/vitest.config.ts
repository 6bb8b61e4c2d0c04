import { defineProject } from 'vitest/config'

export default defineProject({
  test: {
    name: 'vmm-api',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
  },
})
