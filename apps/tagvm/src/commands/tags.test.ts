import { fileURLToPath } from 'node:url'
import { expect, test } from 'vitest'
import type { CliIo } from '../cli-io.js'
import { runCli } from '../cli-main.js'

const guests = fileURLToPath(new URL('../../../../guests/', import.meta.url))

async function cli(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = ''
  let stderr = ''
  const io: CliIo = {
    stdout: { write: (t: string | Uint8Array) => (stdout += typeof t === 'string' ? t : Buffer.from(t).toString('latin1')) },
    stderr: { write: (t: string) => (stderr += t) },
  }
  const status = await runCli(args, io, 'test')
  return { status, stdout, stderr }
}

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
