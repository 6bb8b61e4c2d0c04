// SMP stress: every CPU PSCI starts hammers the same fresh pages at once. First touches race
// (stage-2 faults and tag cleaning of the same pages on several vCPUs); then tags and data
// through STG and checked stores, each CPU on its own granules, cross-checked by the boot
// CPU; then shared counters by LDXR/STXR (32- and 64-bit), LDXP/STXP, LDADD and CAS.
// Every count must be exact and every tag the one its owner stored last.
#include "mte.h"
#include "smp.h"

#define FRESH_BASE (RAM_BASE + 0x800000UL) // 8 MiB into RAM: never touched by the loader
#define FRESH_PAGES 32UL
#define FRESH_SIZE (FRESH_PAGES * 4096UL)
#define GRANULES (FRESH_SIZE / GRANULE)
#define TAG_ROUNDS 3
#define COUNT_ITERS 1500

static volatile u32 errors;
static volatile u32 excl32;
static volatile u64 excl64 __attribute__((aligned(16)));
static volatile u64 pair[2] __attribute__((aligned(16)));
static volatile u64 lse64;
static volatile u64 cas64;
static volatile u32 first_touch_nonzero;

static void fail(void) { ldadd32(&errors, 1); }

static u64 marker(unsigned cpu, unsigned round, u64 g) { return (g << 16) | (round << 8) | cpu | 0x5a00000000000000UL; }
static unsigned tag_for(unsigned cpu, unsigned round) { return ((cpu + round) % 15) + 1; }

static void excl_add32(volatile u32 *p) {
  u32 v, fail_;
  do {
    __asm__ volatile("ldxr %w0, [%2]\n add %w0, %w0, #1\n stxr %w1, %w0, [%2]" : "=&r"(v), "=&r"(fail_) : "r"(p) : "memory");
  } while (fail_);
}
static void excl_add64(volatile u64 *p) {
  u64 v;
  u32 fail_;
  do {
    __asm__ volatile("ldaxr %0, [%2]\n add %0, %0, #1\n stlxr %w1, %0, [%2]" : "=&r"(v), "=&r"(fail_) : "r"(p) : "memory");
  } while (fail_);
}
static void excl_add_pair(volatile u64 *p) {
  u64 a, b;
  u32 fail_;
  do {
    __asm__ volatile("ldxp %0, %1, [%3]\n add %0, %0, #1\n add %1, %1, #2\n stxp %w2, %0, %1, [%3]"
                     : "=&r"(a), "=&r"(b), "=&r"(fail_) : "r"(p) : "memory");
  } while (fail_);
}
static void cas_add64(volatile u64 *p) {
  u64 old = *p;
  for (;;) {
    u64 seen = old;
    __asm__ volatile("casal %0, %2, [%1]" : "+r"(seen) : "r"(p), "r"(old + 1) : "memory");
    if (seen == old) return;
    old = seen;
  }
}

static void work(unsigned cpu) {
  unsigned n = smp_cpus;
  // 1. First touch, all at once, each CPU from a different page: every tag reads as cleaned (0).
  smp_barrier();
  for (u64 i = 0; i < FRESH_PAGES; i++) {
    u64 page = FRESH_BASE + ((i + cpu * 7) % FRESH_PAGES) * 4096;
    for (u64 g = 0; g < 4096; g += GRANULE)
      if (load_tag(page + g) != 0) ldadd32(&first_touch_nonzero, 1);
  }
  smp_barrier();
  // 2. Tags and data: CPU c owns granules g with g % n == c; STG, checked store, read back.
  for (unsigned r = 0; r < TAG_ROUNDS; r++) {
    unsigned t = tag_for(cpu, r);
    for (u64 g = cpu; g < GRANULES; g += n) {
      u64 p = with_tag(FRESH_BASE + g * GRANULE, t);
      stg(p);
      *(volatile u64 *)p = marker(cpu, r, g);
      *(volatile u64 *)(p + 8) = ~marker(cpu, r, g);
      if (*(volatile u64 *)p != marker(cpu, r, g) || load_tag(p) != t) fail();
    }
  }
  // 3. Counters, all CPUs at once.
  smp_barrier();
  for (unsigned i = 0; i < COUNT_ITERS; i++) {
    excl_add32(&excl32);
    excl_add64(&excl64);
    excl_add_pair(pair);
    ldadd64(&lse64, 3);
    cas_add64(&cas64);
  }
  smp_barrier();
}

static unsigned check_tags(unsigned n) {
  unsigned bad = 0;
  for (u64 g = 0; g < GRANULES; g++) {
    unsigned owner = g % n;
    unsigned t = tag_for(owner, TAG_ROUNDS - 1);
    u64 p = with_tag(FRESH_BASE + g * GRANULE, t);
    if (load_tag(p) != t || *(volatile u64 *)p != marker(owner, TAG_ROUNDS - 1, g) ||
        *(volatile u64 *)(p + 8) != ~marker(owner, TAG_ROUNDS - 1, g))
      bad++;
  }
  return bad;
}

static void report(const char *what, u64 got, u64 want) {
  printf("%s %lu (want %lu) %s\n", what, got, want, got == want ? "ok" : "WRONG");
  if (got != want) fail();
}

int main(void) {
  mmu_map(FRESH_BASE, FRESH_SIZE, ATTR_TAGGED);
  mmu_enable(TCR_TBI0 | TCR_TBI1, SCTLR_ATA | SCTLR_TCF_SYNC);
  unsigned n = smp_start(work);
  printf("smp-stress: %u cpus, %lu fresh pages, %u counter rounds per cpu\n", n, FRESH_PAGES, COUNT_ITERS);
  work(0);
  unsigned off = smp_wait_all_off();
  u64 k = (u64)n * COUNT_ITERS;
  report("first-touch tags not clean:", first_touch_nonzero, 0);
  report("granules with a wrong tag or datum:", check_tags(n), 0);
  report("ldxr/stxr w counter:", excl32, k);
  report("ldaxr/stlxr x counter:", excl64, k);
  report("ldxp/stxp pair low:", pair[0], k);
  report("ldxp/stxp pair high:", pair[1], 2 * k);
  report("ldaddal counter:", lse64, 3 * k);
  report("casal counter:", cas64, k);
  report("secondaries off:", off, n - 1);
  printf("smp-stress: %s\n", errors == 0 ? "PASS" : "FAIL");
  return 0;
}
