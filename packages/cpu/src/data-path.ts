// The data side of one CPU: loads and stores from a TLB hit straight to host frame bytes
// (the eight fast paths come from access-template.ts), and everything behind them:
// misaligned and page-crossing accesses, unprivileged ones, translation on a miss with
// the EL1 fault or the EL2 exit it raises, MTE tag checks, the probe that checks a
// multi-part access as a whole before any part is performed, and the exclusive monitor.
// An instruction performs all its memory accesses before it writes any register, so an
// aborted or exited instruction can be retried.

import { storeAsDoubles } from './field-shapes.js'
import {
  ACCESS_FETCH, ACCESS_READ, ACCESS_WRITE, TLB_DEVICE, TLB_TAGGED, TranslationResult, permissionBit, type AccessKind, type Mmu,
} from '@tagvm/mmu'
import { installAccessMethods } from './access-template.js'
import {
  ACC_ALIGNED, ACC_CM, ACC_ISV, ACC_UNCHECKED, ACC_UNPRIV, FSC, ISS_WNR, PAGE_OFFSET_MASK, PAGE_SIZE, SCTLR,
} from './constants.js'
import type { Cpu } from './cpu.js'
import { setFar, stage2DataAbort } from './exceptions.js'
import { HostFrames, type HostFrame } from './host-frames.js'
import { PS, REG_SP } from './state.js'
import { SLOT } from './sysreg-table.js'
import { ExceptionClass as EC, syndrome } from './syndrome.js'

// 64-bit accesses move guest words as host Float64s (DataPath.word64): the halves are in
// little-endian order only on a little-endian host.
if (new Uint8Array(Uint32Array.of(1).buffer)[0] !== 1) throw new Error('@tagvm/cpu needs a little-endian host')

export class DataPath {
  readonly frames: HostFrames
  /** frames.list, read by the fast paths. */
  readonly frameList: HostFrame[]
  readonly mmu: Mmu
  private readonly tlbFlags: Int32Array
  private readonly tlbSlot: Int32Array
  private readonly tlbPaPage: Float64Array
  /** Scratch translation result (also read by the exit and AT paths). */
  readonly tr = new TranslationResult()
  /** Permission bits for ordinary data reads/writes and fetches at the current EL/PAN. */
  permR = 0
  permW = 0
  permX = 0
  /** TLB_TAGGED while accesses at the current EL may be tag-checked, else 0 (MTE fast-path filter). */
  tagCheckMask = 0
  /** Whether hypervisor watchpoints are set (cpu.debug): the slow paths check them. */
  watching = false
  /** TLB entry of the last translateData. */
  lastTlbIndex = 0
  /** Host slots of the first and last page of the last probeAccess. */
  probeSlot1 = 0
  probeSlot2 = 0
  /** High half of the last 64-bit load. */
  rdHi = 0
  /** The value of a store on its way to the slow path. */
  storeLo = 0
  storeHi = 0
  /**
   * A 64-bit access's value, moved to or from the frame's 64-bit elements (HostFrame.f64) in one
   * host access; wordHalves are its low and high halves (the host is little-endian, checked below).
   * Copying a Float64 between typed arrays keeps every bit, NaN payloads included.
   */
  readonly word64 = new Float64Array(1)
  readonly wordHalves = new Uint32Array(this.word64.buffer)
  private exclusiveValid = false
  private exclusivePa = 0
  private exclusiveSize = 0

  constructor(private readonly cpu: Cpu) {
    this.frames = new HostFrames(cpu.memory)
    this.frameList = this.frames.list
    this.mmu = cpu.mmu
    this.tlbFlags = cpu.mmu.tlb.flags
    this.tlbSlot = cpu.mmu.tlb.hostSlot
    this.tlbPaPage = cpu.mmu.tlb.paPage
    storeAsDoubles(this, ['rdHi', 'storeLo', 'storeHi', 'exclusivePa'])
  }

  // ---- fast paths (installed from access-template.ts) ----
  /** Loads: the value (a 64-bit load returns the low half and leaves the high half in rdHi). */
  declare rd8: (hi: number, lo: number, info: number) => number
  declare rd16: (hi: number, lo: number, info: number) => number
  declare rd32: (hi: number, lo: number, info: number) => number
  declare rd64: (hi: number, lo: number, info: number) => number
  /** Stores: `value` already truncated by the caller is not required; only the low bytes are written. */
  declare wr8: (hi: number, lo: number, value: number, info: number) => void
  declare wr16: (hi: number, lo: number, value: number, info: number) => void
  declare wr32: (hi: number, lo: number, value: number, info: number) => void
  declare wr64: (hi: number, lo: number, vLo: number, vHi: number, info: number) => void

