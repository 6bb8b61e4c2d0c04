import { defineProject } from 'vitest/config'

export default defineProject({
  test: {
    name: 'hypervisor',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
  },
})
