import { Worker } from 'node:worker_threads'
import { HostKernel, MAP_ANONYMOUS, MAP_PRIVATE, PAGE_SIZE, PROT_READ, PROT_WRITE, PhysicalMemory } from '@tagvm/tag-memory'
import { describe, expect, test } from 'vitest'
import { createControlBuffer } from './layout.js'
import { SMP_LOCK_WORDS } from '@tagvm/cpu'
import type { VcpuThreadInit } from './vcpu-thread.js'

// The worker is TypeScript source: register tsx's loader in the worker, then import it.
const WORKER_BOOT = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(new URL('./fault-race.worker.ts', import.meta.url).href)}) })`

interface Result {
  cleaned: number
  mapped: number
  dirty: number
}

describe('stage-2 faults on the same fresh pages from several vCPU threads', () => {
  test('every page is cleaned once, by one thread, and no thread maps it with stale tags', async () => {
    const threads = 3
    const pages = 256
    const memory = new PhysicalMemory({ size: 32 << 20, shared: true })
    const kernel = new HostKernel({ memory })
    const mm = kernel.createMm()
    // Anonymous memory without PROT_MTE (as QEMU maps guest RAM): MTE-capable, but the host
    // leaves its tags alone, so KVM's stage-2 fault path must clean them.
    const hva = mm.mmap({ length: pages * PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS })
    const pfnTable = new Int32Array(new SharedArrayBuffer(pages * 4))
    for (let p = 0; p < pages; p++) {
      const pfn = mm.faultIn(hva + p * PAGE_SIZE, { write: true }).pfn
      pfnTable[p] = pfn + 1
      memory.setTags(pfn * PAGE_SIZE, PAGE_SIZE, 0xf) // a previous owner's tags
      expect(memory.isTagged(pfn)).toBe(false)
    }
    const control = createControlBuffer(threads)
    const monitor = new SharedArrayBuffer(SMP_LOCK_WORDS * 4)
    const start = new SharedArrayBuffer(4)
    const workers = Array.from({ length: threads }, (_, index) => {
      const init: VcpuThreadInit = {
        index,
        cpus: threads,
        memory: memory.share(),
        control,
        monitor,
        pfns: pfnTable.buffer as SharedArrayBuffer,
        ipaBits: 40,
        mte: true,
        ram: { slot: 0, guestPhysAddr: 0x4000_0000, size: pages * PAGE_SIZE, hva, mteAllowed: true, vmaMte: false },
        tableFrames: Array.from({ length: 8 }, () => kernel.allocFrame()),
        regs: [],
      }
      return new Worker(WORKER_BOOT, { eval: true, workerData: { init, pages, start }, execArgv: ['--conditions=source'] })
    })
    const results = workers.map(
      (w) =>
        new Promise<Result>((resolve, reject) => {
          w.on('message', (m: unknown) => {
            if (m !== 'ready') resolve(m as Result)
          })
          w.once('error', reject)
        }),
    )
    const ready = workers.map((w) => new Promise<void>((resolve) => w.once('message', () => resolve())))
    await Promise.all(ready)
    Atomics.store(new Int32Array(start), 0, 1)
    Atomics.notify(new Int32Array(start), 0)
    const done = await Promise.all(results)
    await Promise.all(workers.map((w) => w.terminate()))
    expect(done.reduce((n, r) => n + r.cleaned, 0)).toBe(pages)
    expect(done.map((r) => r.mapped)).toEqual([pages, pages, pages])
    expect(done.map((r) => r.dirty)).toEqual([0, 0, 0])
    for (let p = 0; p < pages; p++) expect(memory.isTagged((pfnTable[p] as number) - 1)).toBe(true)
  })
})