  /** Recomputes the permission bits after an EL or PAN change. */
  modeChanged(): void {
    const el = this.cpu.p[PS.EL] as 0 | 1
    const pan = el === 1 && this.cpu.p[PS.PAN] !== 0
    this.permR = permissionBit(el, ACCESS_READ, pan)
    this.permW = permissionBit(el, ACCESS_WRITE, pan)
    this.permX = permissionBit(el, ACCESS_FETCH, false)
    // Hypervisor watchpoints (debug.ts): every data access takes the slow path, which watches.
    this.watching = this.cpu.debug?.watching === true
    if (this.watching) this.permR = this.permW = 0
  }

  /** A store hit a frame this CPU holds decoded code from. */
  codeWritten(frame: HostFrame): void {
    this.cpu.code.frameWritten(frame)
  }

  /**
   * MTE check of a fast-path access on a Tagged page while checking is on: the pointer's
   * tag equal to its granule's allocation tag passes whatever the mode; anything else goes
   * to the full check, which knows about unchecked accesses, TBI, TCMA and granule spans.
   * (s < 0: no host slot yet; the slow path that follows checks.)
   */
  tagCheckFast(hi: number, lo: number, size: number, info: number, isWrite: boolean, s: number): void {
    if (s < 0) return
    const f = this.frameList[s]!
    const base = f.tagBase
    if (base >= 0) {
      if (f.tags[base + ((lo & PAGE_OFFSET_MASK) >>> 4)] === ((hi >>> 24) & 15)) return
    }
    this.cpu.mte.check(hi, lo, size, info, isWrite, s)
  }

  private alignmentStrict(info: number): boolean {
    return (info & ACC_ALIGNED) !== 0 || (this.cpu.sys[2 * SLOT.SCTLR_EL1]! & SCTLR.A) !== 0
  }

  readSlow(hi: number, lo: number, size: number, info: number): number {
    if (this.watching) this.cpu.debug!.watch(hi, lo, size, false)
    if ((lo & (size - 1)) !== 0 && this.alignmentStrict(info)) this.alignmentFault(hi, lo, false)
    const off = lo & PAGE_OFFSET_MASK
    if (off + size <= PAGE_SIZE) {
      const s = this.translateData(hi, lo, ACCESS_READ, info, size)
      this.tagCheckSlow(hi, lo, size, info, false, s, true)
      const f = this.frameList[s]!
      const o = f.base + off
      // Aligned: one element of the frame's views (single-copy atomic, see HostFrame.u16).
      if ((o & (size - 1)) === 0) {
        switch (size) {
          case 1:
            return f.bytes[o]!
          case 2:
            return f.u16[o >>> 1]!
          case 4:
            return f.u32[o >>> 2]!
          default:
            this.word64[0] = f.f64[o >>> 3]!
            this.rdHi = this.wordHalves[1]!
            return this.wordHalves[0]!
        }
      }
      switch (size) {
        case 2:
          return f.view.getUint16(o, true)
        case 4:
          return f.view.getUint32(o, true)
        default:
          this.rdHi = f.view.getUint32(o + 4, true)
          return f.view.getUint32(o, true)
      }
    }
    // Crosses a page: translate both pages before reading anything.
    const firstLen = PAGE_SIZE - off
    this.probeAccess(hi, lo, size, size, info, false)
    const f1 = this.frameList[this.probeSlot1]!
    const f2 = this.frameList[this.probeSlot2]!
    let rLo = 0
    let rHi = 0
    for (let b = 0; b < size; b++) {
      const byte = b < firstLen ? f1.bytes[f1.base + off + b]! : f2.bytes[f2.base + b - firstLen]!
      if (b < 4) rLo |= byte << (8 * b)
      else rHi |= byte << (8 * (b - 4))
    }
    this.rdHi = rHi >>> 0
    return rLo >>> 0
  }

