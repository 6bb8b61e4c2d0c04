import {
  ACCESS_FETCH,
  FAULT_ACCESS_FLAG,
  FAULT_ADDRESS_SIZE,
  FAULT_EXTERNAL_ON_WALK,
  FAULT_NONE,
  FAULT_PERMISSION,
  FAULT_TRANSLATION,
  PERM_ALL,
  PERM_EL0_R,
  PERM_EL0_W,
  PERM_EL0_X,
  PERM_EL1_PAN_R,
  PERM_EL1_PAN_W,
  PERM_EL1_R,
  PERM_EL1_W,
  PERM_EL1_X,
  TLB_ATTR_SHIFT,
  TLB_DEVICE,
  TLB_GLOBAL,
  TLB_TAGGED,
  TLBI_ASIDE1,
  TLBI_IPAS2E1,
  TLBI_IPAS2LE1,
  TLBI_VAAE1,
  TLBI_VAALE1,
  TLBI_VAE1,
  TLBI_VALE1,
  TLBI_VMALLE1,
  TLBI_VMALLS12E1,
  permissionBit,
} from './constants.js'
import type { AccessKind, FaultKind, TlbiOp } from './constants.js'
import { COMBINED_TAGGED, MAIR_NORMAL_TAGGED, combineAttributeBits, stage1OffDataAttr } from './attributes.js'
import type { DescriptorMemory } from './memory.js'
import { recordFault } from './result.js'
import type { TranslationResult } from './result.js'
import { Tlb } from './tlb.js'

const TWO32 = 4294967296
/** Entries of the stage-2 cache used for stage-1 table reads (power of two). */
const WALK_CACHE_SIZE = 64
/** The physical address size this model implements (ID_AA64MMFR0_EL1.PARange = 0b0101). */
export const PA_BITS = 48
const PA_LIMIT = 2 ** PA_BITS
/** TCR_ELx.IPS / VTCR_EL2.PS → address bits, capped at PARange (48). */
const PS_BITS = [32, 36, 40, 42, 44, 48, 48, 48] as const

// Stage-2 permission bits (internal).
const S2_R = 1
const S2_W = 2
const S2_X_EL0 = 4
const S2_X_EL1 = 8

// Stage-1 table attributes gathered on the way down (internal).
const APTABLE_NO_EL0 = 1
const APTABLE_RO = 2
const XNTABLE_U = 4
const XNTABLE_P = 8

/** Bits [shift+width-1 : shift] of a 64-bit value held as halves (shift >= 1, width <= 30). */
function bitsAt(hi: number, lo: number, shift: number, width: number): number {
  const v = shift >= 32 ? hi >>> (shift - 32) : (lo >>> shift) | (hi << (32 - shift))
  return v & ((1 << width) - 1)
}

/** Start level for a stage-1 walk of `inputBits` with a granule of 2^gBits. */
function stage1StartLevel(inputBits: number, gBits: number): number {
  const stride = gBits - 3
  return 4 - Math.ceil((inputBits - gBits) / stride)
}

/** Block descriptors allowed at this level for this granule (no FEAT_LPA/LPA2). */
function blockAllowed(gBits: number, level: number): boolean {
  if (gBits === 12) return level === 1 || level === 2
  return level === 2 // 16 KiB and 64 KiB: level 2 only without 52-bit addresses
}

function granuleFromTg0(tg: number): number {
  return tg === 1 ? 16 : tg === 2 ? 14 : 12 // 0b11 reserved: treated as 4 KiB
}

function granuleFromTg1(tg: number): number {
  return tg === 1 ? 14 : tg === 3 ? 16 : 12 // 0b00 reserved: treated as 4 KiB
}

interface HalfParams {
  valid: boolean
  gBits: number
  inputBits: number
  startLevel: number
  epd: boolean
  hpd: boolean
  tbiData: boolean
  tbiFetch: boolean
  /** Size of the root table in bytes (its required alignment). */
  rootBytes: number
}

function decodeHalf(tsz: number, gBits: number, epd: boolean, hpd: boolean, tbi: boolean, tbid: boolean): HalfParams {
  // T0SZ/T1SZ outside 16..39 is CONSTRAINED UNPREDICTABLE; we fault (as QEMU does).
  const valid = tsz >= 16 && tsz <= 39
  const inputBits = 64 - tsz
  const startLevel = valid ? stage1StartLevel(inputBits, gBits) : 0
  return {
    valid,
    gBits,
    inputBits,
    startLevel,
    rootBytes: 2 ** (inputBits - (gBits + (gBits - 3) * (3 - startLevel)) + 3),
    epd,
    hpd,
    tbiData: tbi,
    tbiFetch: tbi && !tbid,
  }
}

/**
 * The translation machinery of one vCPU for the EL1&0 regime under stage 2: registers,
 * stage-1 and stage-2 walks, attribute combination and a tagged TLB.
 */
export class Mmu {
  readonly tlb: Tlb
  private readonly memory: DescriptorMemory

