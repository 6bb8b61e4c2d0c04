import { describe, expect, test } from 'vitest'
import { Worker } from 'node:worker_threads'
import { PAGE_SIZE } from './constants.js'
import { PhysicalMemory } from './physical-memory.js'

// The worker is TypeScript source: register tsx's loader in the worker, then import it.
const WORKER_BOOT = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(
  new URL('./tag-lock.worker.ts', import.meta.url).href,
)}) })`

interface Result {
  cleaned: number
  waited: number
  dirty: number
}

async function race(mode: 'ensure' | 'slow', threads: number, frames: number) {
  const memory = new PhysicalMemory({ size: frames * PAGE_SIZE, shared: true })
  memory.setTags(0, memory.size, 0xf) // stale tags from earlier owners, not valid
  const cleanCounts = new SharedArrayBuffer(frames * 4)
  const start = new SharedArrayBuffer(4)
  const workers = Array.from(
    { length: threads },
    () =>
      new Worker(WORKER_BOOT, {
        eval: true,
        workerData: { handle: memory.share(), frames, cleanCounts, start, mode },
      }),
  )
  // Each worker says 'ready' once loaded, then sends its result; start them all together.
  const channels = workers.map((w) => {
    let onReady: () => void = () => {}
    let onResult: (r: Result) => void = () => {}
    const ready = new Promise<void>((resolve) => (onReady = resolve))
    const result = new Promise<Result>((resolve, reject) => {
      onResult = resolve
      w.once('error', reject)
    })
    w.on('message', (m: unknown) => (m === 'ready' ? onReady() : onResult(m as Result)))
    return { ready, result }
  })
  await Promise.all(channels.map((c) => c.ready))
  Atomics.store(new Int32Array(start), 0, 1)
  Atomics.notify(new Int32Array(start), 0)
  const done = await Promise.all(channels.map((c) => c.result))
  await Promise.all(workers.map((w) => w.terminate()))
  return { memory, counts: new Int32Array(cleanCounts), done }
}

describe('tag initialisation lock across worker threads', () => {
  test.each(['ensure', 'slow'] as const)('%s: every frame is cleaned once and only once', async (mode) => {
    const frames = 4096
    const { memory, counts, done } = await race(mode, 3, frames)
    expect(counts.every((c) => c === 1)).toBe(true)
    expect(done.reduce((n, r) => n + r.cleaned, 0)).toBe(frames)
    expect(done.map((r) => r.dirty)).toEqual([0, 0, 0])
    for (let pfn = 0; pfn < frames; pfn++) expect(memory.isTagged(pfn)).toBe(true)
    expect(memory.getTag(5 * PAGE_SIZE + 16)).toBe(0)
  })

  test('an attached view shares data, tags and flags', () => {
    const memory = new PhysicalMemory({ size: 4 * 1024 * 1024, shared: true })
    const other = PhysicalMemory.attach(memory.share())
    memory.write32(0x1000, 0x12345678)
    memory.setTag(0x2010, 7)
    expect(other.read32(0x1000)).toBe(0x12345678)
    expect(other.getTag(0x2010)).toBe(7)
    expect(other.framesWithTagStorage).toBe(1)
    expect(other.tryLockTags(3)).toBe(true)
    expect(memory.tryLockTags(3)).toBe(false)
    other.setTagged(3)
    memory.waitTagged(3)
    expect(memory.isTagged(3)).toBe(true)
    expect(() => new PhysicalMemory({ size: 4096 }).share()).toThrow(RangeError)
    expect(() => PhysicalMemory.attach({ ...memory.share(), size: 8192 })).toThrow(RangeError)
  })
})
