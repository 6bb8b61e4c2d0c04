// What the stub does to the machine, through the KVM-shaped API only (as a KVM VMM's stub):
// vCPUs run with KVM_SET_GUEST_DEBUG; memory is the guest's stage-1 view (KVM_TRANSLATE,
// then guest RAM through the VMM's own mapping); allocation tags go through
// KVM_ARM_MTE_COPY_TAGS, a whole page at a time as the ioctl requires.

import type { Machine } from '@tagvm/machine'
import {
  KVM_ARM_MAX_DBG_REGS, KVM_ARM_TAGS_FROM_GUEST, KVM_ARM_TAGS_TO_GUEST, KVM_GUESTDBG_ENABLE, KVM_GUESTDBG_SINGLESTEP,
  KVM_GUESTDBG_TAGVM_TAG_FAULTS, KVM_GUESTDBG_USE_HW, KVM_MP_STATE_STOPPED, KVM_SYSTEM_EVENT_RESET, KVM_SYSTEM_EVENT_SHUTDOWN,
  ga, isKvmError, type DebugExitArch, type VcpuFd,
} from '@tagvm/vmm-api'

const PAGE = 4096
const GRANULE = 16
const TAGS_PER_PAGE = PAGE / GRANULE

/** A breakpoint or watchpoint as GDB asked for it (Z packets). */
export interface HwWatch {
  readonly address: bigint
  readonly length: number
  readonly kind: 'write' | 'read' | 'access'
}

/** Why the guest stopped (or ended) while running under the stub. */
export type RunOutcome =
  | { readonly kind: 'debug'; readonly vcpu: number; readonly arch: DebugExitArch }
  | { readonly kind: 'exited'; readonly how: 'power-off' | 'reset' }
  | { readonly kind: 'error'; readonly message: string }

/** The debug-register image shared by every vCPU (as QEMU's KVM stub keeps one pool). */
export class DebugRegisters {
  readonly breakpoints: bigint[] = []
  readonly watchpoints: HwWatch[] = []

  /** struct kvm_guest_debug_arch for these breakpoints and watchpoints. */
  arch(): { dbgBcr: bigint[]; dbgBvr: bigint[]; dbgWcr: bigint[]; dbgWvr: bigint[] } {
    const dbgBcr: bigint[] = []
    const dbgBvr: bigint[] = []
    for (const address of this.breakpoints) {
      // E, PMC = EL1 and EL0, BAS = all four bytes of the A64 instruction.
      dbgBcr.push(0x1n | (0x3n << 1n) | (0xfn << 5n))
      dbgBvr.push(address)
    }
    const dbgWcr: bigint[] = []
    const dbgWvr: bigint[] = []
    for (const w of this.watchpoints) {
      const [wcr, wvr] = watchRegisters(w)
      dbgWcr.push(wcr)
      dbgWvr.push(wvr)
    }
    return { dbgBcr, dbgBvr, dbgWcr, dbgWvr }
  }

  get full(): boolean {
    return this.breakpoints.length >= KVM_ARM_MAX_DBG_REGS
  }
}

/**
 * DBGWCR/DBGWVR for a watched range: byte-select (BAS) inside one doubleword, else an
 * address mask (MASK) over the smallest aligned power of two that covers the range.
 */
export function watchRegisters(w: HwWatch): [bigint, bigint] {
  const lsc = w.kind === 'read' ? 1n : w.kind === 'write' ? 2n : 3n
  const base = 0x1n | (0x3n << 1n) | (lsc << 3n)
  const offset = Number(w.address & 7n)
  if (offset + w.length <= 8) {
    const bas = ((1 << w.length) - 1) << offset
    return [base | (BigInt(bas) << 5n), w.address & ~7n]
  }
  let bits = 3
  while (bits < 31) {
    const size = 1n << BigInt(bits)
    const start = w.address & ~(size - 1n)
    if (start + size >= w.address + BigInt(w.length)) return [base | (0xffn << 5n) | (BigInt(bits) << 24n), start]
    bits++
  }
  return [base | (0xffn << 5n) | (31n << 24n), w.address & ~((1n << 31n) - 1n)]
}

