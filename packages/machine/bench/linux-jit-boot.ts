// One Linux boot to /init (the kit in guests/linux/out) on the instruction clock, so two runs
// retire the same instructions: CPU seconds, guest instructions, and with the compiled tier
// its counters (regions, wasm bytes, translation time by phase, entries, exits by kind) and,
// with EXITS=1, the instructions its single-instruction exits went to the interpreter for
// (by mnemonic; "fast path" when the tier implements the instruction: TLB refusal, tag,
// alignment), and a hash of the console (the same for both modes); LIMIT=N stops after N instructions. Alternate it with the other mode for an A/B comparison:
//   npx tsx --conditions=source bench/linux-jit-boot.ts jit|interp [THRESHOLD]
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { cpuUsage } from 'node:process'
import { setFlagsFromString } from 'node:v8'
import { decode } from '@tagvm/a64'
import { JIT_V8_FLAGS, Machine } from '../src/index.js'
import { HASH_ENTRIES, HASH_ENTRY_BYTES, HASH_GEN, HASH_KEY, ST_CHAIN_GEN, ST_HASH } from '../../cpu/src/jit/layout.js'

const dir = new URL('../../../guests/linux/out/', import.meta.url).pathname
const image = `${dir}Image`
const initramfs = `${dir}initramfs.cpio.gz`
const INIT_LINE = '=== tagvm-kit: /init started'
const [mode = 'jit', threshold] = process.argv.slice(2)
const jit = mode === 'jit'
let screen = ''
// What the CLI's --jit does (NOV8FLAGS=1: V8's defaults, for comparison; V8FLAGS='...': these
// after JIT_V8_FLAGS, set the same way, to try a flag on the product's path).
if (jit && process.env['NOV8FLAGS'] !== '1') setFlagsFromString(JIT_V8_FLAGS)
if (process.env['V8FLAGS'] !== undefined) setFlagsFromString(process.env['V8FLAGS'])
const machine = Machine.create(
  { ramBase: 0x4000_0000, ramSize: 1 << 30, cpus: 1, mte: true, backing: 'anon', clock: 'instructions' },
  { console: (bytes) => (screen += new TextDecoder().decode(bytes)) },
  jit ? { jit: threshold === undefined ? true : { threshold: Number(threshold) } } : {},
)

/** The pieces of @tagvm/cpu the bench looks at (through the vCPU's hypervisor CPU). */
interface CpuInside {
  jit: {
    stats: Record<string, unknown> & { exits: number[]; phaseMs: number[] }
    enter: (entry: unknown) => number
  } | null
  code: { fetchPage: { frame: { view: DataView; base: number } }; fetchLo: number }
  pcLo: number
  pcHi: number
  left: number
  pstate: number
  sp: bigint
  x: Int32Array
  memory: { read32(pa: number): number }
  data: { tr: { pa: number } }
  mmu: { translate(hi: number, lo: number, access: number, el: 0 | 1, pan: boolean, tr: { pa: number }): boolean }
}
const cpu = (machine.vcpus[0]!.vcpu as unknown as { cpu: CpuInside }).cpu
const slow = new Map<string, number>()
/** The instruction word at PC through the MMU (after a chain the run loop's fetch page is another), or null. */
function fetchWord(): number | null {
  const tr = cpu.data.tr
  // ACCESS_FETCH (@tagvm/mmu); a walk only fills the MMU's TLB.
  if (!cpu.mmu.translate(cpu.pcHi, cpu.pcLo, 2, ((cpu.pstate >> 2) & 1) as 0 | 1, false, tr)) return null
  return cpu.memory.read32(tr.pa)
}

/** An instruction's name, and for loads and stores with an immediate or register offset whether the address is misaligned. */
function describe(word: number): string {
  const d = decode(word) as { name: string; rn?: number; rm?: number; imm?: number; size?: number; sf?: number; mode?: number; amount?: number }
  if (d.rn === undefined || !/^(LD|ST)(R|UR|P)/.test(d.name)) return d.name
  const reg = (r: number): number => (r === 31 ? Number(BigInt.asUintN(32, cpu.sp)) : cpu.x[2 * r]! >>> 0)
  const bytes = d.name.endsWith('P') || d.name === 'LDPSW' ? (d.name === 'LDPSW' ? 4 : d.sf ? 8 : 4) : 1 << (d.size ?? 0)
  let address = reg(d.rn)
  if (d.name.includes('_reg') && d.rm !== undefined) address += d.rm === 31 ? 0 : (cpu.x[2 * d.rm]! >>> 0) * (d.amount ? bytes : 1)
  else if (d.imm !== undefined && !d.name.endsWith('_post') && d.mode !== 1) address += d.imm
  return `${d.name}${(address & (bytes - 1)) !== 0 ? ' misaligned' : ''}`
}

