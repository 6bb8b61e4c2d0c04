/**
 * Draws a scenario from a seed: the host (MTE level, THP, memory size), the VM and its
 * memslots, the translation regime, each vCPU's registers and entry state, the random code
 * with structured snippets mixed in, the slice budgets and the host perturbations between
 * slices.
 */
import { ERET, hvc, movImm64, movz, movk, msr, mrs, Sys } from './encode.js'
import {
  CODE_GPA,
  MAIN_GPA,
  MMIO_GPA,
  PSCI,
  REFUSED_GPA,
  REGION,
  SLOT1_GPA,
  SLOT2_GPA,
  fixedPages,
  mpidrOf,
} from './layout.js'
import { Rng } from './rng.js'
import {
  SCENARIO_FORMAT,
  hex64,
  type Backing,
  type MigrationTarget,
  type PageKind,
  type PageSpec,
  type Perturbation,
  type Regime,
  type Scenario,
  type ScheduledPerturbation,
  type SlotSpec,
  type VcpuSpec,
} from './scenario.js'
import { dataStart, generatedPointer } from './pointers.js'
import { randomWord, type WordPolicy } from './words.js'

export interface GenerateOptions {
  /** Guest instructions per run of the scenario (default: drawn, 20k..250k). */
  readonly instructions?: number
  /** Force differential (true) or chaos (false) scenarios. */
  readonly strict?: boolean
  /** Do not avoid what known findings make observable (FINDINGS.md F1, F3): to reproduce them. */
  readonly keepKnown?: boolean
}

const PAGE = 4096

export function generateScenario(seed: string, options: GenerateOptions = {}): Scenario {
  const rng = new Rng(seed)
  const hostMteLevel = rng.weighted<0 | 2 | 3>([
    [80, 3],
    [15, 2],
    [5, 0],
  ])
  const mte = hostMteLevel !== 0 && rng.chance(0.8)
  const strict = options.strict ?? rng.chance(0.85)
  const thp = rng.weighted<'never' | 'always' | 'madvise'>([
    [50, 'never'],
    [30, 'always'],
    [20, 'madvise'],
  ])
  const slots = generateSlots(rng, mte)
  const regime = generateRegime(rng, hostMteLevel)
  const pages = generatePages(rng, regime, slots)
  const vcpuCount = rng.chance(0.3) ? 2 : 1
  const codeWords = 1024 * rng.range(1, 4)
  const instructions = options.instructions ?? Math.round(Math.exp(Math.log(20_000) + rng.u32() / 2 ** 32 * Math.log(250_000 / 20_000)))
  const slices = generateSlices(rng, instructions)
  const migrates = rng.chance(0.3)
  const perturbations = generatePerturbations(rng, { mte, slots, slices: slices.length, vcpus: vcpuCount, migrates })
  const avoidTimers = perturbations.some((p) => p.op.kind === 'migrate-vm' || p.op.kind === 'migrate-live-start') && !options.keepKnown
  const avoidAt = strict && !options.keepKnown
  const pointerRegs = [...Array(31).keys()].filter(() => rng.chance(0.45))
  const vcpus: VcpuSpec[] = []
  for (let i = 0; i < vcpuCount; i++) vcpus.push(generateVcpu(rng, { regime, slots, pointerRegs, codeWords, mte, psci: i > 0 && rng.chance(0.5) }))
  const policy: WordPolicy = { strict, avoidTimers, avoidAt, pointerRegs }
  const code = generateCode(rng, policy, codeWords, { vcpus: vcpuCount, mte, strict })
  const filledPages: (readonly [number, number])[] = []
  for (const slot of slots) {
    for (let page = dataStart(slot) / PAGE; page < slot.size / PAGE; page++) if (rng.chance(0.4)) filledPages.push([slot.slot, page])
  }
  return {
    format: SCENARIO_FORMAT,
    seed,
    mte,
    hostMteLevel,
    thp,
    ipaBits: rng.pick([36, 40, 44]),
    nisvToUser: rng.chance(0.5),
    hostMemoryMiB: rng.pick([32, 48, 64]),
    manualDirtyLog: rng.pick([0, 0, 1, 3]),
    strict,
    avoidTimers,
    avoidAt,
    slots,
    regime,
    pages,
    vcpus,
    code,
    dataSeed: rng.u32(),
    filledPages,
    slices,
    perturbations,
    mmioSeed: rng.u32(),
    yieldOnMmio: rng.pick([0, 0, 1, 2, 5]),
  }
}

