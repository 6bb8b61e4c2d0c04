// mte-tcma: TCR_EL1.TCMA0/TCMA1 make pointers with tag 0 (lower half) or tag 0xF with bit 55
// set (upper half) match every allocation tag; other tags stay checked.
#include "probe.h"

#define V (TAGGED_BASE + 0x1000)

static u64 upper(u64 p, unsigned tag) { return with_tag(TTBR1_ALIAS | p, tag); }

int main(void) {
  set_exception_handler(skip_data_aborts);
  puts("mte-tcma: match-all tags\n");
  map_test_regions();
  mte_enable(SCTLR_TCF_SYNC, 0);
  setup_vector_page(V);
  print_tags("granule tags at V: ", V, 4);

  puts("TCMA0 = 0, TCMA1 = 0:\n");
  check_load("ldr [p(0)+0x20] on tag 0", V + 0x20);
  check_load("ldr [p(0)+0x10] on tag 4", V + 0x10);
  check_load("upper ldr p(f)+0x10 on tag 4", upper(V + 0x10, 15));

  write_sysreg(tcr_el1, read_sysreg(tcr_el1) | TCR_TCMA0 | TCR_TCMA1);
  isb();
  puts("TCMA0 = 1, TCMA1 = 1:\n");
  check_load("ldr [p(0)+0x10] on tag 4", V + 0x10);
  check_load("ldr [p(f)+0x10] on tag 4", with_tag(V + 0x10, 15));
  check_store("str [p(0)+0x30] on tag f", V + 0x30, 0x99);
  printf("    memory %lx\n", peek(V + 0x30));
  check_load("upper ldr p(f)+0x10 on tag 4", upper(V + 0x10, 15));
  check_load("upper ldr p(0)+0x10 on tag 4", upper(V + 0x10, 0));
  check_load("upper ldr p(4)+0x10 on tag 4", upper(V + 0x10, 4));
  puts("mte-tcma done\n");
  return 0;
}
