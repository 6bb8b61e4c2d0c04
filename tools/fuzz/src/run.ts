/**
 * Runs a scenario once: builds the VM, runs the slices, answers every exit the same way,
 * applies the host perturbations between slices (perturbed run only), and records the
 * final architectural state for the differential oracle.
 */
import {
  KVM_ARM_TAGS_FROM_GUEST,
  KVM_ARM_TAGS_TO_GUEST,
  KVM_MEM_LOG_DIRTY_PAGES,
  REG_PC,
  type Kvm,
  type MemoryRegion,
  type VcpuFd,
} from '@tagvm/vmm-api'
import { MADV_HUGEPAGE, MADV_NOHUGEPAGE, MADV_PAGEOUT, MAP_ANONYMOUS, MAP_PRIVATE, PROT_MTE, PROT_READ, PROT_WRITE, type HostMm } from '@tagvm/tag-memory'
import { scenarioImage } from './image.js'
import { LOG_OFFSET, REFUSED_GPA, SLOT1_GPA } from './layout.js'
import {
  Machine,
  PAGE,
  copySlotPages,
  copyVcpuState,
  isKvmError,
  migrationTarget,
  openHost,
  openProcess,
  type SlotState,
} from './machine.js'
import { hashString } from './rng.js'
import type { MigrationTarget, Perturbation, Scenario } from './scenario.js'

/** What a run ended with. Everything but `stats` must be equal between the two runs. */
export interface Outcome {
  /** VMM-visible exits and events, with the retired count at each. */
  readonly exits: string[]
  readonly retired: number
  /** `vcpu:register` → value, for every ONE_REG register of every vCPU. */
  readonly registers: Map<string, string>
  readonly mpStates: number[]
  /** `slot:page` → hash of the page's data / tags. */
  readonly memory: Map<string, number>
  readonly tags: Map<string, number>
  /** Oracle violations seen during the run (budget overrun, unbounded exits...). */
  readonly violations: string[]
  /** A host exception, if the run ended with one. */
  readonly error: { readonly name: string; readonly message: string; readonly stack: string } | null
  /** Counters that may differ between the runs (not compared). */
  readonly stats: Record<string, number>
}

export interface RunOptions {
  /** Apply the scenario's perturbations. */
  readonly perturb: boolean
  /** Extra perturbations (the oracle's self-test injects observable ones). */
  readonly extra?: readonly { readonly at: number; readonly op: Perturbation }[]
  /**
   * Make the VMM read vCPU state for migrations without the immediate_exit KVM_RUN first
   * (the bug of issue 21 item 4): the oracle's self-test expects the fuzzer to notice.
   */
  readonly skipImmediateExit?: boolean
  /** Called with the final machine after the state is recorded (tests look inside). */
  readonly inspect?: (machine: Machine) => void
}

/** Exits in a row a slice may take beyond its instruction budget before it counts as a hang. */
const EXIT_SLACK = 64
/**
 * A KVM_RUN retiring this many instructions beyond its budget is a runaway: more than the
 * instructions the hypervisor completes without charging them (F2) explain in practice.
 */
const RUNAWAY = 100_000

interface LiveMigration {
  readonly target: Machine
}

class ScenarioRun {
  readonly s: Scenario
  readonly perturb: boolean
  machine: Machine
  readonly exits: string[] = []
  readonly violations: string[] = []
  readonly stats: Record<string, number> = {}
  /** Instructions retired by machines this run has migrated away from. */
  retiredBefore = 0
  mmioCount = 0
  ended = false
  /** vCPUs the VMM stopped (KVM_RUN failed with EFAULT). */
  readonly stopped = new Set<number>()
  /** Slots the perturbations asked to dirty-log (migration logs every slot besides). */
  readonly dirtyLogged = new Set<number>()
  live: LiveMigration | null = null
  forkChild: HostMm | null = null

  readonly skipImmediateExit: boolean

  constructor(s: Scenario, perturb: boolean, skipImmediateExit = false) {
    this.s = s
    this.perturb = perturb
    this.skipImmediateExit = skipImmediateExit
    this.machine = new Machine(s, openHost(s), { image: scenarioImage(s), perturbed: perturb })
    this.vcpuRetiredBefore = s.vcpus.map(() => 0)
    this.vcpuSkipped = s.vcpus.map(() => 0)
    this.vcpuTarget = s.vcpus.map(() => 0)
    this.mmioPending = s.vcpus.map(() => false)
  }

