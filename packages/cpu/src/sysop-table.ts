// System instructions (SYS, op0 = 1) as descriptor rows, like the registers in
// sysreg-table.ts: cache maintenance (DC, IC), address translation (AT) and TLB maintenance
// (TLBI), with their EL0 rules and HCR_EL2 traps. A row's `write` performs the operation
// with Xt; none of them is readable (SYSL has no operations here).

import {
  ACCESS_READ, ACCESS_WRITE, TLBI_ASIDE1, TLBI_VAAE1, TLBI_VAALE1, TLBI_VAE1, TLBI_VALE1, TLBI_VMALLE1, type AccessKind,
} from '@tagvm/mmu'
import { ACC_CM, HCR, PAGE_OFFSET_MASK, SCTLR, TWO32 } from './constants.js'
import type { Cpu } from './cpu.js'
import { PS } from './state.js'
import { SysOp, sysregKey } from './sysreg-encoding.js'
import { SLOT, type SysRegDesc, type SysRegWrite, type TrapRule } from './sysreg-table.js'

const TSW: readonly TrapRule[] = [{ hcr: HCR.TSW }]
const TPC: readonly TrapRule[] = [{ hcr: HCR.TPC }]
const TPU: readonly TrapRule[] = [{ hcr: HCR.TPU }]
const TDZ: readonly TrapRule[] = [{ hcr: HCR.TDZ }]
const UCI = { sctlr: SCTLR.UCI } as const
const DZE = { sctlr: SCTLR.DZE } as const

const mte2 = (cpu: Cpu): boolean => cpu.mteLevel() >= 2

function op(name: string, key: number, write: SysRegWrite, rest: Omit<SysRegDesc, 'name' | 'key' | 'write'> = {}): SysRegDesc {
  return { name, key, read: null, write, ...rest }
}

/** No caches are modelled: maintenance by VA only translates (and may fault, reporting CM). */
const translateOnly =
  (access: AccessKind): SysRegWrite =>
  (cpu, lo, hi) => {
    cpu.data.translateData(hi >>> 0, lo >>> 0, access, ACC_CM, 0)
    return true
  }
/** Set/way maintenance: nothing to do without caches. */
const nothing: SysRegWrite = () => true

/** DC ZVA: zero the DCZID_EL0-sized block (64 bytes) holding the address; a checked store for MTE. */
const dcZva: SysRegWrite = (cpu, lo, hi) => {
  const size = 4 << (cpu.sys[2 * SLOT.DCZID_EL0]! & 0xf)
  const base = (lo & ~(size - 1)) >>> 0
  // The whole block lies in one page; translation and permission are checked once.
  const data = cpu.data
  const s = data.translateData(hi >>> 0, base, ACCESS_WRITE, ACC_CM, size)
  data.tagCheckSlow(hi >>> 0, base, size, 0, true, s, true)
  data.zeroBlock(s, base & PAGE_OFFSET_MASK, size)
  return true
}

/** DC GVA / GZVA (MTE): set the block's tags to the address tag (GZVA zeroes the data too). */
const dcTagBlock =
  (zero: boolean): SysRegWrite =>
  (cpu, lo, hi) => {
    const data = cpu.data
    const size = 4 << (cpu.sys[2 * SLOT.DCZID_EL0]! & 15)
    const base = (lo & ~(size - 1)) >>> 0
    const s = data.translateData(hi >>> 0, base, ACCESS_WRITE, ACC_CM, size)
    const tagged = data.lastTranslationTagged()
    const off = base & PAGE_OFFSET_MASK
    if (zero) data.zeroBlock(s, off, size)
    if (cpu.mte.ataEnabled(cpu.p[PS.EL]!) && tagged) cpu.mte.writeTags(s, off, size >>> 4, (hi >>> 24) & 15)
    return true
  }

/** TLBI by op2 (CRm = 3 inner-shareable or 7), EL1 only. */
const TLBI_OPS: readonly [string, number, number][] = [
  ['VMALLE1', 0, TLBI_VMALLE1], ['VAE1', 1, TLBI_VAE1], ['ASIDE1', 2, TLBI_ASIDE1],
  ['VAAE1', 3, TLBI_VAAE1], ['VALE1', 5, TLBI_VALE1], ['VAALE1', 7, TLBI_VAALE1],
]
const TLBI_ROWS = TLBI_OPS.flatMap(([name, op2, tlbiOp]) =>
  [3, 7].map((crm) =>
    op(`TLBI_${name}${crm === 3 ? 'IS' : ''}`, sysregKey(1, 0, 8, crm, op2), (cpu, lo, hi) => {
      cpu.tlbi(tlbiOp, hi >>> 0, lo >>> 0)
      return true
    }, { traps: [{ hcr: HCR.TTLB }] }),
  ),
)

const AT_ROWS = ([['AT_S1E1R', 1, false], ['AT_S1E1W', 1, true], ['AT_S1E0R', 0, false], ['AT_S1E0W', 0, true]] as const).map(
  ([name, el, isWrite]) =>
    op(name, SysOp[name], (cpu, lo, hi) => {
      addressTranslate(cpu, hi >>> 0, lo >>> 0, el, isWrite)
      return true
    }),
)

/**
 * MTE's DC by-tag clean/invalidate operations (FEAT_MTE2): by VA they only translate, by
 * set/way they do nothing; HCR_EL2.TPC traps the by-VA ones, TSW the set/way ones.
 */
