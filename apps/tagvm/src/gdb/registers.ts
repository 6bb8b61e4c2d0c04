// The registers GDB sees, in target-description order (that order is GDB's register
// numbering for g/G/p/P): org.gnu.gdb.aarch64.core, org.gnu.gdb.aarch64.fpu when the vCPU
// has V registers in ONE_REG, org.gnu.gdb.aarch64.mte (tag_ctl), and EL1 system registers.
// Every access goes through KVM_GET/SET_ONE_REG, as a KVM VMM's stub does.

import {
  REG_ELR_EL1, REG_GCR_EL1, REG_PC, REG_PSTATE, REG_RGSR_EL1, REG_SP, REG_SP_EL1, REG_SPSR_EL1, REG_TFSRE0_EL1, REG_TFSR_EL1,
  coreRegId, sysregId, xRegId, type VcpuFd,
} from '@tagvm/vmm-api'

export interface GdbRegister {
  readonly name: string
  readonly bits: 32 | 64 | 128
  readonly type: string
  readonly feature: string
  readonly group?: string
  read(vcpu: VcpuFd): bigint
  /** Throws when the register cannot take the value. */
  write(vcpu: VcpuFd, value: bigint): void
}

export const FEATURE_CORE = 'org.gnu.gdb.aarch64.core'
export const FEATURE_FPU = 'org.gnu.gdb.aarch64.fpu'
export const FEATURE_MTE = 'org.gnu.gdb.aarch64.mte'
export const FEATURE_SYSTEM = 'org.tagvm.aarch64.system'

/** struct kvm_regs offsets of the FP/SIMD state (fp_regs.vregs[32], fpsr, fpcr). */
const V0_OFFSET = 42 * 8
const FPSR_OFFSET = V0_OFFSET + 32 * 16
const FPCR_OFFSET = FPSR_OFFSET + 4
const SCTLR_EL1 = sysregId(3, 0, 1, 0, 0)

function oneReg(name: string, bits: 32 | 64 | 128, type: string, feature: string, id: bigint, group?: string): GdbRegister {
  return {
    name, bits, type, feature, ...(group ? { group } : {}),
    read: (vcpu) => vcpu.getOneReg(id),
    write: (vcpu, value) => vcpu.setOneReg(id, value),
  }
}

/** SP_EL1 in EL1h, SP_EL0 otherwise (PSTATE.M[0] is SPSel at EL1). */
function currentSpId(vcpu: VcpuFd): bigint {
  return (vcpu.getOneReg(REG_PSTATE) & 0xfn) === 0b0101n ? REG_SP_EL1 : REG_SP
}

/**
 * tag_ctl as Linux's PR_{SET,GET}_TAGGED_ADDR_CTRL word, from what this bare-metal guest
 * set at EL1: bit 0 tagged addresses (TCR_EL1.TBI0), bits 2:1 the check mode
 * (SCTLR_EL1.TCF: 1 sync, 2 async, both for asymmetric), bits 18:3 the tags IRG may choose
 * (GCR_EL1.Exclude inverted). Read-only: a guest kernel owns these registers.
 */
function tagCtl(vcpu: VcpuFd): bigint {
  const tcr = vcpu.getOneReg(sysregId(3, 0, 2, 0, 2))
  const sctlr = vcpu.getOneReg(SCTLR_EL1)
  const tcf = Number((sctlr >> 40n) & 3n)
  const mode = tcf === 1 ? 1n : tcf === 2 ? 2n : tcf === 3 ? 3n : 0n
  const exclude = vcpu.getOneReg(REG_GCR_EL1) & 0xffffn
  return ((tcr >> 37n) & 1n) | (mode << 1n) | ((~exclude & 0xffffn) << 3n)
}

const SYSTEM_REGISTERS: readonly [string, bigint][] = [
  ['sp_el0', REG_SP],
  ['sp_el1', REG_SP_EL1],
  ['elr_el1', REG_ELR_EL1],
  ['spsr_el1', REG_SPSR_EL1],
  ['sctlr_el1', SCTLR_EL1],
  ['tcr_el1', sysregId(3, 0, 2, 0, 2)],
  ['ttbr0_el1', sysregId(3, 0, 2, 0, 0)],
  ['ttbr1_el1', sysregId(3, 0, 2, 0, 1)],
  ['mair_el1', sysregId(3, 0, 10, 2, 0)],
  ['vbar_el1', sysregId(3, 0, 12, 0, 0)],
  ['esr_el1', sysregId(3, 0, 5, 2, 0)],
  ['far_el1', sysregId(3, 0, 6, 0, 0)],
  ['par_el1', sysregId(3, 0, 7, 4, 0)],
]

