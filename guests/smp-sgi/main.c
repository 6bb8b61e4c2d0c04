// Interrupts between CPUs through the GICv3. The boot CPU and CPU 1 play SGI ping-pong
// (ICC_SGI1R_EL1): each SGI 0 the boot CPU takes it answers with another to CPU 1, which
// answers back, `sgi_rounds` times; both wait in WFI, so each hop wakes a sleeping CPU. Then
// the PL011's interrupt (SPI 33, raised by the VMM) is routed to CPU 1 (GICD_IROUTER): CPU 1
// writes a character with the TX interrupt unmasked and must take the SPI itself, each time.
// Counts are exact: every SGI and SPI taken once, by the CPU it was meant for.
#include "../smp-stress/smp.c"

volatile u32 sgi_rounds = 500;
// CNTVCT ticks the ping-pong took (read by bench/smp.ts after the run; never printed).
volatile u64 pingpong_ticks;
#define SPI_ROUNDS 5

#define GICD 0x08000000UL
#define GICR 0x080A0000UL
#define GICR_STRIDE 0x20000UL
#define SGI_BASE 0x10000UL
#define UART_SPI 33
#define UART_IMSC 0x038
#define UART_ICR 0x044
#define UART_TX 0x20

// taken[cpu][0]: SGI 0 (ping-pong), [1]: SGI 1 (wake-up), [2]: the UART's SPI.
static volatile u32 taken[2][3];
static volatile u32 spurious, ready1, done;

static inline void w32(u64 a, u32 v) { *(volatile u32 *)a = v; }
static inline u32 r32(u64 a) { return *(volatile u32 *)a; }

static void send_sgi(unsigned sgi, unsigned cpu) {
  write_sysreg(icc_sgi1r_el1, ((u64)sgi << 24) | (1UL << cpu));
  isb();
}

static void gic_cpu_init(unsigned cpu) {
  u64 rd = GICR + cpu * GICR_STRIDE;
  w32(rd + 0x14, r32(rd + 0x14) & ~2u); // GICR_WAKER.ProcessorSleep
  while (r32(rd + 0x14) & 4) {}         // ChildrenAsleep
  w32(rd + SGI_BASE + 0x80, 0xffffffff); // GICR_IGROUPR0: group 1
  w32(rd + SGI_BASE + 0x100, 3);         // GICR_ISENABLER0: SGI 0 and 1
  write_sysreg(icc_pmr_el1, 0xff);
  write_sysreg(icc_igrpen1_el1, 1);
  isb();
}

static int on_irq(struct frame *f, int vector) {
  (void)f;
  if ((vector & 3) != 1) return 0;
  unsigned cpu = cpu_id();
  u32 intid = read_sysreg(icc_iar1_el1) & 0xffffff;
  if (intid == 1023) {
    spurious++;
    return 1;
  }
  if (intid == 0) {
    u32 n = ++taken[cpu][0];
    if (cpu == 1) send_sgi(0, 0);
    else if (n < sgi_rounds) send_sgi(0, 1);
  } else if (intid == 1) {
    taken[cpu][1]++;
  } else if (intid == UART_SPI) {
    taken[cpu][2]++;
    w32(UART_BASE + UART_ICR, UART_TX);
  }
  write_sysreg(icc_eoir1_el1, intid);
  return 1;
}

// Sleeps in WFI until *p reaches v; IRQs are masked around the test so that an interrupt
// between the test and the WFI still ends the WFI.
static void wait_until(volatile u32 *p, u32 v) {
  __asm__ volatile("msr daifset, #2" ::: "memory");
  while (*p < v) __asm__ volatile("wfi\n msr daifclr, #2\n isb\n msr daifset, #2" ::: "memory");
  __asm__ volatile("msr daifclr, #2" ::: "memory");
}

static void worker(unsigned cpu) {
  if (cpu != 1) return;
  gic_cpu_init(1);
  __asm__ volatile("msr daifclr, #2" ::: "memory");
  stlr32(&ready1, 1);
  wait_until(&done, 1);
  // The UART's interrupt comes here: each character written raises it once.
  w32(UART_BASE + UART_ICR, UART_TX);
  w32(UART_BASE + UART_IMSC, UART_TX);
  for (u32 k = 0; k < SPI_ROUNDS; k++) {
    w32(UART_BASE, '.');
    wait_until(&taken[1][2], k + 1);
  }
  w32(UART_BASE + UART_IMSC, 0);
  w32(UART_BASE, '\n');
  __asm__ volatile("msr daifset, #2" ::: "memory");
}

int main(void) {
  mmu_map(GICD, 0x10000, ATTR_DEVICE);
  mmu_map(GICR, 2 * GICR_STRIDE, ATTR_DEVICE);
  mmu_enable(0, 0);
  set_exception_handler(on_irq);
  w32(GICD, (1u << 4) | (1u << 1));           // GICD_CTLR: ARE, EnableGrp1
  w32(GICD + 0x84, 1u << (UART_SPI - 32));     // GICD_IGROUPR1: group 1
  *(volatile u64 *)(GICD + 0x6000 + 8 * UART_SPI) = 1; // GICD_IROUTER33: Aff0 = 1 (CPU 1)
  w32(GICD + 0x104, 1u << (UART_SPI - 32));    // GICD_ISENABLER1
  gic_cpu_init(0);
  __asm__ volatile("msr daifclr, #2" ::: "memory");
  unsigned n = smp_start(worker);
  if (n < 2) {
    printf("smp-sgi: needs 2 cpus, has %u\n", n);
    return 1;
  }
  while (!ldar32(&ready1)) __asm__ volatile("yield");
  u32 rounds = sgi_rounds;
  u64 start = read_sysreg(cntvct_el0);
  send_sgi(0, 1);
  wait_until(&taken[0][0], rounds);
  pingpong_ticks = read_sysreg(cntvct_el0) - start;
  stlr32(&done, 1);
  send_sgi(1, 1);
  smp_wait_all_off();
  printf("smp-sgi: %u cpus, %u rounds\n", n, rounds);
  for (unsigned c = 0; c < 2; c++) printf("cpu %u took: sgi0 %u, sgi1 %u, uart spi %u\n", c, taken[c][0], taken[c][1], taken[c][2]);
  printf("spurious %u\n", spurious);
  return 0;
}
