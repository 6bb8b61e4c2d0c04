// KVM's in-kernel vGICv3 (arch/arm64/kvm/vgic/): its life cycle (vgic-init.c: create, addresses,
// INIT, map on first run), the distributor and redistributors behind guest MMIO (vgic-mmio*.c),
// userspace save/restore access (vgic-kvm-device.c), interrupt injection (vgic.c) and the
// per-vCPU signal the CPU interface drives.
import { SMP_LOCK_WORDS, SmpLock } from '@tagvm/cpu'
import { ErrnoError } from '@tagvm/tag-memory'
import { CIF_STRIDE, CpuInterface, computeSignal, resetCpuInterface } from './cpu-interface.js'
import { IRQ_EDGE, IRQ_GROUP1, IRQ_LINE_LEVEL, IRQ_OWNER_NONE, IRQ_PENDING_LATCH, IrqTable, type Allocate } from './irq.js'
import { DIST_REGISTERS, REDIST_REGISTERS, accessibleRegion, type RegisterRegion } from './mmio.js'
import {
  KVM_VGIC_IMP_REV_LATEST,
  KVM_VGIC_V3_DIST_SIZE,
  KVM_VGIC_V3_REDIST_SIZE,
  VGIC_ADDR_UNDEF,
  VGIC_MAX_RESERVED,
  VGIC_NR_IRQS_LEGACY,
  VGIC_NR_PRIVATE_IRQS,
  VGIC_NR_SGIS,
  VGIC_V3_MAX_CPUS,
} from './registers.js'

/** What the vGIC needs of a vCPU (the hypervisor's Vcpu has it). */
export interface VgicVcpu {
  /** The id given to KVM_CREATE_VCPU. */
  readonly id: number
  readonly mpidr: bigint
  readonly cpu: { readonly retired: number }
}

/** What the vGIC needs of its VM (the hypervisor's Vm has it). */
export interface VgicVm {
  readonly ipaBits: number
  readonly vcpus: readonly VgicVcpu[]
}

/** A redistributor region (struct vgic_redist_region): `count` 0 is the legacy single region sized by the vCPUs. */
export interface RedistRegion {
  readonly index: number
  readonly base: number
  readonly count: number
}

export interface VgicOptions {
  /** Where per-interrupt state is allocated (a SharedArrayBuffer for worker-thread vCPUs). */
  readonly allocate?: Allocate
}

/**
 * The vGIC state every vCPU thread of a VM shares (structured-clonable), from `Vgic.share()`:
 * per-interrupt state, the CPU interfaces, the signals, the distributor's enable and
 * GICR_PROPBASER/PENDBASER, and the lock every change to them is made under (KVM's
 * per-interrupt and ap_list locks, as one).
 */
export interface VgicShare {
  readonly nrVcpus: number
  readonly nrSpis: number
  readonly distBase: number
  readonly regions: readonly RedistRegion[]
  readonly implementationRev: number
  readonly irqs: SharedArrayBuffer
  readonly cif: SharedArrayBuffer
  readonly signals: SharedArrayBuffer
  readonly dist: SharedArrayBuffer
  readonly pendbaser: SharedArrayBuffer
  readonly lock: SharedArrayBuffer
}

/** Tells the thread of vCPU `v` that its signal changed (wakes it from WFI; it looks at its next KVM_RUN). */
export type VgicKick = (v: number) => void

/** Bytes of the distributor words: GICD_CTLR.EnableGrp1 (Int32 0), GICR_PROPBASER (Uint32 2, 3). */
const DIST_BYTES = 16

const U64_LIMIT = 1n << 64n
const NO_IRQS = new IrqTable(0, 0)

/**
 * A vCPU counts as having run once it retired an instruction. KVM asks vcpu_has_run_once();
 * the hypervisor's Vcpu keeps that flag private, so until it is exposed this is the proxy.
 */
export function vcpuHasRun(vcpu: VgicVcpu): boolean {
  return vcpu.cpu.retired > 0
}

/** MPIDR_EL1 affinity as one number: Aff0 | Aff1 << 8 | Aff2 << 16, plus Aff3 * 2^24. */
export function affinityKey(mpidr: bigint): number {
  return Number(mpidr & 0xff_ffffn) + Number((mpidr >> 32n) & 0xffn) * 0x100_0000
}

function overlaps(aBase: number, aSize: number, bBase: number, bSize: number): boolean {
  return aBase + aSize > bBase && aBase < bBase + bSize
}