/** The address without its top byte (tag), as TBI reads it: bit 55 copied up. */
export function untagged(va: bigint): bigint {
  const low = va & 0x00ff_ffff_ffff_ffffn
  return (va >> 55n) & 1n ? low | 0xff00_0000_0000_0000n : low
}

/** The machine as the stub drives it. */
export class DebugTarget {
  readonly regs = new DebugRegisters()
  /** vCPUs with an MMIO access to complete on their next run. */
  private readonly mmioPending = new Set<VcpuFd>()

  constructor(readonly machine: Machine) {}

  get vcpus(): readonly VcpuFd[] {
    return this.machine.vcpus
  }

  get mte(): boolean {
    return this.machine.config.mte
  }

  /** Applies the debug registers (and single-step for `stepping`) to every vCPU; `on` false turns debugging off. */
  applyDebug(on: boolean, stepping?: VcpuFd): void {
    for (const vcpu of this.vcpus) {
      if (!on) {
        vcpu.setGuestDebug({ control: 0 })
        continue
      }
      let control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW
      if (this.mte) control |= KVM_GUESTDBG_TAGVM_TAG_FAULTS
      if (vcpu === stepping) control |= KVM_GUESTDBG_SINGLESTEP
      vcpu.setGuestDebug({ control, arch: this.regs.arch() })
    }
  }

  runnable(vcpu: VcpuFd): boolean {
    return vcpu.getMpState() !== KVM_MP_STATE_STOPPED
  }

  /**
   * One KVM_RUN of `budget` instructions with its exit handled as the machine does (MMIO to
   * the bus). Returns an outcome when the guest stopped or ended, else undefined.
   */
  runOnce(vcpu: VcpuFd, budget: number): RunOutcome | undefined {
    const machine = this.machine
    const before = vcpu.retiredInstructions
    this.mmioPending.delete(vcpu)
    let exit
    try {
      exit = vcpu.run(budget)
    } catch (error) {
      if (isKvmError(error)) return { kind: 'error', message: error.message }
      throw error
    } finally {
      machine.retired += Math.max(0, vcpu.retiredInstructions - before)
    }
    switch (exit.kind) {
      case 'intr':
        machine.flushConsole()
        return undefined
      case 'mmio':
        this.mmioPending.add(vcpu)
        if (exit.write) machine.bus.write(exit.addr, exit.data)
        else if (!machine.bus.read(exit.addr, exit.data)) exit.data.fill(0)
        return undefined
      case 'system-event':
        machine.flushConsole()
        if (exit.type === KVM_SYSTEM_EVENT_SHUTDOWN) return { kind: 'exited', how: 'power-off' }
        if (exit.type === KVM_SYSTEM_EVENT_RESET) return { kind: 'exited', how: 'reset' }
        return { kind: 'error', message: `the guest raised system event ${exit.type}` }
      case 'arm-nisv':
        return { kind: 'error', message: `MMIO access without a syndrome at IPA 0x${exit.faultIpa.toString(16)}` }
      case 'debug':
        machine.flushConsole()
        return { kind: 'debug', vcpu: vcpu.id, arch: exit.arch }
    }
  }

  /** Completes a pending MMIO access (KVM_RUN with no budget), so registers are exact while stopped. */
  settle(vcpu: VcpuFd): void {
    if (!this.mmioPending.delete(vcpu)) return
    vcpu.run(0)
  }

  // ---- memory through the guest's stage-1 view ------------------------------------------

  /** The IPA of a guest virtual address that is RAM, or undefined. */
  private ramAddress(vcpu: VcpuFd, va: bigint, length: number): { gpa: number; tagged: boolean } | undefined {
    const t = vcpu.translate(untagged(va))
    if (!t.valid || !this.machine.memory.contains(t.physicalAddress, length)) return undefined
    return { gpa: t.physicalAddress, tagged: t.tagged }
  }

