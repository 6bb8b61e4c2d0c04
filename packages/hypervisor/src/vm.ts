import { Stage2Builder } from '@tagvm/mmu'
import { ErrnoError, PAGE_SIZE } from '@tagvm/tag-memory'
import type { Hypervisor } from './hypervisor.js'
import type { HostAddressSpace, HostVma } from './host.js'
import {
  KVM_ADDRESS_SPACE_NUM,
  KVM_USER_MEM_SLOTS,
  MemslotTable,
  dirtyBitmapBytes,
  type Memslot,
  type MemslotPlan,
  type UserMemoryRegion,
} from './memslots.js'
import { handleGuestAbort, type AbortOutcome, type GuestAbort } from './fault.js'
import { KVM_MAX_VCPUS, Vcpu } from './vcpu.js'
import { vmVgic } from './vgic/vgic.js'
import type { TlbBroadcast } from './smp/tlb-broadcast.js'
import type { PsciPeers } from './smp/psci-peers.js'

/**
 * Who decides whether guest memory may hold tags (the 2020 design debate, see kvm-mte.md):
 * - "linux": memslots and faults need VM_MTE_ALLOWED; KVM cleans tags on first map (default);
 * - "transparent-upgrade": the RFC's idea: any memory is accepted and tagged on first map;
 * - "require-prot-mte": the VMM must map guest RAM with PROT_MTE (VM_MTE) itself.
 */
export type MtePolicy = 'linux' | 'transparent-upgrade' | 'require-prot-mte'

export interface VmOptions {
  /** The creating process's address space: memslot HVAs point into it. */
  readonly mm: HostAddressSpace
  /** IPA size in bits (KVM_VM_TYPE_ARM_IPA_SIZE); 0 or absent = 40. */
  readonly ipaBits?: number
  readonly mtePolicy?: MtePolicy
}

/** KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 flags. */
export const KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE = 1 << 0
export const KVM_DIRTY_LOG_INITIALLY_SET = 1 << 1

/** Something holding TLB entries tagged with this VM's VMID (each vCPU's Mmu). */
export interface VmidTlb {
  flushVmid(vmid: number): void
}

/** Counters a VMM or a benchmark can read. */
export interface VmStats {
  stage2Faults: number
  pagesMapped: number
  blocksMapped: number
  permissionRelaxed: number
  /** Frames whose tags this VM's faults cleaned (sanitise_mte_tags winners). */
  tagPagesCleaned: number
  mmioExits: number
  hostInvalidations: number
}

export { S2_MEMATTR_DEVICE_NGNRE, S2_MEMATTR_NORMAL_WB } from './stage2-attributes.js'

export class Vm {
  readonly hypervisor: Hypervisor
  readonly vmid: number
  readonly ipaBits: number
  readonly mtePolicy: MtePolicy
  readonly mm: HostAddressSpace
  readonly memslots = new MemslotTable()
  readonly stage2: Stage2Builder
  readonly stats: VmStats = {
    stage2Faults: 0,
    pagesMapped: 0,
    blocksMapped: 0,
    permissionRelaxed: 0,
    tagPagesCleaned: 0,
    mmioExits: 0,
    hostInvalidations: 0,
  }
  private mte = false
  private manualDirtyLogFlags = 0
  /**
   * mmu_invalidate_seq: bumped by every host invalidation of memslot memory, so a fault
   * that raced with one (the host page changed while it was being faulted in) retries.
   */
  invalidateSeq = 0
  /** vCPUs on other threads (smp/): PSCI sees and starts them through shared state. */
  psciPeers: PsciPeers | undefined = undefined
  /** vCPUs on other threads (smp/): where this VM's TLB maintenance must also reach. */
  tlbBroadcast: TlbBroadcast | undefined = undefined
  /** KVM_CAP_ARM_NISV_TO_USER: data aborts without syndrome exit to the VMM. */
  nisvToUser = false
  private createdVcpus = 0
  private readonly vcpuList: Vcpu[] = []
  private readonly tlbs = new Set<VmidTlb>()
  private destroyed = false
  private readonly stopListening: () => void

