// The GDB remote protocol for one connection: packets in, replies out, and run control
// (continue, step, interrupt) over the machine's vCPUs, one thread per vCPU. The stub never
// throws on a packet: anything malformed or impossible gets an `Exx` reply (errno-like
// numbers, as gdbserver and QEMU use them) or the empty reply for "not supported".

import { REG_PC as REG_PC_ID, type VcpuFd } from '@tagvm/vmm-api'
import { gdbRegisters, targetXml, type GdbRegister } from './registers.js'
import {
  fromHex, leHexToU64, parseHexCount, parseHexU64, textToHex, toHex, u64LeHex, unescapeBinary,
} from './rsp.js'
import { smapsRegionAt, smapsText } from './smaps.js'
import { DebugTarget, type RunOutcome } from './target.js'

/** PacketSize we advertise (hex 0x4000): the longest packet GDB may send us. */
const PACKET_SIZE = 0x4000
/** Instructions per vCPU turn while running under the debugger (between Ctrl-C checks). */
const SLICE = 200_000
/** The process id threads are reported under (multiprocess extensions). */
const PID = 1

const SIGINT = 2
const SIGTRAP = 5
const SIGSEGV = 11
/** si_code values (include/uapi/asm-generic/siginfo.h). */
const TRAP_BRKPT = 1
const TRAP_TRACE = 2
const TRAP_HWBKPT = 4
const SEGV_MTESERR = 9
const EC_WATCHPOINT = 0x34
const EC_DABT_LOWER = 0x24
const EC_DABT_CURRENT = 0x25
const EC_SOFTWARE_STEP = 0x32

export const E = {
  /** Bad or missing arguments. */
  INVALID: 'E16',
  /** Memory that cannot be read or written (not RAM, not mapped). */
  FAULT: 'E0e',
  /** No such thread / out of resources. */
  NO_THREAD: 'E01',
  NO_SPACE: 'E1c',
} as const

/** The last stop, as '?' and qXfer:siginfo report it. */
interface StopState {
  readonly signal: number
  readonly thread: number
  readonly siCode: number
  readonly siAddr: bigint
  /** Extra stop-reply fields (watch:ADDR;). */
  readonly extra: string
}

export interface StubHooks {
  /** A packet to send (a reply, or an asynchronous stop reply). */
  send(payload: string): void
  /** The guest ended (power-off, reset request or error) while the debugger was attached. */
  ended(outcome: Exclude<RunOutcome, { kind: 'debug' }>): void
}

/** One debugger connection's protocol state over a DebugTarget. */
export class GdbStub {
  readonly target: DebugTarget
  private readonly registers: GdbRegister[]
  private readonly xml: string
  noAck = false
  private multiprocess = false
  /** Thread (vCPU index) for register and memory access (Hg), and for c/s (Hc); -1 all. */
  private gThread = 0
  private cThread = -1
  private running = false
  private stepping: VcpuFd | undefined
  private interruptRequested = false
  private stop: StopState
  private readonly files = new Map<number, Uint8Array>()
  private nextFd = 1

  constructor(
    target: DebugTarget,
    private readonly hooks: StubHooks,
  ) {
    this.target = target
    this.registers = gdbRegisters(target.vcpus[0]!, target.mte)
    this.xml = targetXml(this.registers)
    this.stop = { signal: SIGTRAP, thread: 0, siCode: 0, siAddr: 0n, extra: '' }
    target.applyDebug(true)
  }

  get isRunning(): boolean {
    return this.running
  }

  // ---- packets -------------------------------------------------------------------------

  /** Handles one packet; returns the reply, or null when the reply comes later (a stop reply). */
  handle(packet: string): string | null {
    try {
      return this.dispatch(packet)
    } catch (error) {
      // A request the VMM API refused (a register it does not take, say): an error reply.
      if (error instanceof Error) return E.INVALID
      throw error
    }
  }

