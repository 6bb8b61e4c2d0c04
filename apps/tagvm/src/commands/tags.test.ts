import { fileURLToPath } from 'node:url'
import { expect, test } from 'vitest'
import { cli } from '../cli.test-support.js'

const guests = fileURLToPath(new URL('../../../../guests/', import.meta.url))

test('tagvm tags IMAGE runs the guest and maps the tags it left (mte-basic), console discarded', async () => {
  const result = await cli(['tags', `${guests}mte-basic/mte-basic.elf`, '--width', '40'])
  expect(result.status).toBe(0)
  expect(result.stderr).toMatch(/tags of .*mte-basic.elf after 142448 instructions \(power-off\)/)
  const tagged = /tagged pages: (\d+) of 32768/.exec(result.stdout)
  expect(Number(tagged?.[1])).toBeGreaterThan(0)
  expect(result.stdout).not.toContain('MTE')
})

test('tagvm tags IMAGE --after-insns before any tagging shows no tagged page; --mte off is refused', async () => {
  const early = await cli(['tags', `${guests}mte-basic/mte-basic.elf`, '--after-insns', '1000', '--width', '40'])
  expect(early.status).toBe(0)
  expect(early.stdout).toMatch(/tagged pages: 0 of 32768/)
  const off = await cli(['tags', `${guests}mte-basic/mte-basic.elf`, '--mte', 'off'])
  expect(off.status).toBe(1)
  expect(off.stderr).toMatch(/--mte off has no tags/)
})
