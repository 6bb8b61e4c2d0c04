// mte-sync: synchronous tag check faults (SCTLR_EL1.TCF = 1). The handler records ESR/FAR
// and skips the faulting instruction; a faulting load leaves its destination unchanged.
#include "mte.h"

#define V (TAGGED_BASE + 0x1000)
#define SENTINEL 0x5e5e5e5e5e5e5e5eUL

static void report(const char *what) {
  if (last_fault.count == 0) {
    printf("  %s: no fault\n", what);
    return;
  }
  // Bits 63:60 of FAR_EL1 are UNKNOWN for tag check faults; print bits 59:0 only.
  // ELR_EL1 points at the faulting instruction itself: print its encoding.
  printf("  %s: %d fault(s), ESR %lx FAR[59:0] %lx, insn at ELR %08x\n", what, last_fault.count, last_fault.esr,
         far_known(last_fault.far), *(volatile u32 *)last_fault.elr);
}

static void load(const char *what, u64 p) {
  fault_log_reset();
  u64 v = probe_load(p, SENTINEL);
  report(what);
  if (last_fault.count) printf("    destination register unchanged: %s\n", v == SENTINEL ? "yes" : "no");
  else printf("    loaded %lx\n", v);
}

static void store(const char *what, u64 p, u64 value) {
  fault_log_reset();
  probe_store(p, value);
  report(what);
}

static u64 peek(u64 p) {
  set_tco(1);
  u64 v = *(volatile u64 *)p;
  set_tco(0);
  return v;
}

// The loads of arm-mte.md vector 30: SP holds a tag-4 pointer to the tag-3 granule.
static void sp_loads(u64 sp_value) {
  u64 v;
  fault_log_reset();
  __asm__ volatile("mov x9, sp\n mov sp, %1\n ldr %0, [sp, #8]\n mov sp, x9" : "=&r"(v) : "r"(sp_value) : "x9", "memory");
  report("ldr x0,[sp,#8] (SP + immediate, unchecked)");
  fault_log_reset();
  __asm__ volatile("mov x9, sp\n mov sp, %1\n ldr %0, [sp, #8]!\n mov sp, x9" : "=&r"(v) : "r"(sp_value) : "x9", "memory");
  report("ldr x0,[sp,#8]! (SP with writeback, checked)");
  fault_log_reset();
  __asm__ volatile("mov x9, sp\n mov sp, %1\n mov x10, #8\n ldr %0, [sp, x10]\n mov sp, x9"
                   : "=&r"(v)
                   : "r"(sp_value)
                   : "x9", "x10", "memory");
  report("ldr x0,[sp,x10] (SP + register, checked)");
}

int main(void) {
  set_exception_handler(skip_data_aborts);
  puts("mte-sync: synchronous tag check faults\n");
  map_test_regions();
  mte_enable(SCTLR_TCF_SYNC, 0);
  set_vector_tags(V);
  set_tco(1);
  for (int i = 0; i < 8; i++) ((volatile u64 *)V)[i] = 0x0101010101010101UL * (u64)(i + 1);
  set_tco(0);
  print_tags("granule tags at V = 0x40201000: ", V, 4);

  puts("Checked loads and stores:\n");
  load("ldr [p(3)] on tag 3", with_tag(V, 3));
  load("ldr [p(4)] on tag 3", with_tag(V, 4));
  store("str [p(4)] on tag 3", with_tag(V, 4), 0xdead);
  printf("    memory unchanged: %s\n", peek(V) == 0x0101010101010101UL ? "yes" : "no");
  store("str [p(3)] on tag 3", with_tag(V, 3), 0xbeef);
  printf("    memory now %lx\n", peek(V));
  load("ldr [p(0)+0x20] on tag 0", V + 0x20);
  load("ldr [p(0)] on tag 3", V);
  load("ldr [p(f)+0x38] on tag f", with_tag(V + 0x38, 15));
  fault_log_reset();
  u8 b = probe_load8(with_tag(V + 0x1f, 3), 0x77);
  report("ldrb [p(3)+0x1f] on tag 4");
  printf("    byte unchanged: %s\n", b == 0x77 ? "yes" : "no");

  puts("An access that spans two granules (tags 3 then 4):\n");
  fault_log_reset();
  u64 p = with_tag(V + 0xc, 3);
  probe_load(p, 0);
  u64 far = far_known(last_fault.far), lo = far_known(p);
  printf("  ldr [p(3)+0xc]: %d fault(s), ESR %lx, FAR within the accessed bytes: %s\n", last_fault.count,
         last_fault.esr, far >= lo && far < lo + 8 ? "yes" : "no");

  puts("SP-based accesses (SP = p(4) + 0, memory tag 3 at SP + 8):\n");
  sp_loads(with_tag(V, 4));

  puts("Use after free:\n");
  u64 obj = with_tag(V + 0x100, 0xa);
  st2g(obj);
  *(volatile u64 *)obj = 0x1234;
  printf("  object at %p holds %lx\n", obj, *(volatile u64 *)obj);
  st2g(addg(obj, 0, 1)); // free: the memory gets a new tag, the old pointer is stale
  printf("  freed: memory tag now %x, stale pointer tag %x\n", load_tag(obj), tag_of(obj));
  load("read through the stale pointer", obj);
  store("write through the stale pointer", obj + 8, 1);

  puts("Misaligned STG:\n");
  fault_log_reset();
  stg(with_tag(V + 8, 9));
  printf("  stg [V+8]: %d fault(s), ESR %lx FAR %lx\n", last_fault.count, last_fault.esr, last_fault.far);
  print_tags("  tags unchanged: ", V, 4);
  puts("mte-sync done\n");
  return 0;
}
