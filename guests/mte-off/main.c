// mte-off: SCTLR_EL1.ATA = 0 at stage 1 (tag instructions execute, tags read as 0, tag writes
// are dropped, IRG/ADDG/SUBG give tag 0, no tag checks), then memory mapped untagged
// (MAIR 0xFF) with MTE on.
#include "probe.h"

#define V (TAGGED_BASE + 0x1000)

static void set_ata(int on) {
  u64 s = read_sysreg(sctlr_el1);
  write_sysreg(sctlr_el1, on ? s | SCTLR_ATA : s & ~SCTLR_ATA);
  isb();
}

int main(void) {
  set_exception_handler(skip_data_aborts);
  puts("mte-off: allocation tag access disabled, and untagged memory\n");
  map_test_regions();
  mte_enable(SCTLR_TCF_SYNC, 0);
  setup_vector_page(V);
  print_tags("ATA=1: tags at V ", V, 4);

  set_ata(0);
  printf("SCTLR_EL1.ATA = %lu, TCF = %lu\n", (read_sysreg(sctlr_el1) >> 43) & 1, (read_sysreg(sctlr_el1) >> 40) & 3);
  print_tags("  LDG reads ", V, 4);
  printf("  ldgm [V] = %lx\n", ldgm(V));
  check_load("ldr [p(4)] on tag 3", with_tag(V, 4));
  check_store("str [p(9)+0x30] on tag f", with_tag(V + 0x30, 9), 0x3333);
  write_sysreg(rgsr_el1, 0x00ACE103);
  isb();
  printf("  irg p(5) = %p, RGSR %08lx (untouched)\n", irg(with_tag(V, 5), 0), read_sysreg(rgsr_el1));
  printf("  addg p(3),#16,#1 = %p, subg p(3),#16,#1 = %p\n", addg(with_tag(V, 3), 16, 1), subg(with_tag(V, 3), 16, 1));
  stg(with_tag(V, 7));
  st2g(with_tag(V + 0x20, 7));
  stzg(with_tag(V + 0x10, 7));
  stgm(V, 0x7777);
  stzgm(V + 0x40, 7);
  dc_gva(with_tag(V + 0x80, 7));
  printf("  STZG still zeroes data: word at V+0x10 = %lx; STZGM too: word at V+0x40 = %lx\n", peek(V + 0x10),
         peek(V + 0x40));
  fault_log_reset();
  stg(with_tag(V + 8, 7));
  printf("  misaligned STG still faults: %d fault(s), ESR %lx\n", last_fault.count, last_fault.esr);

  set_ata(1);
  print_tags("ATA=1 again: tags at V unchanged ", V, 4);
  print_tags("  and at V+0x40 ", V + 0x40, 8);

  puts("Untagged memory (MAIR 0xFF) with ATA=1:\n");
  u64 U = UNTAGGED_BASE + 0x1000;
  set_tco(1);
  *(volatile u64 *)U = 0x4242;
  set_tco(0);
  stg(with_tag(U, 4));
  print_tags("  after STG tag 4, LDG reads ", U, 1);
  check_load("ldr [p(4)] on untagged memory", with_tag(U, 4));
  check_store("str [p(9)] on untagged memory", with_tag(U, 9), 0x4343);
  puts("mte-off done\n");
  return 0;
}