  // Raw register values (hi, lo).
  private sctlrHi = 0
  private sctlrLo = 0
  private tcrHi = 0
  private tcrLo = 0
  private ttbr0Hi = 0
  private ttbr0Lo = 0
  private ttbr1Hi = 0
  private ttbr1Lo = 0
  private hcrHi = 0
  private hcrLo = 0
  private vtcrValue = 0
  private vttbrHi = 0
  private vttbrLo = 0
  private readonly mair = new Uint8Array(8)

  // Decoded state.
  private s1Enabled = false
  private s2Enabled = false
  private wxn = false
  private epan = false
  private fwb = false
  private dc = false
  private dct = false
  private half0: HalfParams = decodeHalf(16, 12, false, false, false, false)
  private half1: HalfParams = decodeHalf(16, 12, false, false, false, false)
  private tbiData0 = false
  private tbiData1 = false
  private tbiFetch0 = false
  private tbiFetch1 = false
  private s1OutputLimit = PA_LIMIT
  private asid16 = false
  private asidFromTtbr1 = false
  private asid = 0
  private vmid = 0
  private s2Valid = false
  private s2GBits = 12
  private s2InputBits = 40
  private s2StartLevel = 1
  private s2OutputLimit = PA_LIMIT
  private s2InputLimit = 2 ** 40
  /** VTTBR_EL2 base aligned to the (possibly concatenated) root table. */
  private s2Root = 0

  // Stage-2 translations of stage-1 table pages (IPA page → PA page), by VMID.
  private readonly walkCacheIpaPage = new Float64Array(WALK_CACHE_SIZE).fill(-1)
  private readonly walkCachePaPage = new Float64Array(WALK_CACHE_SIZE)
  private readonly walkCacheVmid = new Int32Array(WALK_CACHE_SIZE)

  // Walk outputs (scratch; no allocation per walk).
  private s1Ipa = 0
  private s1Perm = 0
  private s1Attr = 0
  private s1Global = false
  private s1Level = 0
  private s1SizeLog2 = 12
  private s2Pa = 0
  private s2Perm = 0
  private s2MemAttr = 0
  private s2Level = 0
  private s2SizeLog2 = 12
  private faultLevel = 0
  private faultS1ptw = false
  private faultIpa = 0
  /** TLB flags of the last successful walk. */
  private fillFlags = 0
  // The leaf descriptor walkTables found, and what it found on the way.
  private leafLo = 0
  private leafHi = 0
  private leafOa = 0
  private leafLevel = 0
  private leafSizeLog2 = 12
  private leafTableAttrs = 0

  private readonly walkCacheEnabled: boolean

  /**
   * tlbEntriesLog2: TLB size (default 2^10 entries). stage2WalkCache: cache stage-2
   * translations of stage-1 table pages (default true; false makes every walk read every
   * stage-2 descriptor, for measurements).
   */
  constructor(memory: DescriptorMemory, options: { tlbEntriesLog2?: number; stage2WalkCache?: boolean } = {}) {
    this.memory = memory
    this.tlb = new Tlb(options.tlbEntriesLog2 ?? 10)
    this.walkCacheEnabled = options.stage2WalkCache ?? true
    this.decodeTcr()
    this.decodeVtcr()
  }

  // ---- registers -------------------------------------------------------------------

  /** Writes SCTLR_EL1 (as hi/lo halves); flushes the TLB when M, I, WXN or EPAN change. */
  setSctlrEl1(hi: number, lo: number): void {
    // M (0), I (12), WXN (19), EPAN (57) shape cached entries.
    const relevantLo = (1 << 0) | (1 << 12) | (1 << 19)
    const relevantHi = 1 << 25
    const changed = ((this.sctlrLo ^ lo) & relevantLo) !== 0 || ((this.sctlrHi ^ hi) & relevantHi) !== 0
    this.sctlrHi = hi >>> 0
    this.sctlrLo = lo >>> 0
    this.wxn = ((lo >>> 19) & 1) !== 0
    this.epan = ((hi >>> 25) & 1) !== 0
    this.decodeEnables()
    if (changed) this.flushAll()
  }

  /** Writes TCR_EL1 (granules, region sizes, TBI/TCMA); flushes the TLB when it changes. */
  setTcrEl1(hi: number, lo: number): void {
    const changed = this.tcrHi !== hi >>> 0 || this.tcrLo !== lo >>> 0
    this.tcrHi = hi >>> 0
    this.tcrLo = lo >>> 0
    this.decodeTcr()
    if (changed) this.flushAll()
  }

  /** Writes TTBR0_EL1 (lower-range table base and, with TCR_EL1.A1=0, the ASID). */
  setTtbr0El1(hi: number, lo: number): void {
    this.ttbr0Hi = hi >>> 0
    this.ttbr0Lo = lo >>> 0
    this.decodeAsid()
  }

