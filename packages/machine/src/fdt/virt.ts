import { node, propCells, propStrings, propU64, PROP_EMPTY, writeFdt, type Fdt, type FdtNode } from './fdt.js'

/** QEMU `virt` addresses tagvm follows (hw/arm/virt.c memmap). */
export const VIRT_RAM_BASE = 0x4000_0000
/** QEMU virt's PL011 (VIRT_UART), and below the size of its register window. */
export const VIRT_UART_BASE = 0x0900_0000
export const VIRT_UART_SIZE = 0x1000
/** QEMU virt's PL031 RTC (VIRT_RTC). */
export const VIRT_RTC_BASE = 0x0901_0000
export const VIRT_RTC_SIZE = 0x1000
/** QEMU virt's GICv3 distributor and redistributor frames (VIRT_GIC_DIST, VIRT_GIC_REDIST). */
export const VIRT_GIC_DIST_BASE = 0x0800_0000
export const VIRT_GIC_DIST_SIZE = 0x1_0000
export const VIRT_GIC_REDIST_BASE = 0x080a_0000
export const VIRT_GIC_REDIST_SIZE = 0xf6_0000
/** SPIs of QEMU virt's devices (a7memmap irqmap): UART 1, RTC 2; INTID = 32 + SPI. */
export const VIRT_UART_SPI = 1
export const VIRT_RTC_SPI = 2
/** Interrupts QEMU's virt gives its GIC (NUM_IRQS 256 SPIs + 32 private = 288). */
export const VIRT_GIC_NR_IRQS = 288

/** The third cell of an interrupt specifier: level-sensitive, active high. */
const IRQ_TYPE_LEVEL_HIGH = 4
const GIC_SPI = 0
const GIC_PPI = 1
/** The timer PPIs as the DTB numbers them (INTID - 16): secure physical 13, physical 14, virtual 11, hypervisor 10. */
const TIMER_PPIS = [13, 14, 11, 10]

/** QEMU's virt DTB is a 1 MiB blob; the size matters for where an ELF guest gets one. */
export const VIRT_FDT_SIZE = 0x10_0000

/** PSCI function ids QEMU lists in /psci (SMC64 forms where a 64-bit argument exists). */
const PSCI_CPU_SUSPEND = 0xc400_0001
const PSCI_CPU_OFF = 0x8400_0002
const PSCI_CPU_ON = 0xc400_0003
const PSCI_MIGRATE = 0xc400_0005

const PHANDLE_APB_PCLK = 0x8000
const PHANDLE_CPU0 = 0x8001
/** The GIC follows the CPUs (QEMU: 0x8003 with two CPUs). */
const phandleGic = (cpus: number): number => PHANDLE_CPU0 + cpus

/** What the virt device tree describes: RAM, CPUs, PSCI, the kernel's command line and initrd. */
export interface VirtFdtConfig {
  readonly ramBase?: number
  readonly ramSize: number
  readonly cpus: number
  /** '1.0' lists arm,psci-1.0 (the hypervisor implements PSCI 1.1, which 1.0 covers). */
  readonly psci?: '1.0' | '0.2'
  readonly bootargs?: string
  readonly initrd?: { readonly start: number; readonly end: number }
  /** Blob size; QEMU's 1 MiB by default. */
  readonly totalSize?: number
}

const UART_PATH = `/pl011@${VIRT_UART_BASE.toString(16)}`

/**
 * The device tree of tagvm's machine, following QEMU 10's `-M virt,mte=on` tree for the parts
 * tagvm has (see apps/tagvm/docs/dtb.md for what is left out and why). MTE itself is not in
 * the tree: QEMU describes it nowhere for a non-secure guest; guests read ID_AA64PFR1_EL1.
 */