export class Vgic {
  readonly vm: VgicVm
  private readonly allocate: Allocate | undefined
  private distAddr = VGIC_ADDR_UNDEF
  private readonly regions: RedistRegion[] = []
  private spis = 0
  private isInitialized = false
  private isReady = false
  /** GICD_IIDR.Revision (KVM_VGIC_IMP_REV_*); 0 until INIT picks the latest unless userspace set one. */
  implementationRev = 0
  /** GICD_CTLR.EnableGrp1 (word 0) and GICR_PROPBASER (words 2, 3). */
  private distWords: Int32Array<ArrayBufferLike> = new Int32Array(DIST_BYTES / 4)
  /** Per-interrupt state (empty until INIT). */
  irqs: IrqTable = NO_IRQS
  /** GICR_PROPBASER (shared by all redistributors in KVM), lo/hi. */
  propbaser: Uint32Array<ArrayBufferLike> = new Uint32Array(this.distWords.buffer, 8, 2)
  /** GICR_PENDBASER per vCPU, lo/hi pairs. */
  pendbaser: Uint32Array<ArrayBufferLike> = new Uint32Array(0)
  /** CPU-interface state, CIF_STRIDE words per vCPU (see cpu-interface.ts). */
  cif: Uint32Array<ArrayBufferLike> = new Uint32Array(0)
  /** The IRQ/FIQ signal each CPU interface drives (SIGNAL_* bits), one word per vCPU. */
  signals: Int32Array<ArrayBufferLike> = new Int32Array(0)
  /** Scratch results of highestPending(). */
  hppiPriority = 0
  hppiFlags = 0
  /** The value of the last MMIO read the vGIC answered (lo/hi halves). */
  dataLo = 0
  dataHi = 0
  private interfaces: CpuInterface[] = []
  private affinity: number[] = []
  private vcpuIds: number[] = []
  private readonly byAffinity = new Map<number, number>()
  private redistBases: number[] = []
  private dirty = new Uint8Array(0)
  private anyDirty = false
  /** With vCPU threads: the lock over the shared state, entries held (nesting) and who to wake. */
  private lock: SmpLock | null = null
  private held = 0
  private kick: VgicKick | null = null
  /** The vCPU of this thread (its signal goes to its CPU directly), or -1 on the VMM's thread. */
  private localVcpu = -1
  private shared: VgicShare | null = null

  /** @internal use createVgicV3 (KVM_CREATE_DEVICE) */
  constructor(vm: VgicVm, options: VgicOptions = {}) {
    this.vm = vm
    this.allocate = options.allocate
  }

  get initialized(): boolean {
    return this.isInitialized
  }

  /** GICD_CTLR.EnableGrp1: gates every interrupt, as KVM's single `enabled`. */
  get enabled(): boolean {
    return this.distWords[0] !== 0
  }

  set enabled(on: boolean) {
    this.distWords[0] = on ? 1 : 0
  }

  /**
   * Takes the lock over the shared state (vCPU threads; nothing without them). Entries nest:
   * a CPU-interface write that dispatches an SGI holds it once.
   */
  enter(): void {
    if (this.held++ === 0) this.lock?.acquire()
  }

  /** Ends an `enter`; the outermost one gives the lock back. */
  leave(): void {
    if (--this.held === 0) this.lock?.release()
  }

  /** Runs `body` between `enter` and `leave`. */
  locked<T>(body: () => T): T {
    this.enter()
    try {
      return body()
    } finally {
      this.leave()
    }
  }

  /**
   * Moves the state vCPU threads need into SharedArrayBuffers (the values stay) and returns
   * them for `attachShared`; from now on every change is made under the shared lock, and a
   * vCPU whose signal changes is kicked. EBUSY before INIT. Twice returns the same share.
   */
  share(kick: VgicKick): VgicShare {
    if (this.shared) return this.shared
    if (!this.isInitialized) throw new ErrnoError('EBUSY', 'the vGIC is not initialized (KVM_DEV_ARM_VGIC_CTRL_INIT)')
    const copy = (from: ArrayBufferView): SharedArrayBuffer => {
      const to = new SharedArrayBuffer(Math.max(4, from.byteLength))
      new Uint8Array(to).set(new Uint8Array(from.buffer, from.byteOffset, from.byteLength))
      return to
    }
    const irqBytes = this.irqs.flags.buffer.byteLength
    const irqs = new SharedArrayBuffer(irqBytes)
    new Uint8Array(irqs).set(new Uint8Array(this.irqs.flags.buffer, 0, irqBytes))
    const share: VgicShare = {
      nrVcpus: this.irqs.nrVcpus,
      nrSpis: this.spis,
      distBase: this.distAddr,
      regions: this.regions.map((r) => ({ ...r })),
      implementationRev: this.implementationRev,
      irqs,
      cif: copy(this.cif),
      signals: copy(this.signals),
      dist: copy(this.distWords),
      pendbaser: copy(this.pendbaser),
      lock: new SharedArrayBuffer(SMP_LOCK_WORDS * 4),
    }
    this.useShared(share, kick, -1)
    return share
  }

