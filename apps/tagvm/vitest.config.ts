import { defineProject } from 'vitest/config'

export default defineProject({
  test: {
    name: 'tagvm',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
  },
})
