export * from './layout.js'
export type { PsciPeers } from './psci-peers.js'
export { createThreadVm, runVcpuThread, type VcpuThreadInit } from './vcpu-thread.js'
export { SMP_LOCK_WORDS } from '@tagvm/cpu'
