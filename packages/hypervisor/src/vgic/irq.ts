// Per-interrupt state (Linux's struct vgic_irq) as typed arrays, one slot per interrupt:
// the 32 private interrupts of each vCPU, then the SPIs. Typed arrays so that the state can
// later live in a SharedArrayBuffer read by vCPU worker threads.
import { VGIC_NR_PRIVATE_IRQS, VGIC_NR_SGIS } from './registers.js'

/** Bits of `IrqTable.flags`. */
export const IRQ_ENABLED = 1 << 0
/** Pending state set by an edge, a write to ISPENDR or a restore (vgic_irq.pending_latch). */
export const IRQ_PENDING_LATCH = 1 << 1
/** The input line of a level-sensitive interrupt (vgic_irq.line_level), kept apart from the latch. */
export const IRQ_LINE_LEVEL = 1 << 2
export const IRQ_ACTIVE = 1 << 3
/** Group 1 (non-secure); clear means group 0. */
export const IRQ_GROUP1 = 1 << 4
/** Edge-triggered; clear means level-sensitive. */
export const IRQ_EDGE = 1 << 5

/** Who may drive an interrupt's line (vgic_irq.owner): userspace, or a timer of the vCPU. */
export const IRQ_OWNER_NONE = 0
export const IRQ_OWNER_VTIMER = 1
export const IRQ_OWNER_PTIMER = 2

/** Pending as the distributor sees it: the latch, or a high line on a level-sensitive interrupt. */
export function irqIsPending(flags: number): boolean {
  return (flags & IRQ_PENDING_LATCH) !== 0 || (flags & (IRQ_EDGE | IRQ_LINE_LEVEL)) === IRQ_LINE_LEVEL
}

/** How to get the bytes the table lives in (a SharedArrayBuffer for worker threads later). */
export type Allocate = (bytes: number) => ArrayBufferLike

export class IrqTable {
  readonly nrVcpus: number
  readonly nrSpis: number
  /** IRQ_* bits per slot. */
  readonly flags: Uint8Array
  /** Priority per slot (the implemented bits only: multiples of 8). */
  readonly priority: Uint8Array
  /** IRQ_OWNER_* per slot. */
  readonly owner: Uint8Array
  /** GICD_IROUTER Aff2.Aff1.Aff0 of each SPI (index intid - 32). */
  readonly route: Uint32Array
  /** vCPU index each SPI is routed to, or -1 when IROUTER names no vCPU. */
  readonly target: Int16Array

  /** `reset` false: the buffer already holds a table (a vCPU thread's view of the VM's vGIC). */
  constructor(nrVcpus: number, nrSpis: number, allocate: Allocate = (bytes) => new ArrayBuffer(bytes), reset = true) {
    this.nrVcpus = nrVcpus
    this.nrSpis = nrSpis
    const slots = nrVcpus * VGIC_NR_PRIVATE_IRQS + nrSpis
    const bytesPerSlot = 3 * slots
    const routeAt = Math.ceil(bytesPerSlot / 4) * 4
    const buffer = allocate(routeAt + nrSpis * 4 + nrSpis * 2)
    this.flags = new Uint8Array(buffer, 0, slots)
    this.priority = new Uint8Array(buffer, slots, slots)
    this.owner = new Uint8Array(buffer, 2 * slots, slots)
    this.route = new Uint32Array(buffer, routeAt, nrSpis)
    this.target = new Int16Array(buffer, routeAt + nrSpis * 4, nrSpis)
    if (!reset) return
    // KVM's reset state (kvm_vgic_dist_init, vgic_allocate_private_irqs, vgic_init for v3):
    // every interrupt in group 1; SGIs enabled and edge, PPIs level, SPIs edge (config 0),
    // SPIs routed to affinity 0 / vCPU 0.
    for (let v = 0; v < nrVcpus; v++) {
      for (let intid = 0; intid < VGIC_NR_PRIVATE_IRQS; intid++) {
        this.flags[v * VGIC_NR_PRIVATE_IRQS + intid] = intid < VGIC_NR_SGIS ? IRQ_GROUP1 | IRQ_ENABLED | IRQ_EDGE : IRQ_GROUP1
      }
    }
    const spiBase = nrVcpus * VGIC_NR_PRIVATE_IRQS
    for (let i = 0; i < nrSpis; i++) this.flags[spiBase + i] = IRQ_GROUP1 | IRQ_EDGE
    this.target.fill(nrVcpus > 0 ? 0 : -1)
  }

  /** Total interrupts the distributor describes (GICD_TYPER.ITLinesNumber covers these). */
  get nrIrqs(): number {
    return this.nrSpis + VGIC_NR_PRIVATE_IRQS
  }

  /** The slot of `intid` as vCPU `vcpu` sees it (private interrupts are banked per vCPU). */
  slot(vcpu: number, intid: number): number {
    return intid < VGIC_NR_PRIVATE_IRQS ? vcpu * VGIC_NR_PRIVATE_IRQS + intid : this.nrVcpus * VGIC_NR_PRIVATE_IRQS + intid - VGIC_NR_PRIVATE_IRQS
  }
}