function generateSlots(rng: Rng, mte: boolean): SlotSpec[] {
  const slots: SlotSpec[] = []
  const writable = (): Backing => rng.pick<Backing>(['anon', 'anon', 'anon-shared', 'memfd'])
  slots.push({ slot: 0, gpa: MAIN_GPA, size: rng.pick([1, 2]) << 20, backing: writable(), protMte: mte && rng.chance(0.7), readonly: false, vmmReadOnly: false })
  {
    const backing = writable()
    slots.push({ slot: 1, gpa: SLOT1_GPA, size: 2 << 20, backing, protMte: mte && rng.chance(0.5), readonly: false, vmmReadOnly: false })
  }
  if (rng.chance(0.6)) {
    // Without MTE a file mapping is legal (no VM_MTE_ALLOWED needed); with MTE it is refused.
    const backing: Backing = !mte && rng.chance(0.5) ? 'file' : writable()
    const vmmReadOnly = backing === 'file' && rng.chance(0.3)
    slots.push({
      slot: rng.pick([2, 7, 31]),
      gpa: SLOT2_GPA,
      size: rng.pick([4, 8, 16]) * REGION,
      backing,
      protMte: mte && backing !== 'file' && rng.chance(0.5),
      readonly: !vmmReadOnly && rng.chance(0.3),
      vmmReadOnly,
    })
  }
  return slots
}

function generateRegime(rng: Rng, hostMteLevel: number): Regime {
  const mmu = rng.weighted<Regime['mmu']>([
    [20, 'off'],
    [40, 4],
    [20, 16],
    [20, 64],
  ])
  const granule = mmu === 'off' ? rng.pick([4, 16, 64] as const) : mmu
  const t0sz = rng.range(16, 32)
  const ttbr1 = mmu !== 'off' && rng.chance(0.4)
  // MAIR: distinct slots for the attributes the page kinds use, random valid ones elsewhere.
  const order = [0, 1, 2, 3, 4, 5, 6, 7].sort(() => rng.u32() - 0x8000_0000)
  const attrIndex = { tagged: order[0] as number, normal: order[1] as number, noncacheable: order[2] as number, device: order[3] as number }
  const mairBytes = [0, 1, 2, 3, 4, 5, 6, 7].map(() => rng.pick([0x00, 0x04, 0x08, 0x0c, 0x44, 0xff, 0xbb, 0xf0]))
  mairBytes[attrIndex.tagged] = 0xf0
  mairBytes[attrIndex.normal] = 0xff
  mairBytes[attrIndex.noncacheable] = 0x44
  mairBytes[attrIndex.device] = 0x04
  const mair = mairBytes.reduce((acc, byte, i) => acc | (BigInt(byte) << BigInt(8 * i)), 0n)
  const tg0 = { 4: 0n, 64: 1n, 16: 2n }[granule]
  const tg1 = { 16: 1n, 4: 2n, 64: 3n }[granule]
  const bit = (p: number): bigint => (rng.chance(p) ? 1n : 0n)
  const tcr =
    BigInt(t0sz) |
    (BigInt(rng.int(4)) << 8n) | // IRGN0
    (BigInt(rng.int(4)) << 10n) | // ORGN0
    (3n << 12n) | // SH0 inner shareable
    (tg0 << 14n) |
    (BigInt(t0sz) << 16n) |
    ((ttbr1 ? 0n : 1n) << 23n) | // EPD1
    (3n << 28n) |
    (tg1 << 30n) |
    (BigInt(rng.int(3)) << 32n) | // IPS: 32, 36 or 40 bits (all of guest memory is below 2^31)
    (bit(0.8) << 37n) | // TBI0
    (bit(0.8) << 38n) | // TBI1
    (bit(0.15) << 51n) | // TBID0
    (bit(0.15) << 52n) | // TBID1
    (bit(0.3) << 57n) | // TCMA0
    (bit(0.3) << 58n) // TCMA1
  const tcfMax = hostMteLevel >= 3 ? 4 : 3
  const tcf = (): bigint => BigInt(rng.weighted([[40, 1], [20, 2], [20, 0], [20, Math.min(3, tcfMax - 1)]]))
  let sctlr = 0x00c5_0078n // KVM's reset value: SA, SA0, CP15BEN, nAA, nTWI, nTWE, EIS, SPAN
  if (mmu !== 'off') sctlr |= 1n // M
  sctlr |= bit(0.15) << 1n // A
  sctlr |= bit(0.7) << 2n // C
  sctlr |= bit(0.7) << 12n // I
  sctlr |= bit(0.7) << 14n // DZE
  sctlr |= bit(0.5) << 15n // UCT
  sctlr |= bit(0.7) << 26n // UCI
  sctlr |= bit(0.1) << 19n // WXN
  sctlr |= bit(0.3) << 9n // UMA
  if (rng.chance(0.3)) sctlr &= ~(1n << 23n) // SPAN = 0: PAN set on exception entry
  if (rng.chance(0.2)) sctlr &= ~(1n << 3n) // SA
  if (rng.chance(0.2)) sctlr &= ~(1n << 4n) // SA0
  sctlr |= bit(0.3) << 37n // ITFSB
  sctlr |= tcf() << 38n // TCF0
  sctlr |= tcf() << 40n // TCF
  sctlr |= bit(0.8) << 42n // ATA0
  sctlr |= bit(0.8) << 43n // ATA
  const gcr = BigInt(rng.chance(0.5) ? 0 : rng.int(1 << 16)) | (bit(0.3) << 16n)
  const rgsr = (BigInt(rng.int(1 << 16)) << 8n) | BigInt(rng.int(16))
  return {
    mmu,
    t0sz,
    ttbr1,
    sctlr: hex64(sctlr),
    tcr: hex64(tcr),
    mair: hex64(mair),
    attrIndex,
    asid: rng.int(256),
    gcr: hex64(gcr),
    rgsr: hex64(rgsr),
    cpacr: hex64(rng.chance(0.5) ? 3n << 20n : 0n),
    cntkctl: hex64(BigInt(rng.int(4)) | (BigInt(rng.int(4)) << 8n)),
  }
}