function byTagRows(): SysRegDesc[] {
  const rows: SysRegDesc[] = []
  for (const op2 of [3, 5]) {
    const d = op2 === 5 ? 'D' : ''
    // EL0-capable (op1 = 3): CG{D}VAC (CRm 10), CG{D}VAP (12), CG{D}VADP (13), CIG{D}VAC (14).
    for (const [crm, name] of [[10, `CG${d}VAC`], [12, `CG${d}VAP`], [13, `CG${d}VADP`], [14, `CIG${d}VAC`]] as const) {
      rows.push(op(`DC_${name}`, sysregKey(1, 3, 7, crm, op2), translateOnly(ACCESS_READ), { el0: UCI, visible: mte2, traps: TPC }))
    }
    // IG{D}VAC (op1 = 0, CRm 6): invalidation needs write permission.
    rows.push(op(`DC_IG${d}VAC`, sysregKey(1, 0, 7, 6, op2), translateOnly(ACCESS_WRITE), { visible: mte2, traps: TPC }))
  }
  // By set/way (EL1 only): IGSW, IGDSW, CGSW, CGDSW, CIGSW, CIGDSW.
  for (const [crm, op2, name] of [[6, 4, 'IGSW'], [6, 6, 'IGDSW'], [10, 4, 'CGSW'], [10, 6, 'CGDSW'], [14, 4, 'CIGSW'], [14, 6, 'CIGDSW']] as const) {
    rows.push(op(`DC_${name}`, sysregKey(1, 0, 7, crm, op2), nothing, { visible: mte2, traps: TSW }))
  }
  return rows
}

/** Every system instruction row of a CPU (op0 = 1). */
export const SYSOP_ROWS: readonly SysRegDesc[] = [
  op('DC_ZVA', SysOp.DC_ZVA, dcZva, { el0: DZE, traps: TDZ }),
  op('DC_GVA', SysOp.DC_GVA, dcTagBlock(false), { el0: DZE, visible: mte2, traps: TDZ }),
  op('DC_GZVA', SysOp.DC_GZVA, dcTagBlock(true), { el0: DZE, visible: mte2, traps: TDZ }),
  op('DC_IVAC', SysOp.DC_IVAC, translateOnly(ACCESS_WRITE), { traps: TPC }),
  op('DC_CVAC', SysOp.DC_CVAC, translateOnly(ACCESS_READ), { el0: UCI, traps: TPC }),
  op('DC_CVAU', SysOp.DC_CVAU, translateOnly(ACCESS_READ), { el0: UCI, traps: TPU }),
  op('DC_CIVAC', SysOp.DC_CIVAC, translateOnly(ACCESS_READ), { el0: UCI, traps: TPC }),
  op('DC_ISW', SysOp.DC_ISW, nothing, { traps: TSW }),
  op('DC_CSW', SysOp.DC_CSW, nothing, { traps: TSW }),
  op('DC_CISW', SysOp.DC_CISW, nothing, { traps: TSW }),
  // The instruction cache is the decoded code: IC IVAU drops every CPU's code of the frame
  // (broadcast, as in the inner shareable domain), IALLUIS all code of every CPU, IALLU this
  // CPU's. The next instruction fetch after a context synchronisation (ISB) decodes afresh.
  op('IC_IALLUIS', SysOp.IC_IALLUIS, (cpu) => {
    cpu.code.invalidateAllEverywhere()
    return true
  }, { traps: TPU }),
  op('IC_IALLU', SysOp.IC_IALLU, (cpu) => {
    cpu.code.invalidateAll()
    return true
  }, { traps: TPU }),
  op('IC_IVAU', SysOp.IC_IVAU, (cpu, lo, hi) => {
    const s = cpu.data.translateData(hi >>> 0, lo >>> 0, ACCESS_READ, ACC_CM, 0)
    cpu.code.invalidateFrameEverywhere(cpu.data.frameList[s]!.pfn)
    return true
  }, { el0: UCI, traps: TPU }),
  ...AT_ROWS,
  ...TLBI_ROWS,
  ...byTagRows(),
]

/**
 * AT S1E{0,1}{R,W}: a stage-1 translation only. PAR_EL1 gets the IPA and the
 * stage-1 attributes (the MAIR byte), whatever stage 2 holds for that IPA, so the guest
 * cannot see host paging; or the stage-1 fault. A stage-2 fault on a stage-1 table read
 * goes to EL2.
 */
function addressTranslate(cpu: Cpu, hi: number, lo: number, el: 0 | 1, isWrite: boolean): void {
  const tr = cpu.data.tr
  const access = isWrite ? ACCESS_WRITE : ACCESS_READ
  let parLo: number
  let parHi = 0
  if (cpu.mmu.walkStage1(hi, lo, access, el, false, tr)) {
    parLo = (((tr.ipa % TWO32) & 0xfffff000) >>> 0) | 0x800 // RES1 bit 11
    parHi = (Math.floor(tr.ipa / TWO32) & 0xffff) | ((tr.attrs & 0xff) << 24)
  } else if (tr.stage === 2) {
    cpu.data.dataFault(hi, lo, access, ACC_CM, 0)
  } else {
    parLo = 1 | (tr.fsc << 1) | 0x800
  }
  cpu.sys[2 * SLOT.PAR_EL1] = parLo
  cpu.sys[2 * SLOT.PAR_EL1 + 1] = parHi
}
