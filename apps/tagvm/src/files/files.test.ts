import { describe, expect, test } from 'vitest'
import { spawn } from 'node:child_process'
import * as fs from 'node:fs'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { decodeSnapshot, type Snapshot } from '@tagvm/machine'
import { OutputFileError, loadSnapshotFile, saveSnapshotFile, type FileIo } from './index.js'

const RAM = 0x4000_0000
/** KVM ONE_REG id of PC. */
const REG_PC = 0x6030_0000_0010_0040n

/** Starts replacing the snapshot at `path` in another process and SIGKILLs it half-way. */
async function killWriterMidway(path: string): Promise<void> {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', fileURLToPath(new URL('./crash-writer.fixture.ts', import.meta.url)), path], { stdio: ['ignore', 'pipe', 'inherit'] })
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (b: Buffer) => {
      if (b.toString().includes('writing')) {
        child.kill('SIGKILL')
        resolve()
      }
    })
    child.on('exit', (code) => reject(new Error(`writer exited (${code}) before it was killed`)))
  })
  await new Promise((r) => child.on('close', r))
}

function sampleSnapshot(): Snapshot {
  return {
    config: { ramBase: RAM, ramSize: 16 << 20, cpus: 1, mte: true, backing: 'anon' },
    vcpus: [{ index: 0, regs: [{ id: REG_PC, value: 0x4008_0000n }] }],
    devices: [],
    pages: [
      { gpa: RAM, data: new Uint8Array(4096).fill(0x5a), tags: null },
      { gpa: RAM + 0x10_0000, data: null, tags: new Uint8Array(256).fill(7) },
    ],
  }
}

describe('atomic snapshot files', () => {
  const dir = (): string => mkdtempSync(join(tmpdir(), 'tagvm-snap-'))

  test('save and load; the error of a missing file names it', () => {
    const d = dir()
    const path = join(d, 'a.snap')
    const n = saveSnapshotFile(path, sampleSnapshot())
    expect(statSync(path).size).toBe(n)
    expect(loadSnapshotFile(path)).toEqual(sampleSnapshot())
    expect(() => loadSnapshotFile(join(d, 'nope.snap'))).toThrow(/nope\.snap: cannot read snapshot: ENOENT/)
    rmSync(d, { recursive: true })
  })

  test('a writer failing half-way leaves the previous snapshot and no temporary file', () => {
    const d = dir()
    const path = join(d, 'a.snap')
    saveSnapshotFile(path, sampleSnapshot())
    const before = readFileSync(path)
    let writes = 0
    const failing: FileIo = {
      ...fs,
      writeSync: (fd, buf, off, len) => {
        if (++writes === 3) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' })
        return fs.writeSync(fd, buf, off, Math.min(len, 4096))
      },
    }
    const big = { ...sampleSnapshot(), pages: Array.from({ length: 64 }, (_, i) => ({ gpa: RAM + i * 4096, data: new Uint8Array(4096).fill(i + 1), tags: null })) }
    expect(() => saveSnapshotFile(path, big, { io: failing })).toThrow(/ENOSPC/)
    expect(readFileSync(path)).toEqual(before)
    expect(readdirSync(d)).toEqual(['a.snap'])
    // A failure in the producer (e.g. the machine) is handled the same way.
    expect(() => saveSnapshotFile(path, () => { throw new Error('vCPU gone') })).toThrow('vCPU gone')
    expect(readdirSync(d)).toEqual(['a.snap'])
    rmSync(d, { recursive: true })
  })

  test('a process killed while writing never destroys the previous snapshot', async () => {
    const d = dir()
    const path = join(d, 'a.snap')
    saveSnapshotFile(path, sampleSnapshot())
    const before = readFileSync(path)
    await killWriterMidway(path)
    expect(readFileSync(path)).toEqual(before)
    expect(loadSnapshotFile(path)).toEqual(sampleSnapshot())
    // the half-written temporary file is left behind, never renamed
    const leftovers = readdirSync(d).filter((f) => f !== 'a.snap')
    expect(leftovers.length).toBe(1)
    expect(() => decodeSnapshot(readFileSync(join(d, leftovers[0]!)), 'tmp')).toThrow(/truncated/)
    rmSync(d, { recursive: true })
  })
})
describe('output errors and stale temporary files', () => {
  const dir = (): string => mkdtempSync(join(tmpdir(), 'tagvm-out-'))

  test('a path that cannot be written is an OutputFileError naming it and its errno, and nothing is left behind', () => {
    const d = dir()
    const cases: [string, RegExp][] = [
      [join(d, 'missing', 'x.snap'), /missing\/x\.snap: cannot write: ENOENT \(no such directory\)$/],
      [d, /cannot write: EISDIR \(is a directory\)$/],
      [join(d, 'x.snap', 'y.snap'), /cannot write: (ENOENT|ENOTDIR)/],
    ]
    for (const [path, message] of cases) {
      let caught: unknown
      try {
        saveSnapshotFile(path, sampleSnapshot())
      } catch (error) {
        caught = error
      }
      expect(caught).toBeInstanceOf(OutputFileError)
      expect((caught as OutputFileError).path).toBe(path)
      expect((caught as Error).message).toMatch(message)
    }
    // A directory that refuses new files (injected: the tests may run as root).
    const refusing: FileIo = { ...fs, openSync: () => { throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' }) } }
    expect(() => saveSnapshotFile(join(d, 'r.snap'), sampleSnapshot(), { io: refusing })).toThrow(/r\.snap: cannot write: EACCES \(permission denied\)/)
    expect(readdirSync(d)).toEqual([])
    rmSync(d, { recursive: true })
  })

  test('a temporary file left by a killed writer is removed by the next write to that path; others are kept', async () => {
    const d = dir()
    const path = join(d, 'a.snap')
    saveSnapshotFile(path, sampleSnapshot())
    await killWriterMidway(path)
    expect(readdirSync(d).filter((f) => f !== 'a.snap')).toHaveLength(1)
    // A live process's temporary file (this one's pid belongs to the test) and another file's are not touched.
    const live = `.a.snap.tmp-${process.ppid}-0123abcd`
    const other = `.b.snap.tmp-999999999-0123abcd`
    fs.writeFileSync(join(d, live), '')
    fs.writeFileSync(join(d, other), '')
    saveSnapshotFile(path, sampleSnapshot())
    expect(readdirSync(d).sort()).toEqual([other, live, 'a.snap'].sort())
    expect(loadSnapshotFile(path)).toEqual(sampleSnapshot())
    rmSync(d, { recursive: true })
  })
})
