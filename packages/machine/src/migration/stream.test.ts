import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import { createServer, connect, type Socket } from 'node:net'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { REG_PC } from '@tagvm/vmm-api'
import type { MachineConfig } from '../config.js'
import { FileFormatError } from '../errors.js'
import { batchPages, type PageRecord } from '../memory/page.js'
import type { VcpuState } from '../snapshot/records.js'
import { encodeJson, encodeRecord, RecordType } from '../snapshot/records.js'
import { AckReader, MIGRATION_MAGIC, MIGRATION_VERSION, MigrationReceiver, MigrationSender, ackRecord, type Ack } from './index.js'

const RAM = 0x4000_0000
const config: MachineConfig = { ramBase: RAM, ramSize: 1 << 20, cpus: 1, mte: true, backing: 'anon' }

/** A toy "guest memory" of 256 pages that changes between rounds, and the stream that moves it. */
function sourceStream(rounds: number, seed: number): { chunks: Uint8Array[]; finalMemory: Map<number, PageRecord>; vcpu: VcpuState } {
  const memory = new Map<number, PageRecord>()
  let x = seed || 1
  const rand = (): number => ((x = (x * 1103515245 + 12345) >>> 0), x >>> 8)
  const touch = (): number[] => {
    const dirty = new Set<number>()
    for (let i = 0; i < 40; i++) {
      const gpa = RAM + (rand() % 256) * 4096
      const data = new Uint8Array(4096).fill((rand() & 0xff) | 1)
      const tags = rand() % 2 ? new Uint8Array(256).map(() => rand() & 15) : null
      memory.set(gpa, { gpa, data, tags })
      dirty.add(gpa)
    }
    return [...dirty].sort((a, b) => a - b)
  }
  const s = new MigrationSender()
  const chunks = [s.hello(), s.config(config)]
  let dirty = touch()
  for (let r = 0; r < rounds; r++) {
    for (const gpa of dirty) chunks.push(s.page(memory.get(gpa)!))
    chunks.push(s.endRound())
    // the guest keeps dirtying pages until the last round, which runs with vCPUs stopped
    dirty = r < rounds - 1 ? touch() : []
  }
  const vcpu = { index: 0, regs: [{ id: REG_PC, value: 0x4000_0040n }] }
  chunks.push(s.vcpu(vcpu), s.device('pl011@9000000', { type: 'pl011', version: 1 }), s.end())
  return { chunks, finalMemory: memory, vcpu }
}

function destination(source = 'stream'): { receiver: MigrationReceiver; memory: Map<number, PageRecord>; got: { vcpus: VcpuState[]; devices: string[]; rounds: number[]; ended: boolean } } {
  const memory = new Map<number, PageRecord>()
  const got = { vcpus: [] as VcpuState[], devices: [] as string[], rounds: [] as number[], ended: false }
  const receiver = new MigrationReceiver(source, {
    pages: (batch) => {
      for (const p of batchPages(batch)) memory.set(p.gpa, p)
    },
    roundEnd: (e) => got.rounds.push(e.pages),
    vcpu: (v) => got.vcpus.push(v),
    device: (d) => got.devices.push(d.name),
    end: () => (got.ended = true),
  })
  return { receiver, memory, got }
}

// Pages as comparable strings (deep equality over thousands of typed-array elements is slow).
const sorted = (m: Map<number, PageRecord>): string[] =>
  [...m.values()]
    .sort((a, b) => a.gpa - b.gpa)
    .map((p) => `${p.gpa.toString(16)}:${p.data ? Buffer.from(p.data).toString('hex') : 'zero'}:${p.tags ? Buffer.from(p.tags).toString('hex') : 'untagged'}`)
const concat = (chunks: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(chunks))

