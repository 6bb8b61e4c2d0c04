// SMP throughput: every CPU PSCI starts runs the same CRC32 loop over its own 4 KiB buffer,
// with no shared writes until the end; the boot CPU prints each CPU's CRC and powers off.
// For benchmarks: N vCPUs on N host threads should take about as long as one.
#include "../smp-stress/smp.c"

// Rounds over the buffer: a benchmark raises it in guest memory before the run (bench/smp.ts).
volatile u32 crc_rounds = 160;
static u64 buffers[SMP_MAX_CPUS][512] __attribute__((aligned(4096)));
static volatile u32 crcs[SMP_MAX_CPUS];

static void work(unsigned cpu) {
  u64 *buf = buffers[cpu];
  u64 x = 0x9e3779b97f4a7c15UL ^ cpu;
  for (int i = 0; i < 512; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    buf[i] = x;
  }
  u32 crc = 0xffffffff;
  for (u32 r = 0, rounds = crc_rounds; r < rounds; r++)
    for (int i = 0; i < 512; i++) __asm__ volatile("crc32cx %w0, %w0, %1" : "+r"(crc) : "r"(buf[i]));
  crcs[cpu] = ~crc;
  smp_barrier();
}

int main(void) {
  mmu_enable(0, 0);
  unsigned n = smp_start(work);
  work(0);
  smp_wait_all_off();
  printf("smp-crc: %u cpus\n", n);
  for (unsigned c = 0; c < n; c++) printf("cpu %u crc %x\n", c, crcs[c]);
  return 0;
}
