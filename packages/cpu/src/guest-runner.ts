// Test and bench helper (not exported): loads a guests/<name> ELF and runs it as QEMU's
// virt machine would, answering PL011 MMIO and PSCI HVC exits.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { JitOptions } from './jit/jit.js'
import { abortSyndrome, emulateMmio, makeMachine, type Machine } from './test-helpers.js'

export const GUESTS = fileURLToPath(new URL('../../../guests/', import.meta.url))

/** Loads an ELF64 little-endian AArch64 executable's PT_LOAD segments; returns the entry. */
export function loadElf(m: Machine, image: Uint8Array): bigint {
  const v = new DataView(image.buffer, image.byteOffset, image.byteLength)
  if (v.getUint32(0) !== 0x7f454c46 || image[4] !== 2 || image[5] !== 1 || v.getUint16(18, true) !== 183) {
    throw new Error('not an ELF64 little-endian AArch64 file')
  }
  const entry = v.getBigUint64(24, true)
  const phoff = Number(v.getBigUint64(32, true))
  const phentsize = v.getUint16(54, true)
  const phnum = v.getUint16(56, true)
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize
    if (v.getUint32(ph, true) !== 1) continue // PT_LOAD
    const offset = Number(v.getBigUint64(ph + 8, true))
    const paddr = Number(v.getBigUint64(ph + 24, true))
    const filesz = Number(v.getBigUint64(ph + 32, true))
    const memsz = Number(v.getBigUint64(ph + 40, true))
    m.memory.writeBytes(paddr, image.subarray(offset, offset + filesz))
    if (memsz > filesz) m.memory.fill(paddr + filesz, memsz - filesz, 0)
    m.cpu.invalidateCode(paddr, memsz)
  }
  return entry
}

const UART = 0x0900_0000
const PSCI_SYSTEM_OFF = 0x8400_0008n

interface GuestRun {
  output: string
  instructions: number
  poweredOff: boolean
  /** The machine after the run (final registers, statistics). */
  machine: Machine
}

/** Runs a bare-metal guest the way QEMU's virt machine would, answering MMIO and PSCI. */
export function runGuest(
  name: string, maxInstructions = 200_000_000, blocks = true, configure?: (m: Machine) => void, jit?: JitOptions,
  afterLoad?: (m: Machine, image: Uint8Array) => void,
): GuestRun {
  const m = makeMachine(128 << 20, blocks, false, jit)
  configure?.(m)
  // A name ending in .elf is a path to the image (bench guests outside guests/); otherwise
  // guests/<name>/<last part of name>.elf (fpsimd/<guest>).
  const image = readFileSync(name.endsWith('.elf') ? name : `${GUESTS}${name}/${name.slice(name.lastIndexOf('/') + 1)}.elf`)
  m.cpu.pc = loadElf(m, image)
  afterLoad?.(m, image)
  let output = ''
  let poweredOff = false
  const start = m.cpu.retired
  while (!poweredOff && m.cpu.retired - start < maxInstructions) {
    const exit = m.cpu.run(10_000_000)
    switch (exit.kind) {
      case 'budget':
        break
      case 'data-abort': {
        const access = abortSyndrome(exit)
        if (!access.isv) throw new Error(`data abort without syndrome at IPA ${exit.ipa.toString(16)}`)
        if (exit.ipa >= UART && exit.ipa < UART + 0x1000) {
          if (access.isWrite && exit.ipa === UART) output += String.fromCharCode(m.cpu.xLo(access.srt) & 0xff)
          emulateMmio(m.cpu, exit) // reads: FR = 0 (transmit FIFO never full)
        } else {
          m.cpu.injectAbort(true, (BigInt(exit.farHi) << 32n) | BigInt(exit.farLo))
        }
        break
      }
      case 'hvc': {
        const fn = m.cpu.getX(0)
        if (fn === PSCI_SYSTEM_OFF) poweredOff = true
        else m.cpu.setX(0, 0xffff_ffff_ffff_ffffn) // NOT_SUPPORTED
        break
      }
      default:
        throw new Error(`unexpected exit ${exit.kind}`)
    }
  }
  return { output, instructions: m.cpu.retired - start, poweredOff, machine: m }
}

