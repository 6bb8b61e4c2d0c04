import { defineProject } from 'vitest/config'

export default defineProject({
  test: {
    name: 'cpu',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
  },
})