  private dispatch(p: string): string | null {
    // While the guest runs, only Ctrl-C (handled by the server) and vCont;t matter.
    if (this.running) return p.startsWith('vCont;t') ? 'OK' : null
    const head = p[0]
    switch (head) {
      case '?':
        return this.stopReply()
      case 'g':
        return p === 'g' ? this.readAllRegisters() : E.INVALID
      case 'G':
        return this.writeAllRegisters(p.slice(1))
      case 'p':
        return this.readRegister(p.slice(1))
      case 'P':
        return this.writeRegister(p.slice(1))
      case 'm':
        return this.readMemory(p.slice(1))
      case 'M':
        return this.writeMemory(p.slice(1), false)
      case 'X':
        return this.writeMemory(p.slice(1), true)
      case 'Z':
      case 'z':
        return this.breakpoint(head === 'Z', p.slice(1))
      case 'H':
        return this.setThread(p.slice(1))
      case 'T':
        return this.threadOf(p.slice(1)) !== undefined ? 'OK' : E.NO_THREAD
      case 'c':
      case 'C':
      case 's':
      case 'S':
        return this.resumeSimple(head, p.slice(1))
      case 'v':
        return this.vPacket(p)
      case 'q':
        return this.query(p)
      case 'Q':
        return this.set(p)
      case 'D':
      case 'k':
        this.detach()
        return 'OK'
      default:
        return ''
    }
  }

  // ---- threads ---------------------------------------------------------------------------

  private threadId(index: number): string {
    return this.multiprocess ? `p${PID}.${index + 1}` : (index + 1).toString(16)
  }

  /** A thread-id to a vCPU index, -1 for all, or undefined when malformed or unknown. */
  private threadOf(text: string): number | undefined {
    let t = text
    if (t.startsWith('p')) {
      const dot = t.indexOf('.')
      const pid = dot < 0 ? t.slice(1) : t.slice(1, dot)
      if (pid !== '-1' && parseHexCount(pid) !== PID) return undefined
      t = dot < 0 ? '-1' : t.slice(dot + 1)
    }
    if (t === '-1') return -1
    if (t === '0') return 0 // any thread: the first
    const n = parseHexCount(t)
    if (n === undefined || n < 1 || n > this.target.vcpus.length) return undefined
    return n - 1
  }

  private setThread(args: string): string {
    const op = args[0]
    const thread = this.threadOf(args.slice(1))
    if ((op !== 'g' && op !== 'c') || thread === undefined) return E.NO_THREAD
    if (op === 'g') this.gThread = thread < 0 ? 0 : thread
    else this.cThread = thread
    return 'OK'
  }

  private get vcpu(): VcpuFd {
    return this.target.vcpus[this.gThread]!
  }

  // ---- registers -------------------------------------------------------------------------

  private readAllRegisters(): string {
    let out = ''
    for (const r of this.registers) out += this.registerHex(r)
    return out
  }

  private registerHex(r: GdbRegister): string {
    try {
      return u64LeHex(r.read(this.vcpu), r.bits / 8)
    } catch {
      return 'xx'.repeat(r.bits / 8)
    }
  }

  private writeAllRegisters(hex: string): string {
    let at = 0
    const values: [GdbRegister, bigint][] = []
    for (const r of this.registers) {
      const digits = (r.bits / 8) * 2
      if (at + digits > hex.length) break
      const text = hex.slice(at, at + digits)
      at += digits
      if (/^x+$/i.test(text)) continue
      const v = leHexToU64(text)
      if (v === undefined) return E.INVALID
      values.push([r, v])
    }
    if (at !== hex.length) return E.INVALID
    for (const [r, v] of values) {
      // Registers that cannot change (tag_ctl, ID values) are skipped when unchanged.
      try {
        r.write(this.vcpu, v)
      } catch {
        if (r.read(this.vcpu) !== v) return E.INVALID
      }
    }
    return 'OK'
  }

  private readRegister(arg: string): string {
    const n = parseHexCount(arg)
    const r = n === undefined ? undefined : this.registers[n]
    return r === undefined ? E.INVALID : this.registerHex(r)
  }

  private writeRegister(arg: string): string {
    const eq = arg.indexOf('=')
    const n = parseHexCount(arg.slice(0, eq))
    const r = eq < 0 || n === undefined ? undefined : this.registers[n]
    if (r === undefined) return E.INVALID
    const text = arg.slice(eq + 1)
    const v = text.length === r.bits / 4 ? leHexToU64(text) : undefined
    if (v === undefined) return E.INVALID
    r.write(this.vcpu, v)
    return 'OK'
  }

  // ---- memory ------------------------------------------------------------------------------