  constructor(hypervisor: Hypervisor, vmid: number, options: VmOptions & { ipaBits: number }) {
    this.hypervisor = hypervisor
    this.vmid = vmid
    this.ipaBits = options.ipaBits
    this.mtePolicy = options.mtePolicy ?? 'linux'
    if (!['linux', 'transparent-upgrade', 'require-prot-mte'].includes(this.mtePolicy)) {
      throw new RangeError(`unknown MTE policy ${String(this.mtePolicy)}`)
    }
    this.mm = options.mm
    this.stage2 = new Stage2Builder(hypervisor.memory, {
      ipaBits: this.ipaBits,
      allocTable: () => hypervisor.allocTablePage(),
      freeTable: (pa) => hypervisor.freeTablePage(pa),
      // KVM never merges pages into blocks behind the fault handler's back.
      mergeBlocks: false,
    })
    this.stopListening = this.mm.onInvalidate((start, end) => this.invalidateHostRange(start, end))
  }

  get mteEnabled(): boolean {
    return this.mte
  }

  get vcpuCount(): number {
    return this.createdVcpus
  }

  get manualDirtyLogProtect(): number {
    return this.manualDirtyLogFlags
  }

  /**
   * KVM_ENABLE_CAP(KVM_CAP_ARM_MTE): EINVAL without host MTE or once a vCPU exists; enabling
   * twice succeeds. Existing memslots are not re-checked (the fault path catches them).
   */
  enableMte(): void {
    this.checkAlive()
    if (!this.hypervisor.hostSupportsMte) throw new ErrnoError('EINVAL', 'the host has no MTE')
    if (this.createdVcpus !== 0) throw new ErrnoError('EINVAL', 'MTE must be enabled before any vCPU is created')
    this.mte = true
  }

  /** KVM_ENABLE_CAP(KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2): flags 0..3, else EINVAL. */
  enableManualDirtyLogProtect(flags: number): void {
    this.checkAlive()
    if (!Number.isInteger(flags) || (flags & ~(KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE | KVM_DIRTY_LOG_INITIALLY_SET)) !== 0 || flags < 0) {
      throw new ErrnoError('EINVAL', `invalid manual dirty log flags ${flags}`)
    }
    this.manualDirtyLogFlags = flags
  }

  /** Every vCPU, in creation order. */
  get vcpus(): readonly Vcpu[] {
    return this.vcpuList
  }

  /**
   * KVM_CREATE_VCPU: EINVAL for an id at or above KVM_MAX_VCPUS or when the VM is full,
   * EEXIST for an id in use. Afterwards KVM_CAP_ARM_MTE can no longer be enabled.
   */
  createVcpu(id: number): Vcpu {
    this.checkAlive()
    if (!Number.isInteger(id) || id < 0 || id >= KVM_MAX_VCPUS) throw new ErrnoError('EINVAL', `vCPU id ${id} is not below ${KVM_MAX_VCPUS}`)
    if (this.createdVcpus >= KVM_MAX_VCPUS) throw new ErrnoError('EINVAL', 'the VM has its maximum number of vCPUs')
    if (this.vcpuList.some((v) => v.id === id)) throw new ErrnoError('EEXIST', `vCPU ${id} exists`)
    vmVgic(this)?.checkVcpuCreate()
    const vcpu = new Vcpu(this, id)
    this.vcpuList.push(vcpu)
    this.createdVcpus++
    return vcpu
  }

  /**
   * Counts a vCPU the way KVM's created_vcpus does, without a CPU behind it: for tests of
   * the rules that depend only on the count.
   */
  noteVcpuCreated(): void {
    this.checkAlive()
    this.createdVcpus++
  }

  /** Registers a vCPU's TLB so stage-2 changes flush it. */
  attachTlb(tlb: VmidTlb): void {
    this.tlbs.add(tlb)
  }

  detachTlb(tlb: VmidTlb): void {
    this.tlbs.delete(tlb)
  }

  /** What a TLBI VMALLS12E1IS after a stage-2 change does on every vCPU of the VM. */
  flushTlbs(): void {
    for (const tlb of this.tlbs) tlb.flushVmid(this.vmid)
  }

  // ---- memslots ------------------------------------------------------------------------

  /**
   * KVM_SET_USER_MEMORY_REGION: create, move, delete or change the flags of a slot with
   * Linux's checks and errnos. A failing call changes nothing.
   */
  setUserMemoryRegion(region: UserMemoryRegion): void {
    this.checkAlive()
    const plan = this.memslots.plan(region)
    if (plan.change === 'none') return
    this.prepareMemoryRegion(plan)
    const old = plan.old
    const oldRange = old ? { ipa: old.guestPhysAddr, size: old.size } : undefined
    const wasLogging = old?.dirtyLogging ?? false
    const slot = this.memslots.commit(plan)
    if ((plan.change === 'delete' || plan.change === 'move') && oldRange) {
      this.unmapStage2(oldRange.ipa, oldRange.size)
    }
    // Pages already mapped would not fault: a new userfault bitmap starts from an empty stage 2.
    if (slot?.userfaultBitmap && plan.change === 'flags-only') this.unmapStage2(slot.guestPhysAddr, slot.size)
    if (slot && slot.dirtyLogging && !wasLogging) {
      if (this.manualDirtyLogFlags & KVM_DIRTY_LOG_INITIALLY_SET) {
        slot.dirtyBitmap?.fill(0xffff_ffff)
        trimBitmap(slot)
      } else {
        this.writeProtectStage2(slot.guestPhysAddr, slot.size)
      }
    }
  }

