// Throughput of the formats and builders of the machine (no VM runs here). Prints figures;
// never fails on time.
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import {
  MigrationReceiver,
  MigrationSender,
  decodeSnapshot,
  disassembleElf,
  encodeSnapshot,
  virtMachineFdt,
  type Digest,
  type PageRecord,
  type Snapshot,
} from '../src/index.js'

const MiB = 1 << 20
const RAM = 0x4000_0000

function time<T>(run: () => T): [T, number] {
  const start = performance.now()
  const result = run()
  return [result, (performance.now() - start) / 1000]
}

/** 64 MiB of guest RAM: every page non-zero, every other page tagged. */
function guestPages(): PageRecord[] {
  let x = 12345
  const pages: PageRecord[] = []
  for (let i = 0; i < (64 * MiB) / 4096; i++) {
    const data = new Uint8Array(4096)
    const words = new Uint32Array(data.buffer)
    for (let w = 0; w < words.length; w++) words[w] = x = (x * 1664525 + 1013904223) >>> 0
    pages.push({ gpa: RAM + i * 4096, data, tags: i % 2 ? new Uint8Array(256).map((_, g) => (g + i) & 15) : null })
  }
  return pages
}

const pages = guestPages()
const guestBytes = pages.reduce((n, p) => n + 4096 + (p.tags ? 256 : 0), 0)
const snapshot: Snapshot = {
  config: { ramBase: RAM, ramSize: 128 * MiB, cpus: 1, mte: true, backing: 'anon' },
  vcpus: [{ index: 0, regs: [] }],
  devices: [],
  pages,
}
const rate = (seconds: number): string => `${(guestBytes / MiB / seconds).toFixed(0)} MiB/s`
console.log(`guest memory: ${pages.length} pages, ${(guestBytes / MiB).toFixed(1)} MiB including tags`)

// The machine's own SHA-256 runs anywhere; a host with a native one passes it in.
const nodeSha256 = (): Digest => {
  const hash = createHash('sha256')
  return { update: (b) => hash.update(b), digest: () => new Uint8Array(hash.copy().digest()) }
}
const [bytes, encodeSeconds] = time(() => encodeSnapshot(snapshot))
console.log(`snapshot encode (CRC-32C per record, SHA-256 whole): ${rate(encodeSeconds)}`)
const [, decodeSeconds] = time(() => decodeSnapshot(bytes, 'bench'))
console.log(`snapshot decode and verify:                         ${rate(decodeSeconds)}`)
const [, encodeNodeSeconds] = time(() => encodeSnapshot(snapshot, { sha256: nodeSha256 }))
console.log(`  the same with Node's SHA-256: encode ${rate(encodeNodeSeconds)}, decode ${rate(time(() => decodeSnapshot(bytes, 'bench', { sha256: nodeSha256 }))[1])}`)

const [, migrateSeconds] = time(() => {
  const sender = new MigrationSender()
  const receiver = new MigrationReceiver('bench')
  receiver.push(sender.hello())
  receiver.push(sender.config(snapshot.config))
  for (const p of pages) receiver.push(sender.page(p))
  receiver.push(sender.endRound())
  receiver.push(sender.vcpu({ index: 0, regs: [] }))
  receiver.push(sender.end())
  receiver.finish()
})
console.log(`migration stream, one round, encode + receive:      ${rate(migrateSeconds)}`)

const elfPath = fileURLToPath(new URL('../../../guests/cpu-basic/cpu-basic.elf', import.meta.url))
const elf = new Uint8Array(readFileSync(elfPath))
const [listing, disasmSeconds] = time(() => disassembleElf(elf, 'cpu-basic.elf'))
const lines = listing.split('\n').filter((l) => /^[0-9a-f]+:\t/.test(l)).length
console.log(`disasm cpu-basic.elf: ${lines} words in ${(disasmSeconds * 1000).toFixed(0)} ms (${(lines / disasmSeconds / 1000).toFixed(0)} k words/s)`)

const [, fdtSeconds] = time(() => {
  for (let i = 0; i < 1000; i++) virtMachineFdt({ ramSize: 128 * MiB, cpus: 4, bootargs: 'console=ttyAMA0' })
})
console.log(`virt DTB (1 MiB blob): ${((fdtSeconds / 1000) * 1e6).toFixed(0)} µs each`)
