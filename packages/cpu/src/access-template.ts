// The load/store fast paths (rd8..rd64, wr8..wr64), written once as a template and turned
// into the eight DataPath methods when this module loads. Each method is its own function,
// so the JIT keeps separate type feedback per size, and the same text is what a compiled
// tier can paste into a generated block to inline an access.
//
// The fast path: naturally aligned, not unprivileged, a TLB hit whose permission bit for
// the current EL/PAN is set, and a known host frame. Then, only when the page is Tagged and
// tag checks are on, a tag compare; then the access on the frame's DataView. Anything else
// goes to readSlow / writeSlow with the same arguments. A store to a frame this CPU holds
// decoded code from tells the code cache (codeWritten).

import { ACC_UNPRIV, PAGE_OFFSET_MASK } from './constants.js'

export const ACCESS_SIZES = [1, 2, 4, 8] as const
export type AccessSize = (typeof ACCESS_SIZES)[number]

/** Method name of an access: rd8, rd16, rd32, rd64, wr8, ... */
export function accessName(size: AccessSize, isWrite: boolean): string {
  return `${isWrite ? 'wr' : 'rd'}${size * 8}`
}

/** Parameters: (hi, lo, info) for loads, (hi, lo, value, info) for stores, (hi, lo, vLo, vHi, info) for wr64. */
export function accessParams(size: AccessSize, isWrite: boolean): string[] {
  if (!isWrite) return ['hi', 'lo', 'info']
  return size === 8 ? ['hi', 'lo', 'vLo', 'vHi', 'info'] : ['hi', 'lo', 'value', 'info']
}

/** The frame's element view of an aligned access of this size, and the index shift into it. */
const ELEMENTS = { 2: ['u16', 1], 4: ['u32', 2] } as const
const STORE_LO = { 1: 'value & 0xff', 2: 'value & 0xffff', 4: 'value >>> 0', 8: 'vLo >>> 0' } as const

/**
 * The body of one access method, `this` being a DataPath: it reads `mmu`, `tlbFlags`,
 * `tlbSlot`, `permR`/`permW`, `tagCheckMask`, `frameList` and `word64`/`wordHalves`, and calls `tagCheckFast`,
 * `readSlow`/`writeSlow` and `codeWritten`. A 64-bit load returns the low half and leaves
 * the high half in `rdHi`.
 */
export function accessBody(size: AccessSize, isWrite: boolean): string {
  const aligned = size === 1 ? '' : `(lo & ${size - 1}) === 0 && `
  const offset = `f.base + (lo & ${PAGE_OFFSET_MASK})`
  let access: string
  if (!isWrite) {
    if (size === 1) access = `return f.bytes[${offset}]`
    else if (size === 8) access = `const w = this.wordHalves\nthis.word64[0] = f.f64[(${offset}) >>> 3]\nthis.rdHi = w[1]\nreturn w[0]`
    else access = `return f.${ELEMENTS[size][0]}[(${offset}) >>> ${ELEMENTS[size][1]}]`
  } else {
    if (size === 1) access = `f.bytes[${offset}] = value`
    else if (size === 8) access = `const w = this.wordHalves\nw[0] = vLo\nw[1] = vHi\nf.f64[(${offset}) >>> 3] = this.word64[0]`
    else access = `f.${ELEMENTS[size][0]}[(${offset}) >>> ${ELEMENTS[size][1]}] = value`
    access += '\nif (f.code !== 0) this.codeWritten(f)\nreturn'
  }
  const slow = isWrite
    ? `this.storeLo = ${STORE_LO[size]}\nthis.storeHi = ${size === 8 ? 'vHi >>> 0' : '0'}\nthis.writeSlow(hi, lo, ${size}, info)`
    : `return this.readSlow(hi, lo, ${size}, info)`
  return `if (${aligned}(info & ${ACC_UNPRIV}) === 0) {
  const i = this.mmu.lookupData(hi, lo)
  if (i >= 0) {
    const flags = this.tlbFlags[i]
    if ((flags & this.${isWrite ? 'permW' : 'permR'}) !== 0) {
      const s = this.tlbSlot[i]
      if ((flags & this.tagCheckMask) !== 0) this.tagCheckFast(hi, lo, ${size}, info, ${isWrite}, s)
      if (s >= 0) {
        const f = this.frameList[s]
        ${access.split('\n').join('\n        ')}
      }
    }
  }
}
${slow}`
}

/** Defines the eight access methods on `target` (DataPath.prototype). */
export function installAccessMethods(target: object): void {
  for (const size of ACCESS_SIZES) {
    for (const isWrite of [false, true]) {
      const name = accessName(size, isWrite)
      const method = new Function(...accessParams(size, isWrite), accessBody(size, isWrite)) as (...args: number[]) => number | undefined
      Object.defineProperty(method, 'name', { value: name })
      Object.defineProperty(target, name, { value: method, writable: true, configurable: true })
    }
  }
}
