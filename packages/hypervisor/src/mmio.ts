// MMIO emulation, owned here as in Linux's arch/arm64/kvm/mmio.c. The CPU only reports a
// stage-2 data abort; the fault handler decodes its ESR once (io_mem_abort: ISV, SAS, SSE,
// SRT, SF, WnR) into the MmioAccess that travels to the VMM as KVM_EXIT_MMIO and stays
// pending on the vCPU. For a write, the run buffer gets Xt's low bytes now; on the next
// KVM_RUN (kvm_handle_mmio_return) a read's bytes go into Xt, sign- or zero-extended, and
// PC moves past the instruction either way. Values travel as bytes and uint32 halves: all
// 64 bits survive.

import type { GuestCpu } from './guest-cpu.js'

/** An emulated MMIO access, as the data abort's syndrome describes it. */
export interface MmioAccess {
  readonly kind: 'mmio'
  /** The IPA accessed: the page from HPFAR_EL2, the offset from FAR_EL2. */
  readonly ipa: number
  /** Bytes (1 << SAS). */
  readonly size: number
  readonly write: boolean
  /** Register transferred (31 = XZR: writes store 0, reads are discarded). */
  readonly srt: number
  /** SSE: sign-extend a read narrower than 64 bits. */
  readonly signExtend: boolean
  /** SF: a 64-bit register (else the read is written as a W register, upper half zero). */
  readonly sixtyFour: boolean
}

/** kvm_run.mmio.data: 8 bytes, and a view of them. */
export interface MmioData {
  readonly bytes: Uint8Array
  readonly view: DataView
}

export function mmioData(): MmioData {
  const bytes = new Uint8Array(8)
  return { bytes, view: new DataView(bytes.buffer) }
}

/** io_mem_abort for a write: Xt's low `size` bytes into the run buffer, little-endian. */
export function mmioWriteData(cpu: GuestCpu, access: MmioAccess, data: MmioData): void {
  data.view.setUint32(0, cpu.xLo(access.srt), true)
  data.view.setUint32(4, cpu.xHi(access.srt), true)
  data.bytes.fill(0, access.size, 8)
}

/**
 * kvm_handle_mmio_return: a read takes the VMM's `size` bytes from the run buffer into
 * Xt, extended as SSE and SF say; then the instruction is done and PC moves on.
 */
export function completeMmio(cpu: GuestCpu, access: MmioAccess, data: MmioData): void {
  if (!access.write) {
    const view = data.view
    const size = access.size
    let lo = view.getUint32(0, true)
    let hi = size === 8 ? view.getUint32(4, true) : 0
    if (size < 4) lo &= size === 1 ? 0xff : 0xffff
    if (access.signExtend && size < 8) {
      const shift = 32 - size * 8
      lo = ((lo << shift) >> shift) >>> 0
      hi = lo >>> 31 ? 0xffffffff : 0
    }
    if (!access.sixtyFour) hi = 0
    cpu.setXHalves(access.srt, lo, hi)
  }
  cpu.advancePc()
}
