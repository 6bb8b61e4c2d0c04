// --smp-mode threads: each vCPU thread is a worker_threads worker that loads @tagvm/vmm-api
// (its built code, or its TypeScript source through tsx when the CLI itself runs from source).
import { Worker } from 'node:worker_threads'
import { vcpuThreadBootSource, type VcpuThreadSpawner } from '@tagvm/machine'

export const spawnVcpuWorker: VcpuThreadSpawner = (init) => {
  const entry = import.meta.resolve('@tagvm/vmm-api')
  const source = entry.endsWith('.ts')
  const worker = new Worker(vcpuThreadBootSource(entry, { tsx: source }), { eval: true, workerData: init, ...(source ? { execArgv: ['--conditions=source'] } : {}) })
  // The threads park between runs; they must not keep the process alive once the CLI is done.
  worker.unref()
  return worker
}