  /** `addr,length` (hex) to numbers; undefined when malformed. */
  private range(text: string, max = PACKET_SIZE): { addr: bigint; length: number } | undefined {
    const comma = text.indexOf(',')
    if (comma < 0) return undefined
    const addr = parseHexU64(text.slice(0, comma))
    const length = parseHexCount(text.slice(comma + 1), max)
    return addr === undefined || length === undefined ? undefined : { addr, length }
  }

  private readMemory(args: string): string {
    const r = this.range(args, PACKET_SIZE / 2 - 8)
    if (r === undefined) return E.INVALID
    if (r.length === 0) return ''
    const bytes = this.target.readMemory(this.vcpu, r.addr, r.length)
    return bytes.length === 0 ? E.FAULT : toHex(bytes)
  }

  private writeMemory(args: string, binary: boolean): string {
    const colon = args.indexOf(':')
    const r = colon < 0 ? undefined : this.range(args.slice(0, colon))
    if (r === undefined) return E.INVALID
    const data = binary ? unescapeBinary(args.slice(colon + 1)) : fromHex(args.slice(colon + 1))
    if (data === undefined || data.length !== r.length) return E.INVALID
    if (r.length === 0) return 'OK'
    return this.target.writeMemory(this.vcpu, r.addr, data) ? 'OK' : E.FAULT
  }

  // ---- breakpoints and watchpoints -----------------------------------------------------------

  private breakpoint(insert: boolean, args: string): string {
    const parts = args.split(',')
    const type = parts[0]
    const addr = parts[1] === undefined ? undefined : parseHexU64(parts[1])
    const kind = parts[2] === undefined ? undefined : parseHexCount(parts[2].split(';')[0]!, 1 << 30)
    if (addr === undefined || kind === undefined || parts.length !== 3) return E.INVALID
    const regs = this.target.regs
    if (type === '0' || type === '1') {
      // Both kinds are breakpoints the CPU compiles in (debug.ts): nothing is written to guest memory.
      if (kind !== 4) return E.INVALID
      const i = regs.breakpoints.indexOf(addr)
      if (insert) {
        if (i >= 0) return 'OK'
        if (regs.full) return E.NO_SPACE
        regs.breakpoints.push(addr)
      } else if (i >= 0) regs.breakpoints.splice(i, 1)
    } else if (type === '2' || type === '3' || type === '4') {
      if (kind < 1 || kind > 1 << 30) return E.INVALID
      const which = type === '2' ? 'write' : type === '3' ? 'read' : 'access'
      const i = regs.watchpoints.findIndex((w) => w.address === addr && w.length === kind && w.kind === which)
      if (insert) {
        if (i >= 0) return 'OK'
        if (regs.watchpoints.length >= 16) return E.NO_SPACE
        regs.watchpoints.push({ address: addr, length: kind, kind: which })
      } else if (i >= 0) regs.watchpoints.splice(i, 1)
    } else return ''
    this.target.applyDebug(true)
    return 'OK'
  }

  // ---- run control ---------------------------------------------------------------------------

  private resumeSimple(op: string, args: string): string | null {
    // 'C sig[;addr]' / 'S sig[;addr]': the signal is the guest's business (a tag fault is taken when the instruction runs again).
    let rest = args
    if (op === 'C' || op === 'S') {
      const semi = rest.indexOf(';')
      const sig = parseHexCount(semi < 0 ? rest : rest.slice(0, semi), 0xff)
      if (sig === undefined) return E.INVALID
      rest = semi < 0 ? '' : rest.slice(semi + 1)
    }
    if (rest !== '') {
      const pc = parseHexU64(rest)
      if (pc === undefined) return E.INVALID
      this.target.vcpus[this.cThread < 0 ? this.gThread : this.cThread]!.setOneReg(REG_PC_ID, pc)
    }
    const step = op === 's' || op === 'S'
    return this.resume(step ? this.target.vcpus[this.cThread < 0 ? this.gThread : this.cThread] : undefined)
  }

  private vPacket(p: string): string | null {
    if (p === 'vCont?') return 'vCont;c;C;s;S;t'
    if (p.startsWith('vCont;')) return this.vCont(p.slice(6))
    if (p === 'vMustReplyEmpty') return ''
    if (p.startsWith('vKill')) {
      this.detach()
      return 'OK'
    }
    if (p.startsWith('vFile:')) return this.vFile(p.slice(6))
    return ''
  }

