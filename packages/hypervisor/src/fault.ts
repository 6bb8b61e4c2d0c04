import { ErrnoError, PAGE_SIZE } from '@tagvm/tag-memory'
import type { HostPage, HostVma } from './host.js'
import type { Memslot } from './memslots.js'
import type { MmioAccess } from './mmio.js'
import {
  EC_DABT_LOWER,
  EC_IABT_LOWER,
  ISS_CM,
  ISS_S1PTW,
  ISS_WNR,
  decodeDataAbort,
  esrClass,
  esrFsc,
  ipaFromHpfar,
  isAccessFlagFault,
  isExternalAbort,
  isPermissionFault,
  isTranslationFault,
  nisvSanitisedIss,
} from './esr.js'
import { S2_MEMATTR_DEVICE_NGNRE, S2_MEMATTR_NORMAL_WB } from './stage2-attributes.js'
import type { Vm } from './vm.js'

/** A stage-2 abort as the CPU reports it to EL2. */
export interface GuestAbort {
  /** ESR_EL2 (EC 0x20 instruction abort or 0x24 data abort from a lower EL). */
  readonly esr: number
  /** HPFAR_EL2: faulting IPA[47:12] in bits 43:4. */
  readonly hpfar: number
  /** FAR_EL2 low 32 bits (only bits 11:0 are used, to complete the IPA). */
  readonly farLo: number
}

/** What the fault handler decided. Errors (EFAULT, ENOSYS, EHWPOISON) are thrown as ErrnoError. */
export type AbortOutcome =
  /** Stage 2 was fixed (or will be re-faulted); resume the guest at the same instruction. */
  | { readonly kind: 'resume' }
  /** Emulate an MMIO access (KVM_EXIT_MMIO): the access decoded from the syndrome, once. */
  | MmioAccess
  /** KVM_EXIT_ARM_NISV (only with KVM_CAP_ARM_NISV_TO_USER). */
  | { readonly kind: 'arm-nisv'; readonly esrIss: number; readonly faultIpa: number }
  /** Inject a synchronous external abort (data or prefetch) at FAR into the guest. */
  | { readonly kind: 'inject-dabt' }
  | { readonly kind: 'inject-pabt' }
  /** Inject an address size fault (IPA beyond the host's PARange). */
  | { readonly kind: 'inject-size-fault' }
  /** Inject a virtual SError (external abort KVM could not handle). */
  | { readonly kind: 'inject-serror' }
  /** Skip the faulting instruction (cache maintenance outside every memslot). */
  | { readonly kind: 'skip-instruction' }
  /** The page is missing for the VMM (KVM_MEM_USERFAULT): exit with KVM_EXIT_MEMORY_FAULT, map nothing. */
  | { readonly kind: 'userfault'; readonly gpa: number; readonly write: boolean; readonly exec: boolean }

const RESUME: AbortOutcome = { kind: 'resume' }
const INJECT_DABT: AbortOutcome = { kind: 'inject-dabt' }
const INJECT_PABT: AbortOutcome = { kind: 'inject-pabt' }
/** The only block size used at stage 2 (PMD level with a 4 KiB granule). */
export const STAGE2_BLOCK_SIZE = 2 * 1024 * 1024
const PAGES_PER_BLOCK = STAGE2_BLOCK_SIZE / PAGE_SIZE

/** kvm_is_write_fault: an S1PTW fault is a write only when it is a permission fault. */
function isWriteFault(esr: number, isIabt: boolean, fsc: number): boolean {
  if (esr & ISS_S1PTW) return isPermissionFault(fsc)
  if (isIabt) return false
  return (esr & ISS_WNR) !== 0
}

/**
 * kvm_handle_guest_abort (arch/arm64/kvm/mmu.c): classify, find the memslot, emulate MMIO
 * outside memslots, handle access-flag faults, else fault the page in and map it.
 */