const MTE_SYSTEM_REGISTERS: readonly [string, bigint][] = [
  ['gcr_el1', REG_GCR_EL1],
  ['rgsr_el1', REG_RGSR_EL1],
  ['tfsr_el1', REG_TFSR_EL1],
  ['tfsre0_el1', REG_TFSRE0_EL1],
]

function readable(vcpu: VcpuFd, id: bigint): boolean {
  try {
    vcpu.getOneReg(id)
    return true
  } catch {
    return false
  }
}

/**
 * The register list for this vCPU. FP/SIMD appears when ONE_REG has the V registers (the
 * CPU model gains them separately), MTE state when the VM has MTE.
 */
export function gdbRegisters(vcpu: VcpuFd, mte: boolean): GdbRegister[] {
  const regs: GdbRegister[] = []
  for (let n = 0; n < 31; n++) regs.push(oneReg(`x${n}`, 64, 'int', FEATURE_CORE, xRegId(n)))
  regs.push({
    name: 'sp', bits: 64, type: 'data_ptr', feature: FEATURE_CORE,
    read: (v) => v.getOneReg(currentSpId(v)),
    write: (v, value) => v.setOneReg(currentSpId(v), value),
  })
  regs.push(oneReg('pc', 64, 'code_ptr', FEATURE_CORE, REG_PC))
  regs.push(oneReg('cpsr', 32, 'int', FEATURE_CORE, REG_PSTATE))
  // The hook for FP/SIMD: present as soon as the vCPU's ONE_REG has the V registers.
  if (readable(vcpu, coreRegId(V0_OFFSET, 16))) {
    for (let n = 0; n < 32; n++) regs.push(oneReg(`v${n}`, 128, 'uint128', FEATURE_FPU, coreRegId(V0_OFFSET + 16 * n, 16)))
    regs.push(oneReg('fpsr', 32, 'int', FEATURE_FPU, coreRegId(FPSR_OFFSET, 4)))
    regs.push(oneReg('fpcr', 32, 'int', FEATURE_FPU, coreRegId(FPCR_OFFSET, 4)))
  }
  if (mte) {
    regs.push({
      name: 'tag_ctl', bits: 64, type: 'uint64', feature: FEATURE_MTE, group: 'system',
      read: tagCtl,
      write: () => {
        throw new RangeError('tag_ctl is read-only here: set SCTLR_EL1 and GCR_EL1 instead')
      },
    })
  }
  for (const [name, id] of [...SYSTEM_REGISTERS, ...(mte ? MTE_SYSTEM_REGISTERS : [])]) regs.push(oneReg(name, 64, 'uint64', FEATURE_SYSTEM, id, 'system'))
  return regs
}

/** The target description (one document, every feature inline). */
export function targetXml(regs: readonly GdbRegister[]): string {
  const features = [...new Set(regs.map((r) => r.feature))]
  let xml = '<?xml version="1.0"?>\n<!DOCTYPE target SYSTEM "gdb-target.dtd">\n<target version="1.0">\n'
  xml += '<architecture>aarch64</architecture>\n'
  // GNU/Linux: GDB 13 keeps its memory-tagging support (memory-tag commands, the tag
  // violation report of a SIGSEGV) in aarch64-linux-tdep; see target.ts for what it asks.
  xml += '<osabi>GNU/Linux</osabi>\n'
  for (const feature of features) {
    xml += `<feature name="${feature}">\n`
    for (const r of regs) {
      if (r.feature !== feature) continue
      xml += `  <reg name="${r.name}" bitsize="${r.bits}" type="${r.type}" regnum="${regs.indexOf(r)}"${r.group ? ` group="${r.group}"` : ''}/>\n`
    }
    xml += '</feature>\n'
  }
  return xml + '</target>\n'
}