  private vCont(actions: string): string | null {
    let step: VcpuFd | undefined
    let any = false
    for (const action of actions.split(';')) {
      const [what, thread] = action.split(':') as [string, string | undefined]
      const index = thread === undefined ? -1 : this.threadOf(thread)
      if (index === undefined) return E.INVALID
      const op = what[0]
      if (op === 's' || op === 'S') {
        if (step === undefined) step = this.target.vcpus[index < 0 ? this.gThread : index]
      } else if (op === 't') {
        continue
      } else if (op !== 'c' && op !== 'C') return E.INVALID
      if ((op === 'C' || op === 'S') && parseHexCount(what.slice(1), 0xff) === undefined) return E.INVALID
      any = true
    }
    if (!any) return E.INVALID
    return this.resume(step)
  }

  /** Starts the guest (one vCPU single-stepping, or all running); the stop reply comes from `runSlice`. */
  private resume(step: VcpuFd | undefined): null {
    this.stepping = step
    this.interruptRequested = false
    this.target.applyDebug(true, step)
    this.running = true
    return null
  }

  /** Ctrl-C: stop at the next slice boundary. */
  interrupt(): void {
    if (this.running) this.interruptRequested = true
  }

  /**
   * Runs the guest a little while it is resumed. Returns the stop reply when it stopped,
   * else null (call again soon, after letting I/O in).
   */
  runSlice(): string | null {
    if (!this.running) return null
    if (this.interruptRequested) return this.stopped({ signal: SIGINT, thread: this.gThread, siCode: 0, siAddr: 0n, extra: '' })
    const target = this.target
    const vcpus = this.stepping ? [this.stepping] : target.vcpus
    let anyRunnable = false
    for (const vcpu of vcpus) {
      if (!target.runnable(vcpu)) continue
      anyRunnable = true
      const outcome = target.runOnce(vcpu, this.stepping ? 1 : SLICE)
      if (outcome === undefined) continue
      if (outcome.kind !== 'debug') {
        this.running = false
        this.hooks.ended(outcome)
        return outcome.kind === 'exited' ? (this.multiprocess ? `W00;process:${PID}` : 'W00') : `X${SIGSEGV.toString(16).padStart(2, '0')}`
      }
      return this.stopped(this.debugStop(outcome.vcpu, outcome.arch.hsr, outcome.arch.far))
    }
    if (!anyRunnable) {
      this.running = false
      this.hooks.ended({ kind: 'error', message: 'every vCPU is powered off' })
      return 'W00'
    }
    return null
  }

  private debugStop(vcpu: number, esr: number, far: bigint): StopState {
    const ec = esr >>> 26
    if (ec === EC_DABT_CURRENT || ec === EC_DABT_LOWER) return { signal: SIGSEGV, thread: vcpu, siCode: SEGV_MTESERR, siAddr: far, extra: '' }
    if (ec === EC_WATCHPOINT) {
      const isWrite = ((esr >>> 6) & 1) === 1
      // Report an address inside the watched range, as GDB matches it against its watchpoints.
      const w = this.target.regs.watchpoints.find((x) => far < x.address + BigInt(x.length) && x.address < far + 16n)
      const addr = w === undefined ? far : far > w.address ? far : w.address
      const key = w?.kind === 'read' ? 'rwatch' : w?.kind === 'access' || !isWrite ? 'awatch' : 'watch'
      return { signal: SIGTRAP, thread: vcpu, siCode: TRAP_HWBKPT, siAddr: addr, extra: `${key}:${addr.toString(16)};` }
    }
    return { signal: SIGTRAP, thread: vcpu, siCode: ec === EC_SOFTWARE_STEP ? TRAP_TRACE : TRAP_BRKPT, siAddr: 0n, extra: '' }
  }

  private stopped(state: StopState): string {
    this.running = false
    this.stepping = undefined
    this.interruptRequested = false
    this.stop = state
    this.gThread = state.thread
    for (const vcpu of this.target.vcpus) this.target.settle(vcpu)
    this.target.applyDebug(true)
    return this.stopReply()
  }

  private stopReply(): string {
    const s = this.stop
    return `T${s.signal.toString(16).padStart(2, '0')}${s.extra}thread:${this.threadId(s.thread)};`
  }