/** Run-loop entries by what came before: the previous exit's code, and whether instructions were interpreted since. */
const before = new Map<string, number>()
if (jit && process.env['EXITS'] === '1') {
  const tier = cpu.jit!
  const enter = tier.enter.bind(tier)
  let lastCode = -1
  let lastLeft = -1
  tier.enter = (entry) => {
    let how = `${['branch', 'budget', 'slow', 'stop', 'thrown'][lastCode] ?? 'start'}${cpu.left === lastLeft ? ' then entry at once' : ' then interpreted'}`
    if (lastCode === 0 && cpu.left === lastLeft) {
      // Why the chain did not take it: the chain table's record for PC.
      const { s32, base } = tier as unknown as { s32: Int32Array; base: number }
      const h = (base + ST_HASH + ((cpu.pcLo >>> 2) & (HASH_ENTRIES - 1)) * HASH_ENTRY_BYTES) >> 2
      how += s32[h + HASH_KEY / 4]! !== (cpu.pcLo | 0) ? ' (another VA recorded)' : s32[h + HASH_GEN / 4] !== s32[(base + ST_CHAIN_GEN) >> 2] ? ' (older generation)' : ' (record current)'
    }
    before.set(how, (before.get(how) ?? 0) + 1)
    const code = enter(entry)
    lastCode = code
    lastLeft = cpu.left
    if (code === 2) {
      // After a chain of translations PC may be in another page than the run loop's: its word through the MMU.
      const word = (cpu.pcLo & 0xffff_f000) !== cpu.code.fetchLo ? fetchWord() : (() => {
        const page = cpu.code.fetchPage
        return page.frame.view.getUint32(page.frame.base + (cpu.pcLo & 0xfff), true)
      })()
      const name = word === null ? '(fetch fault)' : describe(word)
      slow.set(name, (slow.get(name) ?? 0) + 1)
    }
    return code
  }
}

/** Calls of the MMU changes that start a new chain generation, by name (EXITS=1). */
const mmuCalls = new Map<string, number>()
if (jit && process.env['EXITS'] === '1') {
  const mmu = (cpu as unknown as { mmu: Record<string, (...a: unknown[]) => unknown> & { tlb: Record<string, (...a: unknown[]) => unknown> } }).mmu
  for (const [target, names, prefix] of [[mmu, ['setTtbr0El1', 'setTtbr1El1', 'setVttbrEl2', 'tlbi', 'flushVmid', 'flushAll'], 'mmu.'], [mmu.tlb, ['invalidate', 'flushAll'], 'tlb.']] as const) {
    for (const name of names) {
      const original = (target as Record<string, (...a: unknown[]) => unknown>)[name]!.bind(target)
      ;(target as Record<string, unknown>)[name] = (...args: unknown[]) => {
        const key = name === 'tlbi' ? `${prefix}tlbi op ${String(args[0])} ${((args[1] as number) & 0x800) !== 0 ? 'high' : 'low'}` : `${prefix}${name}`
        mmuCalls.set(key, (mmuCalls.get(key) ?? 0) + 1)
        return original(...args)
      }
    }
  }
}

const t0 = cpuUsage()
machine.boot(new Uint8Array(readFileSync(image)), image, {
  initrd: { bytes: new Uint8Array(readFileSync(initramfs)), file: initramfs },
  bootargs: 'console=ttyAMA0 rdinit=/init tagvm.run=boot',
})
const limit = Number(process.env['LIMIT'] ?? 3e9)
while (!screen.includes(INIT_LINE) && machine.retired < limit) {
  machine.run(1_000_000)
  machine.flushConsole()
}
const used = cpuUsage(t0)
const s = (used.user + used.system) / 1e6
console.log(`${mode}${threshold ? ` threshold ${threshold}` : ''}: /init ${screen.includes(INIT_LINE) ? 'reached' : 'NOT reached'} after ${machine.retired} instructions, ${s.toFixed(1)} CPU s, ${(machine.retired / s / 1e6).toFixed(1)} M a CPU second; console sha256 ${createHash('sha256').update(screen).digest('hex').slice(0, 16)} (${screen.length} chars)`)
if (cpu.jit) console.log(JSON.stringify(cpu.jit.stats))
if (mmuCalls.size > 0) console.log('MMU changes:', [...mmuCalls].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', '))
if (before.size > 0) console.log('run-loop entries after:', [...before].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', '))
if (slow.size > 0) {
  const total = [...slow.values()].reduce((a, b) => a + b, 0)
  console.log(`single-instruction exits ${total}:`, [...slow].sort((a, b) => b[1] - a[1]).slice(0, 40).map(([k, n]) => `${k} ${n}`).join(', '))
}