  /** The slow store of `size` bytes of storeLo/storeHi. */
  writeSlow(hi: number, lo: number, size: number, info: number): void {
    if (this.watching) this.cpu.debug!.watch(hi, lo, size, true)
    if ((lo & (size - 1)) !== 0 && this.alignmentStrict(info)) this.alignmentFault(hi, lo, true)
    const off = lo & PAGE_OFFSET_MASK
    const vLo = this.storeLo
    const vHi = this.storeHi
    if (off + size <= PAGE_SIZE) {
      const s = this.translateData(hi, lo, ACCESS_WRITE, info, size)
      this.tagCheckSlow(hi, lo, size, info, true, s, true)
      const f = this.frameList[s]!
      const o = f.base + off
      if ((o & (size - 1)) === 0) {
        switch (size) {
          case 1:
            f.bytes[o] = vLo
            break
          case 2:
            f.u16[o >>> 1] = vLo
            break
          case 4:
            f.u32[o >>> 2] = vLo
            break
          default:
            this.wordHalves[0] = vLo
            this.wordHalves[1] = vHi
            f.f64[o >>> 3] = this.word64[0]!
        }
      } else {
        switch (size) {
          case 2:
            f.view.setUint16(o, vLo, true)
            break
          case 4:
            f.view.setUint32(o, vLo, true)
            break
          default:
            f.view.setUint32(o, vLo, true)
            f.view.setUint32(o + 4, vHi, true)
        }
      }
      if (f.code !== 0) this.codeWritten(f)
      return
    }
    const firstLen = PAGE_SIZE - off
    this.probeAccess(hi, lo, size, size, info, true)
    const f1 = this.frameList[this.probeSlot1]!
    const f2 = this.frameList[this.probeSlot2]!
    for (let b = 0; b < size; b++) {
      const byte = (b < 4 ? vLo >>> (8 * b) : vHi >>> (8 * (b - 4))) & 0xff
      if (b < firstLen) f1.bytes[f1.base + off + b] = byte
      else f2.bytes[f2.base + b - firstLen] = byte
    }
    if (f1.code !== 0) this.codeWritten(f1)
    if (f2.code !== 0) this.codeWritten(f2)
  }

  /** Zeroes `size` bytes at page offset `off` of host slot `s` (DC ZVA and friends, after their checks). */
  zeroBlock(s: number, off: number, size: number): void {
    const f = this.frameList[s]!
    f.bytes.fill(0, f.base + off, f.base + off + size)
    if (f.code !== 0) this.codeWritten(f)
  }

  /**
   * Called before an access made of several host reads or writes (STP, ST2G, ...) of `span`
   * bytes in parts of `elemSize` bytes: when a later part could fault after an earlier one
   * was performed (the span crosses a page, or covers several granules while tag checks
   * may apply), checks the whole access first so that a fault changes nothing. Same page
   * and one granule (or no checking) costs two compares.
   */
  probeParts(hi: number, lo: number, span: number, elemSize: number, info: number, isWrite: boolean): void {
    if ((lo & PAGE_OFFSET_MASK) + span <= PAGE_SIZE) {
      if ((lo & 15) + span <= 16 || (this.tagCheckMask === 0 && (info & ACC_UNPRIV) === 0)) return
      if (this.granulesPass(hi, lo, span, info, isWrite)) return
    }
    this.probeAccess(hi, lo, span, elemSize, info, isWrite)
  }

  /**
   * probeParts' shortcut for several granules of one page: a TLB hit with the permission,
   * and the page untagged or every granule's tag equal to the pointer's (which passes in
   * any mode). False sends the access to the full probe.
   */
  private granulesPass(hi: number, lo: number, span: number, info: number, isWrite: boolean): boolean {
    if ((info & ACC_UNPRIV) !== 0) return false
    const i = this.mmu.lookupData(hi, lo)
    if (i < 0) return false
    const flags = this.tlbFlags[i]!
    if ((flags & (isWrite ? this.permW : this.permR)) === 0) return false
    if ((flags & this.tagCheckMask) === 0 || (info & ACC_UNCHECKED) !== 0) return true
    const s = this.tlbSlot[i]!
    if (s < 0) return false
    const f = this.frameList[s]!
    if (f.tagBase < 0) return false
    const tag = (hi >>> 24) & 15
    const off = lo & PAGE_OFFSET_MASK
    for (let g = off >>> 4; g <= (off + span - 1) >>> 4; g++) if (f.tags[f.tagBase + g] !== tag) return false
    return true
  }

