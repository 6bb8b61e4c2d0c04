import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import { expect, test } from 'vitest'
import { REG_PC } from '@tagvm/vmm-api'
import { MachineRefusedError } from '../errors.js'
import type { MachineConfig } from '../config.js'
import { Machine } from '../machine/machine.js'
import { LiveTagPublisher, LiveTagView } from './live-tags.js'
import { PAGE_SIZE } from './page.js'

const config: MachineConfig = { ramBase: 0x4000_0000, ramSize: 128 << 20, cpus: 1, mte: true, backing: 'anon' }
const demo = fileURLToPath(new URL('../../../../guests/mte-demo/mte-demo.elf', import.meta.url))

function bootDemo(): { machine: Machine; console: () => string } {
  let text = ''
  const machine = Machine.create(config, { console: (b) => (text += new TextDecoder().decode(b)) }, { sharedMemory: true })
  machine.boot(readFileSync(demo), demo)
  return { machine, console: () => text }
}

/** Every page's tags as KVM_ARM_MTE_COPY_TAGS gives them (through GuestMemory), as hex per tagged page. */
function tagsByCopyTags(machine: Machine): Map<number, string> {
  const out = new Map<number, string>()
  for (const page of machine.memory.pages({ taggedOnly: true })) out.set(page.gpa, Buffer.from(page.tags!).toString('hex'))
  return out
}

test('the live view of a running guest gives the tags KVM_ARM_MTE_COPY_TAGS gives, at every point of the run', () => {
  const { machine, console } = bootDemo()
  const publisher = new LiveTagPublisher(machine)
  const view = new LiveTagView(publisher.source)
  expect(view.pageCount).toBe(config.ramSize / PAGE_SIZE)
  const tags = new Uint8Array(256)
  let sawTags = false
  for (;;) {
    const stop = machine.run(40_000)
    publisher.refresh()
    const expected = tagsByCopyTags(machine)
    const seen = new Map<number, string>()
    for (let page = 0; page < view.pageCount; page++) {
      const tagged = view.readPageTags(page, tags)
      expect(tagged).toBe(view.isTagged(page))
      if (tagged && tags.some((t) => t !== 0)) seen.set(config.ramBase + page * PAGE_SIZE, Buffer.from(tags).toString('hex'))
      if (!tagged) expect(tags.every((t) => t === 0)).toBe(true)
    }
    expect(seen).toEqual(expected)
    sawTags ||= seen.size > 0
    if (stop.kind !== 'budget') {
      expect(stop.kind).toBe('power-off')
      break
    }
  }
  expect(sawTags).toBe(true)
  expect(console()).toBe(readFileSync(fileURLToPath(new URL('../../../../guests/mte-demo/qemu.out', import.meta.url)), 'utf8'))
  // The demo's heap: a at 0x4021_0000 with tag c, then 7 after free(a); b (tag 4) and c (tag 5) after it.
  expect(view.tagAt(0x4021_0000)).toBe(7)
  expect(view.tagAt(0x4021_0020)).toBe(4)
  expect(view.tagAt(0x4021_0040)).toBe(5)
})

test('another thread attached to the source sees the tags the guest wrote', async () => {
  const { machine } = bootDemo()
  const publisher = new LiveTagPublisher(machine)
  expect(machine.run().kind).toBe('power-off')
  publisher.refresh()
  // A plain JS worker: the view's logic is checked above; this shows the buffers cross threads.
  const code = `
    const { parentPort, workerData } = require('node:worker_threads')
    const { memory, frames, ramBase } = workerData
    const table = new Int32Array(frames)
    const page = (0x40210000 - ramBase) / 4096
    const pfn = table[page] - 1
    const tags = new Uint8Array(memory.tags, pfn * 256, 256)
    parentPort.postMessage([pfn >= 0, tags[0], tags[2], tags[4], tags[8]])`
  const worker = new Worker(code, { eval: true, workerData: publisher.source })
  const answer = await new Promise((resolve, reject) => worker.once('message', resolve).once('error', reject))
  await worker.terminate()
  // Granules 0 (a, retagged 7), 2 (b: 4), 4 (c: 5), 8 (past c: 0), a byte per granule.
  expect(answer).toEqual([true, 7, 4, 5, 0])
})

test('a machine without shared host memory is refused with a reason; bad pages and addresses are range errors', () => {
  const plain = Machine.create({ ...config, ramSize: 8 << 20 }, { console: () => {} })
  expect(() => new LiveTagPublisher(plain)).toThrow(MachineRefusedError)
  expect(() => new LiveTagPublisher(plain)).toThrow(/sharedMemory: true/)
  const { machine } = bootDemo()
  const view = new LiveTagView(new LiveTagPublisher(machine).source)
  expect(view.isResident(0)).toBe(true) // the image
  expect(view.isResident(view.pageCount - 1)).toBe(false) // nothing has touched it
  expect(() => view.frameOf(view.pageCount)).toThrow(/not below 32768/)
  expect(() => view.tagAt(0x3fff_fff0)).toThrow(/outside RAM/)
  expect(() => view.readPageTags(0, new Uint8Array(16))).toThrow(/smaller than a page/)
  expect(() => new LiveTagView({ ...new LiveTagPublisher(machine).source, frames: new SharedArrayBuffer(8) })).toThrow(/does not cover/)
})

test('virtualToPhysical walks the guest tables as a debugger does', () => {
  const { machine } = bootDemo()
  // MMU off at the first instruction: the address itself.
  const pc = machine.vcpus[0]!.getOneReg(REG_PC)
  expect(machine.virtualToPhysical(0, pc)).toBe(Number(pc))
  // After the demo has turned its MMU on, the PC still maps to the image (identity tables).
  machine.run(50_000)
  const later = machine.vcpus[0]!.getOneReg(REG_PC)
  expect(machine.virtualToPhysical(0, later)).toBe(Number(later & 0xffff_ffffn))
  expect(() => machine.virtualToPhysical(1, later)).toThrow(/vCPU 1 does not exist/)
})
