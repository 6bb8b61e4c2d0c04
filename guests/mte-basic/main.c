// mte-basic: MTE enabled at stage 1; IRG with a fixed seed (RRND = 0), ADDG/SUBG/SUBP/GMI,
// tagged allocation with STG and friends, and the tags read back with LDG.
#include "mte.h"

#define V (TAGGED_BASE + 0x1000) // the test-vector address (0x40001000 in arm-mte.md)

static void irg_case(const char *label, u64 rgsr, u64 exclude_gcr, u64 xm, u64 xn) {
  write_sysreg(gcr_el1, exclude_gcr);
  write_sysreg(rgsr_el1, rgsr);
  isb();
  u64 r = irg(xn, xm);
  printf("  %s: RGSR %08lx GCR %05lx Xm %04lx -> %p, RGSR %08lx\n", label, rgsr, exclude_gcr, xm, r,
         read_sysreg(rgsr_el1));
}

// A bump allocator over the Tagged region: each object gets a random tag (RRND = 0, so the
// sequence is fixed by the seed), never the tag of its neighbour on the left.
static u64 heap_next = TAGGED_BASE + 0x10000;
static unsigned last_tag;
static u64 tagged_alloc(u64 size) {
  size = (size + GRANULE - 1) & ~(GRANULE - 1);
  u64 p = irg(heap_next, 1UL | (1UL << last_tag)); // never tag 0, never the previous tag
  for (u64 off = 0; off < size; off += 2 * GRANULE) {
    if (size - off >= 2 * GRANULE) st2g(p + off);
    else stg(p + off);
  }
  heap_next += size;
  last_tag = tag_of(p);
  return p;
}

