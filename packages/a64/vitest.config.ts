import { defineProject } from 'vitest/config'

export default defineProject({
  test: {
    name: 'a64',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
  },
})
