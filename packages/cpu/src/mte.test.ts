// MTE behaviour beyond the §7 vectors: ID levels, HCR_EL2.ATA traps, page- and
// granule-crossing checks, access kinds, untagged/Device memory, EL0, DC by-tag
// operations, TCO, GMID block size 6, and guest words that may do anything.

import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { chooseNonExcludedTag, lfsrStep4 } from './mte.js'
import { CODE_EL1, V, enc, mteMachine, p, read64, runWords, stopReason, type MteOptions } from './mte-test-support.js'
import { SysReg } from './sysreg-encoding.js'
import type { Machine } from './test-helpers.js'

const sys = (m: Machine, name: Parameters<Machine['cpu']['getSysreg']>[0]): bigint => m.cpu.getSysreg(name)
const A = BigInt(V)
const UNDEF = 0x0200_0000n

/** At EL0 the closing HVC is UNDEFINED: the run reached its end if that is what stopped it. */
function endedAtEl0(m: Machine, stop: number | string, words: number): boolean {
  return stop === 8 && sys(m, 'ESR_EL1') === UNDEF && sys(m, 'ELR_EL1') === BigInt(0x4008_0000 + 4 * words)
}

function run(o: MteOptions, regs: Record<number, bigint>, code: number[], setup?: (m: Machine) => void, at?: number): [Machine, number | string] {
  const m = mteMachine(o)
  setup?.(m)
  for (const [r, v] of Object.entries(regs)) m.cpu.setX(Number(r), v)
  return [m, stopReason(runWords(m, code, 10_000, at))]
}

describe('tag arithmetic', () => {
  /**
   * Reference CNET: offset 0 is the first allowed tag at or after `tag`; offset k > 0 is the
   * k-th allowed tag strictly after it, counting round the circle.
   */
  function reference(tag: number, offset: number, exclude: number): number {
    const allowed = (t: number): boolean => ((exclude >>> t) & 1) === 0
    const from = offset === 0 ? 0 : 1
    const circle = Array.from({ length: 16 }, (_, i) => (tag + from + i) & 15).filter(allowed)
    if (circle.length === 0) return 0
    return circle[offset === 0 ? 0 : (offset - 1) % circle.length]!
  }

  test('CNET matches the reference walk and never returns an excluded tag', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 15 }), fc.integer({ min: 0, max: 15 }), fc.integer({ min: 0, max: 0xffff }), (tag, offset, exclude) => {
        const t = chooseNonExcludedTag(tag, offset, exclude)
        expect(t).toBe(reference(tag, offset, exclude))
        if (exclude !== 0xffff) expect((exclude >>> t) & 1).toBe(0)
      }),
    )
  })

  test('the seed LFSR is a 16-bit Fibonacci LFSR with four output bits per IRG', () => {
    // Seed 1: four steps shift in b = s<0> = 1 then zeros: offset 0b0001, seed 0x1000.
    expect(lfsrStep4(1)).toBe(1 | (0x1000 << 4))
    expect(lfsrStep4(0)).toBe(0)
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 0xffff }), (seed) => {
        expect(lfsrStep4(seed) >>> 4).not.toBe(0)
      }),
    )
  })

  test('IRG with GCR.RRND = 1 gives non-excluded tags, even from seed 0', () => {
    const m = mteMachine()
    m.cpu.setSysreg('GCR_EL1', (1n << 16n) | 0x00f0n)
    m.cpu.setX(1, A)
    const words = Array.from({ length: 16 }, (_, i) => enc.irg(i + 2, 1))
    expect(stopReason(runWords(m, words))).toBe('end')
    const tags = Array.from({ length: 16 }, (_, i) => Number(m.cpu.getX(i + 2) >> 56n))
    for (const t of tags) expect(t >= 4 && t <= 7).toBe(false)
    expect(new Set(tags).size).toBeGreaterThan(1)
  })

  test('SUBPS (CMPP) sets NZCV as a 64-bit subtraction of the 56-bit addresses', () => {
    const [m] = run({}, { 1: p(3), 2: p(9) }, [enc.subps(31, 1, 2)])
    expect(m.cpu.pstate >>> 28).toBe(0b0110) // Z and C: equal addresses, tags ignored
    const [m2] = run({}, { 1: 0x10n, 2: 0x20n }, [enc.subps(0, 1, 2)])
    expect(m2.cpu.getX(0)).toBe(0xffff_ffff_ffff_fff0n)
    expect(m2.cpu.pstate >>> 28).toBe(0b1000) // N
  })
})

