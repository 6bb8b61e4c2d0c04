/**
 * The guest's memory map and the structured code every scenario starts with: per-vCPU setup
 * code (system registers, then ERET into the random code at EL0 or EL1), exception vectors
 * that record each exception in a log and resume after it, and the stage-1 tables.
 *
 * Main memslot (64 KiB regions, so every granule can give each its own attributes):
 *   +0x00000 setup code, 2 KiB per vCPU         +0x04000 vectors, 4 KiB per vCPU
 *   +0x10000 exception logs, 4 KiB per vCPU     +0x20000 stage-1 tables (never mapped)
 *   +0x80000 random code                        +0x90000 data
 */
import {
  ERET,
  ISB,
  DSB_SY,
  TLBI_VMALLE1,
  Cond,
  Sys,
  addImm,
  addShifted,
  b,
  bCond,
  cmpImm,
  hvc,
  ldrX,
  movImm64,
  movk,
  movz,
  mrs,
  msr,
  strX,
  subReg,
  ubfx,
} from './encode.js'
import type { PageKind, PageSpec, Regime, Scenario, VcpuSpec } from './scenario.js'
import { fromHex } from './scenario.js'

export const MAIN_GPA = 0x4000_0000
export const SETUP_OFFSET = 0x0
export const SETUP_BYTES = 0x800
export const VECTORS_OFFSET = 0x4000
export const LOG_OFFSET = 0x1_0000
export const TABLES_OFFSET = 0x2_0000
export const TABLES_END = 0x8_0000
export const CODE_OFFSET = 0x8_0000
export const CODE_REGION = 0x1_0000
export const DATA_OFFSET = 0x9_0000
export const SLOT1_GPA = 0x5000_0000
export const SLOT2_GPA = 0x6000_0000
/** A window with no memslot that guest pointers aim at (refused memslots go here). */
export const REFUSED_GPA = SLOT2_GPA + 0x40_0000
/** A PL011-like MMIO window (no memslot: every access is an MMIO exit). */
export const MMIO_GPA = 0x0900_0000
export const REGION = 0x1_0000
export const MAX_VCPUS = 4
/** Ring of exception records in each log page: 64 entries of 32 bytes from +64. */
const LOG_RING_BITS = 6

export const CODE_GPA = MAIN_GPA + CODE_OFFSET

export function setupGpa(vcpu: number): number {
  return MAIN_GPA + SETUP_OFFSET + vcpu * SETUP_BYTES
}
export function vectorsGpa(vcpu: number): number {
  return MAIN_GPA + VECTORS_OFFSET + vcpu * 0x1000
}
export function logGpa(vcpu: number): number {
  return MAIN_GPA + LOG_OFFSET + vcpu * 0x1000
}

/** PSCI function ids (SMCCC, 64-bit calling convention where there is one). */
export const PSCI = {
  VERSION: 0x8400_0000,
  CPU_SUSPEND: 0xc400_0001,
  CPU_OFF: 0x8400_0002,
  CPU_ON: 0xc400_0003,
  AFFINITY_INFO: 0xc400_0004,
  SYSTEM_OFF: 0x8400_0008,
  SYSTEM_RESET: 0x8400_0009,
  FEATURES: 0x8400_000a,
} as const

/** MPIDR_EL1.Aff0 of vCPU i, as KVM numbers them (Aff0 = id for small ids). */
export function mpidrOf(vcpu: number): number {
  return vcpu
}

/**
 * The exception vectors of one vCPU and their common handler: save X0-X2 (X0 in TPIDR_EL1,
 * the others in the log page), count the exception, record vector, ESR, FAR and ELR in a
 * ring, then return to ELR + 4, or to the start of the code when that leaves it.
 */
export function vectorCode(vcpu: number, codeBytes: number): Uint32Array {
  const words = new Uint32Array(0x1000 / 4)
  const log = logGpa(vcpu)
  const common = 0x800
  for (let entry = 0; entry < 16; entry++) {
    const at = (entry * 0x80) / 4
    const seq = [
      msr(Sys.TPIDR_EL1, 0),
      movz(0, log & 0xffff),
      movk(0, log >>> 16, 16),
      strX(1, 0, 8),
      strX(2, 0, 16),
      movz(1, entry),
    ]
    seq.push(b(common - (entry * 0x80 + seq.length * 4)))
    words.set(seq, at)
  }
  const code = CODE_GPA
  const handler = [
    ldrX(2, 0, 0),
    addImm(2, 2, 1),
    strX(2, 0, 0),
    ubfx(2, 2, 0, LOG_RING_BITS),
    addShifted(2, 0, 2, 5),
    strX(1, 2, 64),
    mrs(1, Sys.ESR_EL1),
    strX(1, 2, 72),
    mrs(1, Sys.FAR_EL1),
    strX(1, 2, 80),
    mrs(1, Sys.ELR_EL1),
    strX(1, 2, 88),
    addImm(1, 1, 4),
    movz(2, code & 0xffff),
    movk(2, code >>> 16, 16),
    subReg(2, 1, 2),
    cmpImm(2, codeBytes / 0x1000, true),
    bCond(Cond.LO, 12),
    movz(1, code & 0xffff),
    movk(1, code >>> 16, 16),
    msr(Sys.ELR_EL1, 1),
    ldrX(1, 0, 8),
    ldrX(2, 0, 16),
    mrs(0, Sys.TPIDR_EL1),
    ERET,
  ]
  words.set(handler, common / 4)
  return words
}