  /** kvm_arch_prepare_memory_region (arch/arm64/kvm/mmu.c) plus the MTE policy variants. */
  private prepareMemoryRegion(plan: MemslotPlan): void {
    if (plan.change !== 'create' && plan.change !== 'move' && plan.change !== 'flags-only') return
    if (plan.baseGfn + plan.npages > 2 ** this.ipaBits / PAGE_SIZE) {
      throw new ErrnoError('EFAULT', `memslot ends above the VM's ${this.ipaBits}-bit IPA space`)
    }
    const start = plan.userspaceAddr
    const end = start + plan.npages * PAGE_SIZE
    for (const vma of this.mm.vmasIn(start, end)) {
      if (this.mte && !this.vmaAcceptableForMte(vma)) {
        throw new ErrnoError(
          'EINVAL',
          this.mtePolicy === 'require-prot-mte'
            ? `VMA 0x${vma.start.toString(16)} is not mapped with PROT_MTE`
            : `VMA 0x${vma.start.toString(16)} cannot hold MTE tags (no VM_MTE_ALLOWED)`,
        )
      }
      if (vma.pfnmap && plan.flags & 1) {
        throw new ErrnoError('EINVAL', 'dirty logging is not allowed on a VM_PFNMAP region')
      }
    }
  }

  /** Whether memory behind `vma` may back an MTE guest under this VM's policy. */
  vmaAcceptableForMte(vma: HostVma): boolean {
    switch (this.mtePolicy) {
      case 'linux':
        return vma.mteAllowed
      case 'require-prot-mte':
        return vma.mte
      case 'transparent-upgrade':
        return true
    }
  }

  // ---- dirty log -----------------------------------------------------------------------

  private dirtySlot(slotField: number): Memslot {
    if (!Number.isInteger(slotField) || slotField < 0 || slotField > 0xffff_ffff) {
      throw new RangeError(`slot must be a 32-bit value, got ${slotField}`)
    }
    const asId = slotField >>> 16
    const id = slotField & 0xffff
    if (asId >= KVM_ADDRESS_SPACE_NUM || id >= KVM_USER_MEM_SLOTS) throw new ErrnoError('EINVAL', `slot ${asId}:${id} is out of range`)
    const slot = this.memslots.get(id)
    if (!slot || !slot.dirtyBitmap) throw new ErrnoError('ENOENT', `slot ${id} does not exist or has no dirty log`)
    return slot
  }

  /**
   * KVM_GET_DIRTY_LOG: the slot's bitmap (one bit per page, 64-bit words, little-endian).
   * Without manual protection it also clears the log and write-protects the pages it
   * reported, so the next write to each is logged again.
   */
  getDirtyLog(slotField: number): Uint8Array {
    this.checkAlive()
    const slot = this.dirtySlot(slotField)
    const bitmap = slot.dirtyBitmap as Uint32Array
    const out = new Uint8Array(dirtyBitmapBytes(slot.npages))
    new Uint32Array(out.buffer).set(bitmap)
    if (!(this.manualDirtyLogFlags & KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE)) {
      this.protectDirtyPages(slot, bitmap, 0, slot.npages)
      bitmap.fill(0)
    }
    return out
  }

