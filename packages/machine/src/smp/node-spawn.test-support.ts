// Test support: vCPU threads as Node workers running the TypeScript sources (tsx), as the
// tests of @tagvm/tag-memory run theirs.
import { Worker } from 'node:worker_threads'
import type { VcpuThreadInit } from '@tagvm/vmm-api'
import { vcpuThreadBootSource, type VcpuThreadSpawner } from './threads.js'

const VMM_API_SOURCE = new URL('../../../vmm-api/src/index.ts', import.meta.url).href

/** Spawns each vCPU thread as a worker that loads @tagvm/vmm-api from source. */
export const spawnSourceWorker: VcpuThreadSpawner = (init: VcpuThreadInit) =>
  new Worker(vcpuThreadBootSource(VMM_API_SOURCE, { tsx: true }), { eval: true, workerData: init, execArgv: ['--conditions=source'] })
