// FP library throughput: millions of operations per second in the default mode (FPCR = 0:
// round to nearest, the fast paths) and in a non-default mode (round toward minus infinity
// with FZ: every operation takes the exact path). Prints figures; never fails on time.
//   npx tsx --conditions=source bench/fp.ts
import { fpAdd, fpMul, fpMulAdd } from '../src/fp/arith.js'
import { fixedToFp, fpConvert, fpToFixed } from '../src/fp/convert.js'
import { DOUBLE, SINGLE, res, toBits32, toWords } from '../src/fp/core.js'
import { FP_HANDLERS } from '../src/fp/handlers.js'
import { RM, RZ, type FpStatus } from '../src/fp/status.js'
import { decode } from '@tagvm/a64'

const N = 1 << 16
// Operands: normal values of mixed magnitude, as (lo, hi) words and as single bits.
const d = new Uint32Array(2 * N)
const s = new Uint32Array(N)
let seed = 12345
function rand(): number {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0
  return seed / 4294967296
}
for (let i = 0; i < N; i++) {
  const x = (rand() - 0.5) * 2 ** Math.floor(rand() * 40 - 20)
  d[2 * i] = toWords(x)
  d[2 * i + 1] = res.hi
  s[i] = toBits32(Math.fround(x))
}

interface Case {
  name: string
  run: (st: FpStatus) => number
}
const cases: Case[] = [
  {
    name: 'fadd f64',
    run: (st) => {
      let acc = 0
      for (let i = 0; i < N - 1; i++) acc ^= fpAdd(st, DOUBLE, d[2 * i]!, d[2 * i + 1]!, d[2 * i + 2]!, d[2 * i + 3]!)
      return acc
    },
  },
  {
    name: 'fmul f64',
    run: (st) => {
      let acc = 0
      for (let i = 0; i < N - 1; i++) acc ^= fpMul(st, DOUBLE, d[2 * i]!, d[2 * i + 1]!, d[2 * i + 2]!, d[2 * i + 3]!)
      return acc
    },
  },
  {
    name: 'fma f64',
    run: (st) => {
      let acc = 0
      for (let i = 0; i < N - 2; i++) {
        acc ^= fpMulAdd(st, DOUBLE, d[2 * i]!, d[2 * i + 1]!, d[2 * i + 2]!, d[2 * i + 3]!, d[2 * i + 4]!, d[2 * i + 5]!)
      }
      return acc
    },
  },
  {
    name: 'fadd f32',
    run: (st) => {
      let acc = 0
      for (let i = 0; i < N - 1; i++) acc ^= fpAdd(st, SINGLE, s[i]!, 0, s[i + 1]!, 0)
      return acc
    },
  },
  {
    name: 'fma f32',
    run: (st) => {
      let acc = 0
      for (let i = 0; i < N - 2; i++) acc ^= fpMulAdd(st, SINGLE, s[i]!, 0, s[i + 1]!, 0, s[i + 2]!, 0)
      return acc
    },
  },
  {
    name: 'fcvt f64 to f32',
    run: (st) => {
      let acc = 0
      for (let i = 0; i < N; i++) acc ^= fpConvert(st, SINGLE, DOUBLE, d[2 * i]!, d[2 * i + 1]!, st.fpcr >>> 22)
      return acc
    },
  },
  {
    name: 'fcvtzs f64 to i64',
    run: (st) => {
      let acc = 0
      for (let i = 0; i < N; i++) acc ^= fpToFixed(st, DOUBLE, d[2 * i]!, d[2 * i + 1]!, 16, false, 64, RZ)
      return acc
    },
  },
  {
    name: 'scvtf i64 to f64',
    run: (st) => {
      let acc = 0
      for (let i = 0; i < N; i++) acc ^= fixedToFp(st, DOUBLE, d[2 * i]!, d[2 * i + 1]!, 64, 0, false, st.fpcr >>> 22)
      return acc
    },
  },
]

// Through the handler table, as the CPU will call it: fmla v0.4s, v1.4s, v2.4s.
const fmla = decode(0x4e22cc20)
const ctx = { v: new Uint32Array(128), x: new Uint32Array(64), fp: { fpcr: 0, fpsr: 0 }, nzcv: 0 }
cases.push({
  name: 'FMLA_v.4s handler (4 lanes)',
  run: (st) => {
    ctx.fp.fpcr = st.fpcr
    const h = FP_HANDLERS.FMLA_v as (i: typeof fmla, c: typeof ctx) => void
    for (let i = 0; i < N / 4; i++) {
      ctx.v.set(s.subarray(4 * i, 4 * i + 4), 4)
      ctx.v.set(s.subarray(4 * i + 4, 4 * i + 8), 8)
      h(fmla, ctx)
    }
    return ctx.v[0]!
  },
})

const MODES: [string, number][] = [
  ['default (RN)', 0],
  ['RM + FZ', (RM << 22) | (1 << 24)],
]

function measure(c: Case, fpcr: number): number {
  const st = { fpcr, fpsr: 0 }
  let best = Infinity
  for (let r = 0; r < 7; r++) {
    const t0 = performance.now()
    c.run(st)
    best = Math.min(best, performance.now() - t0)
  }
  return N / best / 1000
}

console.log('FP library, M operations/s (best of 7 runs of 65536 operations):')
console.log(`${'operation'.padEnd(30)}${MODES.map(([m]) => m.padStart(16)).join('')}`)
for (const c of cases) {
  // Interleave the modes run by run so machine noise hits both alike.
  const figures = MODES.map(() => 0)
  for (const [, fpcr] of MODES) for (let w = 0; w < 5; w++) c.run({ fpcr, fpsr: 0 })
  for (let round = 0; round < 3; round++) {
    MODES.forEach(([, fpcr], i) => {
      figures[i] = Math.max(figures[i]!, measure(c, fpcr))
    })
  }
  console.log(`${c.name.padEnd(30)}${figures.map((f) => f.toFixed(1).padStart(16)).join('')}`)
}
