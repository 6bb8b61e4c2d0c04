// TLB maintenance across CPUs. The boot CPU moves one virtual page (the window) between two
// frames, each time with TLBI VAE1IS + DSB ISH before it tells CPU 1 to look. CPU 1 has read
// through the window all along, so its TLB holds the old translation; after the handshake it
// must see the new frame, every round (the TLBI completed on every CPU before the DSB did).
// With tlbi_solo set (a benchmark, bench/smp.ts), the boot CPU first issues that many
// TLBI VAE1IS + DSB ISH while CPU 1 keeps running.
#include "../smp-stress/smp.c"

volatile u32 tlbi_rounds = 200;
// In .data, not .bss: the runtime zeroes .bss at start, after a benchmark has set it.
volatile u32 tlbi_solo __attribute__((section(".data"))) = 0;
// CNTVCT ticks the tlbi_solo TLBIs took (read by bench/smp.ts after the run; never printed).
volatile u64 solo_ticks;

#define WINDOW 0x60000000UL
#define ADDR_MASK 0x0000FFFFFFFFF000UL
static u64 frames[2][512] __attribute__((aligned(4096)));
static volatile u64 *window_pte;
// Round r: CPU 1 says it read the window (reading = r + 1); the boot CPU remaps and says so
// (turn = r + 1); CPU 1 checks and says so (ack = r + 1).
static volatile u32 spinning, reading, turn, ack, solo_done;
static volatile u32 stale, wrong_before;

static volatile u64 *pte_of(u64 va) {
  u64 *l1 = (u64 *)(read_sysreg(ttbr0_el1) & ADDR_MASK);
  u64 *l2 = (u64 *)(l1[(va >> 30) & 3] & ADDR_MASK);
  u64 *l3 = (u64 *)(l2[(va >> 21) & 511] & ADDR_MASK);
  return &l3[(va >> 12) & 511];
}

static void tlbi_window(void) {
  __asm__ volatile("dsb ishst\n tlbi vae1is, %0\n dsb ish\n isb" ::"r"(WINDOW >> 12) : "memory");
}

static void point_window(unsigned frame) {
  *window_pte = (*window_pte & ~ADDR_MASK) | (u64)frames[frame];
  tlbi_window();
}

static u64 through_window(void) { return *(volatile u64 *)WINDOW; }

static void reader(unsigned cpu) {
  if (cpu != 1) return;
  stlr32(&spinning, 1);
  while (!ldar32(&solo_done)) (void)through_window();
  for (u32 r = 0, rounds = tlbi_rounds; r < rounds; r++) {
    if (through_window() != frames[r & 1][0]) wrong_before++;
    stlr32(&reading, r + 1);
    while (ldar32(&turn) == r) (void)through_window();
    if (through_window() != frames[(r + 1) & 1][0]) stale++;
    stlr32(&ack, r + 1);
  }
}

int main(void) {
  frames[0][0] = 0xf00df00df00d0000UL;
  frames[1][0] = 0x1234567812340001UL;
  mmu_map(WINDOW, 4096, ATTR_NORMAL);
  mmu_enable(0, 0);
  window_pte = pte_of(WINDOW);
  point_window(0);
  unsigned n = smp_start(reader);
  if (n < 2) {
    printf("smp-tlbi: needs 2 cpus, has %u\n", n);
    return 1;
  }
  while (!ldar32(&spinning)) __asm__ volatile("yield");
  u64 start = read_sysreg(cntvct_el0);
  for (u32 i = 0, solo = tlbi_solo; i < solo; i++) tlbi_window();
  solo_ticks = read_sysreg(cntvct_el0) - start;
  stlr32(&solo_done, 1);
  u32 rounds = tlbi_rounds;
  for (u32 r = 0; r < rounds; r++) {
    while (ldar32(&reading) != r + 1) __asm__ volatile("yield");
    point_window((r + 1) & 1);
    stlr32(&turn, r + 1);
    while (ldar32(&ack) != r + 1) __asm__ volatile("yield");
  }
  smp_wait_all_off();
  printf("smp-tlbi: %u cpus, %u rounds, %u stale after the TLBI, %u wrong before it\n", n, rounds, stale, wrong_before);
  return 0;
}