export function handleGuestAbort(vm: Vm, abort: GuestAbort): AbortOutcome {
  const { esr } = abort
  const ec = esrClass(esr)
  if (ec !== EC_DABT_LOWER && ec !== EC_IABT_LOWER) {
    throw new RangeError(`ESR 0x${esr.toString(16)} is not a stage-2 abort (EC 0x${ec.toString(16)})`)
  }
  vm.stats.stage2Faults++
  const isIabt = ec === EC_IABT_LOWER
  const fsc = esrFsc(esr)
  const faultIpa = ipaFromHpfar(abort.hpfar)

  if (isTranslationFault(fsc)) {
    // Beyond the host's IPA limit: address size fault; between the VM's IPA size and the
    // limit: an external abort, as on a real machine with a smaller PA space.
    if (faultIpa >= 2 ** vm.hypervisor.ipaLimit) return { kind: 'inject-size-fault' }
    if (faultIpa >= 2 ** vm.ipaBits) return isIabt ? INJECT_PABT : INJECT_DABT
  }
  if (isExternalAbort(fsc)) return { kind: 'inject-serror' }
  if (!isTranslationFault(fsc) && !isPermissionFault(fsc) && !isAccessFlagFault(fsc)) {
    throw new ErrnoError('EFAULT', `unsupported stage-2 fault status 0x${fsc.toString(16)}`)
  }

  const gfn = faultIpa / PAGE_SIZE
  const slot = vm.memslots.findByGfn(gfn)
  const writeFault = isWriteFault(esr, isIabt, fsc)
  if (!slot || (writeFault && slot.readOnly)) {
    // Userspace has no syndrome for a fetch or a table walk here: tell the guest instead.
    if (isIabt) return INJECT_PABT
    if (esr & ISS_S1PTW) return INJECT_DABT
    if (!slot && esr & ISS_CM) return { kind: 'skip-instruction' }
    return ioMemAbort(vm, esr, faultIpa + (abort.farLo & 0xfff))
  }

  if (isAccessFlagFault(fsc)) {
    vm.stage2.setAccessFlag(faultIpa)
    vm.flushTlbs()
    return RESUME
  }
  return userMemAbort(vm, slot, faultIpa, gfn, fsc, writeFault, isIabt)
}

/** io_mem_abort (arch/arm64/kvm/mmio.c): the syndrome decoded once into the access the VMM emulates. */
function ioMemAbort(vm: Vm, esr: number, ipa: number): AbortOutcome {
  const syndrome = decodeDataAbort(esr)
  if (!syndrome.isv) {
    if (vm.nisvToUser) return { kind: 'arm-nisv', esrIss: nisvSanitisedIss(esr), faultIpa: ipa }
    throw new ErrnoError('ENOSYS', `data abort at IPA 0x${ipa.toString(16)} outside memslots without a valid syndrome`)
  }
  vm.stats.mmioExits++
  return {
    kind: 'mmio',
    ipa,
    size: syndrome.size,
    write: syndrome.write,
    srt: syndrome.srt,
    signExtend: syndrome.signExtend,
    sixtyFour: syndrome.sixtyFour,
  }
}

/** fault_supports_stage2_huge_mapping: the block must sit inside the slot, same offset in HVA and IPA. */
function slotSupportsBlock(slot: Memslot, hva: number): boolean {
  if (slot.guestPhysAddr % STAGE2_BLOCK_SIZE !== slot.userspaceAddr % STAGE2_BLOCK_SIZE) return false
  const blockStart = hva - (hva % STAGE2_BLOCK_SIZE)
  return blockStart >= slot.userspaceAddr && blockStart + STAGE2_BLOCK_SIZE <= slot.userspaceAddr + slot.size
}

function faultInHostPage(vm: Vm, hva: number, write: boolean): HostPage {
  try {
    return vm.mm.faultIn(hva, { write })
  } catch (error) {
    // Poison goes to the VMM as it is (SIGBUS in Linux); every other error pfn is EFAULT.
    if (error instanceof ErrnoError && error.code === 'EHWPOISON') throw error
    if (error instanceof ErrnoError) throw new ErrnoError('EFAULT', `host fault at HVA 0x${hva.toString(16)} failed: ${error.message}`)
    throw error
  }
}

/**
 * sanitise_mte_tags: every frame of the mapping that never held valid tags gets its tags
 * zeroed and is marked tagged, once, by whoever wins its tag lock.
 */
function sanitiseTags(vm: Vm, firstPfn: number, pages: number): void {
  const { memory } = vm.hypervisor
  for (let pfn = firstPfn; pfn < firstPfn + pages; pfn++) {
    if (memory.ensureTagsInitialised(pfn)) vm.stats.tagPagesCleaned++
  }
}

