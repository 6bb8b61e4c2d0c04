// QEMU side of the compiled-tier prototype: runs the three kernels of kernels.c on the same
// data, at the same addresses and with the same tagged pointers as tagvm does, each with tag
// checking off (TCF = 0) and synchronous (TCF = 1), and prints the result and the counter
// ticks of each run. Instruction counts come from tagvm (the kernels' control flow depends
// only on the data), so MIPS = instructions / (ticks / CNTFRQ).
#include "mte.h"

u32 crc32_kernel(const u8 *buf, u64 len, u64 rounds);
u64 sieve_kernel(u8 *flags, u64 n, u64 rounds);
u64 tagalloc_kernel(u8 *arena, u64 count, u64 rounds);

// Keep in step with ../src/kernels.ts.
#define CRC_BUF 0x40200000UL
#define CRC_LEN 0x10000UL
#define CRC_TAG 3
#define SIEVE_BUF 0x40300000UL
#define SIEVE_N 0x10000UL
#define SIEVE_TAG 7
#define ARENA 0x40380000UL
#define ARENA_OBJECTS 1024UL
#define RGSR_SEED 0xace1UL

// What to run, written before boot by QEMU's generic loader
// (-device loader,addr=0x40400000,data=K,data-len=4 and so on): the kernel (0 crc32,
// 1 sieve, 2 tagalloc; anything else runs none, which times boot and set-up alone), TCF
// (0 or 1) and the rounds.
#define PARAMS 0x40400000UL
struct params {
  u32 kernel, tcf, rounds;
};

static inline u64 ticks(void) {
  isb();
  u64 t = read_sysreg(cntvct_el0);
  isb();
  return t;
}

static void tag_range(u64 p, u64 len) {
  for (u64 off = 0; off < len; off += GRANULE) stg(p + off);
}

static void fill(void) {
  // The CRC input: xorshift32 words, as kernels.ts writes them.
  u32 x = 0x12345678u;
  for (u64 i = 0; i < CRC_LEN / 4; i++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    ((volatile u32 *)CRC_BUF)[i] = x;
  }
  tag_range(with_tag(CRC_BUF, CRC_TAG), CRC_LEN);
  tag_range(with_tag(SIEVE_BUF, SIEVE_TAG), SIEVE_N);
}

int main(void) {
  const volatile struct params *params = (const volatile struct params *)PARAMS;
  u32 kernel = params->kernel, tcf = params->tcf, rounds = params->rounds;
  map_test_regions(); // TAGGED_BASE..+2 MiB is Tagged, UNTAGGED_BASE..+2 MiB Normal
  mte_enable(tcf ? SCTLR_TCF_SYNC : SCTLR_TCF_NONE, 0);
  write_sysreg(rgsr_el1, RGSR_SEED << 8);
  isb();
  fill();
  u64 result = 0, t0 = ticks();
  switch (kernel) {
  case 0:
    result = crc32_kernel((const u8 *)with_tag(CRC_BUF, CRC_TAG), CRC_LEN, rounds);
    break;
  case 1:
    result = sieve_kernel((u8 *)with_tag(SIEVE_BUF, SIEVE_TAG), SIEVE_N, rounds);
    break;
  case 2:
    result = tagalloc_kernel((u8 *)ARENA, ARENA_OBJECTS, rounds);
    break;
  default:
    break;
  }
  u64 t1 = ticks();
  printf("kernel=%u tcf=%u rounds=%u result=%lx rgsr=%lx ticks=%lu freq=%lu\n", kernel, tcf, rounds, result,
         read_sysreg(rgsr_el1), t1 - t0, read_sysreg(cntfrq_el0));
  return 0;
}
