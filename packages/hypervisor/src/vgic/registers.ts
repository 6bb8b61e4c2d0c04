// Numbers of the GICv3 architecture and of KVM's vGICv3 (include/linux/irqchip/arm-gic-v3.h,
// include/kvm/arm_vgic.h, arch/arm64/include/uapi/asm/kvm.h), with their real values.
import { IccReg } from '@tagvm/cpu'

/** 16 SGIs (0..15) and 16 PPIs (16..31) per vCPU; SPIs from 32. */
export const VGIC_NR_SGIS = 16
export const VGIC_NR_PRIVATE_IRQS = 32
/** Interrupts when KVM_DEV_ARM_VGIC_GRP_NR_IRQS was never set (VGIC_NR_IRQS_LEGACY). */
export const VGIC_NR_IRQS_LEGACY = 256
/** Largest INTID KVM reserves; GRP_NR_IRQS must not exceed it (so 992 is the largest count). */
export const VGIC_MAX_RESERVED = 1023
/** vCPUs a vGICv3 can serve. */
export const VGIC_V3_MAX_CPUS = 512
/** INTIDs 1020..1023 are special; 1023 is "no pending interrupt". */
export const INTID_SPURIOUS = 1023
/** Priority bits KVM implements (VGIC_PRI_BITS): priorities are multiples of 8. */
export const VGIC_PRI_BITS = 5
/** Preemption bits of the CPU interface; with 5 there is one active-priority register per group. */
export const VGIC_PRE_BITS = 5
/** The smallest binary point the CPU interface allows for group 1 (8 - preemption bits). */
export const BPR_MIN = 8 - VGIC_PRE_BITS
/** Priority value of an idle CPU interface (no active interrupt). */
export const IDLE_PRIORITY = 0xff

/** Frame sizes (KVM_VGIC_V3_DIST_SIZE, KVM_VGIC_V3_REDIST_SIZE). */
export const KVM_VGIC_V3_DIST_SIZE = 0x1_0000
export const KVM_VGIC_V3_REDIST_SIZE = 0x2_0000
/** Offset of a redistributor's SGI_base frame from its RD_base frame. */
export const SGI_FRAME = 0x1_0000
/** VGIC_ADDR_UNDEF: an address that was never set (reads back as all ones). */
export const VGIC_ADDR_UNDEF = -1

// ---- distributor registers (offsets in the 64 KiB GICD frame) ------------------------------
export const GICD_CTLR = 0x0000
export const GICD_TYPER = 0x0004
export const GICD_IIDR = 0x0008
export const GICD_TYPER2 = 0x000c
export const GICD_STATUSR = 0x0010
export const GICD_IGROUPR = 0x0080
export const GICD_ISENABLER = 0x0100
export const GICD_ICENABLER = 0x0180
export const GICD_ISPENDR = 0x0200
export const GICD_ICPENDR = 0x0280
export const GICD_ISACTIVER = 0x0300
export const GICD_ICACTIVER = 0x0380
export const GICD_IPRIORITYR = 0x0400
export const GICD_ITARGETSR = 0x0800
export const GICD_ICFGR = 0x0c00
export const GICD_IGRPMODR = 0x0d00
export const GICD_IROUTER = 0x6000
export const GICD_IDREGS = 0xffd0
export const GICD_PIDR2 = 0xffe8

/** GICD_CTLR with GICD_CTLR.DS = 1 (one security state, as KVM presents it). */
export const GICD_CTLR_ENABLE_G1 = 1 << 1
export const GICD_CTLR_ARE = 1 << 4
export const GICD_CTLR_DS = 1 << 6

/** GICD_IIDR / GICR_IIDR: ProductID 0x4b ("KVM"), Implementer 0x43b (Arm), Revision in 15:12. */
export const PRODUCT_ID_KVM = 0x4b
export const IMPLEMENTER_ARM = 0x43b
export const GICD_IIDR_REVISION_SHIFT = 12
export const GICD_IIDR_REVISION_MASK = 0xf << GICD_IIDR_REVISION_SHIFT
/** Revision 2: guest-configurable groups; revision 3: GICR_CTLR.{IR,CES} read as one. */
export const KVM_VGIC_IMP_REV_2 = 2
export const KVM_VGIC_IMP_REV_3 = 3
export const KVM_VGIC_IMP_REV_LATEST = KVM_VGIC_IMP_REV_3
/** GICD_TYPER.IDbits: 10 INTID bits without an ITS. */
export const INTERRUPT_ID_BITS_SPIS = 10
/** PIDR2.ArchRev = 3 (GICv3), as KVM reports it. */
export const GIC_PIDR2_V3 = 0x3b

// ---- redistributor registers (offsets from RD_base; SGI_base registers add SGI_FRAME) -------
export const GICR_CTLR = 0x0000
export const GICR_IIDR = 0x0004
export const GICR_TYPER = 0x0008
export const GICR_STATUSR = 0x0010
export const GICR_WAKER = 0x0014
export const GICR_PROPBASER = 0x0070
export const GICR_PENDBASER = 0x0078
export const GICR_INVLPIR = 0x00a0
export const GICR_INVALLR = 0x00b0
export const GICR_SYNCR = 0x00c0
export const GICR_IDREGS = 0xffd0
export const GICR_PIDR2 = 0xffe8
export const GICR_IGROUPR0 = SGI_FRAME + 0x0080
export const GICR_ISENABLER0 = SGI_FRAME + 0x0100
export const GICR_ICENABLER0 = SGI_FRAME + 0x0180
export const GICR_ISPENDR0 = SGI_FRAME + 0x0200
export const GICR_ICPENDR0 = SGI_FRAME + 0x0280
export const GICR_ISACTIVER0 = SGI_FRAME + 0x0300
export const GICR_ICACTIVER0 = SGI_FRAME + 0x0380
export const GICR_IPRIORITYR0 = SGI_FRAME + 0x0400
export const GICR_ICFGR0 = SGI_FRAME + 0x0c00
export const GICR_IGRPMODR0 = SGI_FRAME + 0x0d00
export const GICR_NSACR = SGI_FRAME + 0x0e00

export const GICR_CTLR_CES = 1 << 1
export const GICR_CTLR_IR = 1 << 2
/** GICR_TYPER.Last (bit 4) and Processor_Number (23:8); Affinity is in the upper word. */
export const GICR_TYPER_LAST = 1 << 4

// ---- CPU interface system registers (keys as @tagvm/cpu numbers them) -----------------------
export const ICC = IccReg

/** ICC_CTLR_EL1 fields. */
export const ICC_CTLR_CBPR = 1 << 0
export const ICC_CTLR_EOIMODE = 1 << 1
export const ICC_CTLR_PRI_BITS_SHIFT = 8
export const ICC_CTLR_ID_BITS_SHIFT = 11
export const ICC_CTLR_SEIS = 1 << 14
export const ICC_CTLR_A3V = 1 << 15
/** ICC_SRE_EL1 as KVM sets it for the guest: SRE | DFB | DIB, fixed. */
export const ICC_SRE_EL1_VALUE = 0x7
/** What the host's ICH_VTR_EL2 says in KVM's model of it: A3V = 1, SEIS = 0, IDbits = 0 (16 bits). */
export const HOST_A3V: number = 1
export const HOST_SEIS: number = 0
export const HOST_ID_BITS: number = 0

/** The signal a CPU interface drives into its vCPU (a bit each, as ISR_EL1 would show them). */
export const SIGNAL_IRQ = 1
export const SIGNAL_FIQ = 2