  /** Writes TTBR1_EL1 (upper-range table base and, with TCR_EL1.A1=1, the ASID). */
  setTtbr1El1(hi: number, lo: number): void {
    this.ttbr1Hi = hi >>> 0
    this.ttbr1Lo = lo >>> 0
    this.decodeAsid()
  }

  /** Writes MAIR_EL1's eight attribute bytes; flushes the TLB when any changes. */
  setMairEl1(hi: number, lo: number): void {
    let changed = false
    for (let n = 0; n < 8; n++) {
      const byte = (n < 4 ? lo >>> (8 * n) : hi >>> (8 * (n - 4))) & 0xff
      if (this.mair[n] !== byte) changed = true
      this.mair[n] = byte
    }
    if (changed) this.flushAll()
  }

  /** Writes HCR_EL2 as the hypervisor sets it (VM, DC, FWB, DCT matter here). */
  setHcrEl2(hi: number, lo: number): void {
    // VM (0), DC (12), FWB (46), DCT (57) shape cached entries.
    const changed = ((this.hcrLo ^ lo) & 0x1001) !== 0 || ((this.hcrHi ^ hi) & ((1 << 14) | (1 << 25))) !== 0
    this.hcrHi = hi >>> 0
    this.hcrLo = lo >>> 0
    this.dc = ((lo >>> 12) & 1) !== 0
    this.fwb = ((hi >>> 14) & 1) !== 0
    this.dct = ((hi >>> 25) & 1) !== 0
    this.decodeEnables()
    if (changed) this.flushAll()
  }

  /** Writes VTCR_EL2 (stage-2 granule, IPA size, start level, VMID size). */
  setVtcrEl2(value: number): void {
    const changed = this.vtcrValue !== value >>> 0
    this.vtcrValue = value >>> 0
    this.decodeVtcr()
    this.decodeVmid()
    if (changed) this.flushAll()
  }

  /** Writes VTTBR_EL2 (stage-2 table base and VMID). */
  setVttbrEl2(hi: number, lo: number): void {
    this.vttbrHi = hi >>> 0
    this.vttbrLo = lo >>> 0
    this.decodeVmid()
    this.decodeVttbrBase()
  }

  private decodeEnables(): void {
    // HCR_EL2.DC makes SCTLR_EL1.M behave as 0 and HCR_EL2.VM as 1.
    this.s1Enabled = (this.sctlrLo & 1) !== 0 && !this.dc
    this.s2Enabled = (this.hcrLo & 1) !== 0 || this.dc
  }

  private decodeTcr(): void {
    const lo = this.tcrLo
    const hi = this.tcrHi
    const tbi0 = ((hi >>> 5) & 1) !== 0
    const tbi1 = ((hi >>> 6) & 1) !== 0
    const tbid0 = ((hi >>> 19) & 1) !== 0
    const tbid1 = ((hi >>> 20) & 1) !== 0
    this.half0 = decodeHalf(lo & 0x3f, granuleFromTg0((lo >>> 14) & 3), ((lo >>> 7) & 1) !== 0, ((hi >>> 9) & 1) !== 0, tbi0, tbid0)
    this.half1 = decodeHalf((lo >>> 16) & 0x3f, granuleFromTg1((lo >>> 30) & 3), ((lo >>> 23) & 1) !== 0, ((hi >>> 10) & 1) !== 0, tbi1, tbid1)
    this.tbiData0 = tbi0
    this.tbiData1 = tbi1
    this.tbiFetch0 = tbi0 && !tbid0
    this.tbiFetch1 = tbi1 && !tbid1
    this.s1OutputLimit = 2 ** (PS_BITS[hi & 7] ?? PA_BITS)
    this.asidFromTtbr1 = ((lo >>> 22) & 1) !== 0
    this.asid16 = ((hi >>> 4) & 1) !== 0
    this.decodeAsid()
  }

  private decodeAsid(): void {
    const raw = (this.asidFromTtbr1 ? this.ttbr1Hi : this.ttbr0Hi) >>> 16
    this.asid = this.asid16 ? raw : raw & 0xff
  }

  private decodeVtcr(): void {
    const v = this.vtcrValue
    const t0sz = v & 0x3f
    const sl0 = (v >>> 6) & 3
    const tg = (v >>> 14) & 3
    const gBits = granuleFromTg0(tg)
    const stride = gBits - 3
    const inputBits = 64 - t0sz
    let start: number
    if (gBits === 12) start = sl0 === 3 ? -1 : 2 - sl0 // SL0=3 needs FEAT_TTST
    else start = sl0 === 3 ? -1 : 3 - sl0
    let valid = start >= 0 && inputBits <= PA_BITS
    if (valid) {
      // The IPA size must fit the levels below the start level, with up to 16 concatenated tables.
      const levels = 3 - start
      const minBits = levels * stride + gBits + 1
      const maxBits = minBits + stride - 1 + 4
      valid = inputBits >= minBits && inputBits <= maxBits
    }
    this.s2Valid = valid
    this.s2GBits = gBits
    this.s2InputBits = inputBits
    this.s2InputLimit = 2 ** inputBits
    this.s2StartLevel = valid ? start : 0
    this.s2OutputLimit = 2 ** (PS_BITS[(v >>> 16) & 7] ?? PA_BITS)
    this.decodeVttbrBase()
  }

