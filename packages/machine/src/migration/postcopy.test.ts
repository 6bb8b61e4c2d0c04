// Post-copy: the destination runs the guest at once and pulls each page it touches before the
// page has been pushed; a page is mapped only with its data and tags in place, so a tagging
// guest prints exactly what QEMU prints. A stream that breaks during post-copy is reported on
// both sides with what the guest lost.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, test } from 'vitest'
import type { MachineConfig } from '../config.js'
import { MachineRefusedError } from '../errors.js'
import { Machine } from '../machine/machine.js'
import { ChannelError, channelPair, type Channel } from './channel.js'
import { receiveMigration, sendMachine } from './live.js'

const guests = fileURLToPath(new URL('../../../../guests/', import.meta.url))
const elf = (name: string): string => `${guests}${name}/${name}.elf`
const recorded = (name: string): string => readFileSync(`${guests}${name}/qemu.out`, 'latin1')
const CONFIG: MachineConfig = { ramBase: 0x4000_0000, ramSize: 64 << 20, cpus: 1, mte: true, backing: 'anon' }

function machine(out: { text: string }): Machine {
  return Machine.create(CONFIG, { console: (b) => (out.text += Buffer.from(b).toString('latin1')) })
}

/** Both ends of an in-memory link whose writes complete on a later turn of the event loop, as a socket's do. */
function socketLike(): [Channel, Channel] {
  const slow = (channel: Channel): Channel => ({
    ...channel,
    write: (bytes) => new Promise<void>((resolve) => setImmediate(resolve)).then(() => channel.write(bytes)),
    writev: (chunks) => new Promise<void>((resolve) => setImmediate(resolve)).then(() => Promise.all(chunks.map((c) => channel.write(c)))).then(() => {}),
  })
  const [a, b] = channelPair()
  return [slow(a), slow(b)]
}

/** A channel that passes the first `limit` bytes on, then closes (the link breaks, possibly mid-record). */
function breaking(channel: Channel, limit: number): Channel {
  let passed = 0
  const write = async (bytes: Uint8Array): Promise<void> => {
    if (passed + bytes.length <= limit) {
      passed += bytes.length
      return channel.write(bytes)
    }
    const part = bytes.subarray(0, Math.max(0, limit - passed))
    passed = limit
    if (part.length) await channel.write(part)
    await channel.close()
    throw new ChannelError('link broken')
  }
  return {
    ...channel,
    write,
    writev: async (chunks) => {
      for (const c of chunks) await write(c)
    },
  }
}

describe('post-copy migration', () => {
  for (const [name, at, rounds] of [
    ['mte-demo', 104_000, 0],
    ['mte-demo', 104_000, 1],
    ['tag-workload', 2_000_000, 0],
  ] as const) {
    test(`${name} after ${at} instructions, ${rounds} pre-copy rounds: the destination pulls what it touches and prints what QEMU prints`, async () => {
      const out = { text: '' }
      const source = machine(out)
      source.boot(readFileSync(elf(name)), elf(name))
      expect(source.run(at)).toEqual({ kind: 'budget' })
      const [a, b] = socketLike()
      const incoming = receiveMigration(b, () => machine(out))
      // A slow background push, so the guest touches pages before they are pushed.
      const sending = sendMachine(source, a, { maxRounds: rounds, insnsPerRound: 5_000, postcopy: true, postcopyBandwidth: 512 << 10 })
      const guest = await incoming
      expect(guest.postcopy).toBe(true)
      // It starts without the pages dirtied since the last round (all of them with no round).
      expect(guest.machine.memory.missingPages).toBeGreaterThan(0)
      // The guest runs while its pages arrive.
      const stop = await guest.run(name === 'tag-workload' ? 20_000_000 : Number.POSITIVE_INFINITY)
      const sent = await sending
      await guest.complete
      expect(sent).toMatchObject({ kind: 'migrated' })
      if (sent.kind !== 'migrated') return
      // With no round at all, the guest needs its code before the push brings it.
      if (rounds === 0) expect(sent.requestedPages).toBeGreaterThan(0)
      expect(sent.downtimeMs).toBeGreaterThanOrEqual(0)
      expect(guest.machine.memory.missingPages).toBe(0)
      if (name === 'tag-workload') {
        // Finish the long run synchronously, every page in place.
        expect(stop).toEqual({ kind: 'budget' })
        expect(guest.machine.run()).toEqual({ kind: 'power-off' })
      } else {
        expect(stop).toEqual({ kind: 'power-off' })
      }
      expect(out.text).toBe(recorded(name))
    })
  }

  test('a stream that breaks during post-copy: the destination stops the guest and says how many pages it lost; the source says the guest is lost', async () => {
    const out = { text: '' }
    const source = machine(out)
    source.boot(readFileSync(elf('tag-workload')), elf('tag-workload'))
    expect(source.run(2_000_000)).toEqual({ kind: 'budget' })
    const [a, b] = socketLike()
    const incoming = receiveMigration(b, () => machine(out))
    // HELLO, CONFIG, vCPU and device state and the page list fit well under 256 KiB; the link
    // breaks inside the first PAGES record.
    const sending = sendMachine(source, breaking(a, 256 << 10), { maxRounds: 0, postcopy: true })
    const guest = await incoming
    const stop = await guest.run()
    const sent = await sending
    expect(stop.kind).toBe('error')
    const message = stop.kind === 'error' ? stop.message : ''
    expect(message).toMatch(/^post-copy broke \(.*\): (\d+) pages of guest memory with their tags \([\d.]+ MiB at most\) never arrived from the source, and the source cannot take the guest back$/)
    const lost = Number(/: (\d+) pages/.exec(message)![1])
    expect(lost).toBeGreaterThan(0)
    expect(lost).toBe(guest.machine.memory.missingPages)
    await expect(guest.complete).rejects.toThrow(/post-copy broke/)
    expect(sent).toMatchObject({ kind: 'lost' })
    if (sent.kind === 'lost') expect(sent.missingPages).toBeGreaterThan(0)
    // The guest never ran on a page it did not have: what it printed is a prefix of the real output.
    expect(recorded('tag-workload').startsWith(out.text)).toBe(true)
  })

  test('a destination refusing the state before it runs the guest leaves the source running (post-copy falls back)', async () => {
    const out = { text: '' }
    const source = machine(out)
    source.boot(readFileSync(elf('mte-demo')), elf('mte-demo'))
    expect(source.run(104_000)).toEqual({ kind: 'budget' })
    const [a, b] = channelPair()
    let vcpus = 0
    const incoming = receiveMigration(b, () => {
      const m = machine(out)
      const load = m.loadVcpu.bind(m)
      m.loadVcpu = (state) => {
        if (vcpus++ === 0) throw new MachineRefusedError('no such vCPU here')
        load(state)
      }
      return m
    }).catch((error: Error) => error)
    const sent = await sendMachine(source, a, { maxRounds: 1, insnsPerRound: 5_000, postcopy: true })
    expect(await incoming).toBeInstanceOf(Error)
    expect(sent).toMatchObject({ kind: 'failed' })
    expect(source.run()).toEqual({ kind: 'power-off' })
    expect(out.text).toBe(recorded('mte-demo'))
  })
})