describe('ID_AA64PFR1_EL1.MTE levels', () => {
  test('MTE = 0: every MTE instruction, TCO and the MTE registers are UNDEFINED', () => {
    const words = [
      enc.irg(0, 1), enc.addg(0, 1, 16, 1), enc.gmi(0, 1, 2), enc.subp(0, 1, 2), enc.stg(0, 1), enc.ldg(0, 1), enc.stgp(0, 2, 1),
      enc.ldgm(0, 1), enc.dcGva(1), enc.msrTcoImm(1), enc.mrsTco(0), enc.mrs(0, SysReg.GCR_EL1), enc.mrs(0, SysReg.GMID_EL1),
    ]
    for (const w of words) {
      const [m, stop] = run({ level: 0 }, { 1: A }, [w])
      expect(stop, w.toString(16)).toBe(4)
      expect(sys(m, 'ESR_EL1')).toBe(UNDEF)
      expect(m.memory.getTag(V)).toBe(3)
    }
  })

  test('MTE = 1 (instructions only): tags read 0, are not stored, and nothing is checked', () => {
    const [m, stop] = run({ level: 1 }, { 1: p(4), 2: p(9), 3: p(9) }, [enc.ldr(0, 1), enc.ldg(3, 1), enc.stg(2, 1), enc.irg(4, 2), enc.addg(5, 2, 0, 1)])
    expect(stop).toBe('end')
    expect(m.cpu.getX(3)).toBe(A)
    expect(m.memory.getTag(V)).toBe(3)
    expect(m.cpu.getX(4) >> 56n).toBe(0n)
    expect(m.cpu.getX(5) >> 56n).toBe(0n)
    // LDGM needs MTE2.
    const [m2, stop2] = run({ level: 1 }, { 1: A }, [enc.ldgm(0, 1)])
    expect(stop2).toBe(4)
    expect(sys(m2, 'ESR_EL1')).toBe(UNDEF)
  })

  test('MTE = 2: TCF = 3 is reserved and checks nothing; sync still works', () => {
    expect(run({ level: 2, tcf: 3 }, { 1: p(4) }, [enc.ldr(0, 1), enc.str(0, 1)])[1]).toBe('end')
    expect(run({ level: 2, tcf: 1 }, { 1: p(4) }, [enc.ldr(0, 1)])[1]).toBe(4)
  })
})

describe('HCR_EL2.ATA = 0', () => {
  test('EL1 reads and writes of GCR/RGSR/TFSR/TFSRE0 exit to EL2 with EC 0x18; GMID and TCO do not', () => {
    for (const key of [SysReg.GCR_EL1, SysReg.RGSR_EL1, SysReg.TFSR_EL1, SysReg.TFSRE0_EL1]) {
      for (const w of [enc.mrs(3, key), enc.msr(3, key)]) {
        const [m, stop] = run({ hcrAta: 0 }, {}, [w])
        expect(stop).toBe('sysreg-trap')
        const esr = m.cpu.exits.sysregTrap.esr
        expect(esr >>> 26).toBe(0x18)
        expect(esr & 1).toBe(w === enc.mrs(3, key) ? 1 : 0)
        expect((esr >>> 5) & 31).toBe(3)
      }
    }
    const [m, stop] = run({ hcrAta: 0 }, { 1: 1n << 25n }, [enc.mrs(0, SysReg.GMID_EL1), enc.msrTco(1), enc.mrsTco(2), enc.irg(3, 4)], (mm) => mm.cpu.setX(4, p(7)))
    expect(stop).toBe('end')
    expect(m.cpu.getX(0)).toBe(6n)
    expect(m.cpu.getX(2)).toBe(1n << 25n)
    expect(m.cpu.getX(3)).toBe(A) // IRG executes, tag 0
  })

  test('with HCR_EL2.ATA = 1 the registers are plain read/write state', () => {
    const [m, stop] = run({}, { 1: 3n }, [enc.msr(1, SysReg.TFSR_EL1), enc.mrs(2, SysReg.TFSR_EL1), enc.msr(1, SysReg.GCR_EL1), enc.mrs(3, SysReg.GCR_EL1)])
    expect(stop).toBe('end')
    expect([m.cpu.getX(2), m.cpu.getX(3)]).toEqual([3n, 3n])
  })
})