  /**
   * Checks an access of `span` bytes at [hi:lo] as one: translation and permission of every
   * page it touches, Device alignment for `elemSize`-byte parts, then the tag check of every
   * granule (QEMU's probe before a multi-part or page-crossing access). Leaves the host
   * slots of the first and last page in probeSlot1/probeSlot2 and the TLB filled.
   */
  probeAccess(hi: number, lo: number, span: number, elemSize: number, info: number, isWrite: boolean): void {
    if (this.watching) this.cpu.debug!.watch(hi, lo, span, isWrite)
    const access = isWrite ? ACCESS_WRITE : ACCESS_READ
    const off = lo & PAGE_OFFSET_MASK
    const s1 = this.translateData(hi, lo, access, info, elemSize)
    this.probeSlot1 = this.probeSlot2 = s1
    if (off + span <= PAGE_SIZE) {
      this.tagCheckSlow(hi, lo, span, info, isWrite, s1, true)
      return
    }
    const firstLen = PAGE_SIZE - off
    const tagged1 = this.tlbFlags[this.lastTlbIndex]! & TLB_TAGGED
    const nextLo = (lo + firstLen) >>> 0
    const nextHi = nextLo === 0 ? (hi + 1) >>> 0 : hi
    const s2 = this.translateData(nextHi, nextLo, access, info, elemSize)
    // translateData saw the (aligned) page start; a misaligned part reaching a Device page faults too.
    if ((lo & (elemSize - 1)) !== 0 && (this.tlbFlags[this.lastTlbIndex]! & TLB_DEVICE) !== 0) this.alignmentFault(hi, lo, isWrite)
    this.probeSlot2 = s2
    // MTE check of the page-crossing access, now that both pages are translated.
    if (this.tagCheckMask === 0 && (info & ACC_UNPRIV) === 0) return
    if (tagged1 !== 0) this.cpu.mte.check(hi, lo, firstLen, info, isWrite, s1, true)
    this.tagCheckSlow(nextHi, nextLo, span - firstLen, info, isWrite, s2, false)
  }

  /**
   * Translates a data access (full checks), filling the TLB and the entry's host slot.
   * Raises the EL1 abort or the EL2 exit on failure. Returns the host slot.
   */
  translateData(hi: number, lo: number, access: AccessKind, info: number, size: number): number {
    const p = this.cpu.p
    const el = (info & ACC_UNPRIV) !== 0 && p[PS.UAO] === 0 ? 0 : (p[PS.EL] as 0 | 1)
    const pan = el === 1 && p[PS.PAN] !== 0
    const bit = permissionBit(el, access, pan)
    let i = this.mmu.lookupData(hi, lo)
    if (i < 0 || (this.tlbFlags[i]! & bit) === 0) {
      if (!this.mmu.translate(hi, lo, access, el, pan, this.tr)) this.dataFault(hi, lo, access, info, size)
      i = this.tr.tlbIndex
    }
    if (size > 1 && (lo & (size - 1)) !== 0 && (this.tlbFlags[i]! & TLB_DEVICE) !== 0) this.alignmentFault(hi, lo, access === ACCESS_WRITE)
    let s = this.tlbSlot[i]!
    if (s < 0) s = this.tlbSlot[i] = this.hostSlot(this.tlbPaPage[i]!, hi, lo, access)
    this.lastTlbIndex = i
    return s
  }

  /** Whether the last translateData ended in Tagged memory. */
  lastTranslationTagged(): boolean {
    return (this.tlbFlags[this.lastTlbIndex]! & TLB_TAGGED) !== 0
  }

  /**
   * The host slot of a translated page, made on first use. Stage 2 leading outside host
   * memory is a synchronous external abort (DFSC/IFSC 0x10) to EL1.
   */
  hostSlot(paPage: number, hi: number, lo: number, access: AccessKind): number {
    const s = this.frames.slotFor(paPage)
    if (s >= 0) return s
    setFar(this.cpu, hi, lo)
    const cpu = this.cpu
    const current = cpu.p[PS.EL] === 1
    if (access === ACCESS_FETCH) {
      cpu.left--
      return cpu.exception(current ? EC.IABT_CURRENT : EC.IABT_LOWER, FSC.EXTERNAL, lo, hi)
    }
    return cpu.exception(current ? EC.DABT_CURRENT : EC.DABT_LOWER, FSC.EXTERNAL | (access === ACCESS_WRITE ? ISS_WNR : 0), cpu.pcLo, cpu.pcHi)
  }

