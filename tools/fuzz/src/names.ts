/** Readable names for ONE_REG ids in reports. */
import { Sys } from './encode.js'

const SYSREG_NAMES = new Map<number, string>(Object.entries(Sys).map(([name, key]) => [key, name]))
const CORE_NAMES: Record<number, string> = { 248: 'SP', 256: 'PC', 264: 'PSTATE', 272: 'SP_EL1', 280: 'ELR_EL1', 288: 'SPSR_EL1', 848: 'FPSR', 852: 'FPCR' }

export function registerName(id: bigint): string {
  const coproc = Number((id >> 16n) & 0xfffn)
  const low = Number(id & 0xffffn)
  if (coproc === 0x10) {
    const offset = Number(id & 0xffffn) * 4
    if (offset < 248) return `X${offset / 8}`
    return CORE_NAMES[offset] ?? `core+${offset}`
  }
  if (coproc === 0x13) {
    const name = SYSREG_NAMES.get(low)
    if (name) return name
    return `S${low >>> 14}_${(low >>> 11) & 7}_C${(low >>> 7) & 15}_C${(low >>> 3) & 15}_${low & 7}`
  }
  if (coproc === 0x14) return `FW${low}`
  return `0x${id.toString(16)}`
}
