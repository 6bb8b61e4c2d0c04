// Single-copy atomicity across CPUs. The boot CPU keeps storing: a 64-bit word (STR X), a
// 32-bit word (STR W), a pair of 64-bit words (STP X) and the allocation tags of two granules
// (ST2G), each value made so that its halves name the same store (low = i, high = ~i). Every
// other CPU reads them back (LDR X, LDR W, LDP X, LDG) and counts values whose halves disagree:
// an aligned access of up to 64 bits, and a tag, must never be seen half old and half new
// (each element of an LDP/STP pair on its own; a pair as a whole need not be, without LSE2).
#include "../smp-stress/smp.c"
#include "mte.h"

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
static volatile u32 readers_done, torn64, torn32, torn_pair, torn_tag;
#define TAG_PAIR TAGGED_BASE
#define TAG_A 0x5
#define TAG_B 0xa

static u64 value64(u32 i) { return (u64)~i << 32 | i; }
static u32 value32(u32 i) { return (u32)(~i & 0xffff) << 16 | (i & 0xffff); }
static int whole64(u64 v) { return (u32)(v >> 32) == (u32)~v; }
static int whole32(u32 v) { return (v >> 16) == (~v & 0xffff); }

static void writer(void) {
  for (u32 i = 1; ldar32(&readers_done) != smp_cpus - 1; i++) {
    u64 v = value64(i);
    __asm__ volatile("str %1, [%0]" ::"r"(&word64), "r"(v) : "memory");
    __asm__ volatile("str %w1, [%0]" ::"r"(&word32), "r"(value32(i)) : "memory");
    __asm__ volatile("stp %1, %1, [%0]" ::"r"(pair), "r"(v) : "memory");
    st2g(with_tag(TAG_PAIR, i & 1 ? TAG_A : TAG_B));
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
    changes += v != last64;
    last64 = v;
  }
  ldadd64(&tear_changes, changes);
  ldadd32(&readers_done, 1);
}

static void work(unsigned cpu) {
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
  st2g(with_tag(TAG_PAIR, TAG_B));
  unsigned n = smp_start(work);
  printf("smp-tear: %u cpus, %u reads per reading cpu\n", n, tear_reads);
  work(0);
  smp_wait_all_off();
  printf("torn: str/ldr x %u, str/ldr w %u, stp/ldp x %u, st2g/ldg %u\n", torn64, torn32, torn_pair, torn_tag);
  return 0;
}
