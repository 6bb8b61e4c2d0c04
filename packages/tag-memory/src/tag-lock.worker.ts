// Worker for physical-memory.worker.test.ts: races other threads to initialise the tags
// of every frame of a shared PhysicalMemory.
import { parentPort, workerData } from 'node:worker_threads'
import { PAGE_SIZE, GRANULES_PER_PAGE, GRANULE_SIZE } from './constants.js'
import { PhysicalMemory, type SharedMemoryHandle } from './physical-memory.js'

interface Job {
  handle: SharedMemoryHandle
  frames: number
  /** Per frame: how many threads zeroed its tags. */
  cleanCounts: SharedArrayBuffer
  /** Word 0 becomes 1 when all workers may start. */
  start: SharedArrayBuffer
  /** 'ensure' uses ensureTagsInitialised; 'slow' holds the lock while clearing granule by granule. */
  mode: 'ensure' | 'slow'
}

const job = workerData as Job
const memory = PhysicalMemory.attach(job.handle)
const counts = new Int32Array(job.cleanCounts)
parentPort?.postMessage('ready')
Atomics.wait(new Int32Array(job.start), 0, 0)
let cleaned = 0
let waited = 0
let dirty = 0
for (let pfn = 0; pfn < job.frames; pfn++) {
  if (job.mode === 'ensure') {
    if (memory.ensureTagsInitialised(pfn)) {
      Atomics.add(counts, pfn, 1)
      cleaned++
    }
  } else if (memory.tryLockTags(pfn)) {
    for (let g = 0; g < GRANULES_PER_PAGE; g++) memory.setTag(pfn * PAGE_SIZE + g * GRANULE_SIZE, 0)
    Atomics.add(counts, pfn, 1)
    cleaned++
    memory.setTagged(pfn)
  } else if (!memory.isTagged(pfn)) {
    memory.waitTagged(pfn)
    waited++
  }
  // Once a frame is tagged, every thread must see its cleaned tags.
  for (let g = 0; g < GRANULES_PER_PAGE; g++) if (memory.getTag(pfn * PAGE_SIZE + g * GRANULE_SIZE) !== 0) dirty++
}
parentPort?.postMessage({ cleaned, waited, dirty })