  /**
   * A vCPU thread's view of the VM's vGIC (`share` on the VMM's thread made it): `vm` must
   * have the VM's vCPUs, in order (the thread's own is `localVcpu`). Initialized; the first
   * KVM_RUN maps it as usual.
   */
  static attachShared(vm: VgicVm, share: VgicShare, localVcpu: number, kick: VgicKick): Vgic {
    if (vm.vcpus.length !== share.nrVcpus) throw new RangeError(`the VM has ${vm.vcpus.length} vCPUs, the shared vGIC ${share.nrVcpus}`)
    const vgic = new Vgic(vm)
    vgic.distAddr = share.distBase
    for (const r of share.regions) vgic.regions.push({ ...r })
    vgic.spis = share.nrSpis
    vgic.implementationRev = share.implementationRev
    vgic.useShared(share, kick, localVcpu)
    vgic.setUpVcpus()
    vgic.isInitialized = true
    registerVgic(vm, vgic)
    return vgic
  }

  private useShared(share: VgicShare, kick: VgicKick, localVcpu: number): void {
    this.irqs = new IrqTable(share.nrVcpus, share.nrSpis, () => share.irqs, false)
    this.cif = new Uint32Array(share.cif, 0, share.nrVcpus * CIF_STRIDE)
    this.signals = new Int32Array(share.signals, 0, share.nrVcpus)
    this.distWords = new Int32Array(share.dist)
    this.propbaser = new Uint32Array(share.dist, 8, 2)
    this.pendbaser = new Uint32Array(share.pendbaser, 0, 2 * share.nrVcpus)
    this.lock = new SmpLock(new Int32Array(share.lock))
    this.kick = kick
    this.localVcpu = localVcpu
    this.shared = share
  }

  /** Per-vCPU tables that follow the VM's vCPUs (affinities, CPU interfaces). */
  private setUpVcpus(): void {
    const vcpus = this.vm.vcpus
    this.dirty = new Uint8Array(vcpus.length)
    this.affinity = vcpus.map((vcpu) => affinityKey(vcpu.mpidr))
    this.vcpuIds = vcpus.map((vcpu) => vcpu.id)
    this.byAffinity.clear()
    this.affinity.forEach((key, v) => this.byAffinity.set(key, v))
    this.interfaces = vcpus.map((_, v) => new CpuInterface(this, v))
  }

  /** vgic_ready(): the first KVM_RUN mapped the frames. */
  get ready(): boolean {
    return this.isReady
  }

  // ---- configuration (KVM_DEV_ARM_VGIC_GRP_ADDR, GRP_NR_IRQS, GRP_CTRL) ---------------------

  /** The distributor's base, or VGIC_ADDR_UNDEF. */
  get distBase(): number {
    return this.distAddr
  }

  /** KVM_VGIC_V3_ADDR_TYPE_DIST: EEXIST when set, EINVAL unless 64 KiB aligned, E2BIG beyond the IPA space. */
  setDistBase(addr: bigint): void {
    this.checkIoRange(this.distAddr, addr, KVM_VGIC_V3_DIST_SIZE, KVM_VGIC_V3_DIST_SIZE)
    this.distAddr = Number(addr)
  }

  /** The legacy redistributor base (the first region's), or VGIC_ADDR_UNDEF. */
  get redistBase(): number {
    return this.regions[0]?.base ?? VGIC_ADDR_UNDEF
  }

  get redistRegions(): readonly RedistRegion[] {
    return this.regions
  }

  /** KVM_VGIC_V3_ADDR_TYPE_REDIST: one region, as many redistributors as the VM gets vCPUs. */
  setRedistBase(addr: bigint): void {
    this.addRegion(0, addr, 0)
  }

  /**
   * KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION (vgic_v3_alloc_redist_region): regions come in index
   * order, never overlap each other (EINVAL), and a region nobody sized cannot be mixed with
   * sized ones.
   */
  addRedistRegion(index: number, base: bigint, count: number): void {
    if (count === 0) throw new ErrnoError('EINVAL', 'a redistributor region needs a count')
    this.addRegion(index, base, count)
  }

  private addRegion(index: number, base: bigint, count: number): void {
    const size = (count || this.vm.vcpus.length) * KVM_VGIC_V3_REDIST_SIZE
    if (base + BigInt(size) >= U64_LIMIT) throw new ErrnoError('EINVAL', 'the redistributor region wraps around the address space')
    const last = this.regions[this.regions.length - 1]
    if (!last) {
      if (index !== 0) throw new ErrnoError('EINVAL', `the first redistributor region must have index 0, not ${index}`)
    } else {
      if (!count && last.count) throw new ErrnoError('EINVAL', 'the legacy redistributor base cannot follow redistributor regions')
      if (!count) throw new ErrnoError('EEXIST', 'the redistributor base is already set')
      if (index !== last.index + 1) throw new ErrnoError('EINVAL', `redistributor region ${index} does not follow region ${last.index}`)
    }
    const start = base < BigInt(Number.MAX_SAFE_INTEGER) ? Number(base) : Number.MAX_SAFE_INTEGER
    if (!count && this.distAddr !== VGIC_ADDR_UNDEF && overlaps(this.distAddr, KVM_VGIC_V3_DIST_SIZE, start, size)) {
      throw new ErrnoError('EINVAL', 'the redistributors overlap the distributor')
    }
    if (this.regions.some((r) => overlaps(start, size, r.base, this.regionSize(r)))) {
      throw new ErrnoError('EINVAL', 'the redistributor region overlaps another one')
    }
    this.checkIoRange(VGIC_ADDR_UNDEF, base, 0x1_0000, size)
    this.regions.push({ index, base: start, count })
    // vgic_register_all_redist_iodevs: existing vCPUs get their redistributors now, which
    // needs every region to still fit (vgic_v3_check_base).
    if (this.vm.vcpus.length > 0 && !this.checkBase()) {
      this.regions.pop()
      throw new ErrnoError('EINVAL', 'the redistributors do not fit the IPA space or overlap the distributor')
    }
  }