export function virtMachineFdtTree(config: VirtFdtConfig): Fdt {
  const ramBase = config.ramBase ?? VIRT_RAM_BASE
  if (!Number.isSafeInteger(config.ramSize) || config.ramSize <= 0) throw new RangeError(`ramSize must be a positive integer, got ${config.ramSize}`)
  if (!Number.isInteger(config.cpus) || config.cpus < 1 || config.cpus > 512) throw new RangeError(`cpus must be an integer in [1, 512], got ${config.cpus}`)
  const psci = config.psci ?? '1.0'

  const cpuNodes: FdtNode[] = []
  // QEMU numbers phandles of CPUs downwards so that cpu@0 gets the highest; tagvm keeps cpu@0
  // at 0x8001 and counts up, which nothing depends on.
  for (let i = 0; i < config.cpus; i++) {
    cpuNodes.push(
      node(`cpu@${i.toString(16)}`, {
        phandle: propCells(PHANDLE_CPU0 + i),
        reg: propCells(i),
        // QEMU adds enable-method only with more than one CPU (a lone CPU is already running).
        ...(config.cpus > 1 ? { 'enable-method': propStrings('psci') } : {}),
        compatible: propStrings('arm,cortex-a57'),
        device_type: propStrings('cpu'),
      }),
    )
  }

  const chosen: Record<string, Uint8Array> = { 'stdout-path': propStrings(UART_PATH) }
  if (config.bootargs !== undefined) chosen.bootargs = propStrings(config.bootargs)
  if (config.initrd) {
    if (config.initrd.end < config.initrd.start) throw new RangeError('initrd end is below its start')
    chosen['linux,initrd-start'] = propU64(config.initrd.start)
    chosen['linux,initrd-end'] = propU64(config.initrd.end)
  }

  const level = (type: number, n: number): number[] => [type, n, IRQ_TYPE_LEVEL_HIGH]
  const root = node(
    '',
    {
      'interrupt-parent': propCells(phandleGic(config.cpus)),
      model: propStrings('linux,dummy-virt'),
      '#size-cells': propCells(2),
      '#address-cells': propCells(2),
      compatible: propStrings('linux,dummy-virt'),
    },
    [
      node('psci', {
        migrate: propCells(PSCI_MIGRATE),
        cpu_on: propCells(PSCI_CPU_ON),
        cpu_off: propCells(PSCI_CPU_OFF),
        cpu_suspend: propCells(PSCI_CPU_SUSPEND),
        method: propStrings('hvc'),
        compatible: psci === '1.0' ? propStrings('arm,psci-1.0', 'arm,psci-0.2', 'arm,psci') : propStrings('arm,psci-0.2', 'arm,psci'),
      }),
      node(`memory@${ramBase.toString(16)}`, { reg: propU64(ramBase, config.ramSize), device_type: propStrings('memory') }),
      node(`pl031@${VIRT_RTC_BASE.toString(16)}`, {
        'clock-names': propStrings('apb_pclk'),
        clocks: propCells(PHANDLE_APB_PCLK),
        interrupts: propCells(...level(GIC_SPI, VIRT_RTC_SPI)),
        reg: propU64(VIRT_RTC_BASE, VIRT_RTC_SIZE),
        compatible: propStrings('arm,pl031', 'arm,primecell'),
      }),
      node(`pl011@${VIRT_UART_BASE.toString(16)}`, {
        'clock-names': propStrings('uartclk', 'apb_pclk'),
        clocks: propCells(PHANDLE_APB_PCLK, PHANDLE_APB_PCLK),
        interrupts: propCells(...level(GIC_SPI, VIRT_UART_SPI)),
        reg: propU64(VIRT_UART_BASE, VIRT_UART_SIZE),
        compatible: propStrings('arm,pl011', 'arm,primecell'),
      }),
      // QEMU's TCG machine adds an ITS child (and a /pmu node for its PMU); tagvm's vGIC has
      // no ITS and its vCPUs no PMU, as KVM without those features.
      node(`intc@${VIRT_GIC_DIST_BASE.toString(16)}`, {
        phandle: propCells(phandleGic(config.cpus)),
        reg: propU64(VIRT_GIC_DIST_BASE, VIRT_GIC_DIST_SIZE, VIRT_GIC_REDIST_BASE, VIRT_GIC_REDIST_SIZE),
        '#redistributor-regions': propCells(1),
        compatible: propStrings('arm,gic-v3'),
        ranges: PROP_EMPTY,
        '#size-cells': propCells(2),
        '#address-cells': propCells(2),
        'interrupt-controller': PROP_EMPTY,
        '#interrupt-cells': propCells(3),
      }),
      node('cpus', { '#size-cells': propCells(0), '#address-cells': propCells(1) }, cpuNodes),
      node('timer', {
        interrupts: propCells(...TIMER_PPIS.flatMap((ppi) => level(GIC_PPI, ppi))),
        'always-on': PROP_EMPTY,
        compatible: propStrings('arm,armv8-timer', 'arm,armv7-timer'),
      }),
      node('apb-pclk', {
        phandle: propCells(PHANDLE_APB_PCLK),
        'clock-output-names': propStrings('clk24mhz'),
        'clock-frequency': propCells(24_000_000),
        '#clock-cells': propCells(0),
        compatible: propStrings('fixed-clock'),
      }),
      node('aliases', { serial0: propStrings(UART_PATH) }),
      node('chosen', chosen),
    ],
  )
  return { root, reservations: [], bootCpuId: 0 }
}

/** The machine's DTB as bytes, padded to QEMU's 1 MiB unless told otherwise. */
export function virtMachineFdt(config: VirtFdtConfig): Uint8Array {
  return writeFdt(virtMachineFdtTree(config), { totalSize: config.totalSize ?? VIRT_FDT_SIZE })
}
