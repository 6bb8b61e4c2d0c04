// Cross-modifying code (issue 18: the code-cache coherence of the architecture step, with the
// two CPUs on two threads). CPU 1 calls a function in RAM many times, so that it holds it
// decoded; then the boot CPU rewrites the function's first instruction and does what the Arm
// ARM asks of a writer (DC CVAU, DSB ISH, IC IVAU, DSB ISH) before it tells CPU 1. CPU 1 then
// only needs an ISB to run the new instruction, every round. In odd rounds the writer only
// cleans (DC CVAU, DSB ISH) and CPU 1 invalidates itself (IC IVAU, DSB ISH, ISB). CPU 1 never
// runs the function while it is being rewritten (that would be CONSTRAINED UNPREDICTABLE).
#include "../smp-stress/smp.c"

volatile u32 smc_rounds = 200;

#define CALLS 64
#define RET 0xd65f03c0u
static u32 site[1024] __attribute__((aligned(4096)));
// Round r: CPU 1 is done calling version r (called = r + 1); the boot CPU has written version
// r + 1 (written = r + 1).
static volatile u32 called, written;
static volatile u32 stale, wrong_before;

typedef u32 (*site_fn)(void);

static u32 call_site(void) { return ((site_fn)(void *)site)(); }

static void write_site(u32 value, int invalidate) {
  site[0] = 0x52800000u | ((value & 0xffff) << 5); // movz w0, #value
  site[1] = RET;
  __asm__ volatile("dc cvau, %0\n dsb ish" ::"r"(site) : "memory");
  if (invalidate) __asm__ volatile("ic ivau, %0\n dsb ish" ::"r"(site) : "memory");
}

static void executor(unsigned cpu) {
  if (cpu != 1) return;
  for (u32 r = 0, rounds = smc_rounds; r < rounds; r++) {
    for (int i = 0; i < CALLS; i++)
      if (call_site() != r) wrong_before++;
    stlr32(&called, r + 1);
    while (ldar32(&written) == r) __asm__ volatile("yield");
    if (r & 1) __asm__ volatile("ic ivau, %0\n dsb ish" ::"r"(site) : "memory");
    __asm__ volatile("isb" ::: "memory");
    if (call_site() != r + 1) stale++;
  }
}

int main(void) {
  write_site(0, 1);
  __asm__ volatile("isb" ::: "memory");
  unsigned n = smp_start(executor);
  if (n < 2) {
    printf("smp-smc: needs 2 cpus, has %u\n", n);
    return 1;
  }
  u32 rounds = smc_rounds;
  for (u32 r = 0; r < rounds; r++) {
    while (ldar32(&called) != r + 1) __asm__ volatile("yield");
    write_site(r + 1, !(r & 1));
    stlr32(&written, r + 1);
  }
  smp_wait_all_off();
  printf("smp-smc: %u cpus, %u rounds, %u stale after the maintenance, %u wrong before it\n", n, rounds, stale, wrong_before);
  return 0;
}