  /** KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION read: ENOENT for an index never set. */
  redistRegion(index: number): RedistRegion {
    const region = this.regions.find((r) => r.index === index)
    if (!region) throw new ErrnoError('ENOENT', `no redistributor region ${index}`)
    return region
  }

  /** vgic_check_iorange. */
  private checkIoRange(current: number, addr: bigint, alignment: number, size: number): void {
    if (current !== VGIC_ADDR_UNDEF) throw new ErrnoError('EEXIST', 'the address is already set')
    if (addr % BigInt(alignment) !== 0n || size % alignment !== 0) {
      throw new ErrnoError('EINVAL', `0x${addr.toString(16)} is not ${alignment / 1024} KiB aligned`)
    }
    if (addr + BigInt(size) >= U64_LIMIT) throw new ErrnoError('EINVAL', 'the range wraps around the address space')
    const ipaSize = 1n << BigInt(this.vm.ipaBits)
    if (addr >= ipaSize || addr + BigInt(size) > ipaSize) {
      throw new ErrnoError('E2BIG', `0x${addr.toString(16)} + 0x${size.toString(16)} is beyond the VM's ${this.vm.ipaBits}-bit IPA space`)
    }
  }

  /** vgic_v3_rd_region_size: the legacy region grows with the vCPUs. */
  private regionSize(region: RedistRegion): number {
    return (region.count || this.vm.vcpus.length) * KVM_VGIC_V3_REDIST_SIZE
  }

  /** vgic_v3_check_base: every region inside the IPA space and clear of the distributor. */
  private checkBase(): boolean {
    const ipaSize = 2 ** this.vm.ipaBits
    for (const r of this.regions) if (r.base + this.regionSize(r) > ipaSize) return false
    if (this.distAddr === VGIC_ADDR_UNDEF) return true
    return !this.regions.some((r) => overlaps(this.distAddr, KVM_VGIC_V3_DIST_SIZE, r.base, this.regionSize(r)))
  }

  /** KVM_DEV_ARM_VGIC_GRP_NR_IRQS read: SPIs + 32 (32 before anyone chose). */
  get nrIrqs(): number {
    return this.spis + VGIC_NR_PRIVATE_IRQS
  }

  /** KVM_DEV_ARM_VGIC_GRP_NR_IRQS: 64..1023 in steps of 32 (EINVAL), once and before the first run (EBUSY). */
  setNrIrqs(count: number): void {
    if (!Number.isInteger(count) || count < VGIC_NR_PRIVATE_IRQS + 32 || count > VGIC_MAX_RESERVED || count % 32 !== 0) {
      throw new ErrnoError('EINVAL', `${count} interrupts: want a multiple of 32 from 64 to 992`)
    }
    if (this.isReady || this.spis !== 0) throw new ErrnoError('EBUSY', 'the number of interrupts is already fixed')
    this.spis = count - VGIC_NR_PRIVATE_IRQS
  }

  /**
   * KVM_DEV_ARM_VGIC_CTRL_INIT (vgic_init): fixes the number of SPIs (224 if never set) and of
   * vCPUs, and gives every interrupt and CPU interface its reset state. Twice is fine.
   */
  init(): void {
    if (this.isInitialized) return
    if (this.spis === 0) this.spis = VGIC_NR_IRQS_LEGACY - VGIC_NR_PRIVATE_IRQS
    const vcpus = this.vm.vcpus
    const n = vcpus.length
    this.irqs = new IrqTable(n, this.spis, this.allocate)
    this.cif = new Uint32Array(n * CIF_STRIDE)
    for (let v = 0; v < n; v++) resetCpuInterface(this.cif, v)
    this.signals = new Int32Array(n)
    this.pendbaser = new Uint32Array(2 * n)
    this.setUpVcpus()
    if (this.implementationRev === 0) this.implementationRev = KVM_VGIC_IMP_REV_LATEST
    this.isInitialized = true
  }

