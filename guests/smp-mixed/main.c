// Plain stores and atomic read-modify-writes on the same words, on every CPU at once: CPU c
// counts in its own 16-bit lane of shared words with plain loads and stores (LDRH/STRH; it is
// the lane's only writer), while every CPU keeps rewriting the whole words with atomics that
// change nothing (LDADDAL #0 and LDSETAL #0 at 64 and 32 bits, CASAL of the value just read,
// an LDXR/STXR pair storing back what it loaded, a SWPAL and SWPAL back of a word of its own).
// An atomic is one indivisible access: its write may not bring back a lane's old count, so
// every lane must end at exactly ITERS. This is the pattern of Linux's queued spinlock (a byte
// store releases the lock while another CPU sets the pending bit with LDSET): a lost plain
// store there leaves the lock held by nobody and every CPU spinning.
#include "../smp-stress/smp.c"

#define ITERS 60000

typedef unsigned short u16;

// Lanes: w64[0] and w32[0..1] hold CPU c's counts in halfword c (w32: CPUs 0-1 in [0], 2-3 in [1]).
static volatile u64 w64 __attribute__((aligned(16)));
static volatile u32 w32[2] __attribute__((aligned(8)));
static volatile u64 swap_words[SMP_MAX_CPUS] __attribute__((aligned(8)));

static inline void plain_increment(volatile u16 *lane) {
  u32 v;
  __asm__ volatile("ldrh %w0, [%1]\n add %w0, %w0, #1\n strh %w0, [%1]" : "=&r"(v) : "r"(lane) : "memory");
}

static inline void atomics_that_change_nothing(volatile u64 *p64, volatile u32 *p32, volatile u64 *own) {
  u64 old64, seen;
  u32 old32, fail_;
  __asm__ volatile("ldaddal xzr, %0, [%1]" : "=r"(old64) : "r"(p64) : "memory");
  __asm__ volatile("ldsetal wzr, %w0, [%1]" : "=r"(old32) : "r"(p32) : "memory");
  __asm__ volatile("ldsetal xzr, %0, [%1]" : "=r"(old64) : "r"(p64) : "memory");
  seen = *p64;
  __asm__ volatile("casal %0, %0, [%1]" : "+r"(seen) : "r"(p64) : "memory");
  __asm__ volatile("ldaddal wzr, %w0, [%1]" : "=r"(old32) : "r"(p32) : "memory");
  __asm__ volatile("ldxr %0, [%2]\n stxr %w1, %0, [%2]" : "=&r"(old64), "=&r"(fail_) : "r"(p64) : "memory");
  // SWP on a word nobody else writes: the swap and its undo must both land.
  __asm__ volatile("swpal %1, %0, [%2]" : "=&r"(old64) : "r"(~*own), "r"(own) : "memory");
  __asm__ volatile("swpal %1, %0, [%2]" : "=&r"(old64) : "r"(old64), "r"(own) : "memory");
}

static void work(unsigned cpu) {
  volatile u16 *lane64 = (volatile u16 *)&w64 + cpu;
  volatile u16 *lane32 = (volatile u16 *)w32 + cpu;
  volatile u32 *word32 = &w32[cpu / 2];
  smp_barrier();
  for (unsigned i = 0; i < ITERS; i++) {
    plain_increment(lane64);
    atomics_that_change_nothing(&w64, word32, &swap_words[cpu]);
    plain_increment(lane32);
    atomics_that_change_nothing(&w64, word32, &swap_words[cpu]);
  }
  smp_barrier();
}

int main(void) {
  mmu_enable(0, 0);
  unsigned n = smp_start(work);
  if (n > 4) {
    printf("smp-mixed: %u cpus, but the lanes are for 4 at most\n", n);
    return 1;
  }
  printf("smp-mixed: %u cpus, %u rounds of plain lane stores among no-op atomics\n", n, ITERS);
  for (unsigned c = 0; c < SMP_MAX_CPUS; c++) swap_words[c] = 0x0123456789abcdefUL ^ c;
  work(0);
  smp_wait_all_off();
  unsigned bad = 0;
  for (unsigned c = 0; c < n; c++) {
    unsigned in64 = ((volatile u16 *)&w64)[c], in32 = ((volatile u16 *)w32)[c];
    printf("cpu %u: lane of the 64-bit word %u, of the 32-bit words %u\n", c, in64, in32);
    if (in64 != ITERS || in32 != ITERS) bad++;
  }
  for (unsigned c = 0; c < n; c++)
    if (swap_words[c] != (0x0123456789abcdefUL ^ c)) bad++;
  printf("smp-mixed: %s\n", bad == 0 ? "PASS" : "FAIL");
  return 0;
}