describe('migration stream', () => {
  test('pre-copy rounds rebuild the source memory and tags exactly, however the bytes are split', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 1000 }), fc.array(fc.integer({ min: 1, max: 9000 }), { minLength: 1, maxLength: 20 }), (rounds, seed, splits) => {
        const { chunks, finalMemory, vcpu } = sourceStream(rounds, seed)
        const bytes = concat(chunks)
        const dst = destination()
        let at = 0
        for (let i = 0; at < bytes.length; i++) {
          const n = splits[i % splits.length]!
          dst.receiver.push(bytes.subarray(at, at + n))
          at += n
        }
        dst.receiver.finish()
        expect(dst.got.ended).toBe(true)
        expect(sorted(dst.memory)).toEqual(sorted(finalMemory))
        expect(dst.got.vcpus).toEqual([vcpu])
        expect(dst.got.devices).toEqual(['pl011@9000000'])
        expect(dst.got.rounds.length).toBe(rounds)
        expect(dst.got.rounds.every((n) => n > 0)).toBe(true)
      }),
      { numRuns: 25 },
    )
  })

  test('over a real Unix socket: destination acknowledges, source reads the ACK', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tagvm-mig-'))
    const path = join(dir, 'mig.sock')
    const { chunks, finalMemory } = sourceStream(3, 42)
    const dst = destination('unix socket')
    const server = createServer((sock: Socket) => {
      sock.on('data', (b: Buffer) => {
        dst.receiver.push(b)
        if (dst.receiver.complete) sock.end(ackRecord(true))
      })
    })
    await new Promise<void>((r) => server.listen(path, r))
    const ack = await new Promise<Ack>((resolve, reject) => {
      const reader = new AckReader('destination')
      const sock = connect(path, () => {
        for (const c of chunks) sock.write(c)
      })
      sock.on('data', (b: Buffer) => {
        const a = reader.push(b)
        if (a) resolve(a)
      })
      sock.on('error', reject)
    })
    server.close()
    rmSync(dir, { recursive: true })
    expect(ack).toEqual({ ok: true })
    expect(sorted(dst.memory)).toEqual(sorted(finalMemory))
  })

  test('a stream cut off half-way is an error naming where it stopped; the source never got an ACK', () => {
    const bytes = concat(sourceStream(3, 7).chunks)
    const half = bytes.subarray(0, Math.floor(bytes.length / 2))
    const dst = destination('cut')
    dst.receiver.push(half)
    expect(dst.receiver.complete).toBe(false)
    expect(() => dst.receiver.finish()).toThrow(/^cut: at offset \d+ .*stream ended in the rounds stage inside a record .*migration incomplete/)
  })

  test('corruption, wrong order and wrong protocol are refused with offsets', () => {
    const bytes = concat(sourceStream(2, 9).chunks)
    const bad = bytes.slice()
    bad[200]! ^= 0x40
    expect(() => destination('s').receiver.push(bad)).toThrow(FileFormatError)
    const s = new MigrationSender()
    const noHello = concat([new MigrationSender().hello().subarray(0, 0), (() => { s.hello(); return s.config(config) })()])
    expect(() => destination('s').receiver.push(noHello)).toThrow(/s: at offset 0 .*CONFIG record in the hello stage/)
    expect(() => new MigrationSender().config(config)).toThrow(/CONFIG not allowed in the hello stage/)
    const s2 = new MigrationSender()
    s2.hello()
    s2.config(config)
    s2.page({ gpa: RAM, data: null, tags: null })
    expect(() => s2.vcpu({ index: 0, regs: [] })).toThrow(/before the last round was ended/)
    expect(() => s2.end()).toThrow(/END not allowed/)
  })

  test('ACK reader: refusal carries the reason; other records are refused', () => {
    expect(new AckReader('d').push(ackRecord(false, 'no memory for 1 GiB'))).toEqual({ ok: false, reason: 'no memory for 1 GiB' })
    const r = new AckReader('d')
    const ack = ackRecord(true)
    expect(r.push(ack.subarray(0, 5))).toBeUndefined()
    expect(r.push(ack.subarray(5))).toEqual({ ok: true })
    expect(() => new AckReader('d').push(new MigrationSender().hello())).toThrow(/expected an ACK record, got HELLO/)
  })

  test('HELLO says how many pages the source holds when it knows; the receiver hears it before the config, and refuses a count that is none', () => {
    const heard: { pages?: number }[] = []
    const configs: number[] = []
    const listen = (): MigrationReceiver => new MigrationReceiver('s', { hello: (h) => heard.push(h), config: () => configs.push(heard.length) })
    const told = new MigrationSender()
    listen().push(concat([told.hello(163_840), told.config(config)]))
    const silent = new MigrationSender()
    listen().push(concat([silent.hello(), silent.config(config)]))
    expect(heard).toEqual([{ pages: 163_840 }, {}])
    expect(configs).toEqual([1, 2])
    expect(() => new MigrationSender().hello(-1)).toThrow(/-1 is not a page count/)
    for (const pages of [-1, 1.5, '12', null]) {
      const hello = encodeRecord(RecordType.HELLO, encodeJson({ magic: MIGRATION_MAGIC, version: MIGRATION_VERSION, pages }))
      expect(() => listen().push(hello)).toThrow(new RegExp(`s: at offset 0 .*HELLO record: ${JSON.stringify(pages)?.replace('.', '\\.')} is not a page count`))
    }
  })

  test('bytes after END, even in the chunk that carries END, are refused', () => {
    const { chunks } = sourceStream(1, 7)
    const dst = destination()
    expect(() => dst.receiver.push(concat([...chunks, Uint8Array.of(1, 2, 3)]))).toThrow(/3 bytes after END/)
  })
})
