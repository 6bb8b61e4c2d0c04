import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Machine, VIRT_RAM_BASE } from '@tagvm/machine'
import { describe, expect, it } from 'vitest'
import { RspDecoder, encodePacket, fromHex, leHexToU64, unescapeBinary } from './rsp.js'
import { GdbStub } from './stub.js'
import { DebugTarget, watchRegisters } from './target.js'

const demoFile = fileURLToPath(new URL('../../../../guests/mte-demo/mte-demo.elf', import.meta.url))
const demo = new Uint8Array(readFileSync(demoFile))
const MAIN = 0x4000_1b2c
const ENTRY = 0x4000_0000

function machine(image: Uint8Array = demo, cpus = 1): Machine {
  const m = Machine.create({ ramBase: VIRT_RAM_BASE, ramSize: 64 << 20, cpus, mte: true, backing: 'anon' }, { console: () => {} })
  if (image === demo) m.boot(image, demoFile)
  else m.boot(image, 'loop.bin', { base: ENTRY })
  return m
}

function session(m = machine()): { stub: GdbStub; ended: string[] } {
  const ended: string[] = []
  const stub = new GdbStub(new DebugTarget(m), { send: () => {}, ended: (o) => ended.push(o.kind) })
  expect(stub.handle('qSupported:multiprocess+;swbreak+;memory-tagging+')).toContain('memory-tagging+')
  return { stub, ended }
}

/** Resumes with `packet` and runs until the stub reports a stop. */
function resume(stub: GdbStub, packet: string): string {
  expect(stub.handle(packet)).toBeNull()
  for (let i = 0; i < 10_000; i++) {
    const reply = stub.runSlice()
    if (reply !== null) return reply
  }
  throw new Error('the guest did not stop')
}

function pc(stub: GdbStub): bigint {
  return leHexToU64(stub.handle('p20')!)!
}

describe('RSP framing', () => {
  it('decodes packets split anywhere, acks, Ctrl-C and bad checksums', () => {
    const d = new RspDecoder()
    const bytes = new Uint8Array([...encodePacket('m40000000,4'), 0x2b, 0x03, ...new TextEncoder().encode('$g#00'), ...encodePacket('c')])
    const events = [...bytes].flatMap((b) => d.feed(new Uint8Array([b])))
    expect(events).toEqual([
      { kind: 'packet', payload: 'm40000000,4' },
      { kind: 'ack' },
      { kind: 'interrupt' },
      { kind: 'bad-checksum' },
      { kind: 'packet', payload: 'c' },
    ])
  })

  it('escapes #, $, } and * in replies and undoes binary escapes', () => {
    const wire = new TextDecoder('latin1').decode(encodePacket('a#b$c}d*'))
    expect(wire).toBe('$a}\u0003b}\u0004c}]d}\n#' + wire.slice(-2))
    const d = new RspDecoder()
    expect(d.feed(encodePacket('a#b$c}d*'))).toEqual([{ kind: 'packet', payload: 'a}\u0003b}\u0004c}]d}\n' }])
    expect(unescapeBinary('a}\u0003b}]')).toEqual(new Uint8Array([0x61, 0x23, 0x62, 0x7d]))
    expect(unescapeBinary('x}')).toBeUndefined()
    expect(fromHex('0g')).toBeUndefined()
  })

  it('watchpoint registers: byte select inside a doubleword, a mask beyond', () => {
    expect(watchRegisters({ address: 0x1004n, length: 4, kind: 'write' })).toEqual([0x1n | (3n << 1n) | (2n << 3n) | (0xf0n << 5n), 0x1000n])
    const [wcr, wvr] = watchRegisters({ address: 0x1008n, length: 16, kind: 'access' })
    expect((wcr >> 24n) & 0x1fn).toBe(5n) // 32 bytes from 0x1000 cover [0x1008, 0x1018)
    expect(wvr).toBe(0x1000n)
  })
})