  private decodeVttbrBase(): void {
    const base = (this.vttbrHi & 0xffff) * TWO32 + ((this.vttbrLo & ~1) >>> 0)
    if (!this.s2Valid) {
      this.s2Root = base
      return
    }
    const shift = this.s2GBits + (this.s2GBits - 3) * (3 - this.s2StartLevel)
    const rootBytes = 2 ** (this.s2InputBits - shift + 3)
    // Low bits below the root's alignment are RES0; we ignore them.
    this.s2Root = base - (base % rootBytes)
  }

  private decodeVmid(): void {
    const raw = this.vttbrHi >>> 16
    this.vmid = ((this.vtcrValue >>> 19) & 1) !== 0 ? raw : raw & 0xff
  }

  /** ASID of the current context (from TTBR0 or TTBR1 per TCR_EL1.A1; 8 bits unless TCR_EL1.AS). */
  get currentAsid(): number {
    return this.asid
  }

  /** VMID of the current stage-2 context (VTTBR_EL2; 8 bits unless VTCR_EL2.VS). */
  get currentVmid(): number {
    return this.vmid
  }

  /** Whether stage 1 is on (SCTLR_EL1.M=1 and HCR_EL2.DC=0). */
  get stage1Enabled(): boolean {
    return this.s1Enabled
  }

  /** Whether stage 2 is on (HCR_EL2.VM=1 or HCR_EL2.DC=1). */
  get stage2Enabled(): boolean {
    return this.s2Enabled
  }

  // ---- TLB probes (hot path) -----------------------------------------------------------

  /** TLB entry for a data access at this VA (TBI applied), or -1. */
  lookupData(vaHi: number, vaLo: number): number {
    let hi = vaHi | 0
    if ((hi & 0x00800000) !== 0) {
      if (this.tbiData1) hi |= 0xff000000
    } else if (this.tbiData0) hi &= 0x00ffffff
    return this.probe(hi, vaLo)
  }

  /** TLB entry for an instruction fetch at this VA (TBI unless TBID), or -1. */
  lookupFetch(vaHi: number, vaLo: number): number {
    let hi = vaHi | 0
    if ((hi & 0x00800000) !== 0) {
      if (this.tbiFetch1) hi |= 0xff000000
    } else if (this.tbiFetch0) hi &= 0x00ffffff
    return this.probe(hi, vaLo)
  }

  private probe(hi: number, vaLo: number): number {
    const t = this.tlb
    const i = ((vaLo >>> 12) ^ (hi >>> 8)) & t.mask
    if (
      t.vaLoKey[i] === ((vaLo & 0xfffff000) | 1) &&
      t.vaHiKey[i] === hi &&
      t.vmid[i] === this.vmid &&
      (t.asid[i] === this.asid || ((t.flags[i] as number) & TLB_GLOBAL) !== 0)
    ) {
      return i
    }
    return -1
  }

  // ---- translation ---------------------------------------------------------------------

  /**
   * Translates one access: a TLB hit, or a walk that fills the TLB. Returns true with
   * out.pa/ipa/tagged/device/attrs/tlbIndex set, or false with the fault in `out`.
   * tagged/device/attrs always describe data accesses (what the TLB entry holds).
   */
  translate(vaHi: number, vaLo: number, access: AccessKind, el: 0 | 1, pan: boolean, out: TranslationResult): boolean {
    const i = access === ACCESS_FETCH ? this.lookupFetch(vaHi, vaLo) : this.lookupData(vaHi, vaLo)
    const t = this.tlb
    if (i >= 0) {
      const flags = t.flags[i] as number
      if ((flags & permissionBit(el, access, pan)) !== 0) {
        const offset = vaLo & 0xfff
        out.pa = (t.paPage[i] as number) + offset
        out.ipa = (t.ipaPage[i] as number) + offset
        out.tagged = (flags & TLB_TAGGED) !== 0
        out.device = (flags & TLB_DEVICE) !== 0
        out.attrs = (flags >>> TLB_ATTR_SHIFT) & 0xff
        out.fault = FAULT_NONE
        out.tlbIndex = i
        return true
      }
    }
    if (!this.walkInto(vaHi | 0, vaLo | 0, access, el, pan, out)) return false
    this.fill(vaHi | 0, vaLo | 0, access, out)
    return true
  }

  /** The same walk without reading or filling the TLB (AT instructions, tests). */
  walk(vaHi: number, vaLo: number, access: AccessKind, el: 0 | 1, pan: boolean, out: TranslationResult): boolean {
    const ok = this.walkInto(vaHi | 0, vaLo | 0, access, el, pan, out)
    out.tlbIndex = -1
    return ok
  }

