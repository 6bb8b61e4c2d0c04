/**
 * SHA-256 (FIPS 180-4), incremental, in plain TypeScript so snapshots can be written and
 * checked wherever the machine runs (a browser or Web Worker has no synchronous, incremental
 * digest). The round constants are the first 32 bits of the fractional parts of the cube roots
 * of the first 64 primes; the initial state those of the square roots of the first 8.
 */
const K = Int32Array.from([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
  0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
  0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
])
const INITIAL = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]

/** An incremental SHA-256: `update` with each chunk, `digest` at any point. */
export class Sha256 {
  private readonly state = Int32Array.from(INITIAL)
  private readonly w = new Int32Array(64)
  private readonly block = new Uint8Array(64)
  private readonly blockView = new DataView(this.block.buffer)
  private used = 0
  private total = 0

  /** Adds bytes to what is hashed; returns the hash for chaining. */
  update(bytes: Uint8Array): this {
    let at = 0
    this.total += bytes.length
    if (this.used > 0) {
      const n = Math.min(64 - this.used, bytes.length)
      this.block.set(bytes.subarray(0, n), this.used)
      this.used += n
      at = n
      if (this.used < 64) return this
      this.compress(this.blockView, 0, 64)
      this.used = 0
    }
    const whole = (bytes.length - at) & ~63
    if (whole > 0) {
      this.compress(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), at, at + whole)
      at += whole
    }
    if (at < bytes.length) {
      this.block.set(bytes.subarray(at), 0)
      this.used = bytes.length - at
    }
    return this
  }

  /** The 32-byte digest of everything given so far; the hash can go on being updated. */
  digest(): Uint8Array {
    const saved = { state: this.state.slice(), block: this.block.slice(), used: this.used, total: this.total }
    const bits = this.total * 8
    const padding = new Uint8Array((this.used < 56 ? 64 : 128) - this.used)
    padding[0] = 0x80
    const view = new DataView(padding.buffer)
    view.setUint32(padding.length - 8, Math.floor(bits / 2 ** 32), false)
    view.setUint32(padding.length - 4, bits >>> 0, false)
    this.update(padding)
    const out = new Uint8Array(32)
    const outView = new DataView(out.buffer)
    for (let i = 0; i < 8; i++) outView.setInt32(i * 4, this.state[i]!, false)
    this.state.set(saved.state)
    this.block.set(saved.block)
    this.used = saved.used
    this.total = saved.total
    return out
  }

  private compress(view: DataView, from: number, to: number): void {
    const w = this.w
    const s = this.state
    for (let at = from; at < to; at += 64) {
      for (let i = 0; i < 16; i++) w[i] = view.getInt32(at + i * 4, false)
      for (let i = 16; i < 64; i++) {
        const a = w[i - 15]!
        const b = w[i - 2]!
        const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3)
        const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10)
        w[i] = (w[i - 16]! + s0 + w[i - 7]! + s1) | 0
      }
      let a = s[0]!
      let b = s[1]!
      let c = s[2]!
      let d = s[3]!
      let e = s[4]!
      let f = s[5]!
      let g = s[6]!
      let h = s[7]!
      for (let i = 0; i < 64; i++) {
        const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))
        const t1 = (h + S1 + ((e & f) ^ (~e & g)) + K[i]! + w[i]!) | 0
        const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))
        const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0
        h = g
        g = f
        f = e
        e = (d + t1) | 0
        d = c
        c = b
        b = a
        a = (t1 + t2) | 0
      }
      s[0] = (s[0]! + a) | 0
      s[1] = (s[1]! + b) | 0
      s[2] = (s[2]! + c) | 0
      s[3] = (s[3]! + d) | 0
      s[4] = (s[4]! + e) | 0
      s[5] = (s[5]! + f) | 0
      s[6] = (s[6]! + g) | 0
      s[7] = (s[7]! + h) | 0
    }
  }
}

/** SHA-256 of `bytes`. */
export function sha256(bytes: Uint8Array): Uint8Array {
  return new Sha256().update(bytes).digest()
}
