// Single-copy atomicity across CPUs. The boot CPU keeps storing: a 64-bit word (STR X), a
// 32-bit word (STR W), a pair of 64-bit words (STP X) and the allocation tags of two granules
// (ST2G), each value made so that its halves name the same store (low = i, high = ~i). Every
// other CPU reads them back (LDR X, LDR W, LDP X, LDG) and counts values whose halves disagree:
// an aligned access of up to 64 bits, and a tag, must never be seen half old and half new
// (each element of an LDP/STP pair on its own; a pair as a whole need not be, without LSE2).
// The SIMD&FP forms too: STR/LDR D, STR/LDR Q (each 64-bit doubleword on its own, again
// without LSE2) and ST1/LD1 of 32- and 16-bit elements (each element on its own).
#include "../smp-stress/smp.c"
#include "mte.h"

typedef unsigned short u16;

// Reads per reading CPU: a test may set it in guest memory before the run (.data, not .bss).
volatile u32 tear_reads __attribute__((section(".data"))) = 100000;
// A reader goes on past tear_reads until it has seen the value change this many times, so that
// a writer thread the host held back still overlaps the reads.
#define MIN_CHANGES 64
// Reads that saw a value differ from the one before, summed over the readers: never printed
// (it depends on timing); a test reads it to know the stores and loads really overlapped.
volatile u64 tear_changes;
static volatile u64 word64 __attribute__((aligned(64)));
static volatile u32 word32 __attribute__((aligned(64)));
static volatile u64 pair[2] __attribute__((aligned(64)));
static volatile u64 fp64 __attribute__((aligned(64)));
static volatile u64 fpq[2] __attribute__((aligned(64)));
static volatile u32 lanes32[4] __attribute__((aligned(64)));
static volatile u16 lanes16[8] __attribute__((aligned(64)));
static volatile u32 readers_done, torn64, torn32, torn_pair, torn_tag, torn_d, torn_q, torn_s4, torn_h8;
#define TAG_PAIR TAGGED_BASE
#define TAG_A 0x5
#define TAG_B 0xa

static u64 value64(u32 i) { return (u64)~i << 32 | i; }
static u32 value32(u32 i) { return (u32)(~i & 0xffff) << 16 | (i & 0xffff); }
static int whole64(u64 v) { return (u32)(v >> 32) == (u32)~v; }
static int whole32(u32 v) { return (v >> 16) == (~v & 0xffff); }
static u16 value16(u32 i) { return (u16)((~i & 0xff) << 8 | (i & 0xff)); }
static int whole16(u16 v) { return (v >> 8) == (~v & 0xff); }

// The guests build with -mgeneral-regs-only: the compiler never uses V0-V2, the asm says so.
#define SIMD ".arch_extension fp\n.arch_extension simd\n"

/** CPACR_EL1.FPEN = 0b11: SIMD&FP instructions do not trap (each CPU has its own). */
static void enable_fp(void) {
  u64 cpacr;
  __asm__ volatile("mrs %0, cpacr_el1" : "=r"(cpacr));
  __asm__ volatile("msr cpacr_el1, %0\nisb" ::"r"(cpacr | 3ull << 20) : "memory");
}

static void writer(void) {
  for (u32 i = 1; ldar32(&readers_done) != smp_cpus - 1; i++) {
    u64 v = value64(i);
    __asm__ volatile("str %1, [%0]" ::"r"(&word64), "r"(v) : "memory");
    __asm__ volatile("str %w1, [%0]" ::"r"(&word32), "r"(value32(i)) : "memory");
    __asm__ volatile("stp %1, %1, [%0]" ::"r"(pair), "r"(v) : "memory");
    st2g(with_tag(TAG_PAIR, i & 1 ? TAG_A : TAG_B));
    __asm__ volatile(SIMD "fmov d0, %1\nstr d0, [%0]" ::"r"(&fp64), "r"(v) : "memory");
    __asm__ volatile(SIMD "fmov d0, %1\nmov v0.d[1], %1\nstr q0, [%0]" ::"r"(fpq), "r"(v) : "memory");
    __asm__ volatile(SIMD "dup v0.4s, %w1\nst1 {v0.4s}, [%0]" ::"r"(lanes32), "r"(value32(i)) : "memory");
    __asm__ volatile(SIMD "dup v0.8h, %w1\nst1 {v0.8h}, [%0]" ::"r"(lanes16), "r"((u32)value16(i)) : "memory");
  }
}