function generatePages(rng: Rng, regime: Regime, slots: readonly SlotSpec[]): PageSpec[] {
  const pages = fixedPages()
  if (regime.mmu === 'off') return pages
  const kinds: readonly (readonly [number, PageKind])[] = [
    [30, 'tagged'],
    [15, 'normal'],
    [5, 'noncacheable'],
    [8, 'readonly'],
    [12, 'el0-tagged'],
    [6, 'el0-normal'],
    [5, 'el0-readonly'],
    [4, 'device'],
    [4, 'no-access-flag'],
    [5, 'unmapped'],
    [3, 'code'],
  ]
  pages.push({ va: MMIO_GPA, size: REGION, kind: rng.pick(['device', 'device', 'el0-normal'] as const) })
  for (const slot of slots) {
    if (slot.slot === 1 && regime.mmu === 4 && rng.chance(0.3)) {
      pages.push({ va: slot.gpa, size: slot.size, kind: rng.pick(['tagged', 'el0-tagged', 'normal'] as const), block: true })
      continue
    }
    for (let at = dataStart(slot); at < slot.size; at += REGION) pages.push({ va: slot.gpa + at, size: REGION, kind: rng.weighted(kinds) })
  }
  // A window beyond the slots: stage 1 maps it, stage 2 has nothing there (MMIO exits).
  pages.push({ va: REFUSED_GPA, size: REGION, kind: 'tagged' })
  return pages
}

/**
 * Slice budgets adding up to `instructions`: 4 to 48 slices of varied size (a few single
 * steps among them), so small scenarios get as many perturbation points as big ones.
 */
function generateSlices(rng: Rng, instructions: number): number[] {
  const count = rng.range(4, 48)
  const mean = Math.max(1, Math.floor(instructions / count))
  const slices: number[] = []
  let left = instructions
  while (left > 0) {
    const size = rng.weighted<() => number>([
      [10, () => rng.range(1, 16)],
      [45, () => rng.range(1, mean)],
      [45, () => rng.range(mean, 2 * mean)],
    ])()
    const slice = Math.min(left, size)
    slices.push(slice)
    left -= slice
  }
  return slices
}

interface PerturbationContext {
  readonly mte: boolean
  readonly slots: readonly SlotSpec[]
  readonly slices: number
  readonly vcpus: number
  readonly migrates: boolean
}

