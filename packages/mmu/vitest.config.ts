import { defineProject } from 'vitest/config'

export default defineProject({
  test: {
    name: 'mmu',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
  },
})
