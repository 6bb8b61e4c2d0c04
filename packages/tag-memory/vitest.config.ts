import { defineProject } from 'vitest/config'

export default defineProject({
  test: {
    name: 'tag-memory',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
  },
})