  /**
   * kvm_vgic_map_resources, on the first KVM_RUN: ENXIO while a vCPU has no redistributor or
   * the distributor has no address, EINVAL when the frames overlap or leave the IPA space,
   * EBUSY before INIT. A failure tears the vGIC's configuration down (kvm_vgic_destroy):
   * the VMM has to set it up again.
   */
  mapResources(): void {
    if (this.isReady) return
    try {
      const bases = this.assignRedistributors(this.vm.vcpus.length).base
      const missing = bases.indexOf(VGIC_ADDR_UNDEF)
      if (missing >= 0) throw new ErrnoError('ENXIO', `vCPU ${missing} has no redistributor`)
      if (this.distAddr === VGIC_ADDR_UNDEF) throw new ErrnoError('ENXIO', 'the distributor address is not set')
      if (!this.checkBase()) throw new ErrnoError('EINVAL', 'the distributor and redistributor frames overlap or leave the IPA space')
      if (!this.isInitialized) throw new ErrnoError('EBUSY', 'the vGIC is not initialized (KVM_DEV_ARM_VGIC_CTRL_INIT)')
      // KVM refuses KVM_CREATE_VCPU after INIT; this model cannot yet, so it refuses to run.
      if (this.vm.vcpus.length !== this.irqs.nrVcpus) throw new ErrnoError('EBUSY', 'a vCPU was created after KVM_DEV_ARM_VGIC_CTRL_INIT')
      this.redistBases = bases
    } catch (error) {
      this.destroy()
      throw error
    }
    this.isReady = true
  }

  /** KVM_CREATE_VCPU's check (kvm_arch_vcpu_precreate): no new vCPU once the vGIC is initialized. */
  checkVcpuCreate(): void {
    if (this.isInitialized) throw new ErrnoError('EBUSY', 'the vGIC is initialized; no more vCPUs')
  }

  /** kvm_vgic_destroy: back to the state right after KVM_CREATE_DEVICE. */
  private destroy(): void {
    this.distAddr = VGIC_ADDR_UNDEF
    this.regions.length = 0
    this.spis = 0
    this.isInitialized = false
    this.isReady = false
    this.irqs = NO_IRQS
    this.interfaces = []
  }

  /**
   * Redistributors go to vCPUs in index order, filling the regions in list order (the legacy
   * region never fills): what vgic_register_redist_iodev does as vCPUs and regions appear.
   */
  private assignRedistributors(n: number): { base: number[]; region: number[]; slot: number[]; used: number[] } {
    const used = this.regions.map(() => 0)
    const base: number[] = []
    const region: number[] = []
    const slot: number[] = []
    for (let v = 0; v < n; v++) {
      const r = this.regions.findIndex((reg, i) => reg.count === 0 || (used[i] as number) < reg.count)
      if (r < 0) {
        base.push(VGIC_ADDR_UNDEF)
        region.push(-1)
        slot.push(-1)
        continue
      }
      const reg = this.regions[r] as RedistRegion
      const s = used[r] as number
      used[r] = s + 1
      base.push(reg.base + s * KVM_VGIC_V3_REDIST_SIZE)
      region.push(r)
      slot.push(s)
    }
    return { base, region, slot, used }
  }

  /** GICR_TYPER.Last (vgic_mmio_vcpu_rdist_is_last). */
  redistIsLast(v: number): boolean {
    const { region, slot, used } = this.assignRedistributors(this.irqs.nrVcpus)
    const r = region[v] as number
    if (r < 0) return false
    const reg = this.regions[r] as RedistRegion
    const s = slot[v] as number
    if (s < (used[r] as number) - 1) return false
    if (reg.count && s === reg.count - 1) {
      const end = reg.base + reg.count * KVM_VGIC_V3_REDIST_SIZE
      return !this.regions.some((other, i) => other.base === end && (used[i] as number) > 0)
    }
    return true
  }

  /** Where vCPU `v`'s redistributor is (VGIC_ADDR_UNDEF if it has none). */
  redistBaseOf(v: number): number {
    return this.assignRedistributors(this.vm.vcpus.length).base[v] ?? VGIC_ADDR_UNDEF
  }

  /** Aff2.Aff1.Aff0 of vCPU `v` (GICR_TYPER.Affinity as KVM fills it). */
  affinityOf(v: number): number {
    return (this.affinity[v] as number) % 0x100_0000
  }

  vcpuIdOf(v: number): number {
    return this.vcpuIds[v] as number
  }

  /** kvm_mpidr_to_vcpu: the index of the vCPU with this MPIDR affinity, or -1. */
  vcpuByMpidr(mpidr: bigint): number {
    const key = affinityKey(mpidr)
    return this.vm.vcpus.findIndex((vcpu) => affinityKey(vcpu.mpidr) === key)
  }

  /** The CPU interface of vCPU `v` (after INIT). */
  cpuInterface(v: number): CpuInterface {
    const cif = this.interfaces[v]
    if (!cif) throw new RangeError(`no CPU interface for vCPU index ${v} (vCPUs: ${this.interfaces.length}, initialized: ${this.isInitialized})`)
    return cif
  }

