// KVM_SET_GUEST_DEBUG for arm64 (arch/arm64/kvm/guest.c kvm_arch_vcpu_ioctl_set_guest_debug,
// debug.c, handle_exit.c kvm_handle_guest_debug): the VMM's debugger stops the guest on
// hardware breakpoints and watchpoints it gives in struct kvm_guest_debug_arch, on BRK
// (software breakpoints the VMM writes into guest memory) and after single steps; each stop
// is KVM_EXIT_DEBUG with the debug exception's ESR (and FAR for a watchpoint). The CPU does
// the matching (@tagvm/cpu debug.ts); this module decodes the ABI and builds the exits.

import { DebugExceptionClass, syndrome, type CpuDebugConfig, type DebugBreakpoint, type DebugWatchpoint } from '@tagvm/cpu'
import { ACCESS_READ, ACCESS_WRITE, TranslationResult } from '@tagvm/mmu'
import { ErrnoError } from '@tagvm/tag-memory'
import type { GuestCpu } from './guest-cpu.js'

/** struct kvm_guest_debug.control: debugging on (include/uapi/linux/kvm.h); without it every other bit is ignored. */
export const KVM_GUESTDBG_ENABLE = 0x1
/** control: each KVM_RUN retires one instruction and exits with a software-step ESR. */
export const KVM_GUESTDBG_SINGLESTEP = 0x2
/** control (arm64): BRK exits to the VMM (EC 0x3c) instead of trapping to the guest's EL1. */
export const KVM_GUESTDBG_USE_SW_BP = 1 << 16
/** control (arm64): the VMM's hardware breakpoints and watchpoints in `arch` are armed. */
export const KVM_GUESTDBG_USE_HW = 1 << 17
/**
 * A tagvm extension (no KVM equivalent): a synchronous tag check fault exits as
 * KVM_EXIT_DEBUG (the data abort's ESR, FAR the tagged address) before the guest takes it;
 * when the vCPU runs the instruction again the guest takes the fault.
 */
export const KVM_GUESTDBG_TAGVM_TAG_FAULTS = 1 << 24
/** KVM_GUESTDBG_VALID_MASK for arm64, plus the tagvm extension. */
export const KVM_GUESTDBG_VALID_MASK =
  KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP | KVM_GUESTDBG_USE_SW_BP | KVM_GUESTDBG_USE_HW | KVM_GUESTDBG_TAGVM_TAG_FAULTS
/** KVM_ARM_MAX_DBG_REGS: length of each array of struct kvm_guest_debug_arch. */
export const KVM_ARM_MAX_DBG_REGS = 16
/** kvm_run.flags bit saying debug.arch.hsr_high is valid. */
export const KVM_DEBUG_ARCH_HSR_HIGH_VALID = 1 << 0

/** struct kvm_guest_debug_arch: DBGBCR/DBGBVR and DBGWCR/DBGWVR values, up to 16 of each. */
export interface GuestDebugArch {
  readonly dbgBcr?: readonly bigint[]
  readonly dbgBvr?: readonly bigint[]
  readonly dbgWcr?: readonly bigint[]
  readonly dbgWvr?: readonly bigint[]
}

/** struct kvm_guest_debug. `arch` is read only with KVM_GUESTDBG_USE_HW. */
export interface GuestDebug {
  readonly control: number
  readonly arch?: GuestDebugArch
}

/** struct kvm_debug_exit_arch (and kvm_run.flags). */
export interface DebugExitArch {
  /** ESR bits 31:0 of the debug exception. */
  readonly hsr: number
  /** ESR bits 63:32. */
  readonly hsrHigh: number
  /** The watched address for a watchpoint (FAR_EL2); for a tag fault exit the tagged address; else 0. */
  readonly far: bigint
  readonly flags: number
}

/** The decoded request: whether to single-step, and what the CPU matches (null: debugging off). */
export interface DecodedGuestDebug {
  readonly singleStep: boolean
  readonly cpu: CpuDebugConfig | null
}

const U64 = (1n << 64n) - 1n

/** Checks and decodes struct kvm_guest_debug; EINVAL for unknown control bits or bad arrays. */
export function decodeGuestDebug(dbg: GuestDebug): DecodedGuestDebug {
  const control = dbg.control
  if (!Number.isInteger(control) || control < 0 || control > 0xffffffff) throw new ErrnoError('EINVAL', `control ${String(control)} is not a u32`)
  if ((control & ~KVM_GUESTDBG_VALID_MASK) !== 0) throw new ErrnoError('EINVAL', `unknown KVM_GUESTDBG bits 0x${(control & ~KVM_GUESTDBG_VALID_MASK).toString(16)}`)
  // Without ENABLE, KVM clears guest_debug whatever the other bits say.
  if ((control & KVM_GUESTDBG_ENABLE) === 0) return { singleStep: false, cpu: null }
  const breakpoints: DebugBreakpoint[] = []
  const watchpoints: DebugWatchpoint[] = []
  if ((control & KVM_GUESTDBG_USE_HW) !== 0) {
    const arch = dbg.arch ?? {}
    const bcr = regs(arch.dbgBcr, 'dbg_bcr')
    const bvr = regs(arch.dbgBvr, 'dbg_bvr')
    const wcr = regs(arch.dbgWcr, 'dbg_wcr')
    const wvr = regs(arch.dbgWvr, 'dbg_wvr')
    for (let n = 0; n < KVM_ARM_MAX_DBG_REGS; n++) {
      const b = breakpoint(bcr[n] ?? 0n, bvr[n] ?? 0n)
      if (b) breakpoints.push(b)
      const w = watchpoint(wcr[n] ?? 0n, wvr[n] ?? 0n)
      if (w) watchpoints.push(w)
    }
  }
  return {
    singleStep: (control & KVM_GUESTDBG_SINGLESTEP) !== 0,
    cpu: {
      brkExits: (control & KVM_GUESTDBG_USE_SW_BP) !== 0,
      tagFaultExits: (control & KVM_GUESTDBG_TAGVM_TAG_FAULTS) !== 0,
      breakpoints,
      watchpoints,
    },
  }
}

