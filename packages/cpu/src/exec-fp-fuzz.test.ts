// Random FP/SIMD words (data processing and SIMD&FP loads and stores, every field random)
// with random V registers, X registers pointing into RAM or anywhere, and random FPCR, run
// with FP enabled and now and then trapped: the guest may do anything, the host must never
// throw, and the FP state must take part (registers and flags change).
import { decodeWord, INSTRUCTION_FLAGS, InstructionFlag } from '@tagvm/a64'
import { expect, test } from 'vitest'
import { RAM_BASE, abortSyndrome, emulateMmio, enableIdentityMmu, makeMachine } from './test-helpers.js'

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

test('a million and a half steps of random FP/SIMD words raise no host exception', () => {
  const m = makeMachine(4 << 20)
  const cpu = m.cpu
  const next = rng(0xf9d)
  const code = RAM_BASE + 0x10_0000
  // Every exception vector skips the instruction that raised it (ELR += 4, ERET), so the
  // run goes on through the random words rather than sitting in a vector.
  const vectors = RAM_BASE + 0x20_0000
  const SKIP = [0xd538403e, 0x910013de, 0xd518403e, 0xd69f03e0] // mrs x30, elr_el1; add x30, x30, #4; msr elr_el1, x30; eret
  for (let slot = 0; slot < 16; slot++) SKIP.forEach((word, i) => m.memory.write32(vectors + 0x80 * slot + 4 * i, word))
  const codeWords = 4096
  let fpWords = 0
  const fill = (): void => {
    for (let i = 0; i < codeWords; i++) {
      const w = next()
      // SIMD&FP data processing (op0 = x111), SIMD&FP loads and stores (op0 = x1x0 with V = 1),
      // or now and then an MSR/MRS of FPCR/FPSR or a random word.
      let word: number
      const pick = w % 16
      if (pick < 11) word = (w & ~0x0e000000) | 0x0e000000
      else if (pick < 15) word = (w & ~0x0e000000) | 0x0c000000
      else word = next() & 1 ? (0xd51b4400 | ((next() & 1) << 5) | (next() & 1 ? 0x200000 : 0) | (next() & 31)) : next()
      word >>>= 0
      if ((INSTRUCTION_FLAGS[decodeWord(word).id]! & InstructionFlag.FP) !== 0) fpWords++
      m.memory.write32(code + 4 * i, word)
    }
    cpu.invalidateCode(code, codeWords * 4)
  }
  let vSet: bigint[] = []
  const randomState = (): void => {
    for (let r = 0; r < 31; r++) {
      const v = next() % 3 === 0 ? BigInt(RAM_BASE + (next() % (4 << 20))) : (BigInt(next()) << 32n) | BigInt(next())
      cpu.setX(r, v)
    }
    for (let n = 0; n < 32; n++) cpu.setV(n, (BigInt(next()) << 96n) | (BigInt(next()) << 64n) | (BigInt(next()) << 32n) | BigInt(next()))
    vSet = Array.from({ length: 32 }, (_, n) => cpu.getV(n))
    cpu.setSysreg('FPCR', BigInt(next() & 0x07c80000))
    cpu.setSysreg('FPSR', 0n)
    // FP on (FPEN = 3) mostly; EL0-only trap (1) or all trapped (0) sometimes; CPTR_EL2.TFP rarely.
    const fpen = [3, 3, 3, 3, 1, 0][next() % 6]!
    cpu.setSysreg('CPACR_EL1', BigInt(fpen << 20))
    cpu.setCptrEl2(next() % 16 === 0 ? 1 << 10 : 0)
  }
  const restart = (): void => {
    cpu.pc = BigInt(code + 4 * (next() % codeWords))
  }
  fill()
  randomState()
  cpu.setSysreg('VBAR_EL1', BigInt(vectors))
  restart()
  let steps = 0
  let round = 0
  let vChanged = 0
  let flagsSeen = 0
  const kinds = new Map<string, number>()
  const target = 1_500_000
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
      case 'fp-trap':
        cpu.setCptrEl2(0) // the hypervisor switches FP in lazily and retries
        break
      case 'smc':
      case 'sysreg-trap':
      case 'wfx':
        cpu.injectUndefined()
        break
      default:
    }
    if (++round % 100 === 0) {
      if ((cpu.getSysreg('FPSR') & 0x0800009fn) !== 0n) flagsSeen++
      vChanged += vSet.filter((v, n) => cpu.getV(n) !== v).length
      cpu.reset()
      cpu.setSysreg('VBAR_EL1', BigInt(vectors))
      if (round % 1000 === 0) fill()
      const epoch = round / 100
      if (epoch % 2 === 1) enableIdentityMmu(m)
      if (epoch % 3 === 2) cpu.pstate = 0
      randomState()
      restart()
    }
  }
  expect(steps).toBeGreaterThanOrEqual(target)
  expect(fpWords).toBeGreaterThan(3000)
  expect(kinds.get('fp-trap') ?? 0).toBeGreaterThan(0)
  expect(flagsSeen).toBeGreaterThan(0)
  expect(vChanged).toBeGreaterThan(round / 10)
}, 300_000)