  // ---- state changes and the signal ----------------------------------------------------------

  /** Marks the vCPU that interrupt `intid` (as vCPU `v` names it) is delivered to. */
  touch(v: number, intid: number): void {
    if (intid < VGIC_NR_PRIVATE_IRQS) this.touchVcpu(v)
    else {
      const target = this.irqs.target[intid - VGIC_NR_PRIVATE_IRQS] as number
      if (target >= 0) this.touchVcpu(target)
    }
  }

  touchVcpu(v: number): void {
    this.dirty[v] = 1
    this.anyDirty = true
  }

  private touchAll(): void {
    this.dirty.fill(1)
    this.anyDirty = this.dirty.length > 0
  }

  /** Recomputes the signal of every vCPU touched since the last flush and tells its listener. */
  flush(): void {
    if (!this.anyDirty) return
    this.anyDirty = false
    for (let v = 0; v < this.dirty.length; v++) {
      if (!this.dirty[v]) continue
      this.dirty[v] = 0
      const signal = computeSignal(this, v)
      if (signal !== this.signals[v]) {
        Atomics.store(this.signals, v, signal)
        this.interfaces[v]?.onSignal?.(signal)
        // A vCPU on another thread: woken from WFI, it takes the signal at its next KVM_RUN.
        if (this.kick && v !== this.localVcpu) this.kick(v)
      }
    }
  }

  setEnabled(on: boolean): void {
    if (on === this.enabled) return
    this.enabled = on
    this.touchAll()
  }

  /** GICD_IROUTER write: Aff2.Aff1.Aff0 names the target; no match leaves the SPI undelivered. */
  routeSpi(intid: number, affinity: number): void {
    const i = intid - VGIC_NR_PRIVATE_IRQS
    const old = this.irqs.target[i] as number
    if (old >= 0) this.touchVcpu(old)
    this.irqs.route[i] = affinity
    const target = this.byAffinity.get(affinity) ?? -1
    this.irqs.target[i] = target
    if (target >= 0) this.touchVcpu(target)
  }

  /**
   * ICC_SGI1R/ASGI1R/SGI0R_EL1 written by vCPU `v` (vgic_v3_dispatch_sgi): IRM = 1 sends to
   * every other vCPU, else to the vCPUs Aff3.Aff2.Aff1 + each bit of TargetList names. An
   * access that may not raise group-1 SGIs raises only group-0 ones.
   */
  dispatchSgi(v: number, lo: number, hi: number, allowGroup1: boolean): void {
    this.locked(() => this.dispatchSgiLocked(v, lo, hi, allowGroup1))
  }

  private dispatchSgiLocked(v: number, lo: number, hi: number, allowGroup1: boolean): void {
    const sgi = (lo >>> 24) & 0xf
    const queue = (target: number): void => {
      const slot = this.irqs.slot(target, sgi)
      const flags = this.irqs.flags[slot] as number
      if ((flags & IRQ_GROUP1) && !allowGroup1) return
      this.irqs.flags[slot] = flags | IRQ_PENDING_LATCH
      this.touchVcpu(target)
    }
    if ((hi >>> 8) & 1) {
      for (let target = 0; target < this.irqs.nrVcpus; target++) if (target !== v) queue(target)
    } else {
      const upper = (((lo >>> 16) & 0xff) << 8) | ((hi & 0xff) << 16)
      const aff3 = (hi >>> 16) & 0xff
      const targets = lo & 0xffff
      for (let aff0 = 0; aff0 < 16; aff0++) {
        if (((targets >>> aff0) & 1) === 0) continue
        const target = this.byAffinity.get(upper + aff0 + aff3 * 0x100_0000)
        if (target !== undefined) queue(target)
      }
    }
    this.flush()
  }

  // ---- injection (kvm_vgic_inject_irq, KVM_IRQ_LINE) -----------------------------------------

  /**
   * Drives interrupt `intid`'s line: `v` is the vCPU index for a private interrupt (-1 for an
   * SPI). A level-sensitive interrupt follows the line; an edge-triggered one latches on a
   * rising level. Only the interrupt's owner may drive it (others are ignored, as KVM does).
   * EBUSY before INIT, EINVAL for an interrupt the VM does not have.
   */
  injectIrq(v: number, intid: number, level: boolean, owner = IRQ_OWNER_NONE): void {
    this.locked(() => this.injectIrqLocked(v, intid, level, owner))
  }

  private injectIrqLocked(v: number, intid: number, level: boolean, owner: number): void {
    const slot = this.irqSlot(v, intid)
    const irqs = this.irqs
    if (irqs.owner[slot] !== owner) return
    const flags = irqs.flags[slot] as number
    if (flags & IRQ_EDGE) {
      if (!level) return
      irqs.flags[slot] = flags | IRQ_PENDING_LATCH
    } else {
      if (((flags & IRQ_LINE_LEVEL) !== 0) === level) return
      irqs.flags[slot] = level ? flags | IRQ_LINE_LEVEL : flags & ~IRQ_LINE_LEVEL
    }
    this.touch(v, intid)
    this.flush()
  }