  /**
   * KVM_CLEAR_DIRTY_LOG: clears the bits of `bitmap` (starting at page `firstPage`) and
   * write-protects those pages. firstPage must be a multiple of 64, numPages too unless
   * the range runs to the end of the slot (EINVAL).
   */
  clearDirtyLog(slotField: number, firstPage: number, numPages: number, bitmap: Uint8Array): void {
    this.checkAlive()
    if (!Number.isSafeInteger(firstPage) || !Number.isSafeInteger(numPages) || firstPage < 0 || numPages < 0) {
      throw new RangeError('firstPage and numPages must be non-negative integers')
    }
    const slot = this.dirtySlot(slotField)
    if (firstPage % 64 !== 0) throw new ErrnoError('EINVAL', 'first_page is not a multiple of 64')
    if (
      firstPage > slot.npages ||
      numPages > slot.npages - firstPage ||
      (numPages < slot.npages - firstPage && numPages % 64 !== 0)
    ) {
      throw new ErrnoError('EINVAL', 'page range is outside the slot or not a multiple of 64 pages')
    }
    if (bitmap.length < Math.ceil(numPages / 64) * 8) throw new ErrnoError('EFAULT', 'dirty bitmap buffer is too short')
    const mask = new Uint32Array(Math.ceil(slot.npages / 32))
    for (let i = 0; i < numPages; i++) {
      if (((bitmap[i >>> 3] as number) >>> (i & 7)) & 1) {
        const rel = firstPage + i
        mask[rel >>> 5] = ((mask[rel >>> 5] as number) | (1 << (rel & 31))) >>> 0
      }
    }
    const log = slot.dirtyBitmap as Uint32Array
    for (let w = 0; w < mask.length; w++) mask[w] = ((mask[w] as number) & (log[w] as number)) >>> 0
    this.protectDirtyPages(slot, mask, firstPage, firstPage + numPages)
    for (let w = 0; w < mask.length; w++) log[w] = ((log[w] as number) & ~(mask[w] as number)) >>> 0
  }

  private protectDirtyPages(slot: Memslot, bits: Uint32Array, from: number, to: number): void {
    let changed = false
    for (let rel = from; rel < to; rel++) {
      if ((((bits[rel >>> 5] as number) >>> (rel & 31)) & 1) === 0) continue
      const ipa = (slot.baseGfn + rel) * PAGE_SIZE
      if (this.stage2.query(ipa)) {
        this.stage2.writeProtect(ipa, PAGE_SIZE)
        changed = true
      }
    }
    if (changed) this.flushTlbs()
  }

  // ---- stage 2 -------------------------------------------------------------------------

  /** Removes stage-2 entries in [ipa, ipa+size) and flushes every vCPU's TLB. */
  unmapStage2(ipa: number, size: number): void {
    this.stage2.unmap(ipa, size)
    this.flushTlbs()
  }

  writeProtectStage2(ipa: number, size: number): void {
    this.stage2.writeProtect(ipa, size)
    this.flushTlbs()
  }

  /**
   * The MMU-notifier path: the host is about to unmap, move or swap [start, end) of its
   * address space; drop the stage-2 entries of every slot page there.
   */
  invalidateHostRange(start: number, end: number): void {
    if (this.destroyed) return
    let any = false
    for (const slot of this.memslots.slotsIntersectingHva(start, end)) {
      const from = Math.max(start, slot.userspaceAddr)
      const to = Math.min(end, slot.userspaceAddr + slot.size)
      const firstPage = Math.floor((from - slot.userspaceAddr) / PAGE_SIZE)
      const lastPage = Math.ceil((to - slot.userspaceAddr) / PAGE_SIZE)
      this.stage2.unmap(slot.guestPhysAddr + firstPage * PAGE_SIZE, (lastPage - firstPage) * PAGE_SIZE)
      any = true
    }
    if (any) {
      this.invalidateSeq++
      this.stats.hostInvalidations++
      this.flushTlbs()
    }
  }

  /** The stage-2 fault handler (kvm_handle_guest_abort); see fault.ts. */
  handleGuestAbort(abort: GuestAbort): AbortOutcome {
    this.checkAlive()
    return handleGuestAbort(this, abort)
  }

  destroy(): void {
    if (this.destroyed) return
    for (const slot of this.memslots.slots) this.stage2.unmap(slot.guestPhysAddr, slot.size)
    this.flushTlbs()
    for (const vcpu of this.vcpuList) vcpu.detach()
    this.hypervisor.freeTablePage(this.stage2.rootPa)
    this.stopListening()
    this.destroyed = true
    this.hypervisor.releaseVm(this)
  }

  get isDestroyed(): boolean {
    return this.destroyed
  }

  private checkAlive(): void {
    if (this.destroyed) throw new ErrnoError('EBADF', `VM ${this.vmid} was destroyed (its fd is closed)`)
  }
}

/** Clears bitmap bits past the slot's last page (INITIALLY_SET must not report them). */
function trimBitmap(slot: Memslot): void {
  const bitmap = slot.dirtyBitmap
  if (!bitmap) return
  for (let rel = slot.npages; rel < bitmap.length * 32; rel++) {
    bitmap[rel >>> 5] = ((bitmap[rel >>> 5] as number) & ~(1 << (rel & 31))) >>> 0
  }
}