  private fill(vaHi: number, vaLo: number, access: AccessKind, out: TranslationResult): void {
    const t = this.tlb
    const keyHi = this.canonicalHi(vaHi, access)
    const i = ((vaLo >>> 12) ^ (keyHi >>> 8)) & t.mask
    const offset = vaLo & 0xfff
    t.vaHiKey[i] = keyHi
    t.vaLoKey[i] = (vaLo & 0xfffff000) | 1
    t.asid[i] = this.asid
    t.vmid[i] = this.vmid
    t.flags[i] = this.fillFlags
    t.paPage[i] = out.pa - offset
    t.ipaPage[i] = out.ipa - offset
    t.s1SizeLog2[i] = this.s1SizeLog2
    t.s2SizeLog2[i] = this.s2Enabled ? this.s2SizeLog2 : 0
    t.hostSlot[i] = -1
    if (this.s1SizeLog2 > 12) t.largeEntries++
    out.tlbIndex = i
  }

  /** VA[63:32] as the TLB keys it: bits 63:56 copies of bit 55 when TBI applies. */
  private canonicalHi(vaHi: number, access: AccessKind): number {
    const upper = (vaHi & 0x00800000) !== 0
    const tbi = access === ACCESS_FETCH ? (upper ? this.tbiFetch1 : this.tbiFetch0) : upper ? this.tbiData1 : this.tbiData0
    return tbi ? (vaHi << 8) >> 8 : vaHi | 0
  }

  /**
   * Stage 1 only, for AT S1E0x/S1E1x: on success out.ipa = out.pa = the IPA and out.attrs
   * = the stage-1 MAIR byte (out.tagged: it is 0xF0). Stage-2 faults on stage-1 table
   * reads are still reported (stage 2, s1ptw). The TLB is not used.
   */
  walkStage1(vaHi: number, vaLo: number, access: AccessKind, el: 0 | 1, pan: boolean, out: TranslationResult): boolean {
    vaHi |= 0
    vaLo |= 0
    if (!this.stage1Into(vaHi, vaLo, access, permissionBit(el, access, pan), out)) return false
    const attrs = this.s1Attr
    out.pa = this.s1Ipa
    out.ipa = this.s1Ipa
    out.tagged = attrs === MAIR_NORMAL_TAGGED
    out.device = (attrs & 0xf0) === 0
    out.attrs = attrs
    out.fault = FAULT_NONE
    out.tlbIndex = -1
    return true
  }

  /** Stage 1 (or its absence) into s1Ipa/s1Perm/s1Attr/s1Global, or a fault record. */
  private stage1Into(vaHi: number, vaLo: number, access: AccessKind, need: number, out: TranslationResult): boolean {
    if (!this.s1Enabled) {
      // Stage 1 off: flat map. VA bits above PARange (and the top byte unless TBI) must be 0.
      const upper = (vaHi & 0x00800000) !== 0
      const tbi = access === ACCESS_FETCH ? (upper ? this.tbiFetch1 : this.tbiFetch0) : upper ? this.tbiData1 : this.tbiData0
      const high = tbi ? vaHi & 0x00ffffff : vaHi
      if (high >>> (PA_BITS - 32) !== 0) {
        return recordFault(out, FAULT_ADDRESS_SIZE, 1, 0, access, false, vaHi, vaLo, false, 0)
      }
      this.s1Ipa = (high & 0xffff) * TWO32 + (vaLo >>> 0)
      this.s1Attr = stage1OffDataAttr(this.dc, this.dct)
      this.s1Perm = PERM_ALL
      this.s1Global = true
      this.s1SizeLog2 = 12
      return true
    }
    const kind = this.stage1Walk(vaHi, vaLo, access)
    if (kind !== FAULT_NONE) {
      if (this.faultS1ptw) {
        return recordFault(out, kind, 2, this.faultLevel, access, true, vaHi, vaLo, true, this.faultIpa)
      }
      return recordFault(out, kind, 1, this.faultLevel, access, false, vaHi, vaLo, false, 0)
    }
    if ((this.s1Perm & need) === 0) {
      return recordFault(out, FAULT_PERMISSION, 1, this.s1Level, access, false, vaHi, vaLo, false, 0)
    }
    return true
  }

