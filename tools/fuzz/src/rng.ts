/**
 * A small seeded generator (xoshiro128**, seeded through splitmix32) so that every case is
 * reproducible from its seed alone. Seeds are strings so they survive JSON and shells.
 */
export class Rng {
  private a: number
  private b: number
  private c: number
  private d: number

  constructor(seed: string | number) {
    let h = typeof seed === 'number' ? seed >>> 0 : hashString(seed)
    const next = (): number => {
      h = (h + 0x9e3779b9) >>> 0
      let z = h
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
      return (z ^ (z >>> 16)) >>> 0
    }
    this.a = next()
    this.b = next()
    this.c = next()
    this.d = next() | 1
  }

  /** A uniformly random unsigned 32-bit integer. */
  u32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0
    const t = this.b << 9
    this.c ^= this.a
    this.d ^= this.b
    this.b ^= this.c
    this.a ^= this.d
    this.c ^= t
    this.d = rotl(this.d, 11)
    return result
  }

  /** An integer in [0, n). */
  int(n: number): number {
    if (!(n > 0)) throw new RangeError(`Rng.int needs a positive bound, got ${n}`)
    if (n <= 0x1_0000_0000) return Math.floor((this.u32() / 0x1_0000_0000) * n)
    return Math.floor((this.u32() * 0x1_0000_0000 + this.u32()) / 2 ** 64 * n)
  }

  /** An integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1)
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.u32() / 0x1_0000_0000 < p
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('Rng.pick from an empty list')
    return items[this.int(items.length)] as T
  }

  /** Picks by weight: `[[weight, value], ...]`. */
  weighted<T>(choices: readonly (readonly [number, T])[]): T {
    let total = 0
    for (const [w] of choices) total += w
    let x = (this.u32() / 0x1_0000_0000) * total
    for (const [w, v] of choices) {
      if (x < w) return v
      x -= w
    }
    return (choices[choices.length - 1] as readonly [number, T])[1]
  }

  /** A random 64-bit value. */
  u64(): bigint {
    return (BigInt(this.u32()) << 32n) | BigInt(this.u32())
  }

  /** A new generator whose stream depends on this one's next value and `label`. */
  fork(label: string): Rng {
    return new Rng(`${this.u32().toString(16)}/${label}`)
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0
}

/** FNV-1a over the UTF-16 code units: a stable 32-bit hash of a seed string. */
export function hashString(text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193)
  return h >>> 0
}

/** The seed of case `index` of a run started with `seed`. */
export function caseSeed(seed: string, index: number): string {
  return `${seed}:${index}`
}