  /** Debugger gone or detached: breakpoints off, the guest runs on. */
  detach(): void {
    this.target.regs.breakpoints.length = 0
    this.target.regs.watchpoints.length = 0
    this.target.applyDebug(false)
    this.running = false
  }

  // ---- queries -------------------------------------------------------------------------------

  private query(p: string): string {
    if (p.startsWith('qSupported')) {
      const offered = p.slice(11).split(';')
      this.multiprocess = offered.includes('multiprocess+')
      const features = [`PacketSize=${PACKET_SIZE.toString(16)}`, 'qXfer:features:read+', 'qXfer:siginfo:read+', 'vContSupported+', 'QStartNoAckMode+']
      if (this.multiprocess) features.push('multiprocess+')
      if (this.target.mte) features.push('memory-tagging+')
      return features.join(';')
    }
    if (p === 'qAttached' || p.startsWith('qAttached:')) return '1'
    if (p === 'qC') return `QC${this.threadId(this.gThread)}`
    if (p === 'qfThreadInfo') return 'm' + this.target.vcpus.map((_, i) => this.threadId(i)).join(',')
    if (p === 'qsThreadInfo') return 'l'
    if (p.startsWith('qThreadExtraInfo,')) {
      const t = this.threadOf(p.slice(17))
      return t === undefined || t < 0 ? E.NO_THREAD : textToHex(`vCPU ${t}${this.target.runnable(this.target.vcpus[t]!) ? '' : ' (powered off)'}`)
    }
    if (p.startsWith('qXfer:')) return this.qXfer(p.slice(6))
    if (p.startsWith('qMemTags:')) return this.qMemTags(p.slice(9))
    if (p.startsWith('qIsAddressTagged:')) {
      const addr = parseHexU64(p.slice(17))
      return addr === undefined ? E.INVALID : this.target.isTagged(this.vcpu, addr) ? '01' : '00'
    }
    if (p.startsWith('qMemoryRegionInfo:')) return this.memoryRegionInfo(p.slice(18))
    if (p === 'qHostInfo' || p === 'qProcessInfo') {
      const triple = textToHex('aarch64-unknown-linux-gnu')
      return `${p === 'qProcessInfo' ? `pid:${PID};` : ''}triple:${triple};endian:little;ptrsize:8;`
    }
    if (p.startsWith('qWatchpointSupportInfo')) return 'num:16;'
    if (p === 'qSymbol::') return 'OK'
    if (p === 'qOffsets') return 'Text=0;Data=0;Bss=0'
    return ''
  }

  private set(p: string): string {
    if (p === 'QStartNoAckMode') {
      this.noAck = true
      return 'OK'
    }
    if (p.startsWith('QMemTags:')) return this.qSetMemTags(p.slice(9))
    return ''
  }

  /** qXfer:OBJECT:read:ANNEX:OFFSET,LENGTH. */
  private qXfer(args: string): string {
    const m = /^([a-z-]+):read:([^:]*):([0-9a-fA-F]+),([0-9a-fA-F]+)$/.exec(args)
    if (m === null) return args.includes(':read:') || args.includes(':write:') ? E.INVALID : ''
    const [, object, annex, offText, lenText] = m as unknown as [string, string, string, string, string]
    const offset = parseHexCount(offText, 1 << 30)
    const length = parseHexCount(lenText, 1 << 30)
    if (offset === undefined || length === undefined) return E.INVALID
    let data: string
    if (object === 'features') {
      if (annex !== 'target.xml') return E.FAULT
      data = this.xml
    } else if (object === 'siginfo') {
      if (annex !== '') return E.INVALID
      data = this.siginfo()
    } else return ''
    const chunk = data.slice(offset, offset + Math.min(length, PACKET_SIZE / 2))
    return (offset + chunk.length >= data.length ? 'l' : 'm') + chunk
  }

  /** The last stop as a Linux arm64 siginfo_t (128 bytes): signo, errno, code, then si_addr at 16. */
  private siginfo(): string {
    const info = new DataView(new ArrayBuffer(128))
    info.setInt32(0, this.stop.signal, true)
    info.setInt32(8, this.stop.siCode, true)
    info.setBigUint64(16, this.stop.siAddr, true)
    return String.fromCharCode(...new Uint8Array(info.buffer))
  }