static void reader(void) {
  u64 last64 = 0, changes = 0;
  for (u32 r = 0, n = tear_reads; r < n || changes < MIN_CHANGES; r++) {
    u64 v, a, b;
    u32 w;
    __asm__ volatile("ldr %0, [%1]" : "=r"(v) : "r"(&word64) : "memory");
    __asm__ volatile("ldr %w0, [%1]" : "=r"(w) : "r"(&word32) : "memory");
    __asm__ volatile("ldp %0, %1, [%2]" : "=r"(a), "=r"(b) : "r"(pair) : "memory");
    unsigned t0 = load_tag(TAG_PAIR), t1 = load_tag(TAG_PAIR + 16);
    if (!whole64(v)) ldadd32(&torn64, 1);
    if (!whole32(w)) ldadd32(&torn32, 1);
    if (!whole64(a) || !whole64(b)) ldadd32(&torn_pair, 1);
    if ((t0 != TAG_A && t0 != TAG_B) || (t1 != TAG_A && t1 != TAG_B)) ldadd32(&torn_tag, 1);
    u64 d, q0, q1, s01, s23, h03, h47;
    __asm__ volatile(SIMD "ldr d1, [%1]\nfmov %0, d1" : "=r"(d) : "r"(&fp64) : "memory");
    __asm__ volatile(SIMD "ldr q1, [%2]\nmov %0, v1.d[0]\nmov %1, v1.d[1]" : "=r"(q0), "=r"(q1) : "r"(fpq) : "memory");
    __asm__ volatile(SIMD "ld1 {v1.4s}, [%2]\nmov %0, v1.d[0]\nmov %1, v1.d[1]" : "=r"(s01), "=r"(s23) : "r"(lanes32) : "memory");
    __asm__ volatile(SIMD "ld1 {v1.8h}, [%2]\nmov %0, v1.d[0]\nmov %1, v1.d[1]" : "=r"(h03), "=r"(h47) : "r"(lanes16) : "memory");
    if (!whole64(d)) ldadd32(&torn_d, 1);
    if (!whole64(q0) || !whole64(q1)) ldadd32(&torn_q, 1);
    if (!whole32((u32)s01) || !whole32((u32)(s01 >> 32)) || !whole32((u32)s23) || !whole32((u32)(s23 >> 32))) ldadd32(&torn_s4, 1);
    for (int k = 0; k < 64; k += 16)
      if (!whole16((u16)(h03 >> k)) || !whole16((u16)(h47 >> k))) {
        ldadd32(&torn_h8, 1);
        break;
      }
    changes += v != last64;
    last64 = v;
  }
  ldadd64(&tear_changes, changes);
  ldadd32(&readers_done, 1);
}

static void work(unsigned cpu) {
  enable_fp();
  smp_barrier();
  if (cpu == 0) writer();
  else reader();
}

int main(void) {
  map_test_regions();
  mmu_enable(TCR_TBI0 | TCR_TBI1, SCTLR_ATA);
  word64 = value64(0);
  word32 = value32(0);
  pair[0] = pair[1] = value64(0);
  fp64 = fpq[0] = fpq[1] = value64(0);
  for (int k = 0; k < 4; k++) lanes32[k] = value32(0);
  for (int k = 0; k < 8; k++) lanes16[k] = value16(0);
  st2g(with_tag(TAG_PAIR, TAG_B));
  unsigned n = smp_start(work);
  printf("smp-tear: %u cpus, %u reads per reading cpu\n", n, tear_reads);
  work(0);
  smp_wait_all_off();
  printf("torn: str/ldr x %u, str/ldr w %u, stp/ldp x %u, st2g/ldg %u\n", torn64, torn32, torn_pair, torn_tag);
  printf("torn simd&fp: str/ldr d %u, str/ldr q %u, st1/ld1 .4s %u, st1/ld1 .8h %u\n", torn_d, torn_q, torn_s4, torn_h8);
  return 0;
}