  /** kvm_vgic_set_owner: reserves a line for a kernel device (the timers). */
  setOwner(v: number, intid: number, owner: number): void {
    const slot = this.irqSlot(v, intid)
    const current = this.irqs.owner[slot] as number
    if (current !== IRQ_OWNER_NONE && current !== owner) throw new ErrnoError('EEXIST', `interrupt ${intid} already has an owner`)
    this.irqs.owner[slot] = owner
  }

  /** The output line level of interrupt `intid` as vCPU `v` sees it. */
  lineLevel(v: number, intid: number): boolean {
    return ((this.irqs.flags[this.irqSlot(v, intid)] as number) & IRQ_LINE_LEVEL) !== 0
  }

  private irqSlot(v: number, intid: number): number {
    if (!this.isInitialized) throw new ErrnoError('EBUSY', 'the vGIC is not initialized (KVM_DEV_ARM_VGIC_CTRL_INIT)')
    if (!Number.isInteger(intid) || intid < 0 || intid >= this.irqs.nrIrqs) throw new ErrnoError('EINVAL', `no interrupt ${intid}`)
    if (intid < VGIC_NR_PRIVATE_IRQS && !(Number.isInteger(v) && v >= 0 && v < this.irqs.nrVcpus)) {
      throw new ErrnoError('EINVAL', `private interrupt ${intid} needs a vCPU`)
    }
    return this.irqs.slot(v, intid)
  }

  // ---- guest MMIO (the KVM io bus) -------------------------------------------------------------

  private hitVcpu = -1
  private hitOffset = 0

  /** Which frame holds `ipa`: sets hitVcpu (-1 = distributor) and hitOffset. */
  private locate(ipa: number): boolean {
    if (!this.isReady) return false
    const distOffset = ipa - this.distAddr
    if (distOffset >= 0 && distOffset < KVM_VGIC_V3_DIST_SIZE) {
      this.hitVcpu = -1
      this.hitOffset = distOffset
      return true
    }
    const bases = this.redistBases
    for (let v = 0; v < bases.length; v++) {
      const offset = ipa - (bases[v] as number)
      if (offset >= 0 && offset < KVM_VGIC_V3_REDIST_SIZE) {
        this.hitVcpu = v
        this.hitOffset = offset
        return true
      }
    }
    return false
  }

  /**
   * A guest read of `len` bytes at `ipa` by vCPU `v`: false when no vGIC frame is there;
   * otherwise the value is in dataLo/dataHi (zero for registers that do not exist or do not
   * take this width, as KVM answers).
   */
  mmioRead(v: number, ipa: number, len: number): boolean {
    return this.locked(() => this.mmioReadLocked(v, ipa, len))
  }

  private mmioReadLocked(v: number, ipa: number, len: number): boolean {
    if (!this.locate(ipa)) return false
    const frameVcpu = this.hitVcpu < 0 ? v : this.hitVcpu
    const regions = this.hitVcpu < 0 ? DIST_REGISTERS : REDIST_REGISTERS
    const offset = this.hitOffset
    const r = accessibleRegion(regions, offset, len, this.irqs.nrIrqs)
    this.dataLo = 0
    this.dataHi = 0
    if (r) {
      if (len === 8) {
        this.dataLo = r.read(this, frameVcpu, offset, 4, r)
        this.dataHi = r.read(this, frameVcpu, offset + 4, 4, r)
      } else {
        this.dataLo = r.read(this, frameVcpu, offset, len, r)
      }
    }
    return true
  }

  /** A guest write; false when no vGIC frame is at `ipa`. */
  mmioWrite(v: number, ipa: number, len: number, lo: number, hi: number): boolean {
    return this.locked(() => this.mmioWriteLocked(v, ipa, len, lo, hi))
  }

  private mmioWriteLocked(v: number, ipa: number, len: number, lo: number, hi: number): boolean {
    if (!this.locate(ipa)) return false
    const frameVcpu = this.hitVcpu < 0 ? v : this.hitVcpu
    const regions = this.hitVcpu < 0 ? DIST_REGISTERS : REDIST_REGISTERS
    const offset = this.hitOffset
    const r = accessibleRegion(regions, offset, len, this.irqs.nrIrqs)
    if (r) {
      if (len === 8) {
        r.write(this, frameVcpu, offset, 4, lo >>> 0, r)
        r.write(this, frameVcpu, offset + 4, 4, hi >>> 0, r)
      } else {
        r.write(this, frameVcpu, offset, len, (len === 1 ? lo & 0xff : lo) >>> 0, r)
      }
      this.flush()
    }
    return true
  }

  // ---- userspace access (GRP_DIST_REGS, GRP_REDIST_REGS, GRP_LEVEL_INFO) ---------------------