describe('GDB stub on the MTE demo', () => {
  it('describes the target: core, MTE and system registers in target.xml, registers by number', () => {
    const { stub } = session()
    const xml = stub.handle('qXfer:features:read:target.xml:0,3fff')!
    expect(xml[0]).toBe('l')
    expect(xml).toContain('<feature name="org.gnu.gdb.aarch64.core">')
    expect(xml).toContain('<feature name="org.gnu.gdb.aarch64.mte">')
    expect(xml).toContain('name="tag_ctl"')
    expect(xml).toContain('name="sctlr_el1"')
    expect(stub.handle('qXfer:features:read:target.xml:10,10')![0]).toBe('m')
    expect(stub.handle('qXfer:features:read:other.xml:0,10')).toBe('E0e')
    expect(pc(stub)).toBe(BigInt(ENTRY))
    // x5 through P/p and in g.
    expect(stub.handle('P5=efbeadde78563412')).toBe('OK')
    expect(stub.handle('p5')).toBe('efbeadde78563412')
    const g = stub.handle('g')!
    expect(g.slice(5 * 16, 6 * 16)).toBe('efbeadde78563412')
    expect(stub.handle('G' + g)).toBe('OK')
    expect(stub.handle('p1000')).toBe('E16')
    expect(stub.handle('P5=12')).toBe('E16')
  })

  it('reads and writes memory through the guest view; unmapped or malformed requests are errors', () => {
    const { stub } = session()
    expect(stub.handle(`m${ENTRY.toString(16)},4`)).toBe('40820058') // ldr x0, =stack top
    const scratch = (0x4100_0000).toString(16)
    expect(stub.handle(`M${scratch},4:01020304`)).toBe('OK')
    expect(stub.handle(`m${scratch},4`)).toBe('01020304')
    expect(stub.handle(`X${scratch},2:}\u0003}]`)).toBe('OK')
    expect(stub.handle(`m${scratch},2`)).toBe('237d')
    expect(stub.handle('m8000000000,4')).toBe('E0e')
    expect(stub.handle(`M${scratch},4:0102`)).toBe('E16')
    expect(stub.handle('mzz,4')).toBe('E16')
    expect(stub.handle(`m${scratch},ffffffff`)).toBe('E16')
  })

  it('stops at a breakpoint, single-steps, and reports a watchpoint', () => {
    const { stub } = session()
    expect(stub.handle(`Z0,${MAIN.toString(16)},4`)).toBe('OK')
    expect(resume(stub, 'vCont;c')).toBe('T05thread:p1.1;')
    expect(pc(stub)).toBe(BigInt(MAIN))
    expect(stub.handle(`z0,${MAIN.toString(16)},4`)).toBe('OK')
    expect(resume(stub, 'vCont;s:p1.1')).toBe('T05thread:p1.1;')
    expect(pc(stub)).toBe(BigInt(MAIN + 4))
    expect(stub.handle('qXfer:siginfo:read::0,80')!.slice(1, 13)).toBe('\u0005\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0002\u0000\u0000\u0000')
    // bugs_caught (0x40036000) is written by the guest's fault handler.
    expect(stub.handle('Z2,40036000,4')).toBe('OK')
    let stop = resume(stub, 'c')
    while (stop.startsWith('T0b')) stop = resume(stub, 'C0b')
    expect(stop).toBe('T05watch:40036000;thread:p1.1;')
    expect(stub.handle('z2,40036000,4')).toBe('OK')
    expect(stub.handle('Z9,0,4')).toBe('')
    expect(stub.handle('Z0,zz,4')).toBe('E16')
  })

  it('reports a tag check fault as SIGSEGV with SEGV_MTESERR and the address, and reads and writes tags', () => {
    const { stub } = session()
    expect(resume(stub, 'vCont;c')).toBe('T0bthread:p1.1;')
    const siginfo = stub.handle('qXfer:siginfo:read::0,80')!
    const info = new DataView(Uint8Array.from(siginfo.slice(1), (c) => c.charCodeAt(0)).buffer)
    expect([info.getInt32(0, true), info.getInt32(8, true), info.getBigUint64(16, true)]).toEqual([11, 9, 0x0c00_0000_4021_0000n])
    expect(stub.handle('qMemTags:40210000,30:1')).toBe('m070704')
    expect(stub.handle('qMemTags:0c00000040210008,1:1')).toBe('m07')
    expect(stub.handle('qMemTags:40210000,10:2')).toBe('E03')
    expect(stub.handle('qMemTags:40000000,10:1')).toBe('E04')
    expect(stub.handle('qIsAddressTagged:0c00000040210000')).toBe('01')
    expect(stub.handle('qIsAddressTagged:40000000')).toBe('00')
    expect(stub.handle('QMemTags:40210000,20:1:0c')).toBe('OK')
    expect(stub.handle('qMemTags:40210000,20:1')).toBe('m0c0c')
    expect(stub.handle('QMemTags:40210000,10:2:0c')).toBe('E02')
    expect(stub.handle('QMemTags:40210000,10:1:1f')).toBe('E16')
    expect(stub.handle('QMemTags:40000000,10:1:01')).toBe('E04')
    // LLDB's region query sees the tagged heap.
    expect(stub.handle('qMemoryRegionInfo:40210000')).toMatch(/flags:mt;$/)
    // With the tag fixed, the stale read goes through: the guest runs on to the next bug.
    expect(resume(stub, 'c')).toBe('T0bthread:p1.1;')
    expect(leHexToU64(stub.handle('qXfer:siginfo:read::0,80')!.slice(17, 25).split('').map((c) => c.charCodeAt(0).toString(16).padStart(2, '0')).join(''))).toBe(0x0400_0000_4021_0040n)
  })

  it('serves /proc/1/smaps from the guest tables, with mt on the tagged heap', () => {
    const { stub } = session()
    expect(resume(stub, 'c')).toBe('T0bthread:p1.1;')
    const name = Buffer.from('/proc/1/smaps').toString('hex')
    const fd = stub.handle(`vFile:open:${name},0,0`)!
    expect(fd).toMatch(/^F[0-9a-f]+$/)
    const data = stub.handle(`vFile:pread:${fd.slice(1)},4000,0`)!
    expect(data).toMatch(/^F[0-9a-f]+;/)
    expect(data).toContain('40200000-40400000 rwxp 00000000 00:00 0\nSize:           2048 kB\nVmFlags: rd wr ex mr mw me mt\n')
    expect(stub.handle(`vFile:close:${fd.slice(1)}`)).toBe('F0')
    expect(stub.handle(`vFile:close:${fd.slice(1)}`)).toBe('F-1,9')
    expect(stub.handle(`vFile:open:${Buffer.from('/etc/passwd').toString('hex')},0,0`)).toBe('F-1,2')
  })

  it('one thread per vCPU', () => {
    const { stub } = session(machine(demo, 2))
    expect(stub.handle('qfThreadInfo')).toBe('mp1.1,p1.2')
    expect(stub.handle('qsThreadInfo')).toBe('l')
    expect(stub.handle('Hgp1.2')).toBe('OK')
    expect(stub.handle('qC')).toBe('QCp1.2')
    expect(stub.handle('Tp1.2')).toBe('OK')
    expect(stub.handle('Tp1.3')).toBe('E01')
    expect(stub.handle('Hgp2.1')).toBe('E01')
    expect(stub.handle('Hxp1.1')).toBe('E01')
    // vCPU 1 is powered off (PSCI): its registers still read.
    expect(stub.handle('p20')).toMatch(/^[0-9a-f]{16}$/)
  })

  it('stops a running guest on Ctrl-C', () => {
    // b . : the guest never stops by itself.
    const { stub } = session(machine(new Uint8Array([0x00, 0x00, 0x00, 0x14])))
    expect(stub.handle('vCont;c')).toBeNull()
    expect(stub.runSlice()).toBeNull()
    expect(stub.handle('m40000000,4')).toBeNull() // ignored while running
    stub.interrupt()
    expect(stub.runSlice()).toBe('T02thread:p1.1;')
    expect(pc(stub)).toBe(BigInt(ENTRY))
  })

  it('a detached debugger leaves the guest running to its end', () => {
    const m = machine()
    const { stub } = session(m)
    expect(stub.handle(`Z0,${MAIN.toString(16)},4`)).toBe('OK')
    expect(stub.handle('D;1')).toBe('OK')
    expect(m.run(50_000_000).kind).toBe('power-off')
  })
})