  count(name: string, n = 1): void {
    this.stats[name] = (this.stats[name] ?? 0) + n
  }

  get retired(): number {
    return this.retiredBefore + this.machine.retired
  }

  /**
   * An exit in the record, with its vCPU's progress (not the VM's total: when another vCPU's
   * answered MMIO access completes, before a migration or at its next run, is not the guest's
   * business).
   */
  record(vcpu: number, text: string): void {
    this.exits.push(`${vcpu}:${text}@${this.vcpuProgress(vcpu)}`)
  }

  /** Instructions vCPU i retired on machines this run has migrated away from. */
  readonly vcpuRetiredBefore: number[]
  /** Instructions of vCPU i the VMM skipped (MMIO it could not decode). */
  readonly vcpuSkipped: number[]
  /** Where each vCPU's count should reach by the end of its current slice. */
  readonly vcpuTarget: number[]
  /** vCPUs whose last exit was an MMIO access the VMM answered but no KVM_RUN completed yet. */
  readonly mmioPending: boolean[]

  /** Instructions vCPU `id` got through: retired on every machine, or skipped by the VMM. */
  vcpuProgress(id: number): number {
    return (this.vcpuRetiredBefore[id] as number) + (this.vcpuSkipped[id] as number) + (this.machine.vcpus[id] as VcpuFd).retiredInstructions
  }

  /**
   * Runs vCPU (index mod n) until its progress reaches the sum of its slice budgets so far.
   * Counting against a cumulative target makes the slices independent of where else
   * instructions retire (an MMIO access completed by an immediate_exit KVM_RUN, a budget
   * overrun), so both runs stop at the same instruction.
   */
  runSlice(index: number, budget: number): void {
    const id = index % this.s.vcpus.length
    this.vcpuTarget[id] = (this.vcpuTarget[id] as number) + budget
    if (this.stopped.has(id)) return
    // Every exit but a stall retires or skips an instruction, so this many is plenty.
    const allowed = (this.vcpuTarget[id] as number) - this.vcpuProgress(id) + EXIT_SLACK
    let exits = 0
    for (;;) {
      const left = (this.vcpuTarget[id] as number) - this.vcpuProgress(id)
      if (left <= 0) return
      if (exits++ > allowed) return this.unbounded(index, id, allowed - EXIT_SLACK, exits)
      const vcpu = this.machine.vcpus[id] as VcpuFd
      const before = vcpu.retiredInstructions
      // KVM_RUN retires an answered MMIO access first without charging it to the budget
      // (FINDINGS.md F2): charge it here, or where it completes (in this KVM_RUN, or in an
      // immediate_exit one before a migration) would move where the run stops.
      const charge = this.mmioPending[id] ? 1 : 0
      this.mmioPending[id] = false
      let exit
      try {
        exit = vcpu.run(Math.max(0, left - charge))
      } catch (error) {
        if (isKvmError(error, 'ENOSYS')) {
          // An MMIO access without a syndrome (KVM cannot decode it): this VMM skips it.
          this.record(id, 'enosys')
          this.count('exit.enosys')
          this.skipInstruction(id)
          continue
        }
        if (isKvmError(error, 'EFAULT') && this.s.slots.some((slot) => slot.vmmReadOnly)) {
          // A guest write to memory the VMM mapped read-only: KVM_RUN fails; stop the vCPU.
          this.record(id, 'efault')
          this.stopped.add(id)
          return
        }
        throw error
      }
      const retired = vcpu.retiredInstructions - before
      if (retired < 0) this.violations.push(`slice ${index}: vCPU ${id}'s retired count went back by ${-retired}`)
      // KVM_RUN does not charge the budget for instructions the hypervisor completes itself
      // (MMIO, trapped system registers, WFx): known, FINDINGS.md F2. Counted, not reported.
      if (retired > Math.max(left, charge)) this.count('budget-overruns')
      if (retired > left + RUNAWAY) this.violations.push(`slice ${index}: vCPU ${id} retired ${retired} instructions in one KVM_RUN on a budget of ${left}`)
      this.count(`exit.${exit.kind}`)
      switch (exit.kind) {
        case 'mmio':
          if (exit.write) {
            this.record(id, `mmio-w ${exit.addr.toString(16)}/${exit.size} ${bytesHex(exit.data)}`)
          } else {
            exit.data.set(mmioData(this.s.mmioSeed, this.mmioCount, exit.size))
            this.record(id, `mmio-r ${exit.addr.toString(16)}/${exit.size}`)
          }
          this.mmioCount++
          this.mmioPending[id] = true
          if (this.s.yieldOnMmio > 0 && this.mmioCount % this.s.yieldOnMmio === 0) return
          break
        case 'system-event':
          this.record(id, `system-event ${exit.type} ${exit.flags}`)
          this.ended = true
          return
        case 'arm-nisv':
          // The DFSC (Linux's kvm_vcpu_dabt_iss_nisv_sanitized passes it on) is the stage-2
          // fault: translation or permission, at the level the walk stopped, all host state
          // (a page swapped out, a slot re-created). Only CM and WnR are the guest's.
          this.record(id, `nisv ${(exit.esrIss & 0x140).toString(16)} ${exit.faultIpa.toString(16)}`)
          this.skipInstruction(id)
          break
        case 'intr':
          // Short of the target: the vCPU is off, or stalled. Next slice.
          if (retired < left && left - charge > 0) {
            this.record(id, 'intr')
            return
          }
          break
      }
    }
  }

