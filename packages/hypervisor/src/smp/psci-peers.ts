import type { PsciVcpu } from '../psci.js'

/**
 * Every vCPU of a VM whose vCPUs run on separate threads, as PSCI needs them: their MPIDRs
 * and power states (shared memory), and CPU_ON/CPU_OFF carried out through that state.
 */
export interface PsciPeers {
  /** Every vCPU in id order (AFFINITY_INFO, CPU_ON's target lookup). */
  readonly vcpus: readonly PsciVcpu[]
  /** CPU_ON of `target` (an index into `vcpus`): the target's thread resets and starts it. */
  cpuOn(target: number, entry: bigint, contextId: bigint): void
  /** CPU_OFF of vCPU `id` (the caller's own). */
  cpuOff(id: number): void
}
