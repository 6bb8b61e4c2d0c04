// tag-workload: a long, deterministic tagging workload for snapshot and migration tests.
// 4 MiB of Tagged memory (1024 pages, 262144 granules) is tagged, then mutated in rounds: each
// round retags and rewrites the granules of a window of half the pages (the window slides by
// an eighth each round) using checked loads and stores, STG, ST2G and STGP in turn. At the end
// every granule's tag and data are checked against a replay of the rounds computed from
// scratch, and a report with a checksum is printed. Progress lines show where a run is, so a
// snapshot or migration in the middle is visible in the output.
#include "probe.h"

#define WL_BASE 0x40400000UL
#define WL_PAGES 1024UL
#define WL_SIZE (WL_PAGES * 0x1000UL)
#define GRANULES_PER_PAGE 256UL
#define WL_GRANULES (WL_PAGES * GRANULES_PER_PAGE)
#define ROUNDS 16UL
#ifndef CHECKPOINT
#define CHECKPOINT 0
#endif

static u64 mix(u64 x) {
  x ^= x >> 31;
  x *= 0x7fb5d329728ea185UL;
  x ^= x >> 27;
  x *= 0x81dadef4bc2dd44dUL;
  return x ^ (x >> 33);
}

static unsigned initial_tag(u64 idx) { return 1 + (unsigned)(idx % 15); }
static unsigned next_tag(unsigned tag, u64 idx, u64 round) { return 1 + (unsigned)((tag * 7 + round + (idx >> 4)) % 15); }
static u64 next_word(u64 w, u64 round) { return mix(w ^ (round * 0x9e3779b97f4a7c15UL)); }
static u64 meta(u64 idx, u64 round, unsigned tag) { return (idx << 12) | (round << 4) | tag; }
static int page_in_window(u64 page, u64 round) { return ((page - round * (WL_PAGES / 8)) % WL_PAGES) < WL_PAGES / 2; }

static u64 granule_addr(u64 idx) { return WL_BASE + idx * GRANULE; }

static u64 consistency_errors;

static void initialise(void) {
  for (u64 idx = 0; idx < WL_GRANULES; idx++) {
    u64 p = with_tag(granule_addr(idx), initial_tag(idx));
    stg(p);
    ((volatile u64 *)p)[0] = mix(idx + 1);
    ((volatile u64 *)p)[1] = meta(idx, 0, initial_tag(idx));
  }
}

// One round over the pages of its window. Old data is read through a pointer carrying the
// granule's current tag (from LDG) with checked loads; word 1 must agree with that tag.
static u64 run_round(u64 round) {
  u64 touched = 0;
  for (u64 page = 0; page < WL_PAGES; page++) {
    if (!page_in_window(page, round)) continue;
    for (u64 idx = page * GRANULES_PER_PAGE; idx < (page + 1) * GRANULES_PER_PAGE; idx += 2) {
      u64 p0 = ldg(granule_addr(idx)), p1 = ldg(granule_addr(idx + 1));
      u64 a0 = ((volatile u64 *)p0)[0], a1 = ((volatile u64 *)p0)[1];
      u64 b0 = ((volatile u64 *)p1)[0], b1 = ((volatile u64 *)p1)[1];
      if ((a1 & 15) != tag_of(p0) || (a1 >> 12) != idx) consistency_errors++;
      if ((b1 & 15) != tag_of(p1) || (b1 >> 12) != idx + 1) consistency_errors++;
      unsigned ta = next_tag(tag_of(p0), idx, round), tb = next_tag(tag_of(p1), idx + 1, round);
      u64 q0 = with_tag(granule_addr(idx), ta), q1 = with_tag(granule_addr(idx + 1), tb);
      if (round % 3 == 1) {
        // STGP: data and the tag of the address in one instruction
        stgp(q0, next_word(a0, round), meta(idx, round, ta));
        stgp(q1, next_word(b0, round), meta(idx + 1, round, tb));
      } else {
        // STG twice, or ST2G with the first tag then STG to fix the second granule; then
        // checked stores through the new pointers.
        if (round % 3 == 0) stg(q0);
        else st2g(q0);
        stg(q1);
        ((volatile u64 *)q0)[0] = next_word(a0, round);
        ((volatile u64 *)q0)[1] = meta(idx, round, ta);
        ((volatile u64 *)q1)[0] = next_word(b0, round);
        ((volatile u64 *)q1)[1] = meta(idx + 1, round, tb);
      }
      touched += 2;
    }
  }
  return touched;
}

int main(void) {
  set_exception_handler(skip_data_aborts);
  puts("tag-workload: deterministic MTE tagging workload\n");
  mmu_map(WL_BASE, WL_SIZE, ATTR_TAGGED);
  mte_enable(SCTLR_TCF_SYNC, 0);
  printf("region %lx..%lx: %lu pages, %lu granules, %lu rounds\n", WL_BASE, WL_BASE + WL_SIZE, WL_PAGES,
         WL_GRANULES, ROUNDS);
  fault_log_reset();
  initialise();
  puts("initialised: every granule tagged and written\n");

  for (u64 round = 1; round <= ROUNDS; round++) {
    u64 touched = run_round(round);
    u64 first = (round * (WL_PAGES / 8)) % WL_PAGES;
    printf("round %2lu/%lu: retagged %lu granules in pages %lu..%lu%s, tag faults %d\n", round, ROUNDS, touched,
           first, (first + WL_PAGES / 2 - 1) % WL_PAGES, first + WL_PAGES / 2 > WL_PAGES ? " (wrapping)" : "",
           last_fault.count);
  }

  puts("verifying every granule against a replay of all rounds...\n");
  u64 tag_errors = 0, data_errors = 0, checksum = 0xcbf29ce484222325UL;
  u64 histogram[16] = {0};
  for (u64 idx = 0; idx < WL_GRANULES; idx++) {
    unsigned tag = initial_tag(idx);
    u64 w0 = mix(idx + 1), last = 0, page = idx / GRANULES_PER_PAGE;
    for (u64 round = 1; round <= ROUNDS; round++) {
      if (!page_in_window(page, round)) continue;
      tag = next_tag(tag, idx, round);
      w0 = next_word(w0, round);
      last = round;
    }
    u64 p = with_tag(granule_addr(idx), tag);
    unsigned found = load_tag(p);
    if (found != tag) tag_errors++;
    u64 d0 = probe_load(p, ~w0), d1 = probe_load(p + 8, 0);
    if (d0 != w0 || d1 != meta(idx, last, tag)) data_errors++;
    histogram[found]++;
    checksum = (checksum ^ d0 ^ (d1 << 1) ^ found) * 0x100000001b3UL;
  }
  printf("verified %lu granules: %lu tag mismatches, %lu data mismatches, %lu consistency errors, %d tag faults\n",
         WL_GRANULES, tag_errors, data_errors, consistency_errors, last_fault.count);
  puts("final tag histogram (tags read back):");
  for (int t = 0; t < 16; t++) printf(" %x:%lu", t, histogram[t]);
  printf("\nchecksum %016lx\n", checksum);
  puts(tag_errors + data_errors + consistency_errors + (u64)last_fault.count == 0 ? "RESULT: PASS\n" : "RESULT: FAIL\n");
#if CHECKPOINT
  printf("counter %lu\n", read_sysreg(cntvct_el0));
#endif
  return 0;
}