  private unbounded(index: number, id: number, budget: number, exits: number): void {
    this.violations.push(`slice ${index}: vCPU ${id} took ${exits} exits on a budget of ${budget} instructions`)
  }

  private skipInstruction(id: number): void {
    const vcpu = this.machine.vcpus[id] as VcpuFd
    vcpu.setOneReg(REG_PC, (vcpu.getOneReg(REG_PC) + 4n) & 0xffff_ffff_ffff_ffffn)
    this.vcpuSkipped[id] = (this.vcpuSkipped[id] as number) + 1
  }

  // ---- perturbations -----------------------------------------------------------------------

  apply(op: Perturbation): void {
    const m = this.machine
    this.count(`perturb.${op.kind}`)
    switch (op.kind) {
      case 'swap':
        for (const [slotId, page] of op.pages) {
          const hva = this.hvaOf(slotId, page)
          if (hva !== null && m.process.residentFrame(hva) !== null && m.process.swapOut(hva)) this.count('swapped')
        }
        return
      case 'pageout': {
        const slot = this.slotOf(op.slot)
        if (!slot) return
        const pages = Math.min(op.count, slot.spec.size / PAGE - op.page)
        m.process.madvise(slot.hva + op.page * PAGE, pages * PAGE, MADV_PAGEOUT)
        return
      }
      case 'migrate-pages':
        for (const [slotId, page] of op.pages) {
          const hva = this.hvaOf(slotId, page)
          if (hva === null) continue
          const pfn = m.process.residentFrame(hva)
          if (pfn === null || pfn === m.kernel.zeroPfn) continue
          m.process.migrate(hva)
          this.count('migrated')
        }
        return
      case 'compact':
        this.count('compacted', m.kernel.compact(op.maxMoves))
        return
      case 'ksm':
        this.count('ksm-merged', m.kernel.ksmScan())
        return
      case 'copy-tags':
        this.copyTagsRoundTrip(op.gpa, op.length)
        return
      case 'inject-zero-tags':
        m.vm.mteCopyTags({ guestIpa: op.gpa, length: op.length, addr: new Uint8Array(op.length / 16), flags: KVM_ARM_TAGS_TO_GUEST })
        return
      case 'dirty-log':
        if (op.enable) this.dirtyLogged.add(op.slot)
        else this.dirtyLogged.delete(op.slot)
        this.updateDirtyLogging()
        return
      case 'dirty-harvest':
        this.harvest()
        return
      case 'one-reg': {
        const vcpu = m.vcpus[op.vcpu]
        if (!vcpu) return
        this.completePending(vcpu)
        const entries = [...m.registers(vcpu)]
        if (op.reverse) entries.reverse()
        for (const [id, value] of entries) vcpu.setOneReg(id, value)
        return
      }
      case 'fork':
        if (!this.forkChild) this.forkChild = m.process.fork()
        return
      case 'fork-exit':
        this.forkChild?.exit()
        this.forkChild = null
        return
      case 'slot-recreate': {
        const slot = this.slotOf(op.slot)
        if (!slot) return
        // A VMM harvests the dirty log before a slot goes away (QEMU does), or loses it.
        if (this.live) this.harvest()
        m.deleteRegion(slot)
        m.setRegion(slot, slot.flags)
        return
      }
      case 'hugepage': {
        const slot = this.slotOf(op.slot)
        if (slot) m.process.madvise(slot.hva, slot.spec.size, op.on ? MADV_HUGEPAGE : MADV_NOHUGEPAGE)
        return
      }
      case 'vmm-rewrite': {
        const slot = this.slotOf(op.slot)
        if (!slot || slot.spec.vmmReadOnly) return
        const length = Math.min(op.count, slot.spec.size / PAGE - op.page) * PAGE
        const bytes = new Uint8Array(length)
        m.process.userRead(slot.hva + op.page * PAGE, bytes)
        m.process.userWrite(slot.hva + op.page * PAGE, bytes)
        return
      }
      case 'refused-memslot':
        this.refusedMemslot(op.why)
        return
      case 'mprotect-mte': {
        const slot = this.slotOf(op.slot)
        if (!slot || slot.spec.backing === 'file') return
        m.process.mprotect(slot.hva, slot.spec.size, PROT_READ | PROT_WRITE | (op.on ? PROT_MTE : 0))
        return
      }
      case 'migrate-vm':
        if (this.live) return
        this.migrate(this.targetHost(op.target))
        return
      case 'migrate-live-start':
        if (this.live) return
        this.startLiveMigration(this.targetHost(op.target))
        return
      case 'migrate-live-finish':
        if (this.live) this.finishLiveMigration()
        return
    }
  }

