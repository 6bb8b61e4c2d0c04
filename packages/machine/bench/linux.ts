// Linux on the machine, beside QEMU 10 in the same run:
// (1) Debian's arm64 kernel from the Linux kit (guests/linux/out) booted to /init: QEMU 10
//     (guests/linux/run-qemu.sh boot: -M virt,mte=on,gic-version=3 -cpu max, real time) and
//     tagvm (host clock, as `tagvm run` has it) with the interpreter and with the compiled
//     tier (--jit), wall seconds from start to init's first line and the ratios; tagvm's CPU
//     seconds, guest instructions and their rate beside QEMU's instruction count under -icount
//     (guests/linux/boot-facts.qemu.txt), and where the tier's time went (translation, exits).
//     Without qemu-system-aarch64 the QEMU side says so and tagvm's figures stand alone.
// (2) the host CPU the booted guest costs idling at its busybox prompt, driven the way `tagvm
//     run` on a terminal drives it (slices of the console size, the event loop between, a wait
//     for the guest's next deadline while it sleeps), interleaved with the polling loop tagvm
//     had before (run() sleeping at most 20 ms a call); then `poweroff -f` typed at the prompt
//     must power the machine off.
// (3) the host CPU a synthetic idle guest costs: a vCPU asleep in WFI on the host clock, woken
//     by a 4 ms periodic timer (HZ=250 without NOHZ, a worst case for an idle Linux), for 10 s
//     (it powers off after 4095 interrupts, over 16 s).
// Prints figures; never fails on time. Without the kit, (1) and (2) say how to build it.
import { spawn, spawnSync } from 'node:child_process'
import { cpuUsage } from 'node:process'
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { xRegId } from '@tagvm/vmm-api'
import { Machine, type MachineConfig, type StopReason } from '../src/index.js'

const cpuSeconds = (): number => {
  const u = cpuUsage()
  return (u.user + u.system) / 1e6
}
const seconds = (ms: number): string => (ms / 1000).toFixed(1)

const guests = fileURLToPath(new URL('../../../guests/linux/', import.meta.url))
const image = `${guests}out/Image`
const initramfs = `${guests}out/initramfs.cpio.gz`
/** Init's first line: the boot is at /init. */
const INIT_LINE = '=== tagvm-kit: /init started'
/** Instructions per run() between event-loop turns, as `tagvm run` on a terminal (CONSOLE_SLICE). */
const CONSOLE_SLICE = 200_000
const IDLE_MS = 10_000
/** Rounds of each idle mode on the booted shell, and their length. */
const IDLE_ROUNDS = 3
const IDLE_ROUND_MS = 5_000

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

/**
 * One turn of `tagvm run`'s terminal loop (apps/tagvm runInteractive, no keys typed): a slice
 * of the guest, then the event loop; while every vCPU waits in WFI, a sleep until the next
 * deadline (at most `capMs`).
 */
async function consoleTurn(machine: Machine, capMs = Infinity): Promise<StopReason> {
  const stop = machine.run(CONSOLE_SLICE, { idle: 'return' })
  if (stop.kind === 'budget' && stop.idleMs !== undefined) {
    const ms = Math.ceil(Math.min(stop.idleMs, capMs, 2 ** 31 - 1))
    await new Promise((resolve) => setTimeout(resolve, ms))
  } else {
    await nextTurn()
  }
  return stop
}