  /** Reads up to `length` bytes at `va`; stops at the first page that is not RAM (may return fewer). */
  readMemory(vcpu: VcpuFd, va: bigint, length: number): Uint8Array {
    const out = new Uint8Array(length)
    let done = 0
    while (done < length) {
      const at = va + BigInt(done)
      const n = Math.min(length - done, PAGE - Number(at & 0xfffn))
      const where = this.ramAddress(vcpu, at, n)
      if (where === undefined) break
      this.machine.memory.read(where.gpa, out.subarray(done, done + n))
      done += n
    }
    return out.subarray(0, done)
  }

  /** Writes `bytes` at `va` (every page checked first: all or nothing). False when some page is not RAM. */
  writeMemory(vcpu: VcpuFd, va: bigint, bytes: Uint8Array): boolean {
    const parts: { gpa: number; from: number; n: number }[] = []
    let done = 0
    while (done < bytes.length) {
      const at = va + BigInt(done)
      const n = Math.min(bytes.length - done, PAGE - Number(at & 0xfffn))
      const where = this.ramAddress(vcpu, at, n)
      if (where === undefined) return false
      parts.push({ gpa: where.gpa, from: done, n })
      done += n
    }
    for (const p of parts) this.machine.memory.write(p.gpa, bytes.subarray(p.from, p.from + p.n))
    return true
  }

  // ---- allocation tags --------------------------------------------------------------------

  /** Whether `va` is RAM mapped Tagged at stage 1 in a VM with MTE (qIsAddressTagged). */
  isTagged(vcpu: VcpuFd, va: bigint): boolean {
    return this.mte && this.ramAddress(vcpu, va, 1)?.tagged === true
  }

  /**
   * The allocation tags of the granules covering [va, va + length) (the top byte of `va`
   * ignored); undefined when some granule is not Tagged RAM.
   */
  readTags(vcpu: VcpuFd, va: bigint, length: number): Uint8Array | undefined {
    const pages = this.taggedPages(vcpu, va, length)
    if (pages === undefined) return undefined
    const out: number[] = []
    for (const p of pages) {
      const tags = this.pageTags(p.gpaPage)
      for (let g = p.firstGranule; g <= p.lastGranule; g++) out.push(tags[g]!)
    }
    return Uint8Array.from(out)
  }

  /** Writes tags over the granules of [va, va + length), repeating `tags` as needed. False when not Tagged RAM. */
  writeTags(vcpu: VcpuFd, va: bigint, length: number, tags: Uint8Array): boolean {
    const pages = this.taggedPages(vcpu, va, length)
    if (pages === undefined || tags.length === 0) return false
    let k = 0
    for (const p of pages) {
      const page = this.pageTags(p.gpaPage)
      for (let g = p.firstGranule; g <= p.lastGranule; g++) page[g] = tags[k++ % tags.length]! & 0xf
      this.machine.vm.mteCopyTags({ guestIpa: ga(p.gpaPage), length: PAGE, addr: page, flags: KVM_ARM_TAGS_TO_GUEST })
    }
    return true
  }

  private pageTags(gpaPage: number): Uint8Array {
    const tags = new Uint8Array(TAGS_PER_PAGE)
    this.machine.vm.mteCopyTags({ guestIpa: ga(gpaPage), length: PAGE, addr: tags, flags: KVM_ARM_TAGS_FROM_GUEST })
    return tags
  }

  private taggedPages(vcpu: VcpuFd, va: bigint, length: number): { gpaPage: number; firstGranule: number; lastGranule: number }[] | undefined {
    if (!this.mte) return undefined
    const start = untagged(va) & ~0xfn
    const end = untagged(va) + BigInt(Math.max(length, 1))
    const pages = []
    for (let at = start; at < end; ) {
      const pageEnd = (at | 0xfffn) + 1n
      const stop = end < pageEnd ? end : pageEnd
      const where = this.ramAddress(vcpu, at, 1)
      if (where === undefined || !where.tagged) return undefined
      const offset = Number(at & 0xfffn)
      pages.push({ gpaPage: where.gpa - offset, firstGranule: offset / GRANULE, lastGranule: Math.floor((Number(stop - 1n) & 0xfff) / GRANULE) })
      at = stop
    }
    return pages
  }
}