  private slotOf(id: number): SlotState | undefined {
    return this.machine.slots.find((s) => s.spec.slot === id)
  }

  private hvaOf(slotId: number, page: number): number | null {
    const slot = this.slotOf(slotId)
    if (!slot || page * PAGE >= slot.spec.size) return null
    return slot.hva + page * PAGE
  }

  private completePending(vcpu: VcpuFd, forMigration = false): void {
    if (forMigration && this.skipImmediateExit) return
    this.mmioPending[this.machine.vcpus.indexOf(vcpu)] = false
    if (!this.machine.completePending(vcpu)) this.violations.push('KVM_RUN with immediate_exit set ran instead of failing with EINTR')
  }

  /**
   * A memslot request KVM refuses, with the errno Linux gives; nothing may change (a slot
   * left behind at the window guest pointers aim at would show in the differential).
   */
  private refusedMemslot(why: 'file-with-mte' | 'overlap' | 'resize'): void {
    const m = this.machine
    const expected = why === 'overlap' ? 'EEXIST' : 'EINVAL'
    const attempt = (region: MemoryRegion): void => {
      try {
        m.vm.setUserMemoryRegion(region)
      } catch (error) {
        if (isKvmError(error, expected)) return
        throw error
      }
      this.violations.push(`KVM_SET_USER_MEMORY_REGION (${why}) of slot ${region.slot} at 0x${region.guestPhysAddr.toString(16)} succeeded; ${expected} expected`)
    }
    if (why === 'resize') {
      const slot = m.slot(1)
      attempt({ slot: 1, flags: slot.flags, guestPhysAddr: slot.spec.gpa, memorySize: slot.spec.size / 2, userspaceAddr: slot.hva })
      return
    }
    const size = 16 * PAGE
    const file = why === 'file-with-mte' ? m.kernel.createFile('disk.img', new Uint8Array(size)) : undefined
    const hva = m.kvm.mmap({ length: size, prot: PROT_READ | PROT_WRITE, flags: file ? MAP_PRIVATE : MAP_PRIVATE | MAP_ANONYMOUS, ...(file ? { file } : {}) })
    try {
      attempt({ slot: 40, flags: 0, guestPhysAddr: why === 'overlap' ? SLOT1_GPA + size : REFUSED_GPA, memorySize: size, userspaceAddr: hva })
    } finally {
      m.kvm.munmap(hva, size)
    }
  }