/** QEMU 10 booting the kit in `boot` mode: wall ms to init's first line and to its exit, or why not. */
async function qemuBoot(): Promise<{ initMs: number; exitMs: number; status: number | null } | string> {
  const probe = spawnSync('qemu-system-aarch64', ['--version'], { encoding: 'utf8' })
  if (probe.error || probe.status !== 0) return 'qemu-system-aarch64 not found: no QEMU figures (install QEMU 10 to compare)'
  const version = /version (\d+)\.(\d+)/.exec(probe.stdout)
  if (!version || Number(version[1]) < 10) return `QEMU 10 or later needed for the comparison, found: ${probe.stdout.split('\n')[0]}`
  const start = performance.now()
  const child = spawn('bash', [`${guests}run-qemu.sh`, 'boot'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let initMs = Number.NaN
  let output = ''
  child.stdout.setEncoding('latin1').on('data', (text: string) => {
    output += text
    if (Number.isNaN(initMs) && output.includes(INIT_LINE)) initMs = performance.now() - start
  })
  child.stderr.resume()
  const status = await new Promise<number | null>((resolve) => child.on('close', resolve))
  if (Number.isNaN(initMs)) return `QEMU did not reach /init (status ${status}): ${output.slice(-300)}`
  return { initMs, exitMs: performance.now() - start, status }
}

/** The tier's counters (@tagvm/cpu JitStats), read through the vCPU's hypervisor CPU: the bench looks inside. */
interface TierStats {
  regions: number
  translatedInstructions: number
  codeBytes: number
  compileMs: number
  entries: number
  exits: number[]
  tlbFills: number
  tlbFlushes: number
}

interface TagvmBoot {
  jit: boolean
  machine: Machine
  screen: string
  onScreen: (text: string) => void
  initMs: number
  initCpu: number
  atInit: number
  jitStats: TierStats | undefined
}

/** tagvm (interpreter, or with the compiled tier) booting the kit to init's first line, on the host clock as `tagvm run` does. */
async function tagvmBoot(jit: boolean): Promise<TagvmBoot | string> {
  const boot: Partial<TagvmBoot> & { screen: string } = { jit, screen: '' }
  boot.onScreen = (text) => (boot.screen += text)
  const machine = Machine.create({ ramBase: 0x4000_0000, ramSize: 1 << 30, cpus: 1, mte: true, backing: 'anon', clock: 'host' }, {
    console: (bytes) => boot.onScreen!(new TextDecoder().decode(bytes)),
  }, { jit })
  const wall0 = performance.now()
  const cpu0 = cpuSeconds()
  machine.boot(new Uint8Array(readFileSync(image)), image, {
    initrd: { bytes: new Uint8Array(readFileSync(initramfs)), file: initramfs },
    bootargs: 'console=ttyAMA0 rdinit=/init tagvm.run=shell',
  })
  while (!boot.screen.includes(INIT_LINE) && machine.retired < 5e9) {
    if ((await consoleTurn(machine)).kind !== 'budget') break
  }
  if (!boot.screen.includes(INIT_LINE)) return boot.screen.slice(-500)
  const cpu = (machine.vcpus[0]!.vcpu as unknown as { cpu: { jit: { stats: TierStats } | null } }).cpu
  // The same object: the console above keeps calling its onScreen.
  return Object.assign(boot, {
    machine,
    initMs: performance.now() - wall0,
    initCpu: cpuSeconds() - cpu0,
    atInit: machine.retired,
    jitStats: cpu.jit ? { ...cpu.jit.stats, exits: [...cpu.jit.stats.exits] } : undefined,
  }) as TagvmBoot
}

async function linux(): Promise<void> {
  if (!existsSync(image) || !existsSync(initramfs)) {
    console.log(`linux boot to /init: no kit in ${guests}out (build it with guests/linux/build-kit.sh)`)
    return
  }
  const qemu = await qemuBoot()

  const boots = []
  let idleLine = ''
  for (const jit of [false, true]) {
    const boot = await tagvmBoot(jit)
    if (typeof boot === 'string') {
      console.log(`linux boot to /init: tagvm${jit ? ' --jit' : ''} did not get there: ${boot}`)
      return
    }
    boots.push(boot)
    if (!jit) idleLine = await idleShell(boot)
  }
  const icount = /^icount .*CNTVCT (\d+)/m.exec(readFileSync(`${guests}boot-facts.qemu.txt`, 'utf8'))
  for (const boot of boots) {
    console.log(
      `linux boot to /init, tagvm${boot.jit ? ' --jit' : ''}: ${seconds(boot.initMs)} s wall, ${boot.initCpu.toFixed(1)} CPU s, ${(boot.atInit / 1e9).toFixed(3)} G guest instructions, ` +
        `${(boot.atInit / boot.initCpu / 1e6).toFixed(1)} M a CPU second (host clock; QEMU 10 -icount: ${icount ? (Number(icount[1]) / 1e9).toFixed(3) : '?'} G, boot-facts.qemu.txt)`,
    )
    if (boot.jitStats) {
      const t = boot.jitStats
      console.log(
        `  the tier's part: ${t.regions} regions (${t.translatedInstructions} instructions, ${(t.codeBytes / 1e6).toFixed(1)} MB of wasm) translated in ${(t.compileMs / 1000).toFixed(1)} s, ` +
          `${t.entries} entries; exits: ${t.exits[0]} branch, ${t.exits[1]} budget, ${t.exits[2]} to the interpreter for one instruction, ${t.exits[3]} stop; ${t.tlbFills} fast-TLB fills, ${t.tlbFlushes} flushes`,
      )
    }
  }
  const [interpreter, tier] = boots as [TagvmBoot, TagvmBoot]
  console.log(`linux boot to /init, CPU time interpreter / tier: ${(interpreter.initCpu / tier.initCpu).toFixed(2)}x`)
  if (typeof qemu === 'string') console.log(`linux boot to /init, QEMU 10: ${qemu}`)
  else {
    console.log(`linux boot to /init, QEMU 10 (real time, same kernel and initramfs): ${seconds(qemu.initMs)} s wall (powered off after ${seconds(qemu.exitMs)} s, status ${qemu.status})`)
    console.log(`linux boot to /init, wall time tagvm / QEMU 10: interpreter ${(interpreter.initMs / qemu.initMs).toFixed(1)}x, tier ${(tier.initMs / qemu.initMs).toFixed(1)}x`)
  }
  console.log(idleLine)
}

/**
 * The booted interpreter machine idling at its prompt as `tagvm run` drives it, then powered off.
 * Runs before the tier boots: a second machine (1 GiB, ~100 MB of wasm) alive in the same
 * process doubled the idle figure (more GC work per wake-up), which `tagvm run` never has.
 */
async function idleShell(interpreter: TagvmBoot): Promise<string> {
  const { machine, atInit } = interpreter
  let screen = interpreter.screen
  machine.flushConsole()
  interpreter.onScreen = (text) => (screen += text)

  // To the prompt, then idle as a terminal session does.
  while (!/\/ # /.test(screen) && machine.retired < atInit + 2e9) {
    if ((await consoleTurn(machine)).kind !== 'budget') break
  }
  // The two ways run() can spend an idle guest's time, interleaved (A B A B ...): 'sleep'
  // blocks up to 20 ms per call and the caller polls (tagvm before idle: 'return'); 'return'
  // hands the wait to the event loop, which sleeps to the guest's next deadline.
  const figures: Record<'sleep' | 'return', number[]> = { sleep: [], return: [] }
  let idleInstructions = 0
  for (let round = 0; round < IDLE_ROUNDS; round++) {
    for (const mode of ['sleep', 'return'] as const) {
      const cpu0 = cpuSeconds()
      const wall0 = performance.now()
      const retired0 = machine.retired
      while (performance.now() - wall0 < IDLE_ROUND_MS) {
        if (mode === 'return') await consoleTurn(machine, IDLE_ROUND_MS - (performance.now() - wall0))
        else {
          machine.run(CONSOLE_SLICE)
          await nextTurn()
        }
      }
      figures[mode].push((100 * (cpuSeconds() - cpu0)) / ((performance.now() - wall0) / 1000))
      if (mode === 'return') idleInstructions += machine.retired - retired0
    }
  }
  const summary = (values: number[]): string => {
    const sorted = [...values].sort((a, b) => a - b)
    return `best ${sorted[0]!.toFixed(2)}%, median ${sorted[sorted.length >> 1]!.toFixed(2)}%`
  }
  machine.uart.receive(new TextEncoder().encode('poweroff -f\r'))
  let stop = await consoleTurn(machine)
  for (let turns = 0; stop.kind === 'budget' && turns < 100_000; turns++) stop = await consoleTurn(machine)
  return (
    `idle Linux shell (busybox prompt, host clock), % of one core, ${IDLE_ROUNDS} interleaved ${IDLE_ROUND_MS / 1000} s rounds each: ` +
      `event-loop wait (idle: 'return', tagvm run today) ${summary(figures.return)}; polling (run() sleeping <= 20 ms a call) ${summary(figures.sleep)}; ` +
      `${Math.round(idleInstructions / ((IDLE_ROUNDS * IDLE_ROUND_MS) / 1000))} guest instructions a second; then poweroff -f: ${stop.kind}`
  )
}

// The idle guest: GICv3 on, PPI 30 every 4 ms, WFI in a loop until x20 = 4095 (clang/ld.lld 14 at 0x4008_0000).
const MAIN = [
  0x10004001, 0xd518c001, 0xd2a10002, 0x52800043, 0xb9000043, 0xd2a10164, 0x52a80005, 0xb9010085, 0xd2801f06, 0xd5184606,
  0xd2800026, 0xd518cce6, 0xd5033fdf, 0xd2800014, 0xd2a007a7, 0xf2812007, 0xd51be207, 0xd2800027, 0xd51be227, 0xd50342ff,
  0xd503207f, 0xf13ffe9f, 0x54ffffcb, 0x52b08000, 0x11002000, 0xd4000002,
]
const IRQ = [0xd538cc15, 0xd53be036, 0xca1602f7, 0x91000694, 0xd2a007a7, 0xf2812007, 0xd51be207, 0xd518cc35, 0xd69f03e0]

async function syntheticIdle(): Promise<void> {
  const words = new Uint32Array(0xa80 / 4 + IRQ.length)
  words.set(MAIN)
  words.set(IRQ, 0xa80 / 4)
  const config: MachineConfig = { ramBase: 0x4000_0000, ramSize: 8 << 20, cpus: 1, mte: false, backing: 'anon', clock: 'host' }
  const idle = Machine.create(config, { console: () => {} })
  idle.boot(new Uint8Array(words.buffer), 'idle.bin', { base: 0x4008_0000 })
  const cpu0 = cpuSeconds()
  const wall0 = performance.now()
  while (performance.now() - wall0 < IDLE_MS) await consoleTurn(idle, IDLE_MS - (performance.now() - wall0))
  const cpu = cpuSeconds() - cpu0
  const wall = (performance.now() - wall0) / 1000
  // x20 counts the interrupts taken: how many of the 4 ms ticks the guest saw.
  const ticks = Number(idle.vcpus[0]!.getOneReg(xRegId(20)))
  console.log(
    `idle guest (WFI, 4 ms timer, host clock): ${((100 * cpu) / wall).toFixed(2)}% of one core over ${wall.toFixed(1)} s, ` +
      `${idle.retired} instructions, ${ticks} timer interrupts (${((1000 * wall) / Math.max(1, ticks)).toFixed(1)} ms apart)`,
  )
}

await linux()
await syntheticIdle()