/** TTBR0_EL1/TTBR1_EL1 values, or zeros with the MMU off. */
export function ttbrValues(regime: Regime): { ttbr0: bigint; ttbr1: bigint } {
  const root = BigInt(MAIN_GPA + TABLES_OFFSET)
  return { ttbr0: root | (BigInt(regime.asid) << 48n), ttbr1: regime.ttbr1 ? root : 0n }
}

/**
 * The setup code of one vCPU: runs at EL1 with the MMU off from reset, programs the
 * regime's system registers, turns the MMU on if asked, then ERETs into the random code
 * with the vCPU's SPSR and X0. vCPU 0 starts the PSCI-started vCPUs first; a vCPU started
 * by PSCI also loads its own X1-X30 and stack pointers (CPU_ON resets them).
 */
export function setupCode(s: Scenario, vcpu: number): Uint32Array {
  const spec = s.vcpus[vcpu] as VcpuSpec
  const r = s.regime
  const words: number[] = []
  const set = (key: number, value: bigint): void => {
    words.push(...movImm64(0, value), msr(key, 0))
  }
  const { ttbr0, ttbr1 } = ttbrValues(r)
  set(Sys.VBAR_EL1, BigInt(vectorsGpa(vcpu)))
  set(Sys.MAIR_EL1, fromHex(r.mair))
  set(Sys.TCR_EL1, fromHex(r.tcr))
  set(Sys.TTBR0_EL1, ttbr0)
  set(Sys.TTBR1_EL1, ttbr1)
  set(Sys.CPACR_EL1, fromHex(r.cpacr))
  set(Sys.CNTKCTL_EL1, fromHex(r.cntkctl))
  if (s.mte) {
    set(Sys.GCR_EL1, fromHex(r.gcr))
    set(Sys.RGSR_EL1, fromHex(r.rgsr) + BigInt(vcpu << 8))
  }
  words.push(TLBI_VMALLE1, DSB_SY, ISB)
  set(Sys.SCTLR_EL1, fromHex(r.sctlr))
  words.push(ISB)
  if (vcpu === 0) {
    s.vcpus.forEach((other, id) => {
      if (!other.startedByPsci) return
      words.push(...movImm64(0, BigInt(PSCI.CPU_ON)), ...movImm64(1, BigInt(mpidrOf(id))), ...movImm64(2, BigInt(setupGpa(id))), movz(3, 0), hvc(0))
    })
  }
  if (spec.startedByPsci || vcpu === 0) {
    // vCPU 0 clobbered X1-X3 above; a PSCI-started vCPU has none of its registers yet.
    const last = spec.startedByPsci ? 30 : 3
    for (let n = 1; n <= last; n++) words.push(...movImm64(n, fromHex(spec.x[n] as string)))
    if (spec.startedByPsci) {
      set(Sys.SP_EL0, fromHex(spec.spEl0))
      words.push(...movImm64(0, fromHex(spec.spEl1)), addImm(31, 0, 0))
    }
  }
  set(Sys.SPSR_EL1, fromHex(spec.spsr))
  set(Sys.ELR_EL1, BigInt(CODE_GPA + 4 * spec.entry))
  words.push(...movImm64(0, fromHex(spec.x[0] as string)), ERET)
  if (words.length * 4 > SETUP_BYTES) throw new RangeError(`setup code of vCPU ${vcpu} is ${words.length * 4} bytes`)
  return Uint32Array.from(words)
}

// ---- stage-1 tables ------------------------------------------------------------------------

const GRANULE_BITS = { 4: 12, 16: 14, 64: 16 } as const

interface TableGeometry {
  readonly gBits: number
  readonly stride: number
  readonly startLevel: number
}

