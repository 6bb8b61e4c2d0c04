// The guest's stage-1 mappings, walked from its EL1 translation tables (4 KiB granule, as
// the bundled guests and Linux use), for the two things debuggers ask about regions:
// GDB reads /proc/PID/smaps ("mt" in VmFlags marks memory that may carry tags) and LLDB
// asks qMemoryRegionInfo (flags:mt).

import { sysregId, type VcpuFd } from '@tagvm/vmm-api'
import { untagged, type DebugTarget } from './target.js'

const SCTLR_EL1 = sysregId(3, 0, 1, 0, 0)
const TTBR0_EL1 = sysregId(3, 0, 2, 0, 0)
const TTBR1_EL1 = sysregId(3, 0, 2, 0, 1)
const TCR_EL1 = sysregId(3, 0, 2, 0, 2)
const MAIR_EL1 = sysregId(3, 0, 10, 2, 0)
const OUTPUT_ADDRESS = 0x0000_ffff_ffff_f000n
/** MAIR attribute of Normal Tagged memory. */
const MAIR_TAGGED = 0xf0
/** Enough for any guest this machine runs; a walk that finds more stops there. */
const MAX_MAPPINGS = 65536

export interface Mapping {
  readonly start: bigint
  /** Exclusive. */
  readonly end: bigint
  readonly writeable: boolean
  readonly tagged: boolean
}

/** Every valid leaf of the guest's EL1&0 tables, adjacent leaves with the same attributes merged. */
export function stage1Mappings(target: DebugTarget, vcpu: VcpuFd): Mapping[] {
  const memory = target.machine.memory
  if ((vcpu.getOneReg(SCTLR_EL1) & 1n) === 0n) {
    // MMU off: flat, and data accesses are Device (never Tagged).
    return [{ start: BigInt(memory.ramBase), end: BigInt(memory.ramBase + memory.ramSize), writeable: true, tagged: false }]
  }
  const tcr = vcpu.getOneReg(TCR_EL1)
  const mair = vcpu.getOneReg(MAIR_EL1)
  const out: Mapping[] = []
  const entry = new Uint8Array(8)
  const view = new DataView(entry.buffer)
  const walk = (table: bigint, level: number, vaBase: bigint, upper: boolean): void => {
    const shift = BigInt(12 + 9 * (3 - level))
    for (let index = 0n; index < 512n && out.length < MAX_MAPPINGS; index++) {
      if (!memory.tryRead(Number(table + index * 8n), entry)) return
      const d = view.getBigUint64(0, true)
      if ((d & 1n) === 0n) continue
      const va = vaBase + (index << shift)
      const isTable = (d & 2n) !== 0n
      if (level < 3 && isTable) {
        walk(d & OUTPUT_ADDRESS, level + 1, va, upper)
        continue
      }
      if (level === 3 && !isTable) continue
      const attr = Number((mair >> (8n * ((d >> 2n) & 7n))) & 0xffn)
      const mapping = { start: va, end: va + (1n << shift), writeable: ((d >> 7n) & 1n) === 0n, tagged: attr === MAIR_TAGGED }
      const last = out[out.length - 1]
      if (last && last.end === mapping.start && last.writeable === mapping.writeable && last.tagged === mapping.tagged) out[out.length - 1] = { ...last, end: mapping.end }
      else out.push(mapping)
    }
  }
  for (const upper of [false, true]) {
    const disabled = upper ? (tcr >> 23n) & 1n : (tcr >> 7n) & 1n
    const granule = upper ? (tcr >> 30n) & 3n : (tcr >> 14n) & 3n
    if (disabled === 1n || granule !== (upper ? 2n : 0n)) continue // 4 KiB granules only
    const txsz = Number(upper ? (tcr >> 16n) & 0x3fn : tcr & 0x3fn)
    const inputBits = 64 - txsz
    const level = inputBits > 39 ? 0 : inputBits > 30 ? 1 : inputBits > 21 ? 2 : 3
    const base = upper ? ((1n << 64n) - (1n << BigInt(inputBits))) : 0n
    walk(vcpu.getOneReg(upper ? TTBR1_EL1 : TTBR0_EL1) & 0x0000_ffff_ffff_fffen, level, base, upper)
  }
  return out
}

/** /proc/PID/smaps as Linux prints it, one entry per mapping (GDB reads the header and VmFlags). */
export function smapsText(target: DebugTarget, vcpu: VcpuFd): string {
  let text = ''
  for (const m of stage1Mappings(target, vcpu)) {
    const kb = (m.end - m.start) / 1024n
    text += `${m.start.toString(16).padStart(8, '0')}-${m.end.toString(16).padStart(8, '0')} r${m.writeable ? 'w' : '-'}xp 00000000 00:00 0\n`
    text += `Size:           ${kb} kB\n`
    text += `VmFlags: rd ${m.writeable ? 'wr ' : ''}ex mr mw me${m.tagged ? ' mt' : ''}\n`
  }
  return text
}

export interface Region {
  readonly start: bigint
  readonly size: bigint
  readonly mapped: boolean
  readonly writeable: boolean
  readonly tagged: boolean
}

/** The mapping that holds `addr` (its tag ignored), or the unmapped gap around it. */
export function smapsRegionAt(target: DebugTarget, vcpu: VcpuFd, addr: bigint): Region {
  const va = untagged(addr)
  const maps = stage1Mappings(target, vcpu)
  let gapStart = 0n
  for (const m of maps) {
    if (va < m.start) return { start: gapStart, size: m.start - gapStart, mapped: false, writeable: false, tagged: false }
    if (va < m.end) return { start: m.start, size: m.end - m.start, mapped: true, writeable: m.writeable, tagged: m.tagged }
    gapStart = m.end
  }
  // The last region ends at 2^64 - 1: LLDB walks regions until one ends at LLDB_INVALID_ADDRESS.
  return { start: gapStart, size: (1n << 64n) - 1n - gapStart, mapped: false, writeable: false, tagged: false }
}