function regs(values: readonly bigint[] | undefined, name: string): readonly bigint[] {
  if (values === undefined) return []
  if (values.length > KVM_ARM_MAX_DBG_REGS) throw new ErrnoError('EINVAL', `${name} has ${values.length} entries (at most ${KVM_ARM_MAX_DBG_REGS})`)
  for (const v of values) if (typeof v !== 'bigint' || v < 0n || v > U64) throw new ErrnoError('EINVAL', `${name} entry ${String(v)} is not a u64`)
  return values
}

function halves(va: bigint): { addressHi: number; addressLo: number } {
  return { addressHi: Number(va >> 32n), addressLo: Number(va & 0xffffffffn) }
}

/**
 * DBGBCR: E (bit 0) enabled, BT (23:20) 0 = unlinked instruction address match (the only
 * type a VMM's debugger uses); DBGBVR bits 1:0 ignored. Other types are ignored.
 */
function breakpoint(bcr: bigint, bvr: bigint): DebugBreakpoint | undefined {
  if ((bcr & 1n) === 0n || ((bcr >> 20n) & 0xfn) !== 0n) return undefined
  return halves(bvr & ~3n)
}

/**
 * DBGWCR: E (bit 0), LSC (4:3: 1 loads, 2 stores, 3 both), BAS (12:5: bytes of the
 * doubleword at DBGWVR), MASK (28:24: a 2^MASK-byte aligned range, BAS all ones).
 */
function watchpoint(wcr: bigint, wvr: bigint): DebugWatchpoint | undefined {
  if ((wcr & 1n) === 0n) return undefined
  const lsc = Number((wcr >> 3n) & 3n)
  const bas = Number((wcr >> 5n) & 0xffn)
  const mask = Number((wcr >> 24n) & 0x1fn)
  if (lsc === 0) return undefined
  const kind = { onRead: (lsc & 1) !== 0, onWrite: (lsc & 2) !== 0 }
  if (mask >= 3) {
    const size = 1n << BigInt(mask)
    return { ...halves(wvr & ~(size - 1n)), length: Number(size), ...kind }
  }
  if (bas === 0) return undefined
  const low = 31 - Math.clz32(bas & -bas)
  const high = 31 - Math.clz32(bas)
  return { ...halves((wvr & ~7n) + BigInt(low)), length: high - low + 1, ...kind }
}

/** KVM_EXIT_DEBUG's arch part for an ESR (and FAR halves), as kvm_handle_guest_debug fills it. */
export function debugExitArch(esr: number, farHi: number, farLo: number): DebugExitArch {
  const ec = esr >>> 26
  // KVM reports FAR for watchpoints; tagvm also for its tag fault exits (data aborts).
  const withFar = ec === DebugExceptionClass.WATCHPOINT || ec === 0x24 || ec === 0x25
  return {
    hsr: esr >>> 0,
    hsrHigh: 0,
    far: withFar ? (BigInt(farHi >>> 0) << 32n) | BigInt(farLo >>> 0) : 0n,
    flags: KVM_DEBUG_ARCH_HSR_HIGH_VALID,
  }
}

/** The software-step exit (EC 0x32, ISS.ISV set, IFSC 0x22) after a single step. */
export function softwareStepExitArch(): DebugExitArch {
  return debugExitArch(syndrome(DebugExceptionClass.SOFTWARE_STEP, true, (1 << 24) | 0x22), 0, 0)
}

/**
 * struct kvm_translation (KVM_TRANSLATE, which arm64 KVM does not implement; a tagvm
 * extension for the VMM's debugger) plus whether stage 1 maps the page Tagged.
 */
export interface GuestTranslation {
  /** The guest-physical address (IPA) of the byte. */
  readonly physicalAddress: number
  readonly valid: boolean
  readonly writeable: boolean
  readonly usermode: boolean
  /** Stage-1 attributes say Normal Tagged (MAIR 0xF0): tag checks may apply there. */
  readonly tagged: boolean
}

const INVALID: GuestTranslation = { physicalAddress: 0, valid: false, writeable: false, usermode: false, tagged: false }

/**
 * The guest's stage-1 view of `va` in the EL1&0 regime (what a debugger's addresses mean):
 * the IPA, walked as AT S1E1R does (table reads through stage 2; the TLB untouched), with
 * write and EL0 permissions probed by further walks. valid false when stage 1 faults.
 */
export function translateGuestVa(cpu: GuestCpu, va: bigint): GuestTranslation {
  const walk = cpu.mmu.walkStage1?.bind(cpu.mmu)
  if (walk === undefined) throw new ErrnoError('EINVAL', 'this CPU model cannot translate guest addresses')
  if (typeof va !== 'bigint' || va < 0n || va > U64) throw new ErrnoError('EINVAL', `linear_address ${String(va)} is not a u64`)
  const hi = Number(va >> 32n)
  const lo = Number(va & 0xffffffffn)
  const out = new TranslationResult()
  if (!walk(hi, lo, ACCESS_READ, 1, false, out)) return INVALID
  const physicalAddress = out.ipa
  const tagged = out.tagged
  const probe = new TranslationResult()
  const writeable = walk(hi, lo, ACCESS_WRITE, 1, false, probe)
  const usermode = walk(hi, lo, ACCESS_READ, 0, false, probe)
  return { physicalAddress, valid: true, writeable, usermode, tagged }
}
