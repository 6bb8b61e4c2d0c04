// The import structure the architecture asks for: no value import cycles in the packages
// this CPU sits among (type-only back references are fine), and no hand-written CPU source
// file above about 600 lines.
import { fileURLToPath } from 'node:url'
import { expect, test } from 'vitest'
import { checkStructure, valueImports } from '../scripts/import-structure.js'

const packages = fileURLToPath(new URL('../../', import.meta.url))

test('the checker tells value imports from type-only ones', () => {
  const text = [
    "import type { Cpu } from './cpu.js'",
    "import { type Handler, type Build } from './handlers.js'",
    "import { SLOT, type SysRegDesc } from './sysreg-table.js'",
    "export { PAGE_SIZE } from './constants.js'",
    "export type { CpuExit } from './exits.js'",
    "import './side-effect.js'",
  ].join('\n')
  expect(valueImports(text)).toEqual(['./sysreg-table.js', './constants.js', './side-effect.js'])
})

test('no value import cycles in cpu, hypervisor, tag-memory and a64; no CPU module above 600 lines', () => {
  const cpu = checkStructure([`${packages}cpu/src`], 600, packages)
  expect(cpu.cycles).toEqual([])
  // The size rule is for the CPU's own modules (src/*.ts); the FP library in src/fp is a
  // separate module tree with its own shape.
  expect(cpu.longFiles.filter((f) => !f.file.startsWith('cpu/src/fp/'))).toEqual([])
  for (const name of ['hypervisor', 'tag-memory', 'a64']) {
    expect(checkStructure([`${packages}${name}/src`], Infinity, packages).cycles).toEqual([])
  }
})
