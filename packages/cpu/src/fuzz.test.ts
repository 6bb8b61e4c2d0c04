// Random instruction words, random registers: the guest may do anything, the host must
// never throw. Every exit is answered the way a hypervisor might, including with
// nonsense, and the run goes on.
import { expect, test } from 'vitest'
import { RAM_BASE, abortSyndrome, emulateMmio, enableIdentityMmu, makeMachine } from './test-helpers.js'

/** xorshift32: deterministic, so a failure reproduces. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1
  return () => {
    s ^= s << 13
    s >>>= 0
    s ^= s >>> 17
    s ^= s << 5
    s >>>= 0
    return s
  }
}

// The second run goes through the compiled tier (threshold 2: most hot addresses are translated).
test.each([['interpreter', undefined], ['compiled tier', { threshold: 2 }]] as const)('three million steps of random instruction words raise no host exception (%s)', (_, jit) => {
  const m = makeMachine(4 << 20, true, false, jit)
  const cpu = m.cpu
  const next = rng(0x7a9)
  const codePages = 4
  const code = RAM_BASE + 0x10_0000
  const fill = (): void => {
    for (let i = 0; i < (codePages * 4096) / 4; i++) {
      // Bias towards allocated space: a third of the words are taken from a few major
      // encoding groups with random operands.
      let w = next()
      const pick = w % 6
      if (pick === 0) w = (w & 0x1fffffff) | 0x80000000 // data processing / branches
      else if (pick === 1) w = (w & 0x3fffffff) | 0x38000000 // loads/stores
      else if (pick === 2) w = (0xd5000000 | (w & 0x003fffff)) >>> 0 // system
      m.memory.write32(code + 4 * i, w >>> 0)
    }
    cpu.invalidateCode(code, codePages * 4096)
  }
  const randomRegs = (): void => {
    for (let r = 0; r < 31; r++) {
      const kind = next() % 3
      // Registers often point into RAM so loads and stores hit memory, not just faults.
      const v = kind === 0 ? BigInt(RAM_BASE + (next() % (4 << 20))) : (BigInt(next()) << 32n) | BigInt(next())
      cpu.setX(r, v)
    }
  }
  const restart = (): void => {
    cpu.pc = BigInt(code + 4 * (next() % ((codePages * 4096) / 4)))
  }
  fill()
  randomRegs()
  cpu.setSysreg('VBAR_EL1', BigInt(code))
  restart()
  let steps = 0
  const kinds = new Map<string, number>()
  const target = 3_000_000
  let round = 0
  while (steps < target) {
    const before = cpu.retired
    const exit = cpu.run(500)
    steps += Math.max(1, cpu.retired - before)
    kinds.set(exit.kind, (kinds.get(exit.kind) ?? 0) + 1)
    switch (exit.kind) {
      case 'data-abort':
        if (abortSyndrome(exit).isv) emulateMmio(cpu, exit, (BigInt(next()) << 32n) | BigInt(next()))
        else cpu.injectAbort(true, (BigInt(exit.farHi) << 32n) | BigInt(exit.farLo))
        break
      case 'instruction-abort':
        restart()
        break
      case 'smc':
      case 'sysreg-trap':
      case 'wfx':
        if (next() & 1) cpu.advancePc()
        else cpu.injectUndefined()
        break
      case 'fp-trap':
        cpu.injectUndefined()
        break
      default:
    }
    if (++round % 200 === 0) {
      // Start over from a known state now and then so the guest does not sit in a
      // fault loop with the MMU switched on over garbage tables.
      cpu.reset()
      cpu.setSysreg('VBAR_EL1', BigInt(code))
      if (round % 1000 === 0) fill()
      // Vary the regime: MMU on (identity map) every other time, EL0 every third time.
      const epoch = round / 200
      if (epoch % 2 === 1) enableIdentityMmu(m)
      if (epoch % 3 === 2) cpu.pstate = 0
      randomRegs()
      restart()
    }
  }
  expect(steps).toBeGreaterThanOrEqual(target)
  // The run must have seen real variety, not one exit kind over and over.
  expect(kinds.size).toBeGreaterThanOrEqual(3)
  if (jit !== undefined) expect(cpu.jit!.stats.entries).toBeGreaterThan(1000)
}, 240_000)
