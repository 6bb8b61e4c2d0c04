/**
 * A fuzz case as plain data: everything needed to build and run it again, so a finding is
 * a JSON file that replays without the generator. 64-bit values are hex strings.
 */

export const SCENARIO_FORMAT = 'tagvm-fuzz-scenario/1'

/** How the VMM backs a memslot. `file` (no VM_MTE_ALLOWED) only appears without MTE. */
export type Backing = 'anon' | 'anon-shared' | 'memfd' | 'file'

export interface SlotSpec {
  readonly slot: number
  /** Guest physical address (IPA). */
  readonly gpa: number
  readonly size: number
  readonly backing: Backing
  /** The VMM's own mapping has PROT_MTE. */
  readonly protMte: boolean
  /** KVM_MEM_READONLY: guest writes become MMIO exits. */
  readonly readonly: boolean
  /** The VMM maps it PROT_READ only (files): a guest write fails KVM_RUN with EFAULT. */
  readonly vmmReadOnly: boolean
}

/** Stage-1 translation of one region (guest VA = IPA; TTBR1 maps the same tables). */
export type PageKind =
  | 'unmapped'
  | 'tagged' // Normal, MAIR 0xf0 (Tagged), EL1 read/write
  | 'normal' // Normal write-back, not Tagged
  | 'noncacheable'
  | 'readonly'
  | 'el0-tagged' // EL0 and EL1 read/write, Tagged
  | 'el0-normal'
  | 'el0-readonly'
  | 'device'
  | 'no-access-flag' // AF = 0: an access flag fault on first use
  | 'code' // read-only at both ELs, executable

export interface PageSpec {
  readonly va: number
  readonly size: number
  readonly kind: PageKind
  /** Map the region with one block descriptor (4 KiB granule, 2 MiB aligned regions). */
  readonly block?: boolean
}

export interface Regime {
  /** Stage 1 off, or the granule in KiB. */
  readonly mmu: 'off' | 4 | 16 | 64
  readonly t0sz: number
  /** TTBR1 maps the same tables (upper-half aliases of every region). */
  readonly ttbr1: boolean
  readonly sctlr: string
  readonly tcr: string
  readonly mair: string
  /** MAIR indices of the attributes the page kinds use. */
  readonly attrIndex: { readonly tagged: number; readonly normal: number; readonly noncacheable: number; readonly device: number }
  readonly asid: number
  readonly gcr: string
  readonly rgsr: string
  readonly cpacr: string
  readonly cntkctl: string
}

export interface VcpuSpec {
  /** X0..X30 at entry to the random code. */
  readonly x: readonly string[]
  readonly spEl0: string
  readonly spEl1: string
  /** SPSR_EL1 the setup code returns with: the EL, SP, NZCV, DAIF, PAN, UAO, TCO, SSBS of the random code. */
  readonly spsr: string
  /** Word index in the code where this vCPU starts. */
  readonly entry: number
  /** vCPU 0 starts this one with PSCI CPU_ON instead of it starting runnable. */
  readonly startedByPsci: boolean
}