export function tableGeometry(regime: Regime): TableGeometry {
  if (regime.mmu === 'off') throw new RangeError('no tables with the MMU off')
  const gBits = GRANULE_BITS[regime.mmu]
  const stride = gBits - 3
  const inputBits = 64 - regime.t0sz
  const levels = Math.ceil((inputBits - gBits) / stride)
  return { gBits, stride, startLevel: 4 - levels }
}

function descriptorBits(kind: Exclude<PageKind, 'unmapped'>, regime: Regime): bigint {
  const idx = regime.attrIndex
  let attr: number
  let ap = 0
  let xn = true
  let af = true
  switch (kind) {
    case 'tagged':
      attr = idx.tagged
      break
    case 'el0-tagged':
      attr = idx.tagged
      ap = 1
      break
    case 'normal':
      attr = idx.normal
      break
    case 'el0-normal':
      attr = idx.normal
      ap = 1
      break
    case 'noncacheable':
      attr = idx.noncacheable
      break
    case 'readonly':
      attr = idx.tagged
      ap = 2
      break
    case 'el0-readonly':
      attr = idx.normal
      ap = 3
      break
    case 'device':
      attr = idx.device
      break
    case 'no-access-flag':
      attr = idx.tagged
      af = false
      break
    case 'code':
      attr = idx.normal
      ap = 3
      xn = false
      break
  }
  let bits = (BigInt(attr) << 2n) | (BigInt(ap) << 6n) | (3n << 8n) | (af ? 1n << 10n : 0n)
  if (xn) bits |= (1n << 53n) | (1n << 54n)
  return bits
}

/**
 * Builds the stage-1 tables for `pages` (identity mapped) in the table area: returns the
 * bytes of the area. Tables are granule-sized pages taken in order from the area's start;
 * the first is the root.
 */
export function buildTables(regime: Regime, pages: readonly PageSpec[]): Uint8Array {
  const geo = tableGeometry(regime)
  const granule = 1 << geo.gBits
  const area = new Uint8Array(TABLES_END - TABLES_OFFSET)
  const view = new DataView(area.buffer)
  let used = 1 // the root
  const tables = new Map<string, number>([['', 0]])
  const shiftOf = (level: number): number => geo.gBits + (3 - level) * geo.stride
  const write = (table: number, index: number, value: bigint): void => {
    const at = table * granule + index * 8
    view.setBigUint64(at, value, true)
  }
  const tableFor = (va: number, level: number): number => {
    // The table at `level` on the path to `va`, made (and linked from its parent) on demand.
    let table = 0
    let key = ''
    for (let l = geo.startLevel; l < level; l++) {
      const index = Math.floor(va / 2 ** shiftOf(l)) % 2 ** (l === geo.startLevel ? 64 - regime.t0sz - shiftOf(l) : geo.stride)
      key += `/${index}`
      let next = tables.get(key)
      if (next === undefined) {
        next = used++
        if (next * granule >= area.length) throw new RangeError('stage-1 tables do not fit the table area')
        tables.set(key, next)
        write(table, index, BigInt(MAIN_GPA + TABLES_OFFSET + next * granule) | 3n)
      }
      table = next
    }
    return table
  }
  const indexAt = (va: number, level: number): number => {
    const bits = level === geo.startLevel ? 64 - regime.t0sz - shiftOf(level) : geo.stride
    return Math.floor(va / 2 ** shiftOf(level)) % 2 ** bits
  }
  for (const page of pages) {
    if (page.kind === 'unmapped') continue
    const attrs = descriptorBits(page.kind, regime)
    if (page.block) {
      const level = 2
      const size = 2 ** shiftOf(level)
      if (regime.mmu !== 4 || page.va % size !== 0 || page.size % size !== 0) throw new RangeError(`block mapping of ${page.va.toString(16)} needs a 4 KiB granule and 2 MiB alignment`)
      for (let va = page.va; va < page.va + page.size; va += size) write(tableFor(va, level), indexAt(va, level), BigInt(va) | attrs | 1n)
      continue
    }
    for (let va = page.va; va < page.va + page.size; va += granule) write(tableFor(va, 3), indexAt(va, 3), BigInt(va) | attrs | 3n)
  }
  return area.subarray(0, used * granule)
}

/** The guest's fixed regions with their stage-1 kinds (the generator adds the data pages). */
export function fixedPages(): PageSpec[] {
  return [
    { va: MAIN_GPA, size: REGION, kind: 'code' },
    { va: MAIN_GPA + LOG_OFFSET, size: REGION, kind: 'normal' },
    { va: CODE_GPA, size: CODE_REGION, kind: 'code' },
  ]
}