describe('which accesses are checked, and where faults point', () => {
  test('a load crossing into a page whose first granule mismatches faults with FAR at that page', () => {
    const [m, stop] = run({}, { 1: (3n << 56n) | BigInt(V + 0xffc) }, [enc.ldr(0, 1)], (mm) => {
      mm.memory.setTag(V + 0xff0, 3)
      mm.memory.setTag(V + 0x1000, 6)
    })
    expect(stop).toBe(4)
    expect(sys(m, 'ESR_EL1')).toBe(0x9600_0011n)
    expect(sys(m, 'FAR_EL1')).toBe((3n << 56n) | BigInt(V + 0x1000))
  })

  test('a load crossing pages with both tags matching succeeds', () => {
    const [m, stop] = run({}, { 1: (3n << 56n) | BigInt(V + 0xffc) }, [enc.ldr(0, 1)], (mm) => {
      mm.memory.setTag(V + 0xff0, 3)
      mm.memory.setTag(V + 0x1000, 3)
    })
    expect(stop).toBe('end')
    expect(m.cpu.getX(0) & 0xffff_ffffn).toBe(BigInt(m.memory.read32(V + 0xffc)))
  })

  test('LDP over two granules faults on the second and writes no register', () => {
    const [m, stop] = run({}, { 0: 1n, 1: 2n, 2: p(3, 8) }, [enc.ldp(0, 1, 2)])
    expect(stop).toBe(4)
    expect(sys(m, 'FAR_EL1')).toBe(p(3, 0x10))
    expect([m.cpu.getX(0), m.cpu.getX(1)]).toEqual([1n, 2n])
  })

  test('exclusives and atomics are unchecked with SP as the base, checked otherwise', () => {
    const sp = (m: Machine): void => {
      m.cpu.sp = p(4)
    }
    expect(run({}, {}, [0xc85f7fe0 /* ldxr x0, [sp] */, enc.ldadd(2, 0, 31)], sp)[1]).toBe('end')
    const [m, stop] = run({}, { 1: p(4) }, [enc.ldxr(0, 1)])
    expect(stop).toBe(4)
    expect(sys(m, 'ESR_EL1')).toBe(0x9600_0011n)
    expect(run({}, { 1: p(4), 2: 1n }, [enc.ldadd(2, 0, 1)])[1]).toBe(4)
  })

  test('STTR at EL1 is checked as EL0: TCF0 = 1 gives a synchronous write fault', () => {
    const [m, stop] = run({ el0Data: true, tcf: 0, tcf0: 1 }, { 0: 0x99n, 1: p(4) }, [enc.sttr(0, 1)], undefined, CODE_EL1)
    expect(stop).toBe(4)
    expect(sys(m, 'ESR_EL1')).toBe(0x9600_0051n)
    expect(read64(m, V)).toBe(0x0807_0605_0403_0201n)
  })

  test('EL0 accesses use ATA0: with ATA0 = 0 nothing is checked even with TCF0 = 1', () => {
    const el0 = (m: Machine): void => {
      m.cpu.pstate = 0
    }
    expect(endedAtEl0(...run({ el0Data: true, tcf0: 1, ata0: 0 }, { 1: p(4) }, [enc.ldr(0, 1)], el0), 1)).toBe(true)
    const [m, stop] = run({ el0Data: true, tcf0: 1, ata0: 1 }, { 1: p(4) }, [enc.ldr(0, 1)], el0)
    expect(stop).toBe(8)
    expect(sys(m, 'ESR_EL1')).toBe(0x9200_0011n)
  })

  test('TCF0 = 2 at EL0 records TFSRE0_EL1, not TFSR_EL1', () => {
    const el0 = (m: Machine): void => {
      m.cpu.pstate = 0
    }
    const [m, stop] = run({ el0Data: true, tcf0: 2 }, { 1: p(4) }, [enc.ldr(0, 1)], el0)
    expect(endedAtEl0(m, stop, 1)).toBe(true)
    expect(sys(m, 'TFSRE0_EL1')).toBe(1n)
    expect(sys(m, 'TFSR_EL1')).toBe(0n)
  })

  test('TCO and TCMA bypasses record nothing in async mode', () => {
    const [m] = run({ tcf: 2, tcma0: 1 }, { 1: p(4), 2: A }, [enc.ldr(0, 2, 0x10), enc.msrTcoImm(1), enc.ldr(0, 1)])
    expect(sys(m, 'TFSR_EL1')).toBe(0n)
  })

  test('TBI off for the half: nothing is checked (the address is not translatable with a tag either)', () => {
    const [m, stop] = run({}, { 1: A }, [enc.ldr(0, 1)], (mm) => mm.cpu.setSysreg('TCR_EL1', mm.cpu.getSysreg('TCR_EL1') & ~(1n << 37n)))
    expect(stop).toBe('end')
    expect(m.cpu.getX(0)).toBe(0x0807_0605_0403_0201n)
  })

  test('MSR/MRS TCO round trip, and MSR TCO works at EL0', () => {
    const [m, stop] = run({}, { 1: 1n << 25n }, [enc.msrTco(1), enc.mrsTco(2), enc.msrTcoImm(0), enc.mrsTco(3)])
    expect(stop).toBe('end')
    expect([m.cpu.getX(2), m.cpu.getX(3)]).toEqual([1n << 25n, 0n])
    const [m2, stop2] = run({ el0Data: true, tcf0: 1 }, { 1: p(4) }, [enc.msrTcoImm(1), enc.ldr(0, 1), enc.mrsTco(2)], (mm) => {
      mm.cpu.pstate = 0
    })
    expect(endedAtEl0(m2, stop2, 3)).toBe(true)
    expect(m2.cpu.getX(2)).toBe(1n << 25n)
  })
})