  /** KVM_ARM_MTE_COPY_TAGS out and back: the guest must not notice. */
  private copyTagsRoundTrip(gpa: number, length: number): void {
    const m = this.machine
    const tags = new Uint8Array(length / 16)
    let done: number
    try {
      done = m.vm.mteCopyTags({ guestIpa: gpa, length, addr: tags, flags: KVM_ARM_TAGS_FROM_GUEST })
    } catch (error) {
      // No memslot at the first page: EFAULT, as documented.
      if (isKvmError(error, 'EFAULT') && !m.slotAt(gpa)) return
      throw error
    }
    if (done % PAGE !== 0 || done < 0 || done > length) {
      this.violations.push(`KVM_ARM_MTE_COPY_TAGS from ${gpa.toString(16)}+${length} returned ${done}`)
      return
    }
    // Partial copies stop at the first page without a memslot.
    const expected = this.copyableLength(gpa, length)
    if (done !== expected) this.violations.push(`KVM_ARM_MTE_COPY_TAGS from ${gpa.toString(16)}+${length} copied ${done}, expected ${expected}`)
    if (done === 0) return
    const writable = this.copyableLength(gpa, done, true)
    if (writable === 0) return
    const back = m.vm.mteCopyTags({ guestIpa: gpa, length: writable, addr: tags.subarray(0, writable / 16), flags: KVM_ARM_TAGS_TO_GUEST })
    if (back !== writable) this.violations.push(`KVM_ARM_MTE_COPY_TAGS to ${gpa.toString(16)}+${writable} returned ${back}`)
    this.count('tag-bytes-copied', writable)
  }

  /** How much of [gpa, gpa+length) lies in consecutive memslots (writable ones only, if asked). */
  private copyableLength(gpa: number, length: number, writable = false): number {
    let at = gpa
    while (at < gpa + length) {
      const slot = this.machine.slotAt(at)
      if (!slot || (writable && slot.spec.readonly)) break
      at = Math.min(gpa + length, slot.spec.gpa + slot.spec.size)
    }
    return at - gpa
  }

  private updateDirtyLogging(): void {
    const m = this.machine
    for (const slot of m.slots) {
      const want = this.dirtyLogged.has(slot.spec.slot) || this.live !== null
      const flags = want ? slot.flags | KVM_MEM_LOG_DIRTY_PAGES : slot.flags & ~KVM_MEM_LOG_DIRTY_PAGES
      if (flags !== slot.flags) m.setRegion(slot, flags)
    }
  }

  /**
   * KVM_GET_DIRTY_LOG (and KVM_CLEAR_DIRTY_LOG under manual protection) of every logged
   * slot; during a live migration the dirty pages go to the target.
   */
  private harvest(copyTo: Machine | null = this.live?.target ?? null): void {
    const m = this.machine
    const manual = this.perturb && (this.s.manualDirtyLog & 1) !== 0
    for (const slot of m.slots) {
      if ((slot.flags & KVM_MEM_LOG_DIRTY_PAGES) === 0) continue
      const bitmap = m.vm.getDirtyLog(slot.spec.slot)
      const pages = slot.spec.size / PAGE
      if (manual) m.vm.clearDirtyLog({ slot: slot.spec.slot, firstPage: 0, numPages: pages, dirtyBitmap: bitmap })
      const dirty: number[] = []
      for (let p = 0; p < pages; p++) if (((bitmap[p >>> 3] as number) >>> (p & 7)) & 1) dirty.push(p)
      this.count('dirty-pages', dirty.length)
      if (copyTo && dirty.length > 0) this.count('migration-pages', copySlotPages(m, copyTo, slot.spec.slot, dirty))
    }
  }

  private targetHost(target: MigrationTarget): Kvm {
    switch (target) {
      case 'same-process':
        return this.machine.kvm
      case 'other-process':
        return openProcess(this.s, this.machine.kvm)
      case 'other-host':
        return openHost(this.s)
    }
  }

  /** Stop and copy: complete pending work, copy memory, tags and registers, switch. */
  private migrate(kvm: Kvm): void {
    const source = this.machine
    for (const vcpu of source.vcpus) this.completePending(vcpu, true)
    const target = migrationTarget(source, kvm, this.dirtyLogged)
    for (const slot of source.slots) copySlotPages(source, target, slot.spec.slot, 'all')
    copyVcpuState(source, target)
    this.switchTo(target)
  }

  private startLiveMigration(kvm: Kvm): void {
    const source = this.machine
    this.live = { target: migrationTarget(source, kvm, this.dirtyLogged) }
    // Log first, then copy everything: whatever the guest writes after the copy is dirty.
    this.updateDirtyLogging()
    this.harvest(null) // reset the log (and write-protect under manual protection): the copy carries it
    for (const slot of source.slots) copySlotPages(source, this.live.target, slot.spec.slot, 'all')
  }

  /** One pre-copy round (between slices while a live migration runs). */
  precopyRound(): void {
    if (this.live) this.harvest()
  }

