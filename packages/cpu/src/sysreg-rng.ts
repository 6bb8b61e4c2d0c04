// FEAT_RNG: RNDR and RNDRRS, the random-number registers QEMU's `max` CPU has and KVM leaves
// untrapped. Linux seeds its crng from them at boot (random_init with RANDOM_TRUST_CPU); a
// guest without them starts with an empty crng, and every batch of kernel random numbers
// (one per 32 syscalls for the kernel stack offset) then re-extracts the entropy pool with
// BLAKE2s: three quarters of check_user_mem's instructions went there (MTE selftests).
//
// The numbers come from a per-CPU xoshiro128** generator seeded from MPIDR_EL1, so runs on
// the instruction clock stay exactly repeatable. That is enough for a model; it is not a
// source of secrets. Reads never fail (NZCV = 0b0000); writes are UNDEFINED.

import type { Cpu } from './cpu.js'
import { PS } from './state.js'
import { sysregKey } from './sysreg-encoding.js'
import type { SysRegDesc } from './sysreg-table.js'

/** ID_AA64ISAR0_EL1.RNDR (bits 63:60) = 1, in the register's high word. */
export const ISAR0_HI_RNDR = 1 << 28

/** Generator state per CPU (four 32-bit words), made on the first read. */
const states = new WeakMap<Cpu, Uint32Array>()

/** splitmix32: spreads one seed word into well-mixed state words. */
function splitmix32(seed: number): number {
  let z = (seed + 0x9e3779b9) | 0
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
  return (z ^ (z >>> 16)) >>> 0
}

function stateOf(cpu: Cpu, mpidr: number): Uint32Array {
  let s = states.get(cpu)
  if (s === undefined) {
    s = new Uint32Array(4)
    let seed = mpidr ^ 0x52_4e_44_52 // "RNDR"
    for (let i = 0; i < 4; i++) s[i] = seed = splitmix32(seed)
    states.set(cpu, s)
  }
  return s
}

/** The next 32 bits of xoshiro128** (Blackman and Vigna). */
function next32(s: Uint32Array): number {
  const s0 = s[0]!
  const s1 = s[1]!
  const s2 = s[2]! ^ s0
  const s3 = s[3]! ^ s1
  s[0] = s0 ^ s3
  s[1] = s1 ^ s2
  s[2] = s2 ^ (s1 << 9)
  s[3] = rotl(s3, 11)
  return Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k))
}

function randomRow(name: string, op2: number, mpidr: (cpu: Cpu) => number): SysRegDesc {
  return {
    name,
    key: sysregKey(3, 3, 2, 4, op2),
    el0: 'read',
    read: (cpu) => {
      const s = stateOf(cpu, mpidr(cpu))
      cpu.sysLo = next32(s)
      cpu.sysHi = next32(s)
      const p = cpu.p
      p[PS.N] = p[PS.Z] = p[PS.C] = p[PS.V] = 0
      return true
    },
    write: null,
  }
}

/** RNDR and RNDRRS (op0 3, op1 3, CRn 2, CRm 4, op2 0/1); `mpidr` reads the CPU's MPIDR_EL1 low word. */
export function rngSysregRows(mpidr: (cpu: Cpu) => number): readonly SysRegDesc[] {
  return [randomRow('RNDR', 0, mpidr), randomRow('RNDRRS', 1, mpidr)]
}
