// Outputs that cannot be written, and writers killed while writing: exit status 1 with the
// path and the errno (found before the guest runs, so nothing is lost), the previous file
// intact, and a killed writer's temporary file gone after the next write to that path.
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, watch, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { UNPRIVILEGED, elf, expectCleanFailure, recorded, start, tagvm, tempDir } from './harness.js'

const dir = tempDir('out')

describe('outputs that cannot be written: exit 1, the path and errno, before the guest runs', () => {
  test('snapshot into a missing directory', async () => {
    expectCleanFailure(await tagvm(['snapshot', elf('hello'), '/nonexistent/x.snap', '--after-insns', '100']), 1, /^tagvm: \/nonexistent\/x\.snap: cannot write: ENOENT \(no such directory\)\n$/)
    // Without --after-insns it would wait for SIGUSR1: it fails at once instead.
    expectCleanFailure(await tagvm(['snapshot', elf('hello'), '/nonexistent/x.snap', '--quiet']), 1, /\/nonexistent\/x\.snap: cannot write: ENOENT/)
  })

  test('snapshot onto an existing directory', async () => {
    const target = join(dir, 'a-directory')
    mkdirSync(target)
    expectCleanFailure(await tagvm(['snapshot', elf('hello'), target, '--after-insns', '100']), 1, /a-directory: cannot write: EISDIR \(is a directory\)/)
    expect(readdirSync(target)).toEqual([])
  })

  test('snapshot into a directory that takes no new files keeps the snapshot already there', async () => {
    const readOnly = join(dir, 'read-only')
    mkdirSync(readOnly)
    const out = join(readOnly, 'x.snap')
    writeFileSync(out, 'the previous snapshot')
    chmodSync(readOnly, 0o555)
    // Root may write anywhere: the check runs as an unprivileged user when the tests run as root.
    expectCleanFailure(await tagvm(['snapshot', elf('hello'), out, '--after-insns', '100'], { uid: UNPRIVILEGED }), 1, /x\.snap: cannot write: EACCES \(permission denied\)/)
    expect(readFileSync(out, 'utf8')).toBe('the previous snapshot')
    expect(readdirSync(readOnly)).toEqual(['x.snap'])
    chmodSync(readOnly, 0o755)
  })

  test('tags --html into a missing directory or onto a directory', async () => {
    expectCleanFailure(await tagvm(['tags', elf('mte-basic'), '--html', '/nonexistent/x.html']), 1, /^tagvm: \/nonexistent\/x\.html: cannot write: ENOENT \(no such directory\)\n$/)
    expectCleanFailure(await tagvm(['tags', elf('mte-basic'), '--html', dir]), 1, /cannot write: EISDIR \(is a directory\)/)
  })
})

describe('a snapshot writer killed while writing', () => {
  test('leaves the previous snapshot or the new one, never a broken one; the next write removes its temporary file', async () => {
    const home = join(dir, 'killed')
    mkdirSync(home)
    const out = join(home, 'demo.snap')
    const first = await tagvm(['snapshot', elf('mte-demo'), out, '--after-insns', '100000', '--quiet'])
    expect(first.status).toBe(0)
    const before = readFileSync(out)
    // Kill the next writer the moment its temporary file appears: it is then walking 512 MiB of
    // RAM for pages to save, which takes far longer than the kill.
    const writer = start(['snapshot', elf('mte-demo'), out, '--after-insns', '110000', '--memory', '512M', '--quiet'])
    const watcher = watch(home, (_event, name) => {
      if (typeof name === 'string' && name.startsWith('.demo.snap.tmp-')) writer.child.kill('SIGKILL')
    })
    const killed = await writer.done
    watcher.close()
    expect(killed.signal).toBe('SIGKILL')
    const after = readFileSync(out)
    const restored = await tagvm(['restore', out, '--quiet'])
    expect(restored.status).toBe(0)
    if (after.equals(before)) expect(first.stdout + restored.stdout).toBe(recorded('mte-demo'))
    // The killed writer's temporary file is still there (nothing can remove it at SIGKILL)...
    expect(readdirSync(home).filter((f) => f !== 'demo.snap').length).toBeLessThanOrEqual(1)
    // ...until the next write to that path.
    const again = await tagvm(['snapshot', elf('mte-demo'), out, '--after-insns', '110000', '--quiet'])
    expect(again.status).toBe(0)
    expect(readdirSync(home)).toEqual(['demo.snap'])
    const rest = await tagvm(['restore', out, '--quiet'])
    expect(again.stdout + rest.stdout).toBe(recorded('mte-demo'))
    expect(existsSync(join(home, 'demo.snap'))).toBe(true)
  })
})
