/**
 * The debugger panel's view of vCPU 0 at a stop: registers through KVM_GET_ONE_REG and the
 * instructions around the PC, read through the guest's own stage-1 tables (as a debugger stub
 * reads them) and disassembled in LLVM syntax.
 */
import { instructionText, isElf, parseElf64, type ElfSymbol, type Machine } from '@tagvm/machine'
import { REG_ELR_EL1, REG_GCR_EL1, REG_PC, REG_PSTATE, REG_RGSR_EL1, REG_SP, REG_SP_EL1, REG_SPSR_EL1, REG_TFSR_EL1, REG_TFSRE0_EL1, sysregId, xRegId } from '@tagvm/vmm-api'
import type { CpuView, DisasmLine, RegisterValue } from './protocol.js'

/** Instructions shown before and after the PC. */
const BEFORE = 8
const AFTER = 12

const SYSTEM_REGISTERS: readonly (readonly [string, bigint])[] = [
  ['SCTLR_EL1', sysregId(3, 0, 1, 0, 0)],
  ['TCR_EL1', sysregId(3, 0, 2, 0, 2)],
  ['TTBR0_EL1', sysregId(3, 0, 2, 0, 0)],
  ['MAIR_EL1', sysregId(3, 0, 10, 2, 0)],
  ['VBAR_EL1', sysregId(3, 0, 12, 0, 0)],
  ['ESR_EL1', sysregId(3, 0, 5, 2, 0)],
  ['FAR_EL1', sysregId(3, 0, 6, 0, 0)],
  ['ELR_EL1', REG_ELR_EL1],
  ['SPSR_EL1', REG_SPSR_EL1],
  ['GCR_EL1', REG_GCR_EL1],
  ['RGSR_EL1', REG_RGSR_EL1],
  ['TFSR_EL1', REG_TFSR_EL1],
  ['TFSRE0_EL1', REG_TFSRE0_EL1],
]

const hex64 = (value: bigint): string => value.toString(16).padStart(16, '0')

/** Names for addresses from an ELF's symbol table (functions and objects). */
export class Symbols {
  private readonly sorted: readonly ElfSymbol[]

  constructor(symbols: readonly ElfSymbol[]) {
    this.sorted = symbols.filter((s) => s.name !== '' && !s.name.startsWith('$') && s.sectionIndex !== 0 && (s.type === 1 || s.type === 2 || s.type === 0)).sort((a, b) => a.value - b.value)
  }

  /** The symbols of an ELF image; none for other images or an ELF that does not parse. */
  static of(image: Uint8Array, name: string): Symbols {
    if (!isElf(image)) return new Symbols([])
    try {
      return new Symbols(parseElf64(image, name).symbols)
    } catch {
      return new Symbols([]) // booting reports what is wrong with the file
    }
  }

  /** `name` or `name+0x10` for the nearest symbol at or below `address`. */
  describe(address: number): string | undefined {
    let low = 0
    let high = this.sorted.length - 1
    let best: ElfSymbol | undefined
    while (low <= high) {
      const mid = (low + high) >> 1
      const symbol = this.sorted[mid]!
      if (symbol.value <= address) {
        best = symbol
        low = mid + 1
      } else {
        high = mid - 1
      }
    }
    if (!best) return undefined
    return address === best.value ? best.name : `${best.name}+0x${(address - best.value).toString(16)}`
  }
}

/** PSTATE as people read it: `EL1h  nZcv  DAIF  TCO`. */
export function describePstate(pstate: bigint): string {
  const p = Number(pstate & 0xffff_ffffn)
  const el = (p >>> 2) & 3
  const flags = ['N', 'Z', 'C', 'V'].map((f, i) => ((p >>> (31 - i)) & 1 ? f : f.toLowerCase())).join('')
  const daif = ['D', 'A', 'I', 'F'].map((f, i) => ((p >>> (9 - i)) & 1 ? f : '-')).join('')
  const tco = (p >>> 25) & 1 ? '  TCO' : ''
  return `EL${el}${p & 1 ? 'h' : 't'}  ${flags}  ${daif}${tco}`
}

/** Reads vCPU 0's registers and the code around its PC; `previous` marks what changed. */
export function readCpuView(machine: Machine, symbols: Symbols, previous?: CpuView): CpuView {
  const vcpu = machine.vcpus[0]!
  const known = new Set(vcpu.getRegList())
  const read = (id: bigint): bigint | undefined => (known.has(id) ? vcpu.getOneReg(id) : undefined)
  const old = new Map([...(previous?.registers ?? []), ...(previous?.system ?? [])].map((r) => [r.name, r.value]))
  const entry = (name: string, value: bigint): RegisterValue => {
    const text = hex64(value)
    return { name, value: text, changed: previous !== undefined && old.get(name) !== text }
  }
  const registers: RegisterValue[] = []
  for (let n = 0; n <= 30; n++) registers.push(entry(`x${n}`, vcpu.getOneReg(xRegId(n))))
  const pstate = vcpu.getOneReg(REG_PSTATE)
  registers.push(entry('sp_el0', vcpu.getOneReg(REG_SP)), entry('sp_el1', vcpu.getOneReg(REG_SP_EL1)), entry('pstate', pstate))
  const system: RegisterValue[] = []
  for (const [name, id] of SYSTEM_REGISTERS) {
    const value = read(id)
    if (value !== undefined) system.push(entry(name, value))
  }
  const pc = vcpu.getOneReg(REG_PC)
  return { pc: hex64(pc), pstate: describePstate(pstate), registers, system, disassembly: disassembleAround(machine, pc, symbols) }
}

/** The instructions around `pc`, each address translated on its own (pages need not be contiguous). */
export function disassembleAround(machine: Machine, pc: bigint, symbols: Symbols): DisasmLine[] {
  const lines: DisasmLine[] = []
  const word = new Uint8Array(4)
  const view = new DataView(word.buffer)
  for (let i = -BEFORE; i <= AFTER; i++) {
    const va = pc + BigInt(i * 4)
    if (va < 0n) continue
    const pa = machine.virtualToPhysical(0, va)
    const readable = pa !== undefined && machine.memory.tryRead(pa, word)
    const insn = readable ? view.getUint32(0, true) : undefined
    // Symbol values are numbers: an address above 2^53 (a kernel's) gets no name rather than a rounded one.
    const symbol = va <= BigInt(Number.MAX_SAFE_INTEGER) ? symbols.describe(Number(va)) : undefined
    lines.push({
      address: hex64(va),
      word: insn === undefined ? '????????' : insn.toString(16).padStart(8, '0'),
      text: insn === undefined ? '(not mapped)' : instructionText(insn, va, symbols).replace('\t', ' '),
      ...(symbol ? { symbol } : {}),
      current: i === 0,
    })
  }
  return lines
}