  private walkInto(vaHi: number, vaLo: number, access: AccessKind, el: 0 | 1, pan: boolean, out: TranslationResult): boolean {
    const need = permissionBit(el, access, pan)
    if (!this.stage1Into(vaHi, vaLo, access, need, out)) return false
    const dataAttr = this.s1Attr
    let perms = this.s1Perm
    const global = this.s1Global
    let pa = this.s1Ipa
    let attrBits: number
    if (this.s2Enabled) {
      const kind = this.stage2Walk(this.s1Ipa)
      if (kind !== FAULT_NONE) {
        return recordFault(out, kind, 2, this.faultLevel, access, false, vaHi, vaLo, true, this.s1Ipa)
      }
      const s2 = this.s2Perm
      if ((s2 & S2_R) === 0) perms &= ~(PERM_EL0_R | PERM_EL1_R | PERM_EL1_PAN_R)
      if ((s2 & S2_W) === 0) perms &= ~(PERM_EL0_W | PERM_EL1_W | PERM_EL1_PAN_W)
      if ((s2 & S2_X_EL0) === 0) perms &= ~PERM_EL0_X
      if ((s2 & S2_X_EL1) === 0) perms &= ~PERM_EL1_X
      if ((perms & need) === 0) {
        return recordFault(out, FAULT_PERMISSION, 2, this.s2Level, access, false, vaHi, vaLo, true, this.s1Ipa)
      }
      pa = this.s2Pa
      attrBits = combineAttributeBits(dataAttr, this.s2MemAttr, this.fwb)
    } else {
      attrBits = dataAttr === MAIR_NORMAL_TAGGED ? dataAttr | COMBINED_TAGGED : dataAttr
    }
    const attrs = attrBits & 0xff
    const tagged = (attrBits & COMBINED_TAGGED) !== 0
    const device = (attrs & 0xf0) === 0
    out.pa = pa
    out.ipa = this.s1Ipa
    out.tagged = tagged
    out.device = device
    out.attrs = tagged ? MAIR_NORMAL_TAGGED : attrs
    out.fault = FAULT_NONE
    out.tlbIndex = -1
    this.fillFlags =
      perms | (global ? TLB_GLOBAL : 0) | (device ? TLB_DEVICE : 0) | (tagged ? TLB_TAGGED : 0) | (out.attrs << TLB_ATTR_SHIFT)
    return true
  }

  // ---- stage 1 -------------------------------------------------------------------------

  private stage1Walk(vaHi: number, vaLo: number, access: AccessKind): FaultKind {
    this.faultS1ptw = false
    this.faultLevel = 0
    const upper = (vaHi & 0x00800000) !== 0
    const p = upper ? this.half1 : this.half0
    if (!p.valid || p.epd) return FAULT_TRANSLATION
    // Bits [top:inputBits] must all equal bit 55 (top = 55 with TBI, else 63).
    const tbi = access === ACCESS_FETCH ? p.tbiFetch : p.tbiData
    const hiChecked = tbi ? (vaHi << 8) >> 8 : vaHi
    const expected = upper ? -1 : 0
    if (p.inputBits >= 32) {
      // Arithmetic shift: -1 or 0 only if every bit from inputBits to 63 equals bit 55.
      if (hiChecked >> (p.inputBits - 32) !== expected) return FAULT_TRANSLATION
    } else if (hiChecked !== expected || vaLo >> p.inputBits !== expected) {
      return FAULT_TRANSLATION
    }
    const ttbrHi = upper ? this.ttbr1Hi : this.ttbr0Hi
    const ttbrLo = upper ? this.ttbr1Lo : this.ttbr0Lo
    const base = (ttbrHi & 0xffff) * TWO32 + ((ttbrLo & ~1) >>> 0)
    if (base >= this.s1OutputLimit) return FAULT_ADDRESS_SIZE
    // Low bits below the root's alignment are RES0; we ignore them.
    const root = base - (base % p.rootBytes)
    const kind = this.walkTables(1, vaHi, vaLo, root, p.gBits, p.startLevel, p.inputBits, this.s1OutputLimit, p.hpd)
    if (kind !== FAULT_NONE) return kind
    // Leaf descriptor → permissions and attributes.
    const lo = this.leafLo
    const hi = this.leafHi
    const t = this.leafTableAttrs
    const el0Access = ((lo >>> 6) & 1) !== 0 && (t & APTABLE_NO_EL0) === 0
    const readOnly = ((lo >>> 7) & 1) !== 0 || (t & APTABLE_RO) !== 0
    const uxn = ((hi >>> 22) & 1) !== 0 || (t & XNTABLE_U) !== 0
    const pxn = ((hi >>> 21) & 1) !== 0 || (t & XNTABLE_P) !== 0
    const el0Write = el0Access && !readOnly
    let perm = PERM_EL1_R
    if (!readOnly) perm |= PERM_EL1_W
    if (el0Access) perm |= el0Write ? PERM_EL0_R | PERM_EL0_W : PERM_EL0_R
    if (!uxn && !(this.wxn && el0Write)) perm |= PERM_EL0_X
    if (!pxn && !el0Write && !(this.wxn && !readOnly)) perm |= PERM_EL1_X
    // PAN: EL1 data access to EL0-accessible memory (EPAN: also EL0-executable memory).
    if (!el0Access && !(this.epan && !uxn)) perm |= readOnly ? PERM_EL1_PAN_R : PERM_EL1_PAN_R | PERM_EL1_PAN_W
    this.s1Perm = perm
    this.s1Attr = this.mair[(lo >>> 2) & 7] as number
    this.s1Global = ((lo >>> 11) & 1) === 0
    this.s1Level = this.leafLevel
    this.s1SizeLog2 = this.leafSizeLog2
    this.s1Ipa = this.leafOa + ((vaLo & ((1 << this.leafSizeLog2) - 1)) >>> 0)
    return FAULT_NONE
  }