  /** qMemTags:ADDR,LENGTH:TYPE: allocation tags (type 1) of the granules covering the range, one hex byte each. */
  private qMemTags(args: string): string {
    const colon = args.lastIndexOf(':')
    const r = colon < 0 ? undefined : this.range(args.slice(0, colon), 1 << 20)
    const type = colon < 0 ? undefined : parseHexCount(args.slice(colon + 1), 0xffff)
    if (r === undefined || type === undefined) return E.INVALID
    if (type !== 1) return 'E03'
    const tags = this.target.readTags(this.vcpu, r.addr, r.length)
    if (tags === undefined) return 'E04'
    if (tags.length * 2 + 1 > PACKET_SIZE) return E.INVALID
    return 'm' + toHex(tags)
  }

  /** QMemTags:ADDR,LENGTH:TYPE:TAGS: writes allocation tags, repeating TAGS over the range (as QEMU). */
  private qSetMemTags(args: string): string {
    const m = /^([0-9a-fA-F]+),([0-9a-fA-F]+):([0-9a-fA-F]+):([0-9a-fA-F]*)$/.exec(args)
    if (m === null) return E.INVALID
    const r = this.range(`${m[1]},${m[2]}`, 1 << 20)
    const type = parseHexCount(m[3]!, 0xffff)
    const tags = fromHex(m[4]!)
    if (r === undefined || type === undefined || tags === undefined || tags.length === 0) return E.INVALID
    if (type !== 1) return 'E02'
    if (tags.some((t) => t > 15)) return E.INVALID
    return this.target.writeTags(this.vcpu, r.addr, r.length, tags) ? 'OK' : 'E04'
  }

  /** LLDB's qMemoryRegionInfo:ADDR: the run of pages around ADDR with one kind of mapping; `flags:mt` when Tagged. */
  private memoryRegionInfo(arg: string): string {
    const addr = parseHexU64(arg)
    if (addr === undefined) return E.INVALID
    const region = smapsRegionAt(this.target, this.vcpu, addr)
    let reply = `start:${region.start.toString(16)};size:${region.size.toString(16)};`
    if (region.mapped) reply += `permissions:r${region.writeable ? 'w' : ''}x;`
    if (region.tagged) reply += 'flags:mt;'
    return reply
  }

  // ---- vFile: the guest's memory map as /proc/PID/smaps -----------------------------------

  /**
   * GDB 13 decides whether an address may carry tags from /proc/PID/smaps ("mt" in
   * VmFlags), read from the target with vFile. A bare-metal guest has no /proc, so the stub
   * serves that one file, made from the guest's stage-1 tables: Tagged mappings get "mt".
   */
  private vFile(args: string): string {
    const colon = args.indexOf(':')
    const op = colon < 0 ? args : args.slice(0, colon)
    const rest = colon < 0 ? '' : args.slice(colon + 1)
    switch (op) {
      case 'setfs':
        return 'F0'
      case 'open': {
        const [nameHex] = rest.split(',')
        const name = nameHex === undefined ? undefined : fromHex(nameHex)
        const path = name === undefined ? '' : String.fromCharCode(...name)
        if (path !== `/proc/${PID}/smaps`) return 'F-1,2' // ENOENT
        const fd = this.nextFd++
        this.files.set(fd, Uint8Array.from(smapsText(this.target, this.vcpu), (c) => c.charCodeAt(0)))
        return `F${fd.toString(16)}`
      }
      case 'pread': {
        const [fdText, countText, offText] = rest.split(',')
        const fd = fdText === undefined ? undefined : parseHexCount(fdText)
        const file = fd === undefined ? undefined : this.files.get(fd)
        const count = countText === undefined ? undefined : parseHexCount(countText, 1 << 30)
        const offset = offText === undefined ? undefined : parseHexCount(offText, 1 << 30)
        if (file === undefined) return 'F-1,9' // EBADF
        if (count === undefined || offset === undefined) return 'F-1,16'
        const chunk = file.subarray(offset, offset + Math.min(count, PACKET_SIZE / 2))
        return `F${chunk.length.toString(16)};${String.fromCharCode(...chunk)}`
      }
      case 'close': {
        const fd = parseHexCount(rest)
        return fd !== undefined && this.files.delete(fd) ? 'F0' : 'F-1,9'
      }
      default:
        return ''
    }
  }
}