  /**
   * MTE check of an access inside one page just translated by translateData (host slot s).
   * LDTR/STTR are checked as EL0 whatever the mask says.
   */
  tagCheckSlow(hi: number, lo: number, size: number, info: number, isWrite: boolean, s: number, firstByte: boolean): void {
    const flags = this.tlbFlags[this.lastTlbIndex]!
    if ((flags & TLB_TAGGED) !== 0 && ((flags & this.tagCheckMask) !== 0 || (info & ACC_UNPRIV) !== 0)) {
      this.cpu.mte.check(hi, lo, size, info, isWrite, s, firstByte)
    }
  }

  /** Synchronous tag check fault: data abort to EL1, DFSC 0x11, FAR = the tagged address. */
  tagCheckFault(hi: number, lo: number, isWrite: boolean): never {
    const cpu = this.cpu
    const ec = cpu.p[PS.EL] === 0 ? EC.DABT_LOWER : EC.DABT_CURRENT
    const iss = FSC.TAG_CHECK | (isWrite ? ISS_WNR : 0)
    // A debugging hypervisor may see the fault first (debug.ts).
    if (cpu.debug !== null) cpu.debug.tagFault(syndrome(ec, true, iss), hi, lo)
    setFar(cpu, hi, lo)
    return cpu.exception(ec, iss, cpu.pcLo, cpu.pcHi)
  }

  /** A translation that failed: the EL1 data abort, or the EL2 exit for a stage-2 fault. */
  dataFault(hi: number, lo: number, access: AccessKind, info: number, size: number): never {
    const cpu = this.cpu
    const tr = this.tr
    const isWrite = access === ACCESS_WRITE || (info & ACC_CM) !== 0
    const cm = (info & ACC_CM) !== 0 && (info & ACC_ISV) === 0 && size === 0 ? 1 << 8 : 0
    if (tr.stage === 2) return stage2DataAbort(cpu, tr, hi, lo, isWrite, info, cm)
    setFar(cpu, hi, lo)
    const iss = tr.fsc | (isWrite ? ISS_WNR : 0) | cm
    return cpu.exception(cpu.p[PS.EL] === 0 ? EC.DABT_LOWER : EC.DABT_CURRENT, iss, cpu.pcLo, cpu.pcHi)
  }

  alignmentFault(hi: number, lo: number, isWrite: boolean): never {
    const cpu = this.cpu
    setFar(cpu, hi, lo)
    return cpu.exception(cpu.p[PS.EL] === 0 ? EC.DABT_LOWER : EC.DABT_CURRENT, FSC.ALIGNMENT | (isWrite ? ISS_WNR : 0), cpu.pcLo, cpu.pcHi)
  }

  /** SP alignment check for an access based on SP (SCTLR_EL1.SA / SA0). */
  checkSpAlignment(): void {
    const cpu = this.cpu
    if ((cpu.x[2 * REG_SP]! & 15) === 0) return
    const bit = cpu.p[PS.EL] === 0 ? SCTLR.SA0 : SCTLR.SA
    if ((cpu.sys[2 * SLOT.SCTLR_EL1]! & bit) !== 0) cpu.exception(EC.SP_ALIGN, 0, cpu.pcLo, cpu.pcHi)
  }

  // ---- exclusive monitor ----

  /** Marks the physical address of [hi:lo] as exclusive (after a successful load). */
  setExclusive(hi: number, lo: number, size: number): void {
    const s = this.translateData(hi, lo, ACCESS_READ, ACC_ALIGNED, size)
    this.exclusiveValid = true
    this.exclusivePa = this.frameList[s]!.pa + (lo & PAGE_OFFSET_MASK)
    this.exclusiveSize = size
  }

  /** True when a store-exclusive to [hi:lo] may proceed (checks translation first). */
  checkExclusive(hi: number, lo: number, size: number): boolean {
    const s = this.translateData(hi, lo, ACCESS_WRITE, ACC_ALIGNED, size)
    const pa = this.frameList[s]!.pa + (lo & PAGE_OFFSET_MASK)
    const ok = this.exclusiveValid && pa === this.exclusivePa && size === this.exclusiveSize
    this.exclusiveValid = false
    return ok
  }

  clearExclusive(): void {
    this.exclusiveValid = false
  }
}

installAccessMethods(DataPath.prototype)