/** user_mem_abort: fault the host page in, apply the MTE rules, map or relax at stage 2. */
function userMemAbort(
  vm: Vm,
  slot: Memslot,
  faultIpa: number,
  gfn: number,
  fsc: number,
  writeFault: boolean,
  isIabt: boolean,
): AbortOutcome {
  const isPerm = isPermissionFault(fsc)
  // A missing page is the VMM's to fill: nothing is mapped until it clears the bit.
  if (slot.isUserfault(gfn)) return { kind: 'userfault', gpa: gfn * PAGE_SIZE, write: writeFault, exec: isIabt }
  if (isPerm && !writeFault && !isIabt) {
    throw new ErrnoError('EFAULT', `unexpected stage-2 read permission fault at IPA 0x${faultIpa.toString(16)}`)
  }
  const hva = slot.hvaOfGfn(gfn)
  const vma: HostVma | undefined = vm.mm.vmasIn(hva, hva + 1)[0]
  if (!vma) throw new ErrnoError('EFAULT', `no host VMA at HVA 0x${hva.toString(16)}`)
  const logging = slot.dirtyLogging && !slot.readOnly

  const seq = vm.invalidateSeq
  const page = faultInHostPage(vm, hva, writeFault)
  // The host changed the mapping while faulting in (a COW break, say): let the guest retry
  // (Linux: mmu_invalidate_retry), so the next fault sees the settled page.
  if (vm.invalidateSeq !== seq) return RESUME
  let writable = page.writable && !slot.readOnly
  // While logging, map read faults read-only so the first write is seen (and logged).
  if (!page.device && logging && !writeFault) writable = false
  if (isIabt && page.device) return INJECT_PABT

  // A block could cover pages still missing for the VMM: userfault slots map pages only.
  const useBlock = !logging && !slot.userfaultBitmap && !page.device && (page.hostPageSize ?? PAGE_SIZE) >= STAGE2_BLOCK_SIZE && slotSupportsBlock(slot, hva)
  const size = useBlock ? STAGE2_BLOCK_SIZE : PAGE_SIZE
  const ipaBase = faultIpa - (faultIpa % size)
  const pa = page.pfn * PAGE_SIZE
  const paBase = pa - (pa % size)

  if (!isPerm && !page.device && vm.mteEnabled) {
    if (!vm.vmaAcceptableForMte(vma)) {
      throw new ErrnoError('EFAULT', `memory at HVA 0x${hva.toString(16)} cannot hold MTE tags`)
    }
    // The shared zero page is never tagged: mapping it read-only must not tag it.
    if (!page.zeroPage) sanitiseTags(vm, paBase / PAGE_SIZE, useBlock ? PAGES_PER_BLOCK : 1)
  }

  const attrs = {
    read: true,
    write: writable,
    exec: !page.device,
    memAttr: page.device ? S2_MEMATTR_DEVICE_NGNRE : S2_MEMATTR_NORMAL_WB,
  }
  const existing = vm.stage2.query(faultIpa)
  if (existing) {
    const existingPa = existing.pa + (faultIpa - existing.ipa)
    const mappedFrame = existingPa - (existingPa % PAGE_SIZE)
    if (mappedFrame !== pa) {
      // The host moved the page under us (COW break, migration) without a notifier having
      // run yet: drop the stale entry and let the guest fault again (Linux's -EAGAIN retry).
      vm.unmapStage2(existing.ipa, existing.size)
      return RESUME
    }
    if (existing.size === size) {
      vm.stage2.relaxPermissions(existing.ipa, existing.size, { write: attrs.write || existing.attrs.write, exec: attrs.exec })
      vm.stats.permissionRelaxed++
      vm.flushTlbs()
      if (writable) slot.markDirty(gfn)
      return RESUME
    }
    // Different granule (a block being split for dirty logging, or pages merging into a
    // block): replace the old entry.
    vm.unmapStage2(existing.ipa, existing.size)
  }
  if (useBlock) vm.stage2.unmap(ipaBase, size)
  vm.stage2.map(ipaBase, paBase, size, attrs)
  if (useBlock) vm.stats.blocksMapped++
  else vm.stats.pagesMapped++
  if (useBlock) vm.flushTlbs()
  if (writable) slot.markDirty(gfn)
  return RESUME
}
