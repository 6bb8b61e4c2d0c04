import { Cpu, type CpuDebugConfig, type JitOptions, type SysregDevice } from '@tagvm/cpu'
import type { AccessKind, TranslationResult } from '@tagvm/mmu'
import type { PhysicalMemory } from '@tagvm/tag-memory'

/** The exits of `@tagvm/cpu`'s run() the hypervisor handles (its exits.ts, structurally). */
export type GuestCpuExit =
  | { readonly kind: 'budget' }
  | { readonly kind: 'data-abort'; readonly esr: number; readonly farHi: number; readonly farLo: number; readonly hpfar: number }
  | { readonly kind: 'instruction-abort'; readonly esr: number; readonly farHi: number; readonly farLo: number; readonly hpfar: number }
  | { readonly kind: 'hvc'; readonly imm16: number }
  | { readonly kind: 'smc'; readonly imm16: number }
  | { readonly kind: 'sysreg-trap'; readonly key: number; readonly rt: number; readonly isRead: boolean }
  | { readonly kind: 'wfx'; readonly isWfe: boolean }
  | { readonly kind: 'fp-trap' }
  | { readonly kind: 'debug'; readonly esr: number; readonly farHi: number; readonly farLo: number }

/** What the hypervisor uses of `@tagvm/cpu`'s Cpu (its hypervisor API). */
export interface GuestCpu {
  readonly mmu: {
    flushVmid(vmid: number): void
    /** A stage-1 walk without the TLB (AT S1E1R), for the VMM's debugger; optional. */
    walkStage1?(vaHi: number, vaLo: number, access: AccessKind, el: 0 | 1, pan: boolean, out: TranslationResult): boolean
  }
  readonly retired: number
  /** A kick from another thread (`@tagvm/cpu`'s kick.ts): `kicked` once it ended a run early. */
  readonly kick?: { readonly kicked: boolean }
  pc: bigint
  pstate: number
  run(budget: number): GuestCpuExit
  getX(n: number): bigint
  /** V<n> as a 128-bit value. */
  getV(n: number): bigint
  setV(n: number, value: bigint): void
  setX(n: number, value: bigint): void
  /** X<n> as uint32 halves (31 reads zero) and its write (31 discards): the MMIO path, without BigInt. */
  xLo(n: number): number
  xHi(n: number): number
  setXHalves(n: number, lo: number, hi: number): void
  getSpEl(el: 0 | 1): bigint
  setSpEl(el: 0 | 1, value: bigint): void
  hasSysreg(key: number): boolean
  getSysreg(key: number): bigint
  setSysreg(key: number, value: bigint): void
  setHcrEl2(value: bigint): void
  setVttbrEl2(value: bigint): void
  setVtcrEl2(value: number): void
  advancePc(): void
  injectUndefined(): void
  injectAbort(isData: boolean, far: bigint): void
  reset(): void
  refetch(): void
  /** Hypervisor debugging (KVM_SET_GUEST_DEBUG); a CPU without it refuses guest debug. */
  setDebug?(config: CpuDebugConfig | null): void
  /** The interrupt controller's IRQ (bit 0) and FIQ (bit 1) lines into this CPU. */
  setInterruptLines(lines: number): void
  /** ISR_EL1's I (bit 1) and F (bit 0): what would wake a WFI. */
  pendingInterrupts(): number
  /** An EL1 TLB invalidation (@tagvm/mmu's TLBI_* operation), as if this CPU executed it; SMP needs it. */
  tlbi?(op: number, hi: number, lo: number): void
  /** The GIC CPU interface behind ICC_*_EL1 (null: UNDEFINED). */
  attachGic(device: SysregDevice | null): void
  /** The generic timers behind the CNT* registers. */
  attachTimers(device: SysregDevice): void
}

export type GuestCpuFactory = (memory: PhysicalMemory) => GuestCpu

/** The default CPU: `@tagvm/cpu`'s Cpu over the host's physical memory. */
export const defaultCpuFactory: GuestCpuFactory = (memory) => new Cpu({ memory })

/**
 * `@tagvm/cpu`'s Cpu with the compiled tier on (hot code translated to WebAssembly): the
 * memory must be a PhysicalMemory made with `wasmMemory`.
 */
export function jitCpuFactory(options: JitOptions = {}): GuestCpuFactory {
  return (memory) => new Cpu({ memory, jit: options })
}