describe('allocation tag instructions on other memory', () => {
  test('untagged Normal memory: STG/ST2G/STGM store no tags, LDG/LDGM read 0, STZG still zeroes', () => {
    const [m, stop] = run({ attr: 0xff }, { 0: p(9), 1: A, 2: 0xffff_ffffn, 3: p(9) }, [enc.stg(0, 1), enc.st2g(0, 1, 32), enc.ldg(3, 1), enc.ldgm(4, 1), enc.stgm(2, 1), enc.stzg(0, 1, 0x40)])
    expect(stop).toBe('end')
    expect([0, 1, 2, 3].map((i) => m.memory.getTag(V + 16 * i))).toEqual([3, 4, 0, 0xf])
    expect(m.cpu.getX(3)).toBe(A)
    expect(m.cpu.getX(4)).toBe(0n)
    expect(read64(m, V + 0x40)).toBe(0n)
  })

  test('Device memory: STG stores nothing, but a misaligned STG is still an alignment fault', () => {
    const [m, stop] = run({ attr: 0x00 }, { 0: p(9), 1: A }, [enc.stg(0, 1)], undefined, CODE_EL1)
    expect(stop).toBe('end')
    expect(m.memory.getTag(V)).toBe(3)
    const [m2, stop2] = run({ attr: 0x00 }, { 0: p(9), 1: A + 4n }, [enc.stg(0, 1)], undefined, CODE_EL1)
    expect(stop2).toBe(4)
    expect(sys(m2, 'ESR_EL1')).toBe(0x9600_0061n)
  })

  test('ST2G across a page boundary tags both pages', () => {
    const [m, stop] = run({}, { 0: p(0xc), 1: BigInt(V + 0xff0) }, [enc.st2g(0, 1)])
    expect(stop).toBe('end')
    expect([m.memory.getTag(V + 0xff0), m.memory.getTag(V + 0x1000)]).toEqual([0xc, 0xc])
  })

  test('STZG/STZ2G with ATA = 0 zero data but store no tags; STZGM too', () => {
    const [m, stop] = run({ ata: 0 }, { 0: p(9), 1: A, 2: 0xan }, [enc.stzg(0, 1), enc.stzgm(2, 1)])
    expect(stop).toBe('end')
    for (let o = 0; o < 0x40; o += 8) expect(read64(m, V + o)).toBe(0n)
    expect([0, 1, 2, 3].map((i) => m.memory.getTag(V + 16 * i))).toEqual([3, 4, 0, 0xf])
  })

  test('STG at EL0 stores tags with ATA0 = 1', () => {
    const el0 = (m: Machine): void => {
      m.cpu.pstate = 0
    }
    const [m, stop] = run({ el0Data: true }, { 0: p(0xd), 1: A }, [enc.stg(0, 1, 16, 3)], el0)
    expect(endedAtEl0(m, stop, 1)).toBe(true)
    expect(m.memory.getTag(V + 0x10)).toBe(0xd)
    expect(m.cpu.getX(1)).toBe(A + 16n)
  })

  test('STG with a translation fault reports WnR and changes nothing', () => {
    const [m, stop] = run({}, { 0: p(1), 1: 0x1_0000_0000n }, [enc.stg(0, 1, 16, 3)])
    expect(stop).toBe(4)
    expect(sys(m, 'ESR_EL1') & 0xffff_ffc0n).toBe(0x9600_0040n)
    expect(m.cpu.getX(1)).toBe(0x1_0000_0000n)
  })

  test('GMID_EL1.BS = 6 (256 bytes, QEMU max): LDGM/STGM use all 64 bits', () => {
    const [m, stop] = run({}, { 0: 0xfedc_ba98_7654_3210n, 1: BigInt(V + 0x1a0) }, [enc.stgm(0, 1), enc.ldgm(2, 1)])
    expect(stop).toBe('end')
    expect(m.cpu.getX(2)).toBe(0xfedc_ba98_7654_3210n)
    expect(m.memory.getTag(V + 0x100)).toBe(0)
    expect(m.memory.getTag(V + 0x1f0)).toBe(0xf)
    expect(m.memory.getTag(V)).toBe(3)
  })

  test('DC GZVA zeroes the block and sets its tags; DC GVA at EL0 needs SCTLR_EL1.DZE; HCR_EL2.TDZ traps', () => {
    const [m, stop] = run({}, { 0: 0x0e00_0000_4000_1010n }, [enc.dcGzva(0)])
    expect(stop).toBe('end')
    for (let o = 0; o < 0x40; o += 8) expect(read64(m, V + o)).toBe(0n)
    expect([0, 1, 2, 3].map((i) => m.memory.getTag(V + 16 * i))).toEqual([0xe, 0xe, 0xe, 0xe])
    const [m2, stop2] = run({ el0Data: true }, { 0: A }, [enc.dcGva(0)], (mm) => {
      mm.cpu.setSysreg('SCTLR_EL1', mm.cpu.getSysreg('SCTLR_EL1') & ~(1n << 14n))
      mm.cpu.pstate = 0
    })
    expect(stop2).toBe(8)
    expect(sys(m2, 'ESR_EL1') >> 26n).toBe(0x18n)
    const [, stop3] = run({}, { 0: A }, [enc.dcGva(0)], (mm) => mm.cpu.setHcrEl2(mm.cpu.hcrEl2 | (1n << 28n)))
    expect(stop3).toBe('sysreg-trap')
  })

  test('by-tag cache maintenance: set/way ops trap with HCR_EL2.TSW, by-VA ones with TPC, else only translate', () => {
    const IGSW = 0xd5087680 // dc igsw, x0
    const CGVAC = 0xd50b7a60 // dc cgvac, x0
    for (const [word, hcrBit] of [[IGSW, 22n], [CGVAC, 23n]] as const) {
      const [m, stop] = run({}, { 0: A }, [word], (mm) => mm.cpu.setHcrEl2(mm.cpu.hcrEl2 | (1n << hcrBit)))
      expect(stop).toBe('sysreg-trap')
      expect(m.cpu.exits.sysregTrap.esr >>> 26).toBe(0x18)
      expect(run({}, { 0: A }, [word])[1]).toBe('end')
    }
    // By VA they translate: an unmapped address is a data abort.
    const [m, stop] = run({}, { 0: 0x1_0000_0000n }, [CGVAC])
    expect(stop).toBe(4)
    expect(sys(m, 'ESR_EL1') >> 26n).toBe(0x25n)
  })

  test('DC ZVA is checked over the whole block', () => {
    const [m, stop] = run({}, { 0: p(3) }, [enc.dcZva(0)])
    expect(stop).toBe(4)
    expect(sys(m, 'ESR_EL1') & 0x3fn).toBe(0x11n)
    expect(read64(m, V)).toBe(0x0807_0605_0403_0201n)
  })
})