  // ---- stage 2 -------------------------------------------------------------------------

  /** Translates an IPA at stage 2 into s2Pa/s2Perm/s2MemAttr, or returns the fault kind. */
  private stage2Walk(ipa: number): FaultKind {
    this.faultLevel = 0
    if (!this.s2Valid || ipa >= this.s2InputLimit) return FAULT_TRANSLATION
    if (this.s2Root >= this.s2OutputLimit) return FAULT_ADDRESS_SIZE
    const ipaHi = Math.floor(ipa / TWO32)
    const ipaLo = ipa >>> 0
    const kind = this.walkTables(2, ipaHi, ipaLo, this.s2Root, this.s2GBits, this.s2StartLevel, this.s2InputBits, this.s2OutputLimit, false)
    if (kind !== FAULT_NONE) return kind
    const lo = this.leafLo
    const hi = this.leafHi
    const s2ap = (lo >>> 6) & 3
    let perm = 0
    if ((s2ap & 1) !== 0) perm |= S2_R
    if ((s2ap & 2) !== 0) perm |= S2_W
    // XN[1:0] (FEAT_XNX): 00 both, 01 EL0 only, 10 none, 11 EL1 only.
    const xn = (hi >>> 21) & 3
    if (xn === 0 || xn === 1) perm |= S2_X_EL0
    if (xn === 0 || xn === 3) perm |= S2_X_EL1
    this.s2Perm = perm
    this.s2MemAttr = (lo >>> 2) & 0xf
    this.s2Level = this.leafLevel
    this.s2SizeLog2 = this.leafSizeLog2
    this.s2Pa = this.leafOa + ((ipaLo & ((1 << this.leafSizeLog2) - 1)) >>> 0)
    return FAULT_NONE
  }

  // ---- the table walk shared by both stages ----------------------------------------------

  private walkTables(
    stage: 1 | 2,
    inHi: number,
    inLo: number,
    rootBase: number,
    gBits: number,
    startLevel: number,
    inputBits: number,
    outputLimit: number,
    hpd: boolean,
  ): FaultKind {
    const stride = gBits - 3
    let level = startLevel
    let shift = gBits + stride * (3 - level)
    let width = inputBits - shift
    let table = rootBase
    let tableAttrs = 0
    const granuleMask = ~((1 << gBits) - 1)
    for (;;) {
      const descIpa = table + bitsAt(inHi, inLo, shift, width) * 8
      let descPa = descIpa
      if (stage === 1 && this.s2Enabled) {
        // Stage-2 translations of table pages are cached (a stage-2-only TLB).
        const page = Math.floor(descIpa / 4096)
        const slot = page & (WALK_CACHE_SIZE - 1)
        const pageOffset = descIpa - page * 4096
        if (this.walkCacheIpaPage[slot] === page && this.walkCacheVmid[slot] === this.vmid && this.walkCacheEnabled) {
          descPa = (this.walkCachePaPage[slot] as number) + pageOffset
        } else {
          const kind = this.stage2ForTableRead(descIpa)
          if (kind !== FAULT_NONE) {
            this.faultS1ptw = true
            this.faultIpa = descIpa
            return kind
          }
          descPa = this.s2Pa
          this.walkCacheIpaPage[slot] = page
          this.walkCachePaPage[slot] = descPa - pageOffset
          this.walkCacheVmid[slot] = this.vmid
        }
      }
      let lo: number
      let hi: number
      try {
        lo = this.memory.read32(descPa)
        hi = this.memory.read32(descPa + 4)
      } catch (error) {
        if (!(error instanceof RangeError)) throw error
        this.faultLevel = level
        return FAULT_EXTERNAL_ON_WALK
      }
      if ((lo & 1) === 0 || (level === 3 && (lo & 2) === 0)) {
        this.faultLevel = level
        return FAULT_TRANSLATION
      }
      const oa = (hi & 0xffff) * TWO32 + ((lo & granuleMask) >>> 0)
      if (oa >= outputLimit) {
        this.faultLevel = level
        return FAULT_ADDRESS_SIZE
      }
      if (level < 3 && (lo & 2) !== 0) {
        if (stage === 1 && !hpd) {
          // APTable 62:61, UXNTable 60, PXNTable 59.
          if (((hi >>> 29) & 1) !== 0) tableAttrs |= APTABLE_NO_EL0
          if (((hi >>> 30) & 1) !== 0) tableAttrs |= APTABLE_RO
          if (((hi >>> 28) & 1) !== 0) tableAttrs |= XNTABLE_U
          if (((hi >>> 27) & 1) !== 0) tableAttrs |= XNTABLE_P
        }
        table = oa
        level++
        shift -= stride
        width = stride
        continue
      }
      if (level < 3 && !blockAllowed(gBits, level)) {
        this.faultLevel = level
        return FAULT_TRANSLATION
      }
      if ((lo & 0x400) === 0) {
        this.faultLevel = level
        return FAULT_ACCESS_FLAG
      }
      this.leafLo = lo
      this.leafHi = hi
      // Blocks are at most 1 GiB (shift <= 30), so the offset bits are all in the low word.
      this.leafOa = (hi & 0xffff) * TWO32 + ((lo & granuleMask & ~((1 << shift) - 1)) >>> 0)
      this.leafLevel = level
      this.leafSizeLog2 = shift
      this.leafTableAttrs = tableAttrs
      return FAULT_NONE
    }
  }

