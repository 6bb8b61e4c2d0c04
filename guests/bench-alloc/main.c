// bench-alloc: a tagged allocator's life cycle. Four size classes (32, 64, 128, 256 bytes),
// each a slab of its own with a free list; 512 live slots. Each step picks a slot; a live
// object there is read back and checked, then freed (MTE: retagged with ADDG + STG so a stale
// pointer would fault), and a new object of a random class is allocated (MTE: a random tag
// from IRG, set with ST2G/STG over its granules) and filled through its pointer. 1024 steps
// a round. MTE off: the same allocator without tags. See lib/bench.h.
#include "bench.h"

#define SLOTS 512
#define STEPS 1024
#define SLAB 0x100000UL

struct free_block {
  struct free_block *next;
};

static struct free_block *free_list[4];
static u64 bump[4];
static u64 live[SLOTS];
static u8 live_class[SLOTS];
static u64 bad;

static u64 obj_size(unsigned cls) { return 32UL << cls; }

static u64 alloc(unsigned cls) {
  u64 p;
  if (free_list[cls]) {
    p = (u64)free_list[cls];
    free_list[cls] = free_list[cls]->next;
  } else {
    p = bump[cls];
    bump[cls] += obj_size(cls);
  }
  return bench_tag(p & ~(0xFUL << TAG_SHIFT), obj_size(cls));
}

static void release(u64 p, unsigned cls) {
  if (BENCH_MTE) {
    // A new tag for the freed block: the old pointer faults from now on.
    u64 q = addg(p, 0, 1);
    for (u64 off = 0; off < obj_size(cls); off += 2 * GRANULE) st2g(q + off);
    p = q;
  }
  ((struct free_block *)p)->next = free_list[cls];
  free_list[cls] = (struct free_block *)p;
}

static void fill(u64 p, unsigned cls, u64 seed) {
  u64 *w = (u64 *)p;
  for (u64 k = 0; k < obj_size(cls) / 8; k++) w[k] = seed + k * 0x9e3779b97f4a7c15UL;
}

static u64 check(u64 p, unsigned cls) {
  const u64 *w = (const u64 *)p;
  u64 seed = w[0], sum = 0;
  for (u64 k = 0; k < obj_size(cls) / 8; k++) {
    if (w[k] != seed + k * 0x9e3779b97f4a7c15UL) bad++;
    sum += w[k] ^ k;
  }
  return sum;
}

int main(void) {
  u32 rounds = bench_start(10);
  for (unsigned c = 0; c < 4; c++) bump[c] = BENCH_BASE + c * SLAB;
  u64 s = 0x6a09e667f3bcc909UL, sum = 0, last = 0;
  for (u32 r = 0; r < rounds; r++) {
    for (u32 step = 0; step < STEPS; step++) {
      u64 x = xorshift64(&s);
      u32 slot = x % SLOTS;
      if (live[slot]) {
        sum += check(live[slot], live_class[slot]);
        release(live[slot], live_class[slot]);
      }
      unsigned cls = (x >> 20) & 3;
      u64 p = alloc(cls);
      fill(p, cls, x);
      live[slot] = p;
      live_class[slot] = (u8)cls;
      last = p;
    }
  }
  printf("bench-alloc bad=%lu\n", bad);
  bench_finish("bench-alloc", rounds, sum, last ? last : bench_tag(BENCH_BASE + 4 * SLAB, 16));
  return 0;
}
