import { REG_PSTATE, sysregId, type VcpuFd } from '@tagvm/vmm-api'
import { instructionText } from '../disasm.js'

const SCTLR_EL1 = sysregId(3, 0, 1, 0, 0)
const TTBR0_EL1 = sysregId(3, 0, 2, 0, 0)
const TTBR1_EL1 = sysregId(3, 0, 2, 0, 1)
const TCR_EL1 = sysregId(3, 0, 2, 0, 2)
const OUTPUT_ADDRESS = 0x0000_ffff_ffff_f000n

/**
 * Where the instruction at virtual `pc` is in guest-physical memory, found the way a
 * debugger stub does it: a stage-1 walk of the guest's EL1 tables read through RAM. Handles
 * the MMU off and 4 KiB granules (what the bundled guests and Linux use); undefined when the
 * walk fails or uses another granule.
 */
export function translateForTrace(vcpu: VcpuFd, pc: bigint, read: (gpa: number, out: Uint8Array) => boolean): number | undefined {
  const el = Number((vcpu.getOneReg(REG_PSTATE) >> 2n) & 3n)
  if (el > 1) return undefined
  const sctlr = vcpu.getOneReg(SCTLR_EL1)
  if ((sctlr & 1n) === 0n) return Number(pc & 0xffff_ffff_ffffn)
  const tcr = vcpu.getOneReg(TCR_EL1)
  const upper = ((pc >> 55n) & 1n) === 1n
  const txsz = Number(upper ? (tcr >> 16n) & 0x3fn : tcr & 0x3fn)
  const granule = Number(upper ? (tcr >> 30n) & 3n : (tcr >> 14n) & 3n)
  if (granule !== (upper ? 2 : 0)) return undefined // only the 4 KiB granule
  const inputBits = 64 - txsz
  let level = inputBits > 39 ? 0 : inputBits > 30 ? 1 : inputBits > 21 ? 2 : 3
  let table = (upper ? vcpu.getOneReg(TTBR1_EL1) : vcpu.getOneReg(TTBR0_EL1)) & 0x0000_ffff_ffff_fffen
  const entry = new Uint8Array(8)
  const view = new DataView(entry.buffer)
  for (;;) {
    const shift = BigInt(12 + 9 * (3 - level))
    const index = (pc >> shift) & 0x1ffn
    if (!read(Number(table + index * 8n), entry)) return undefined
    const descriptor = view.getBigUint64(0, true)
    if ((descriptor & 1n) === 0n) return undefined
    const isTable = (descriptor & 2n) !== 0n
    if (level === 3) {
      if (!isTable) return undefined
      return Number((descriptor & OUTPUT_ADDRESS) | (pc & 0xfffn))
    }
    if (!isTable) {
      const blockMask = (1n << shift) - 1n
      return Number((descriptor & OUTPUT_ADDRESS & ~blockMask) | (pc & blockMask))
    }
    table = descriptor & OUTPUT_ADDRESS
    level++
  }
}

/** `cpuN 0x0000000040000010: d2a12001  movz x1, #0x900, lsl #16` (or `????????` when unreadable). */
export function formatTraceLine(cpu: number, pc: bigint, word: number | undefined): string {
  const address = `0x${pc.toString(16).padStart(16, '0')}`
  if (word === undefined) return `cpu${cpu} ${address}: ????????  (not readable through the guest's tables)\n`
  return `cpu${cpu} ${address}: ${word.toString(16).padStart(8, '0')}  ${instructionText(word, pc).replace('\t', ' ')}\n`
}