function generatePerturbations(rng: Rng, ctx: PerturbationContext): ScheduledPerturbation[] {
  const out: ScheduledPerturbation[] = []
  const randomPage = (): readonly [number, number] => {
    const slot = rng.pick(ctx.slots)
    return [slot.slot, rng.int(slot.size / PAGE)]
  }
  const somePages = (): (readonly [number, number])[] => {
    const n = rng.range(1, 24)
    const first = randomPage()
    // Often a run of neighbouring pages, so swap and migration hit what the guest uses.
    return [...Array(n).keys()].map((i) => (rng.chance(0.6) ? ([first[0], Math.min(first[1] + i, (ctx.slots.find((s) => s.slot === first[0]) as SlotSpec).size / PAGE - 1)] as const) : randomPage()))
  }
  const make = (): Perturbation => {
    const slot = rng.pick(ctx.slots)
    return rng.weighted<() => Perturbation>([
      [20, () => ({ kind: 'swap', pages: somePages() })],
      [6, () => ({ kind: 'pageout', slot: slot.slot, page: rng.int(slot.size / PAGE), count: rng.range(1, 64) })],
      [15, () => ({ kind: 'migrate-pages', pages: somePages() })],
      [5, () => ({ kind: 'compact', maxMoves: rng.pick([8, 64, 100_000]) })],
      [5, () => ({ kind: 'ksm' })],
      [ctx.mte ? 15 : 0, () => copyTagsRange(rng, ctx.slots)],
      [8, () => ({ kind: 'dirty-log', slot: slot.slot, enable: rng.chance(0.6) })],
      [6, () => ({ kind: 'dirty-harvest' })],
      [10, () => ({ kind: 'one-reg', vcpu: rng.int(ctx.vcpus), reverse: rng.chance(0.5) })],
      [3, () => ({ kind: 'fork' })],
      [3, () => ({ kind: 'fork-exit' })],
      [4, () => ({ kind: 'slot-recreate', slot: slot.slot })],
      [3, () => ({ kind: 'hugepage', slot: slot.slot, on: rng.chance(0.5) })],
      [3, () => ({ kind: 'refused-memslot', why: rng.pick(ctx.mte ? (['file-with-mte', 'overlap', 'resize'] as const) : (['overlap', 'resize'] as const)) })],
      [6, () => ({ kind: 'vmm-rewrite', slot: slot.slot, page: rng.int(slot.size / PAGE), count: rng.range(1, 32) })],
      [slot.backing === 'file' ? 0 : 3, () => ({ kind: 'mprotect-mte', slot: slot.slot, on: rng.chance(0.6) })],
    ])()
  }
  for (let at = 0; at < ctx.slices; at++) {
    if (!rng.chance(0.35)) continue
    const n = rng.range(1, 3)
    for (let i = 0; i < n; i++) out.push({ at, op: make() })
  }
  if (ctx.migrates && ctx.slices > 1) {
    const migrations = rng.range(1, 2)
    for (let m = 0; m < migrations; m++) {
      const target = rng.pick<MigrationTarget>(['same-process', 'other-process', 'other-host'])
      const at = rng.range(1, ctx.slices - 1)
      if (rng.chance(0.5) || at >= ctx.slices - 1) {
        out.push({ at, op: { kind: 'migrate-vm', target } })
      } else {
        const end = Math.min(ctx.slices - 1, at + rng.range(1, 6))
        out.push({ at, op: { kind: 'migrate-live-start', target } }, { at: end, op: { kind: 'migrate-live-finish' } })
      }
    }
  }
  return out.sort((a, b) => a.at - b.at)
}

function copyTagsRange(rng: Rng, slots: readonly SlotSpec[]): Perturbation {
  const slot = rng.pick(slots)
  const page = rng.int(slot.size / PAGE)
  // Mostly inside the slot; sometimes running past its end (a partial copy).
  const pages = rng.chance(0.85) ? rng.range(1, Math.min(64, slot.size / PAGE - page)) : rng.range(1, 64)
  return { kind: 'copy-tags', gpa: slot.gpa + page * PAGE, length: pages * PAGE }
}

interface VcpuContext {
  readonly regime: Regime
  readonly slots: readonly SlotSpec[]
  readonly pointerRegs: readonly number[]
  readonly codeWords: number
  readonly mte: boolean
  readonly psci: boolean
}

