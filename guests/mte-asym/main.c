// mte-asym: asymmetric tag checking (FEAT_MTE3, SCTLR_EL1.TCF = 3): mismatching reads fault
// synchronously, mismatching writes complete and set TFSR_EL1.
#include "probe.h"

#define V (TAGGED_BASE + 0x1000)

int main(void) {
  set_exception_handler(skip_data_aborts);
  puts("mte-asym: asymmetric tag check faults\n");
  map_test_regions();
  printf("ID_AA64PFR1_EL1.MTE = %lu (3 = FEAT_MTE3, asymmetric mode)\n", (read_sysreg(id_aa64pfr1_el1) >> 8) & 15);
  mte_enable(SCTLR_TCF_ASYM, 0);
  setup_vector_page(V);
  clear_tfsr();
  printf("TCF = %lu\n", (read_sysreg(sctlr_el1) >> 40) & 3);
  check_load("ldr [p(4)] on tag 3", with_tag(V, 4));
  check_store("str [p(4)] on tag 3", with_tag(V, 4), 0x77);
  printf("    the store completed: memory %lx\n", peek(V));
  clear_tfsr();
  check_store("str [p(3)] on tag 3", with_tag(V, 3), 0x78);
  check_load("ldr [p(3)] on tag 3", with_tag(V, 3));
  puts("mte-asym done\n");
  return 0;
}
