// TEST SUPPORT: replays the differential guests (guests/fpsimd) through the handler table.
// For each form of a guest's forms.json: decode the recorded instruction word, regenerate
// every case exactly as the guest does (guests/fpsimd/lib/cases.ts), run the handler on a
// register file holding the case's inputs, and hash v0, x9, NZCV and FPSR as the guest does.
// The result is the line the guest prints, to compare with its QEMU recording (qemu.out).
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { decode, type Instruction } from '@tagvm/a64'
import {
  CaseHash,
  Rng,
  generateCase,
  hashCase,
  type CaseInput,
  type GuestForm,
  type GuestManifest,
} from '../../../../guests/fpsimd/lib/cases.js'
import type { FpContext } from './handlers.js'

export const FPSIMD_DIR = join(dirname(fileURLToPath(import.meta.url)), '../../../../guests/fpsimd')

export type ManifestForm = GuestForm
export type Manifest = GuestManifest

/** Every generated guest with its manifest and (when recorded) QEMU's lines by form name. */
export function loadGuests(): { manifest: Manifest; recorded: Map<string, string> | null }[] {
  if (!existsSync(FPSIMD_DIR)) return []
  const out: { manifest: Manifest; recorded: Map<string, string> | null }[] = []
  for (const d of readdirSync(FPSIMD_DIR).sort()) {
    const file = join(FPSIMD_DIR, d, 'forms.json')
    if (!existsSync(file)) continue
    const manifest = JSON.parse(readFileSync(file, 'utf8')) as Manifest
    const rec = join(FPSIMD_DIR, d, 'qemu.out')
    let recorded: Map<string, string> | null = null
    if (existsSync(rec)) {
      recorded = new Map()
      for (const line of readFileSync(rec, 'utf8').split('\n')) {
        const name = line.split(' ')[0]
        if (name && !line.startsWith('fpsimd ')) recorded.set(name, line)
      }
    }
    out.push({ manifest, recorded })
  }
  return out
}

/** A handler: runs one decoded instruction on the context. */
export type ReplayHandler = (insn: Instruction, ctx: FpContext) => void

/** One case's full record, for debugging a mismatch against a trace guest. */
export interface CaseTrace {
  i: number
  fpcr: number
  input: number[]
  output: number[]
}

/**
 * The line the guest prints for `form` ("<name> <cases> <hash>"), computed with `handlerFor`.
 * `traceCases` > 0 also returns the first cases' inputs and outputs (as the trace guest prints them).
 */
export function replayForm(
  form: ManifestForm,
  handlerFor: (insn: Instruction) => ReplayHandler | undefined,
  traceCases = 0,
): { line: string; traces: CaseTrace[] } {
  const insn = decode(form.word)
  const handler = handlerFor(insn)
  if (!handler) throw new Error(`${form.name}: no handler for ${insn.name} (word ${form.word.toString(16)})`)
  const ctx: FpContext = { v: new Uint32Array(128), x: new Uint32Array(64), fp: { fpcr: 0, fpsr: 0 }, nzcv: 0 }
  const input: CaseInput = { v: new Uint32Array(16), x9Lo: 0, x9Hi: 0, nzcv: 0, fpcr: 0 }
  const fills = form.fills
  const pseudo = {
    name: form.name,
    asm: form.asm,
    v0: fills[0],
    v1: fills[1],
    v2: fills[2],
    v3: fills[3],
    x: fills[4],
    lanes: form.lanes,
  }
  const rng = new Rng(form.seed)
  const hash = new CaseHash()
  const traces: CaseTrace[] = []
  for (let i = 0; i < form.cases; i++) {
    generateCase(rng, pseudo, i, input)
    ctx.v.set(input.v, 0)
    ctx.x[18] = input.x9Lo
    ctx.x[19] = input.x9Hi
    ctx.nzcv = input.nzcv
    ctx.fp.fpcr = input.fpcr
    ctx.fp.fpsr = 0
    handler(insn, ctx)
    hashCase(hash, ctx.v, 0, ctx.x[18] as number, ctx.x[19] as number, ctx.nzcv, ctx.fp.fpsr)
    if (i < traceCases) {
      const w = (lo: number, hi: number): number[] => [lo >>> 0, hi >>> 0]
      traces.push({
        i,
        fpcr: input.fpcr,
        input: [...Array.from(input.v), input.x9Lo, input.x9Hi, (input.nzcv << 28) >>> 0, 0],
        output: [
          ...Array.from(ctx.v.subarray(0, 4)),
          ...w(ctx.x[18] as number, ctx.x[19] as number),
          (ctx.nzcv << 28) >>> 0,
          0,
          ctx.fp.fpsr >>> 0,
          0,
        ],
      })
    }
  }
  return { line: `${form.name} ${form.cases} ${hash.hex()}`, traces }
}