function generateVcpu(rng: Rng, ctx: VcpuContext): VcpuSpec {
  const x: string[] = []
  for (let n = 0; n < 31; n++) {
    let v: bigint
    if (ctx.pointerRegs.includes(n)) v = generatedPointer(rng, ctx.regime, ctx.slots)
    else
      v = rng.weighted<() => bigint>([
        [40, () => BigInt(rng.int(64))],
        [30, () => rng.u64()],
        [30, () => BigInt(rng.u32())],
      ])()
    x.push(hex64(v))
  }
  const el = rng.chance(0.45) ? 0 : 1
  const mode = el === 0 ? 0 : rng.chance(0.8) ? 5 : 4
  let spsr = BigInt(mode) | (BigInt(rng.int(16)) << 28n) // M, NZCV
  spsr |= BigInt(rng.chance(0.7) ? 0xf : rng.int(16)) << 6n // DAIF
  if (rng.chance(0.3)) spsr |= 1n << 22n // PAN
  if (rng.chance(0.1)) spsr |= 1n << 23n // UAO
  if (ctx.mte && rng.chance(0.2)) spsr |= 1n << 25n // TCO
  if (rng.chance(0.3)) spsr |= 1n << 12n // SSBS
  const sp = (): string => hex64(rng.chance(0.7) ? generatedPointer(rng, ctx.regime, ctx.slots) & ~15n : rng.u64())
  return { x, spEl0: sp(), spEl1: sp(), spsr: hex64(spsr), entry: rng.int(ctx.codeWords), startedByPsci: ctx.psci }
}

interface CodeContext {
  readonly vcpus: number
  readonly mte: boolean
  readonly strict: boolean
}

/** Random words with structured snippets (PSCI calls, MMIO, tag-checked sequences) mixed in. */
function generateCode(rng: Rng, policy: WordPolicy, count: number, ctx: CodeContext): number[] {
  const code: number[] = []
  while (code.length < count) {
    if (rng.chance(0.015)) {
      const snippet = structuredSnippet(rng, policy, ctx)
      code.push(...snippet.slice(0, count - code.length))
      continue
    }
    code.push(randomWord(rng, policy))
  }
  return code
}

function structuredSnippet(rng: Rng, policy: WordPolicy, ctx: CodeContext): number[] {
  const p = policy.pointerRegs.length > 0 ? rng.pick(policy.pointerRegs) : 1
  return rng.weighted<() => number[]>([
    [4, () => [...movImm64(0, BigInt(rng.pick([PSCI.VERSION, PSCI.FEATURES, PSCI.AFFINITY_INFO, PSCI.CPU_SUSPEND])) ), hvc(0)]],
    [ctx.vcpus > 1 ? 2 : 0, () => [...movImm64(0, BigInt(PSCI.CPU_ON)), movz(1, mpidrOf(1)), ...movImm64(2, BigInt(CODE_GPA)), hvc(0)]],
    [1, () => [...movImm64(0, BigInt(rng.chance(0.5) ? PSCI.SYSTEM_OFF : PSCI.SYSTEM_RESET)), hvc(0)]],
    [ctx.vcpus > 1 ? 1 : 0, () => [...movImm64(0, BigInt(PSCI.CPU_OFF)), hvc(0)]],
    // MMIO: a store and a load through the PL011-like window.
    [6, () => [movz(9, MMIO_GPA >>> 16, 16), rng.pick([0x39000120, 0xb9000120, 0xf9000120]) | rng.int(8), rng.pick([0x39400120, 0xb9400120, 0xf9400120]) | rng.int(8)]],
    // A tag round trip: IRG, STG, tag-checked load and store through the new tag, LDG.
    [ctx.mte ? 8 : 2, () => [0x9adf1000 | (p << 5) | 10, 0xd9200800 | (10 << 5) | 10, 0xf9400000 | (10 << 5) | 11, 0xf9000400 | (10 << 5) | 11, 0xd9600000 | (10 << 5) | 12]],
    // Read back the MTE state and the exception record registers.
    [3, () => [mrs(13, Sys.TFSR_EL1), mrs(14, Sys.TFSRE0_EL1), mrs(15, Sys.ESR_EL1), mrs(16, Sys.FAR_EL1)]],
    // Change TCO and the GCR exclusion mask from the code.
    [ctx.mte ? 3 : 0, () => [0xd503409f | (rng.int(2) << 8), ...movImm64(17, BigInt(rng.int(1 << 17))), msr(Sys.GCR_EL1, 17)]],
    // An exclusive pair (chaos scenarios only: see words.ts).
    [ctx.strict ? 0 : 3, () => [0xc85f7c00 | (p << 5) | 18, 0x91000400 | (18 << 5) | 18, 0xc8137c00 | (p << 5) | 18]],
    // Return to EL0 or EL1 through an ERET with whatever SPSR_EL1/ELR_EL1 hold.
    [2, () => [movk(19, rng.int(1 << 16)), ERET]],
  ])().map((w) => w >>> 0)
}