  /** Whether a 32-bit register exists at `offset` (vgic_v3_has_attr_regs). */
  hasRegister(redist: boolean, offset: number): boolean {
    if (offset % 4 !== 0) return false
    return accessibleRegion(redist ? REDIST_REGISTERS : DIST_REGISTERS, offset, 4, this.nrIrqs) !== undefined
  }

  /**
   * vgic_uaccess: a 32-bit read of the distributor (`redist` false, seen by vCPU `v`) or of
   * vCPU `v`'s redistributor. Offsets with no register read as 0. EBUSY before INIT.
   */
  userRead(redist: boolean, v: number, offset: number): number {
    const r = this.userRegion(redist, offset)
    if (!r) return 0
    return (r.userRead ?? r.read)(this, v, offset, 4, r) >>> 0
  }

  /** The matching write: offsets with no register are ignored; EINVAL for values a register refuses. */
  userWrite(redist: boolean, v: number, offset: number, value: number): void {
    const r = this.userRegion(redist, offset)
    if (!r) return
    ;(r.userWrite ?? r.write)(this, v, offset, 4, value >>> 0, r)
    this.flush()
  }

  private userRegion(redist: boolean, offset: number): RegisterRegion | undefined {
    if (!this.isInitialized) throw new ErrnoError('EBUSY', 'the vGIC is not initialized (KVM_DEV_ARM_VGIC_CTRL_INIT)')
    return accessibleRegion(redist ? REDIST_REGISTERS : DIST_REGISTERS, offset, 4, this.irqs.nrIrqs)
  }

  /**
   * GRP_LEVEL_INFO read: the line levels of the 32 interrupts from `intid` (a multiple of 32,
   * else EINVAL) as vCPU `v` sees them; only level-sensitive interrupts report a level.
   */
  readLineLevels(v: number, intid: number): number {
    this.checkLevelInfo(intid)
    const irqs = this.irqs
    let value = 0
    for (let i = 0; i < 32; i++) {
      const id = intid + i
      if (id < VGIC_NR_SGIS || id >= irqs.nrIrqs) continue
      const flags = irqs.flags[irqs.slot(v, id)] as number
      if ((flags & (IRQ_EDGE | IRQ_LINE_LEVEL)) === IRQ_LINE_LEVEL) value |= 1 << i
    }
    return value >>> 0
  }

  /** GRP_LEVEL_INFO write: sets the lines whatever the trigger (the config may be restored later). */
  writeLineLevels(v: number, intid: number, value: number): void {
    this.checkLevelInfo(intid)
    const irqs = this.irqs
    for (let i = 0; i < 32; i++) {
      const id = intid + i
      if (id < VGIC_NR_SGIS || id >= irqs.nrIrqs) continue
      const slot = irqs.slot(v, id)
      const flags = irqs.flags[slot] as number
      irqs.flags[slot] = (value >>> i) & 1 ? flags | IRQ_LINE_LEVEL : flags & ~IRQ_LINE_LEVEL
      this.touch(v, id)
    }
    this.flush()
  }

  private checkLevelInfo(intid: number): void {
    if (!this.isInitialized) throw new ErrnoError('EBUSY', 'the vGIC is not initialized (KVM_DEV_ARM_VGIC_CTRL_INIT)')
    if (intid % 32 !== 0) throw new ErrnoError('EINVAL', `line levels come 32 at a time, from a multiple of 32 (not ${intid})`)
  }
}

// ---- the VM's vGIC (kvm->arch.vgic) -------------------------------------------------------------

const vgics = new WeakMap<VgicVm, Vgic>()

function registerVgic(vm: VgicVm, vgic: Vgic): void {
  if (vgics.has(vm)) throw new ErrnoError('EEXIST', 'the VM already has an interrupt controller')
  vgics.set(vm, vgic)
}

/**
 * kvm_vgic_create for KVM_DEV_TYPE_ARM_VGIC_V3: EEXIST when the VM has one, EBUSY once a vCPU
 * has run, E2BIG with more vCPUs than a GICv3 serves.
 */
export function createVgicV3(vm: VgicVm, options: VgicOptions = {}): Vgic {
  if (vgics.has(vm)) throw new ErrnoError('EEXIST', 'the VM already has an interrupt controller')
  if (vm.vcpus.some(vcpuHasRun)) throw new ErrnoError('EBUSY', 'a vCPU has already run')
  if (vm.vcpus.length > VGIC_V3_MAX_CPUS) throw new ErrnoError('E2BIG', `a GICv3 serves at most ${VGIC_V3_MAX_CPUS} vCPUs`)
  const vgic = new Vgic(vm, options)
  vgics.set(vm, vgic)
  return vgic
}

/** The VM's in-kernel vGIC, if KVM_CREATE_DEVICE made one (irqchip_in_kernel). */
export function vmVgic(vm: VgicVm): Vgic | undefined {
  return vgics.get(vm)
}
