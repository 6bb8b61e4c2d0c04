// TLB maintenance across the vCPUs of a VM. Every vCPU has a TLB of its own (a Cpu's MMU), so
// a TLBI one vCPU executes would otherwise reach only its own. KVM runs guests with
// HCR_EL2.FB set, which makes every EL1 TLBI broadcast within the inner-shareable domain; the
// hardware then completes it on every PE before the issuer's DSB completes. Here a VM with
// more than one vCPU (or a vCPU on a thread) traps TLB maintenance (HCR_EL2.TTLB); the trap
// performs it on the issuer and, before the instruction completes, on every other vCPU: in
// lockstep directly on their CPUs, on threads through the VM's `tlbBroadcast` (vcpu-thread.ts).

import { sysregKey } from '@tagvm/cpu'
import { TLBI_ASIDE1, TLBI_VAAE1, TLBI_VAALE1, TLBI_VAE1, TLBI_VALE1, TLBI_VMALLE1 } from '@tagvm/mmu'
import type { GuestCpu } from '../guest-cpu.js'

/** Performs an EL1 TLBI on other vCPUs' TLBs; returns once every one of them has done it. */
export type TlbBroadcast = (op: number, hi: number, lo: number) => void

/** What a VM offers for TLB maintenance across its vCPUs (the hypervisor's Vm has it). */
export interface TlbDomain {
  readonly vcpus: readonly { readonly cpu: GuestCpu }[]
  /** Set on a vCPU thread's VM: reaches the vCPUs of the other threads. */
  readonly tlbBroadcast: TlbBroadcast | undefined
}

/** The EL1 TLBI forms by op2 (the MMU's operation), inner-shareable (CRm 3) and local (CRm 7). */
const TLBI_BY_OP2: readonly (readonly [number, number])[] = [
  [0, TLBI_VMALLE1], [1, TLBI_VAE1], [2, TLBI_ASIDE1], [3, TLBI_VAAE1], [5, TLBI_VALE1], [7, TLBI_VAALE1],
]
const TLBI_OPS = new Map<number, number>(TLBI_BY_OP2.flatMap(([op2, op]) => [3, 7].map((crm) => [sysregKey(1, 0, 8, crm, op2), op] as const)))

/** The MMU operation of a trapped TLBI system instruction, or undefined for any other key. */
export function tlbiOperation(key: number): number | undefined {
  return TLBI_OPS.get(key)
}

/** Whether a VM's vCPUs trap TLB maintenance to keep each other's TLBs coherent. */
export function tlbMaintenanceShared(vm: TlbDomain): boolean {
  return vm.vcpus.length > 1 || vm.tlbBroadcast !== undefined
}

/**
 * A trapped TLBI by `issuer`: on its own TLB, then (HCR_EL2.FB: every form is broadcast) on
 * every other vCPU of the VM, all before the instruction completes.
 */
export function performTlbi(vm: TlbDomain, issuer: GuestCpu, op: number, hi: number, lo: number): void {
  issuer.tlbi?.(op, hi, lo)
  for (const vcpu of vm.vcpus) if (vcpu.cpu !== issuer) vcpu.cpu.tlbi?.(op, hi, lo)
  vm.tlbBroadcast?.(op, hi, lo)
}
