import { describe, expect, test } from 'vitest'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { CliIo } from './cli-io.js'
import { runCli } from './cli-main.js'
import { saveSnapshotFile } from './files/index.js'

const helloPath = fileURLToPath(new URL('../../../guests/hello/hello.elf', import.meta.url))

async function cli(argv: string[], tty = false): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = ''
  let stderr = ''
  const io: CliIo = {
    stdout: { write: (t) => (stdout += typeof t === 'string' ? t : new TextDecoder().decode(t)), isTTY: tty, columns: 60 },
    stderr: { write: (t) => (stderr += t) },
  }
  const status = await runCli(argv, io, '9.9.9')
  return { status, stdout, stderr }
}

describe('tagvm CLI (in process)', () => {
  test('help and version on stdout, status 0; usage errors on stderr, status 2', async () => {
    expect(await cli(['--help'])).toMatchObject({ status: 0, stderr: '' })
    expect(await cli(['-V'])).toEqual({ status: 0, stdout: '9.9.9\n', stderr: '' })
    expect(await cli(['run'])).toEqual({ status: 2, stdout: '', stderr: "tagvm: run: missing IMAGE (try 'tagvm run --help')\n" })
  })

  test('disasm prints the listing; missing and bad files are named, status 1', async () => {
    const r = await cli(['disasm', helloPath])
    expect(r.status).toBe(0)
    expect(r.stdout).toContain('0000000040000000 <_start>:')
    expect(await cli(['disasm', '/nonexistent/x.elf'])).toEqual({ status: 1, stdout: '', stderr: 'tagvm: /nonexistent/x.elf: cannot read: no such file\n' })
    const dir = mkdtempSync(join(tmpdir(), 'tagvm-cli-'))
    const bad = join(dir, 'bad.elf')
    writeFileSync(bad, readFileSync(helloPath).subarray(0, 50))
    const r2 = await cli(['disasm', bad])
    expect(r2.status).toBe(1)
    expect(r2.stderr).toMatch(/^tagvm: .*bad\.elf: at offset \d+ .*truncated/)
    expect((await cli(['disasm', helloPath, '--base', '0'])).stderr).toContain('--base applies to raw binaries only')
    rmSync(dir, { recursive: true })
  })

  test('tags SNAPSHOT draws the map; --html writes a page', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tagvm-cli-'))
    const snap = join(dir, 'w.snap')
    saveSnapshotFile(snap, {
      config: { ramBase: 0x4000_0000, ramSize: 4 << 20, cpus: 1, mte: true, backing: 'anon' },
      vcpus: [{ index: 0, regs: [] }],
      devices: [],
      pages: [{ gpa: 0x4020_0000, data: null, tags: new Uint8Array(256).fill(9) }],
    })
    const r = await cli(['tags', snap])
    expect(r.status).toBe(0)
    expect(r.stdout).toContain('tagged pages: 1 of 1024')
    expect(r.stdout).toContain('9:256')
    expect((await cli(['tags', snap], true)).stdout).toContain('\x1b[48;5;')
    const html = join(dir, 'map.html')
    expect(await cli(['tags', snap, '--html', html])).toMatchObject({ status: 0, stdout: '' })
    expect(readFileSync(html, 'utf8')).toContain('<!doctype html>')
    const corrupt = join(dir, 'c.snap')
    const bytes = readFileSync(snap)
    bytes[40]! ^= 0xff
    writeFileSync(corrupt, bytes)
    expect((await cli(['tags', corrupt])).stderr).toMatch(/c\.snap: at offset \d+ .*corrupted/)
    rmSync(dir, { recursive: true })
  })

  test('run: unreadable and malformed images are named on stderr with status 1, nothing on stdout', async () => {
    expect(await cli(['run', '/nonexistent.elf'])).toEqual({ status: 1, stdout: '', stderr: 'tagvm: /nonexistent.elf: cannot read: no such file\n' })
    const dir = mkdtempSync(join(tmpdir(), 'tagvm-cli-'))
    const bad = join(dir, 'cut.elf')
    writeFileSync(bad, readFileSync(helloPath).subarray(0, 100))
    const r = await cli(['run', bad])
    expect(r.status).toBe(1)
    expect(r.stdout).toBe('')
    expect(r.stderr).toMatch(/^tagvm: .*cut\.elf: at offset \d+ .*truncated/)
    rmSync(dir, { recursive: true })
  })
})
