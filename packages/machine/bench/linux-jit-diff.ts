// The compiled tier against the interpreter on the Linux kit's boot (guests/linux/out), in
// lockstep on the instruction clock (both deterministic): PC, PSTATE, SP and X0-X30 compared
// every CHUNK instructions; the first chunk that differs is printed, to be narrowed down by
// running again from just before it with a smaller chunk (down to 1, with VERBOSE=1 for
// every step's PC). It found the tier's VA-baked translations (jit-coherence.test.ts).
//   npx tsx --conditions=source bench/linux-jit-diff.ts [START] [CHUNK] [THRESHOLD] [END]
import { readFileSync } from 'node:fs'
import { REG_PC, REG_PSTATE, REG_SP, xRegId } from '@tagvm/vmm-api'
import { Machine } from '../src/index.js'
const dir = new URL('../../../guests/linux/out/', import.meta.url).pathname
const image = `${dir}Image`, initramfs = `${dir}initramfs.cpio.gz`
const [startArg = '0', chunkArg = '1000000', thr = '16', endArg = '2000000000'] = process.argv.slice(2)
function make(jit: boolean): Machine {
  const m = Machine.create({ ramBase: 0x4000_0000, ramSize: 1 << 30, cpus: 1, mte: true, backing: 'anon', clock: 'instructions' }, { console: () => {} }, jit ? { jit: { threshold: Number(thr) } } : {})
  m.boot(new Uint8Array(readFileSync(image)), image, { initrd: { bytes: new Uint8Array(readFileSync(initramfs)), file: initramfs }, bootargs: 'console=ttyAMA0 rdinit=/init tagvm.run=boot' })
  return m
}
const regs = (m: Machine): bigint[] => { const v = m.vcpus[0]!; return [v.getOneReg(REG_PC), v.getOneReg(REG_PSTATE), v.getOneReg(REG_SP), ...Array.from({ length: 31 }, (_, n) => v.getOneReg(xRegId(n)))] }
const names = ['pc', 'pstate', 'sp', ...Array.from({ length: 31 }, (_, n) => `x${n}`)]
const a = make(false), b = make(true)
const start = Number(startArg), chunk = Number(chunkArg), end = Number(endArg)
if (start > 0) { a.run(start); b.run(start) }
let prev = start
for (let at = start + chunk; at <= end; at += chunk) {
  const sa = a.run(at - a.retired), sb = b.run(at - b.retired)
  const ra = regs(a), rb = regs(b)
  const diff = ra.map((v, i) => (v !== rb[i] ? `${names[i]} ${v.toString(16)} vs ${rb[i]!.toString(16)}` : '')).filter((s) => s)
  if (diff.length || sa.kind !== sb.kind || a.retired !== b.retired) {
    console.log(`DIVERGE in (${prev}, ${at}] retired ${a.retired} ${b.retired} stops ${JSON.stringify(sa)} ${JSON.stringify(sb)}: ${diff.join(', ')}`)
    process.exit(1)
  }
  if (process.env.VERBOSE) console.log(`at ${at} pc ${ra[0]!.toString(16)} jit pc ${rb[0]!.toString(16)}`)
  if ((at / chunk) % 20 === 0) console.log(`same at ${at} pc ${ra[0]!.toString(16)}`)
  prev = at
}
console.log('no divergence')