describe('guest code may do anything', () => {
  test('random MTE-space words with random registers never throw out of run()', () => {
    const bases = [0xd9200000, 0x68000000, 0x69000000, 0x9ac00000, 0xbac00000, 0x91800000, 0xd1800000]
    fc.assert(
      fc.property(
        fc.constantFrom(...bases), fc.integer({ min: 0, max: 0x1fffff }), fc.array(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), { minLength: 4, maxLength: 4 }),
        fc.constantFrom(0, 1, 2, 3), fc.boolean(),
        (base, low, regs, tcf, el0) => {
          const m = mteMachine({ tcf, tcf0: tcf, el0Data: el0 })
          regs.forEach((v, i) => m.cpu.setX(i, v))
          m.cpu.setX(4, BigInt(V) | (regs[0]! & (0xfn << 56n)))
          if (el0) m.cpu.pstate = 0
          const word = (base | (low & (base === 0xd9200000 ? 0xdfffff : 0x3fffff))) >>> 0
          const exit = runWords(m, [word, word], 100)
          expect(['hvc', 'sysreg-trap', 'data-abort', 'budget']).toContain(exit.kind)
        },
      ),
      { numRuns: 150 },
    )
  })
})

describe('tag checks against a model', () => {
  test('any size, offset and mode: fault, FAR, TFSR and memory as the granule rule says', () => {
    // LDUR/STUR (unscaled, imm9 = 0) of 1, 2, 4, 8 bytes: size << 30 | opc 01 load / 00 store.
    const word = (size: number, load: boolean): number => ((size << 30) | 0x38000000 | (load ? 1 << 22 : 0) | (1 << 5) | 0) >>> 0
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 15 }), { minLength: 4, maxLength: 4 }), fc.integer({ min: 0, max: 15 }),
        fc.integer({ min: 0, max: 0x2f }), fc.constantFrom(0, 1, 2, 3), fc.boolean(), fc.constantFrom(1, 2, 3),
        (granuleTags, logical, offset, size, load, tcf) => {
          const m = mteMachine({ tcf })
          granuleTags.forEach((t, i) => m.memory.setTag(V + 16 * i, t))
          const pointer = p(logical, offset)
          m.cpu.setX(0, 0x1122_3344_5566_7788n)
          m.cpu.setX(1, pointer)
          const bytesAt = (): bigint => {
            const b = new Uint8Array(8)
            m.memory.readBytes(V + offset, b)
            return b.reduceRight((acc, byte) => (acc << 8n) | BigInt(byte), 0n)
          }
          const before = bytesAt()
          const stop = stopReason(runWords(m, [word(size, load)]))
          const bytes = 1 << size
          let failing = -1
          for (let g = offset >>> 4; g <= (offset + bytes - 1) >>> 4; g++) {
            if (granuleTags[g] !== logical) {
              failing = g
              break
            }
          }
          const sync = failing >= 0 && (tcf === 1 || (tcf === 3 && load))
          expect(stop).toBe(sync ? 4 : 'end')
          if (sync) {
            expect(sys(m, 'ESR_EL1')).toBe(load ? 0x9600_0011n : 0x9600_0051n)
            const far = failing === offset >>> 4 ? offset : failing * 16
            expect(sys(m, 'FAR_EL1')).toBe(p(logical, far))
            expect(bytesAt()).toBe(before)
          } else {
            expect(sys(m, 'TFSR_EL1')).toBe(failing >= 0 ? 1n : 0n)
            const mask = (1n << BigInt(8 * bytes)) - 1n
            if (!load) expect(bytesAt() & mask).toBe(0x1122_3344_5566_7788n & mask)
          }
        },
      ),
      { numRuns: 200 },
    )
  })
})
