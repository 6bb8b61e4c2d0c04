// Interrupts and time on the machine: (1) Debian's arm64 kernel from the Linux kit booted to
// /init on the instruction clock: guest instructions, CPU seconds and wall seconds, beside
// QEMU 10's instruction count from guests/linux/boot-facts.qemu.txt; (2) the host CPU an idle
// guest costs: a vCPU asleep in WFI on the host clock, woken by a 4 ms periodic timer (Linux's
// HZ=250 tick without NOHZ, a worst case for an idle shell), for 10 s of wall time.
// Prints figures; never fails on time. Without the kit, (1) says how to build it.
import { cpuUsage } from 'node:process'
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Machine, type MachineConfig } from '../src/index.js'

const cpuSeconds = (): number => {
  const u = cpuUsage()
  return (u.user + u.system) / 1e6
}

const guests = fileURLToPath(new URL('../../../guests/linux/', import.meta.url))
const image = `${guests}out/Image`
const initramfs = `${guests}out/initramfs.cpio.gz`
if (!existsSync(image) || !existsSync(initramfs)) {
  console.log(`linux boot to /init: no kit in ${guests}out (build it with guests/linux/build-kit.sh)`)
} else {
  let console_ = ''
  const machine = Machine.create({ ramBase: 0x4000_0000, ramSize: 1 << 30, cpus: 1, mte: true, backing: 'anon', clock: 'instructions' }, {
    console: (bytes) => (console_ += new TextDecoder().decode(bytes)),
  })
  machine.boot(new Uint8Array(readFileSync(image)), image, {
    initrd: { bytes: new Uint8Array(readFileSync(initramfs)), file: initramfs },
    bootargs: 'console=ttyAMA0 rdinit=/init tagvm.run=boot',
  })
  const cpu0 = cpuSeconds()
  const wall0 = performance.now()
  while (!console_.includes('Run /init as init process') && machine.retired < 2e9) machine.run(10_000_000)
  const cpu = cpuSeconds() - cpu0
  const wall = (performance.now() - wall0) / 1000
  const qemu = /^icount .*CNTVCT (\d+)/m.exec(readFileSync(`${guests}boot-facts.qemu.txt`, 'utf8'))
  console.log(
    `linux boot to /init: tagvm ${(machine.retired / 1e9).toFixed(3)} G instructions, ${cpu.toFixed(1)} CPU s, ${wall.toFixed(1)} wall s ` +
      `(${(machine.retired / 1e6 / cpu).toFixed(1)} MIPS per CPU-second); QEMU 10 -icount: ${qemu ? (Number(qemu[1]) / 1e9).toFixed(3) : '?'} G (boot-facts.qemu.txt)`,
  )
}

// The idle guest: GICv3 on, PPI 30 every 4 ms, WFI in a loop (clang/ld.lld 14 at 0x4008_0000).
const MAIN = [
  0x10004001, 0xd518c001, 0xd2a10002, 0x52800043, 0xb9000043, 0xd2a10164, 0x52a80005, 0xb9010085, 0xd2801f06, 0xd5184606,
  0xd2800026, 0xd518cce6, 0xd5033fdf, 0xd2800014, 0xd2a007a7, 0xf2812007, 0xd51be207, 0xd2800027, 0xd51be227, 0xd50342ff,
  0xd503207f, 0xf10fa29f, 0x54ffffcb, 0x52b08000, 0x11002000, 0xd4000002,
]
const IRQ = [0xd538cc15, 0xd53be036, 0xca1602f7, 0x91000694, 0xd2a007a7, 0xf2812007, 0xd51be207, 0xd518cc35, 0xd69f03e0]
const words = new Uint32Array(0xa80 / 4 + IRQ.length)
words.set(MAIN)
words.set(IRQ, 0xa80 / 4)
const config: MachineConfig = { ramBase: 0x4000_0000, ramSize: 8 << 20, cpus: 1, mte: false, backing: 'anon', clock: 'host' }
const idle = Machine.create(config, { console: () => {} })
idle.boot(new Uint8Array(words.buffer), 'idle.bin', { base: 0x4008_0000 })
const cpu0 = cpuSeconds()
const wall0 = performance.now()
while (performance.now() - wall0 < 10_000) idle.run(1_000_000)
const cpu = cpuSeconds() - cpu0
const wall = (performance.now() - wall0) / 1000
console.log(`idle guest (WFI, 4 ms timer, host clock): ${((100 * cpu) / wall).toFixed(2)}% of one core over ${wall.toFixed(1)} s, ${idle.retired} instructions`)
