// mte-demo: a tiny tagged heap catches a use-after-free and an out-of-bounds write.
// This is the first thing a new user runs, so the output is written for a person.
#include "probe.h"

#define HEAP (TAGGED_BASE + 0x10000)

static int bugs_caught;

static const char *describe_access(u64 esr) { return (esr >> 6) & 1 ? "write" : "read"; }

// Tag check faults are reported, then the faulting instruction is skipped so the demo goes on.
static int on_exception(struct frame *f, int vector) {
  if (vector != 4 || ESR_EC(f->esr) != EC_DABT_CUR || (f->esr & 0x3f) != 0x11) return 0;
  u64 far = far_known(f->far); // FAR bits 63:60 are UNKNOWN after a tag check fault
  printf("   >>> MTE caught it: tag check fault on a %s of %p\n", describe_access(f->esr), far);
  printf("       the pointer carries tag %x, the memory there has tag %x\n", tag_of(far), load_tag(far));
  printf("       (ESR_EL1 0x%lx: data abort, DFSC 0x11 = synchronous tag check fault)\n", f->esr);
  printf("       the %s is suppressed; the program goes on at the next instruction\n", describe_access(f->esr));
  bugs_caught++;
  f->elr += 4;
  return 1;
}

// Bump allocator: every object starts on a 16-byte granule and gets a random tag (IRG) that
// differs from tag 0 and from the tag of the object just before it.
static u64 heap_top = HEAP;
static unsigned previous_tag;

static u64 tag_memory(u64 p, u64 size) {
  for (u64 off = 0; off < size; off += GRANULE) stg(p + off);
  return p;
}

static u64 malloc_tagged(u64 size) {
  size = (size + GRANULE - 1) & ~(GRANULE - 1);
  u64 p = irg(heap_top, 1UL | (1UL << previous_tag));
  previous_tag = tag_of(p);
  heap_top += size;
  return tag_memory(p, size);
}

// free() retags the object with a new random tag, so every pointer to it goes stale.
static void free_tagged(u64 p, u64 size) {
  size = (size + GRANULE - 1) & ~(GRANULE - 1);
  tag_memory(irg(p, 1UL | (1UL << tag_of(p))), size);
}

static void copy_string(u64 dst, const char *s) {
  do *(volatile char *)dst++ = *s;
  while (*s++);
}

static void print_string(u64 p) {
  putc('"');
  for (char c; (c = *(volatile char *)p) != 0; p++) putc(c);
  putc('"');
}

int main(void) {
  set_exception_handler(on_exception);
  map_test_regions();
  mte_enable(SCTLR_TCF_SYNC, 0);
  write_sysreg(rgsr_el1, 0x5eed00); // IRG with a fixed seed (GCR_EL1.RRND = 0): same tags every run
  isb();

  puts("tagvm MTE demo: memory tagging catches two classic heap bugs\n");
  puts("===========================================================\n\n");
  puts("Every 16 bytes of memory carry a 4-bit tag, and every pointer carries a tag in its\n");
  puts("top byte. With tag checking on, the CPU compares the two on each load and store.\n\n");

  puts("Allocating three 32-byte objects, each with a random tag:\n");
  u64 a = malloc_tagged(32), b = malloc_tagged(32), c = malloc_tagged(32);
  printf("   a = %p  (tag %x)\n", a, tag_of(a));
  printf("   b = %p  (tag %x)\n", b, tag_of(b));
  printf("   c = %p  (tag %x)\n\n", c, tag_of(c));

  puts("1. Use after free\n");
  copy_string(a, "secret");
  puts("   a holds ");
  print_string(a);
  puts("\n   free(a): the allocator gives a's memory a new tag\n");
  free_tagged(a, 32);
  printf("   a's memory now has tag %x, but the stale pointer a still says %x\n", load_tag(a), tag_of(a));
  puts("   reading a[0] through the stale pointer...\n");
  u8 v = probe_load8(a, '?');
  printf("   the read returned nothing from freed memory (register still '%c')\n\n", v);

  puts("2. Out-of-bounds write\n");
  copy_string(c, "neighbour");
  puts("   c holds ");
  print_string(c);
  puts("\n   writing b[32], one byte past the end of b (it lands on c's first byte)...\n");
  probe_store8(b + 32, 'X');
  puts("   c still holds ");
  print_string(c);
  puts("\n\n");

  puts("3. Correct code runs unhindered\n");
  copy_string(b, "all fine");
  puts("   b holds ");
  print_string(b);
  puts(" and no fault was raised for it\n\n");

  printf("Summary: %d of 2 bugs caught by MTE, tag check mode synchronous (SCTLR_EL1.TCF = %lu).\n",
         bugs_caught, (read_sysreg(sctlr_el1) >> 40) & 3);
  return 0;
}
