import { describe, expect, test } from 'vitest'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { cli as runInProcess } from './cli.test-support.js'
import { elfHeader, gzip, printOkImage } from './files/guest-image.fixture.js'
import { saveSnapshotFile } from './files/index.js'

const helloPath = fileURLToPath(new URL('../../../guests/hello/hello.elf', import.meta.url))

/** The CLI as a 60-column stdout (a terminal when `tty`) sees it, version 9.9.9. */
const cli = (args: string[], tty = false) => runInProcess(args, { tty, columns: 60, version: '9.9.9' })

describe('tagvm CLI (in process)', () => {
  test('help and version on stdout, status 0; usage errors on stderr, status 2', async () => {
    expect(await cli(['--help'])).toMatchObject({ status: 0, stderr: '' })
    // GNU style: name and version first (the version after the last space), then the machine.
    const version = await cli(['--version'])
    expect(version).toEqual({ status: 0, stdout: expect.stringMatching(/^tagvm 9\.9\.9\nmachine: QEMU virt-10\.0 compatible \(-M virt,mte=on: .*\)\n$/), stderr: '' })
    expect(await cli(['-V'])).toEqual(version)
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

  test('run: a file of the wrong kind says what it looks like, status 1, and never runs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tagvm-cli-'))
    const snap = join(dir, 'w.snap')
    saveSnapshotFile(snap, { config: { ramBase: 0x4000_0000, ramSize: 4 << 20, cpus: 1, mte: true, backing: 'anon' }, vcpus: [{ index: 0, regs: [] }], devices: [], pages: [] })
    expect(await cli(['run', snap])).toEqual({ status: 1, stdout: '', stderr: `tagvm: ${snap}: not a guest image: this is a tagvm snapshot; continue it with 'tagvm restore ${snap}'\n` })
    const x86 = join(dir, 'x86.elf')
    writeFileSync(x86, elfHeader(62))
    expect(await cli(['run', x86])).toMatchObject({ status: 1, stdout: '', stderr: expect.stringContaining('x86.elf: not a guest image: this is an x86-64 ELF file; tagvm runs AArch64 code only') })
    const text = join(dir, 'README')
    writeFileSync(text, '# my guest\nbuild with make\n')
    expect(await cli(['run', text])).toMatchObject({ status: 1, stderr: expect.stringContaining('this is a text file (it starts "# my guest")') })
    expect(await cli(['snapshot', text, join(dir, 'out.snap')])).toMatchObject({ status: 1, stderr: expect.stringContaining('this is a text file') })
    const gz = join(dir, 'notes.gz')
    writeFileSync(gz, gzip(new TextEncoder().encode('just notes\n')))
    expect(await cli(['run', gz])).toMatchObject({ status: 1, stderr: expect.stringContaining('this is gzip-compressed data holding a text file') })
    // The program that runs these tests is a Linux program for this host (x86-64 or AArch64).
    const host = await cli(['run', process.execPath])
    expect(host).toMatchObject({ status: 1, stdout: '' })
    expect(host.stderr).toMatch(/not a guest image: this is (an x86-64 ELF file|an AArch64 Linux program \(dynamically linked, interpreter \/.*\))/)
    rmSync(dir, { recursive: true })
  })

  test("run: a gzip'd arm64 Image is unpacked and runs, as under QEMU's -kernel", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tagvm-cli-'))
    const image = join(dir, 'Image.gz')
    writeFileSync(image, gzip(printOkImage()))
    expect(await cli(['run', image])).toEqual({ status: 0, stdout: 'ok\n', stderr: '' })
    expect(await cli(['run', '-kernel', image, '-m', '64', '-smp', '2', '-nographic'])).toEqual({ status: 0, stdout: 'ok\n', stderr: '' })
    rmSync(dir, { recursive: true })
  })

  test('--quiet, as help says, on every command that runs a guest: status lines go; errors and why the guest stopped stay', async () => {
    // run prints no progress or status lines, so --quiet changes nothing there.
    const limited = await cli(['run', helloPath, '--max-insns', '5'])
    expect(limited).toMatchObject({ status: 3, stderr: 'tagvm: stopped the guest after 5 instructions (--max-insns); it had not powered off\n' })
    expect(await cli(['run', helloPath, '--max-insns', '5', '--quiet'])).toEqual(limited)
    expect(await cli(['run', helloPath, '--quiet'])).toEqual(await cli(['run', helloPath]))
    expect(await cli(['run', '/nonexistent.elf', '--quiet'])).toEqual({ status: 1, stdout: '', stderr: 'tagvm: /nonexistent.elf: cannot read: no such file\n' })
    expect((await cli(['tags', helloPath])).stderr).toMatch(/^tagvm: tags of .*hello\.elf after \d+ instructions \(power-off\)\n$/)
    expect(await cli(['tags', helloPath, '--quiet'])).toMatchObject({ status: 0, stderr: '' })
  })

  test('guests lists the bundled guests; --guest runs one; completion prints a script', async () => {
    const guests = await cli(['guests'])
    expect(guests.status).toBe(0)
    for (const name of ['hello', 'mte-demo', 'tag-workload']) expect(guests.stdout).toMatch(new RegExp(`^  ${name} +\\S`, 'm'))
    expect(await cli(['run', '--guest', 'hello'])).toEqual({ status: 0, stdout: readFileSync(new URL('../../../guests/hello/qemu.out', import.meta.url), 'latin1'), stderr: '' })
    expect((await cli(['completion', 'bash'])).stdout).toContain('complete -F _tagvm tagvm')
    expect((await cli(['completion', 'zsh'])).stdout).toMatch(/^#compdef tagvm\n/)
  })
})