int main(void) {
  set_exception_handler(skip_data_aborts);
  puts("mte-basic: tag generation, tag arithmetic, tagged allocation\n");
  map_test_regions();
  mte_enable(SCTLR_TCF_SYNC, 0);
  printf("ID_AA64PFR1_EL1.MTE = %lu, SCTLR_EL1.ATA = %lu, TCF = %lu, TCR_EL1.TBI0 = %lu\n",
         (read_sysreg(id_aa64pfr1_el1) >> 8) & 15, (read_sysreg(sctlr_el1) >> 43) & 1,
         (read_sysreg(sctlr_el1) >> 40) & 3, (read_sysreg(tcr_el1) >> 37) & 1);

  puts("IRG (GCR_EL1.RRND = 0, fixed seeds):\n");
  write_sysreg(rgsr_el1, 0x100);
  isb();
  for (int i = 0; i < 6; i++) {
    u64 r = irg(V, 0);
    printf("  irg #%d -> %p tag %x, RGSR %08lx\n", i + 1, r, tag_of(r), read_sysreg(rgsr_el1));
  }
  irg_case("seed 0", 0x5, 0, 0, V);
  irg_case("seed 0, exclude 0", 0x0, 0x1, 0, V);
  irg_case("seed ace1", 0xACE103, 0, 0, V);
  irg_case("seed ace1, Xm 00ff", 0xACE103, 0, 0xFF, V);
  irg_case("seed ace1, all excluded", 0xACE103, 0, 0xFFFF, with_tag(V, 5));
  irg_case("only tag 0 allowed", 0x123407, 0xFFFE, 0, V);
  write_sysreg(gcr_el1, 0);
  isb();

  puts("ADDG / SUBG / SUBP / GMI:\n");
  printf("  addg p(3),#16,#1 = %p\n", addg(with_tag(V, 3), 16, 1));
  printf("  addg p(f),#0,#1 = %p\n", addg(with_tag(V, 15), 0, 1));
  write_sysreg(gcr_el1, 0x0008);
  isb();
  printf("  exclude 0008: addg p(2),#32,#1 = %p, addg p(3),#0,#0 = %p\n", addg(with_tag(V, 2), 32, 1),
         addg(with_tag(V, 3), 0, 0));
  write_sysreg(gcr_el1, 0x8003);
  isb();
  printf("  exclude 8003: addg p(e),#0,#3 = %p\n", addg(with_tag(V, 14), 0, 3));
  write_sysreg(gcr_el1, 0xFFFF);
  isb();
  printf("  exclude ffff: addg p(7),#16,#3 = %p\n", addg(with_tag(V, 7), 16, 3));
  write_sysreg(gcr_el1, 0);
  isb();
  printf("  subg p(3),#16,#1 = %p\n", subg(with_tag(V, 3), 16, 1));
  printf("  subg 0x0a00000000000000,#16,#2 = %p\n", subg(0x0A00000000000000UL, 16, 2));
  printf("  subp = %lx, %lx, %lx\n", subp(0x0500000040001040UL, 0x0A00000040001000UL), subp(0x1000, 0x2000),
         subp(0xFF80000000000000UL, 0x0080000000000000UL));
  printf("  gmi p(5),0 = %lx, gmi p(f),1 = %lx\n", gmi(with_tag(V, 5), 0), gmi(with_tag(V, 15), 1));

  puts("Tag stores and loads:\n");
  set_vector_tags(V);
  print_tags("  tags at V after STG 3,4,0,f: ", V, 4);
  printf("  ldg into ab00000000001234 from V+0x18: %lx\n", ({
           u64 r = 0xAB00000000001234UL;
           __asm__ volatile("ldg %0, [%1]" : "+r"(r) : "r"(V + 0x18) : "memory");
           r;
         }));
  u64 x1 = V, xt = 0x0900000000000000UL;
  __asm__ volatile("stg %1, [%0, #16]!" : "+r"(x1) : "r"(xt) : "memory");
  printf("  stg [x1,#16]! with tag 9: x1 = %lx, tag at V+0x10 = %x\n", x1, load_tag(V + 0x10));
  x1 = V + 0x10, xt = 0x0600000000000000UL;
  __asm__ volatile("st2g %1, [%0], #32" : "+r"(x1) : "r"(xt) : "memory");
  printf("  st2g [x1],#32 with tag 6: x1 = %lx\n", x1);
  print_tags("  tags at V: ", V, 4);
  // Data accesses in this part go through untagged pointers with PSTATE.TCO set, so they are
  // unchecked and show the data whatever the tags are.
  set_tco(1);
  for (int i = 0; i < 4; i++) ((volatile u64 *)V)[i] = 0x1111111111111111UL * (u64)(i + 1);
  printf("  data before stz2g: %lx %lx %lx %lx\n", ((volatile u64 *)V)[0], ((volatile u64 *)V)[1],
         ((volatile u64 *)V)[2], ((volatile u64 *)V)[3]);
  stz2g(with_tag(V, 2));
  printf("  stz2g tag 2: data %lx %lx %lx %lx\n", ((volatile u64 *)V)[0], ((volatile u64 *)V)[1],
         ((volatile u64 *)V)[2], ((volatile u64 *)V)[3]);
  print_tags("  tags at V: ", V, 4);
  stgp(with_tag(V + 0x20, 7), 0x0100000000000042UL, 0x43);
  printf("  stgp via p(7)+0x20 of a tag-1 value: tag at V+0x20 = %x, data %lx %lx\n", load_tag(V + 0x20),
         ((volatile u64 *)(V + 0x20))[0], ((volatile u64 *)(V + 0x20))[1]);
  stzg(with_tag(V + 0x30, 12));
  print_tags("  after stzg tag c at V+0x30: ", V, 4);
  set_tco(0);

  puts("Tagged allocation (RGSR seed 0x1234):\n");
  write_sysreg(rgsr_el1, 0x123400);
  isb();
  u64 objs[6];
  u64 sizes[6] = {16, 48, 32, 100, 16, 64};
  fault_log_reset();
  for (int i = 0; i < 6; i++) {
    objs[i] = tagged_alloc(sizes[i]);
    for (u64 off = 0; off + 8 <= sizes[i]; off += 8) *(volatile u64 *)(objs[i] + off) = objs[i] + off;
  }
  u64 bad = 0;
  for (int i = 0; i < 6; i++) {
    for (u64 off = 0; off + 8 <= sizes[i]; off += 8) {
      u64 v = *(volatile u64 *)(objs[i] + off);
      if (v != objs[i] + off) bad++;
    }
    printf("  object %d: %3lu bytes at %p, ", i, sizes[i], objs[i]);
    print_tags("granule tags ", objs[i] & 0x00FFFFFFFFFFFFFFUL, (int)((sizes[i] + 15) / 16));
  }
  printf("  data read back through tagged pointers: %lu mismatches, %d tag check faults\n", bad, last_fault.count);
  puts("mte-basic done\n");
  return 0;
}
