// vCPUs of one VM taking turns on one thread (lockstep) still need a global exclusive
// monitor: KVM_RUN can return between one vCPU's LDXR and its STXR, and another vCPU's store
// to the reservation granule in between must make the STXR fail. The CPU's own monitor sees
// only its own accesses, so each CPU of a VM with more than one vCPU gets the lock-free
// value-comparing monitor of smp-monitor.ts (vCPU threads attach the locked one themselves).

import { Cpu, attachSmpMonitor, smpMonitorOf } from '@tagvm/cpu'
import type { GuestCpu } from '../guest-cpu.js'
import type { Vm } from '../vm.js'

/**
 * Called on a vCPU's first KVM_RUN (every vCPU exists by then: KVM refuses new vCPUs once the
 * vGIC is initialised): attaches the lockstep monitor when the VM has several vCPUs.
 */
export function attachLockstepMonitor(vm: Vm, cpu: GuestCpu): void {
  if (vm.vcpuCount < 2 || !(cpu instanceof Cpu) || smpMonitorOf(cpu) || cpu.retired !== 0) return
  attachSmpMonitor(cpu, null)
}