describe('fuzz: random and malformed packets never crash the stub or the guest', () => {
  it('survives 5000 seeded packets, then the guest still runs to its end', () => {
    let seed = 0x5eed
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff
      return seed / 0x7fffffff
    }
    const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!
    const hex = (n: number): string => Math.floor(random() * 16 ** n).toString(16)
    const junk = (n: number): string => Array.from({ length: Math.floor(random() * n) }, () => String.fromCharCode(Math.floor(random() * 256))).join('')
    const forms = [
      () => `m${hex(10)},${hex(4)}`, () => `M${hex(10)},${hex(2)}:${hex(6)}`, () => `X${hex(10)},${hex(1)}:${junk(8)}`,
      () => `p${hex(3)}`, () => `P${hex(2)}=${hex(16)}`, () => 'g', () => `G${hex(20)}`, () => `Z${hex(1)},${hex(10)},${hex(1)}`,
      () => `z${hex(1)},${hex(10)},${hex(1)}`, () => `H${pick(['g', 'c', 'x'])}${pick(['p1.1', 'p1.2', '-1', '0', 'p-1.-1', junk(4)])}`,
      () => `T${junk(4)}`, () => `qMemTags:${hex(10)},${hex(3)}:${hex(1)}`, () => `QMemTags:${hex(10)},${hex(3)}:${hex(1)}:${hex(4)}`,
      () => `qIsAddressTagged:${hex(16)}`, () => `qXfer:${pick(['features', 'siginfo', 'auxv'])}:read:${pick(['target.xml', '', junk(3)])}:${hex(3)},${hex(3)}`,
      () => `qMemoryRegionInfo:${hex(16)}`, () => `vFile:${pick(['open', 'pread', 'close', 'setfs'])}:${hex(8)},${hex(2)},${hex(2)}`,
      () => `vCont;${pick(['c', 's', 'C0b', 'S05', 't', 'r1,2', junk(3)])}${pick(['', ':p1.1', ':zz'])}`, () => pick(['c', 's', 'C0b', `C${hex(2)}`, 'S']),
      () => `q${junk(12)}`, () => `Q${junk(12)}`, () => `v${junk(12)}`, () => junk(20), () => '?',
    ]
    const m = machine()
    const { stub } = session(m)
    const decoder = new RspDecoder()
    const replies = new Map<string, number>()
    for (let i = 0; i < 5000; i++) {
      const packet = pick(forms)()
      // The framing layer sees the packet with a random corruption now and then.
      const wire = encodePacket(packet)
      if (random() < 0.1) wire[Math.floor(random() * wire.length)] = Math.floor(random() * 256)
      for (const event of decoder.feed(wire)) {
        if (event.kind !== 'packet') continue
        const reply = stub.handle(event.payload)
        expect(reply === null || typeof reply === 'string').toBe(true)
        const kind = reply === null ? 'resumed' : reply === '' ? 'empty' : /^E[0-9a-f]{2}$/.test(reply) ? 'error' : 'answer'
        replies.set(kind, (replies.get(kind) ?? 0) + 1)
        if (stub.isRunning) {
          for (let k = 0; k < 3 && stub.isRunning; k++) stub.runSlice()
          stub.interrupt()
          stub.runSlice()
        }
      }
    }
    // Every kind of outcome was exercised, most packets reached the stub intact.
    expect(Math.min(...['resumed', 'empty', 'error', 'answer'].map((k) => replies.get(k) ?? 0))).toBeGreaterThan(50)
    expect([...replies.values()].reduce((a, b) => a + b)).toBeGreaterThan(4000)
    // The stub still answers as before.
    expect(stub.handle('qfThreadInfo')).toBe('mp1.1')
    expect(stub.handle('m40000000,4')).toBe('40820058')
    // The VMM runs the guest on to an end (random G/P/c-with-address packets may have sent
    // its registers anywhere: a guest error is an outcome, a host exception is not).
    stub.detach()
    expect(['power-off', 'error']).toContain(m.run(50_000_000).kind)
  })
})