  private finishLiveMigration(): void {
    const live = this.live as LiveMigration
    const source = this.machine
    for (const vcpu of source.vcpus) this.completePending(vcpu, true)
    this.harvest()
    copyVcpuState(source, live.target)
    this.live = null
    this.switchTo(live.target)
    this.updateDirtyLogging()
  }

  private switchTo(target: Machine): void {
    this.count('vm-migrations')
    this.retiredBefore += this.machine.retired
    this.machine.vcpus.forEach((vcpu, i) => (this.vcpuRetiredBefore[i] = (this.vcpuRetiredBefore[i] as number) + vcpu.retiredInstructions))
    this.machine = target
  }

  // ---- the end -----------------------------------------------------------------------------

  finalState(): Pick<Outcome, 'registers' | 'mpStates' | 'memory' | 'tags'> {
    const m = this.machine
    const registers = new Map<string, string>()
    const mpStates: number[] = []
    m.vcpus.forEach((vcpu, i) => {
      this.completePending(vcpu)
      for (const [id, value] of m.registers(vcpu)) registers.set(`${i}:${id.toString(16)}`, value.toString(16))
      mpStates.push(vcpu.getMpState())
    })
    const memory = new Map<string, number>()
    const tags = new Map<string, number>()
    const data = new Uint8Array(PAGE)
    for (const slot of m.slots) {
      const pages = slot.spec.size / PAGE
      for (let p = 0; p < pages; p++) {
        m.readPage(slot, p, data)
        memory.set(`${slot.spec.slot}:${p}`, hashBytes(data))
      }
      if (!this.s.mte) continue
      const all = m.readTags(slot, 0, pages)
      for (let p = 0; p < pages; p++) tags.set(`${slot.spec.slot}:${p}`, hashBytes(all.subarray(p * 256, (p + 1) * 256)))
    }
    // How often the guest took an exception (the vectors count them in each log page).
    const count = new Uint8Array(8)
    m.vcpus.forEach((_, i) => {
      m.process.userRead(m.slot(0).hva + LOG_OFFSET + i * 0x1000, count)
      this.count('guest-exceptions', Number(new DataView(count.buffer).getBigUint64(0, true)))
    })
    return { registers, mpStates, memory, tags }
  }
}

/** Runs `s` once. Never throws for a host exception: it is part of the outcome. */
export function runScenario(s: Scenario, options: RunOptions): Outcome {
  let run: ScenarioRun | null = null
  try {
    run = new ScenarioRun(s, options.perturb, options.skipImmediateExit)
    const scheduled = [...(options.perturb ? s.perturbations : []), ...(options.extra ?? [])].sort((a, b) => a.at - b.at)
    let next = 0
    for (let i = 0; i < s.slices.length && !run.ended; i++) {
      run.precopyRound()
      while (next < scheduled.length && (scheduled[next] as { at: number }).at <= i) run.apply((scheduled[next++] as { op: Perturbation }).op)
      run.runSlice(i, s.slices[i] as number)
    }
    const final = run.finalState()
    options.inspect?.(run.machine)
    return { exits: run.exits, retired: run.retired, violations: run.violations, error: null, stats: run.stats, ...final }
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error))
    return {
      exits: run?.exits ?? [],
      retired: run?.retired ?? 0,
      registers: new Map(),
      mpStates: [],
      memory: new Map(),
      tags: new Map(),
      violations: run?.violations ?? [],
      error: { name: e.name, message: e.message, stack: e.stack ?? '' },
      stats: run?.stats ?? {},
    }
  }
}

function bytesHex(bytes: Uint8Array): string {
  let out = ''
  for (const b of bytes) out += b.toString(16).padStart(2, '0')
  return out
}

/** The bytes the VMM answers MMIO read number `n` with. */
function mmioData(seed: number, n: number, size: number): Uint8Array {
  const out = new Uint8Array(size)
  let h = hashString(`${seed}:${n}`)
  for (let i = 0; i < size; i++) {
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0
    out[i] = h & 0xff
  }
  return out
}

/** FNV-1a over 32-bit words (lengths are multiples of 4). */
function hashBytes(bytes: Uint8Array): number {
  const words = new Int32Array(bytes.buffer, bytes.byteOffset, bytes.length >>> 2)
  let h = 0x811c9dc5
  for (let i = 0; i < words.length; i++) h = Math.imul(h ^ (words[i] as number), 0x01000193)
  return h >>> 0
}