export type Perturbation =
  /** Swap out guest pages through the VMM process (host swap). */
  | { readonly kind: 'swap'; readonly pages: readonly (readonly [slot: number, page: number])[] }
  /** MADV_PAGEOUT of a range of a slot. */
  | { readonly kind: 'pageout'; readonly slot: number; readonly page: number; readonly count: number }
  /** Page migration of resident guest pages. */
  | { readonly kind: 'migrate-pages'; readonly pages: readonly (readonly [slot: number, page: number])[] }
  | { readonly kind: 'compact'; readonly maxMoves: number }
  | { readonly kind: 'ksm' }
  /** KVM_ARM_MTE_COPY_TAGS from the guest, then the same tags back. */
  | { readonly kind: 'copy-tags'; readonly gpa: number; readonly length: number }
  /** Dirty logging on or off for a slot (KVM_MEM_LOG_DIRTY_PAGES). */
  | { readonly kind: 'dirty-log'; readonly slot: number; readonly enable: boolean }
  /** KVM_GET_DIRTY_LOG (and KVM_CLEAR_DIRTY_LOG with manual protection) of every logged slot. */
  | { readonly kind: 'dirty-harvest' }
  /** immediate_exit, then KVM_GET_ONE_REG of every listed register and KVM_SET_ONE_REG back. */
  | { readonly kind: 'one-reg'; readonly vcpu: number; readonly reverse: boolean }
  /** fork() the VMM process (private memory becomes copy-on-write); the child exits later. */
  | { readonly kind: 'fork' }
  | { readonly kind: 'fork-exit' }
  /** Delete a memslot and create it again over the same memory. */
  | { readonly kind: 'slot-recreate'; readonly slot: number }
  | { readonly kind: 'hugepage'; readonly slot: number; readonly on: boolean }
  /** The VMM reads pages through its mapping and writes the same bytes back. */
  | { readonly kind: 'vmm-rewrite'; readonly slot: number; readonly page: number; readonly count: number }
  /**
   * A KVM_SET_USER_MEMORY_REGION that must fail and change nothing: a file mapping (no
   * VM_MTE_ALLOWED) with MTE on (EINVAL), a slot over another (EEXIST), a resize (EINVAL).
   */
  | { readonly kind: 'refused-memslot'; readonly why: 'file-with-mte' | 'overlap' | 'resize' }
  /** mprotect of the VMM's mapping adding or removing PROT_MTE (not for file mappings). */
  | { readonly kind: 'mprotect-mte'; readonly slot: number; readonly on: boolean }
  /** Move the VM to a new one (stop and copy: memory, tags through COPY_TAGS, ONE_REG). */
  | { readonly kind: 'migrate-vm'; readonly target: MigrationTarget }
  /** Live migration: start pre-copy with dirty logging; each later slice copies dirty pages. */
  | { readonly kind: 'migrate-live-start'; readonly target: MigrationTarget }
  | { readonly kind: 'migrate-live-finish' }
  /**
   * Deliberately observable (oracle self-test only, never generated): zero the tags of a
   * range through KVM_ARM_MTE_COPY_TAGS.
   */
  | { readonly kind: 'inject-zero-tags'; readonly gpa: number; readonly length: number }

/** Where a migrated VM goes: another VM of this process, another process, another host. */
export type MigrationTarget = 'same-process' | 'other-process' | 'other-host'

export interface ScheduledPerturbation {
  /** Applied before slice `at` runs. */
  readonly at: number
  readonly op: Perturbation
}

export interface Scenario {
  readonly format: typeof SCENARIO_FORMAT
  readonly seed: string
  readonly mte: boolean
  readonly hostMteLevel: 0 | 2 | 3
  readonly thp: 'never' | 'always' | 'madvise'
  readonly ipaBits: number
  readonly nisvToUser: boolean
  /** Host memory in MiB (small, so compaction and frame reuse matter). */
  readonly hostMemoryMiB: number
  /**
   * KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 flags the perturbed run enables (0: off; 1: manual
   * protect; 3: also KVM_DIRTY_LOG_INITIALLY_SET).
   */
  readonly manualDirtyLog: number
  /**
   * Differential: the run with perturbations must end exactly as the run without. Chaos
   * scenarios (false) may contain anything; only the host-exception and hang oracles apply.
   */
  readonly strict: boolean
  /** Avoided counter/timer instructions because the scenario migrates (FINDINGS.md F1). */
  readonly avoidTimers: boolean
  /** Avoided AT instructions (strict scenarios: FINDINGS.md F3). */
  readonly avoidAt: boolean
  readonly slots: readonly SlotSpec[]
  readonly regime: Regime
  readonly pages: readonly PageSpec[]
  readonly vcpus: readonly VcpuSpec[]
  /** The random code, placed at CODE_BASE. */
  readonly code: readonly number[]
  /** Seed of the initial data and tags of the data pages. */
  readonly dataSeed: number
  /** Pages (slot, page) the VMM fills with data before the start; the rest start untouched. */
  readonly filledPages: readonly (readonly [slot: number, page: number])[]
  /** Instruction budget of each slice; slice i runs vCPU i mod vcpus.length. */
  readonly slices: readonly number[]
  readonly perturbations: readonly ScheduledPerturbation[]
  /** Seed of the data MMIO reads return. */
  readonly mmioSeed: number
  /**
   * End a slice right after every n-th MMIO exit (0: never), with the access answered but
   * not yet completed, as when a VMM is stopped between handling an exit and re-entering.
   */
  readonly yieldOnMmio: number
}

export function hex64(value: bigint): string {
  return `0x${BigInt.asUintN(64, value).toString(16)}`
}

export function fromHex(text: string): bigint {
  return BigInt(text)
}

/** Total guest instructions the scenario asks for (per run). */
export function scenarioInstructions(s: Scenario): number {
  return s.slices.reduce((a, b) => a + b, 0)
}