  /** Stage 2 for a stage-1 table read: needs stage-2 read permission. */
  private stage2ForTableRead(ipa: number): FaultKind {
    const kind = this.stage2Walk(ipa)
    if (kind !== FAULT_NONE) return kind
    if ((this.s2Perm & S2_R) === 0) {
      this.faultLevel = this.s2Level
      return FAULT_PERMISSION
    }
    return FAULT_NONE
  }

  // ---- invalidation --------------------------------------------------------------------

  /** A TLBI executed by the guest at EL1 (or by the hypervisor for IPAS2E1); Xt as halves. */
  tlbi(op: TlbiOp, xtHi: number, xtLo: number): void {
    const t = this.tlb
    switch (op) {
      case TLBI_VMALLE1:
      case TLBI_VMALLS12E1:
        this.flushVmid(this.vmid)
        return
      case TLBI_ASIDE1: {
        const asid = this.asidOperand(xtHi)
        for (let i = 0; i < t.size; i++) {
          if (t.vaLoKey[i] !== 0 && t.vmid[i] === this.vmid && t.asid[i] === asid && ((t.flags[i] as number) & TLB_GLOBAL) === 0) {
            t.invalidate(i)
          }
        }
        return
      }
      case TLBI_VAE1:
      case TLBI_VALE1:
        this.invalidateVa(xtHi, xtLo, this.asidOperand(xtHi))
        return
      case TLBI_VAAE1:
      case TLBI_VAALE1:
        this.invalidateVa(xtHi, xtLo, -1)
        return
      case TLBI_IPAS2E1:
      case TLBI_IPAS2LE1: {
        // Xt[35:0] = IPA[47:12].
        const ipa = ((xtHi & 0xf) * TWO32 + (xtLo >>> 0)) * 4096
        this.walkCacheIpaPage.fill(-1)
        for (let i = 0; i < t.size; i++) {
          if (t.vaLoKey[i] === 0 || t.vmid[i] !== this.vmid) continue
          const size = 2 ** Math.max(t.s2SizeLog2[i] as number, 12)
          if (Math.floor((t.ipaPage[i] as number) / size) === Math.floor(ipa / size)) t.invalidate(i)
        }
        return
      }
      default:
        throw new RangeError(`unknown TLBI operation ${op}`)
    }
  }

  private asidOperand(xtHi: number): number {
    const raw = xtHi >>> 16
    return this.asid16 ? raw : raw & 0xff
  }

  /** Drops entries for the VA in Xt[43:0] (VA[55:12]); asid -1 means every ASID. */
  private invalidateVa(xtHi: number, xtLo: number, asid: number): void {
    const t = this.tlb
    const vaLo = (xtLo << 12) | 0
    const vaHi = ((((xtHi & 0xfff) << 12) | (xtLo >>> 20)) << 8) >> 8
    const matches = (i: number): boolean =>
      t.vmid[i] === this.vmid && (asid < 0 || t.asid[i] === asid || ((t.flags[i] as number) & TLB_GLOBAL) !== 0)
    if (t.largeEntries === 0) {
      const i = t.indexOf(vaHi, vaLo)
      if (t.vaLoKey[i] === (vaLo | 1) && t.vaHiKey[i] === vaHi && matches(i)) t.invalidate(i)
      return
    }
    for (let i = 0; i < t.size; i++) {
      const key = t.vaLoKey[i] as number
      if (key === 0 || t.vaHiKey[i] !== vaHi || !matches(i)) continue
      const blockMask = ~((1 << (t.s1SizeLog2[i] as number)) - 1)
      if (((key ^ vaLo) & blockMask) === 0) t.invalidate(i)
    }
  }

  /** Hypervisor: drops every entry of one VMID. */
  flushVmid(vmid: number): void {
    for (let i = 0; i < WALK_CACHE_SIZE; i++) if (this.walkCacheVmid[i] === vmid) this.walkCacheIpaPage[i] = -1
    const t = this.tlb
    for (let i = 0; i < t.size; i++) if (t.vaLoKey[i] !== 0 && t.vmid[i] === vmid) t.invalidate(i)
  }

  /** Hypervisor: drops every entry. */
  flushAll(): void {
    this.tlb.flushAll()
    this.walkCacheIpaPage.fill(-1)
  }
}
