// mte-async: asynchronous tag check faults (SCTLR_EL1.TCF = 2). Mismatching accesses complete
// and set TFSR_EL1.TF0 (VA bit 55 = 0) or TF1 (bit 55 = 1, through TTBR1); an LDTR at EL1 is
// checked as an EL0 access (TCF0) and reports in TFSRE0_EL1.
#include "probe.h"

#define V (TAGGED_BASE + 0x1000)
#define USER_PAGE (TAGGED_BASE + 0x2000)

int main(void) {
  set_exception_handler(skip_data_aborts);
  puts("mte-async: asynchronous tag check faults\n");
  map_test_regions();
  mmu_map_el0(USER_PAGE, 0x1000, ATTR_TAGGED);
  mte_enable(SCTLR_TCF_ASYNC, 0);
  setup_vector_page(V);
  clear_tfsr();
  printf("TCF = %lu, TFSR_EL1 %lx\n", (read_sysreg(sctlr_el1) >> 40) & 3, read_tfsr());

  check_load("ldr [p(3)] on tag 3", with_tag(V, 3));
  check_load("ldr [p(4)] on tag 3", with_tag(V, 4));
  clear_tfsr();
  check_store("str [p(4)] on tag 3", with_tag(V, 4), 0xa5a5);
  printf("    the store completed: memory %lx\n", peek(V));
  clear_tfsr();

  u64 upper = with_tag(TTBR1_ALIAS | V, 4) | (0xFUL << 60); // TTBR1 alias of V, bit 55 = 1
  check_load("ldr through the TTBR1 alias, tag 4 on tag 3", upper);
  check_load("another mismatch, lower half (TF0 joins TF1)", with_tag(V + 0x10, 5));
  clear_tfsr();
  printf("  after clearing: TFSR_EL1 %lx\n", read_tfsr());

  puts("LDTR/STTR at EL1 are checked as EL0 accesses (TCF0):\n");
  stg(with_tag(USER_PAGE, 6));
  // TCF = sync for EL1, TCF0 = async for EL0, and ATA0 so that EL0-checked accesses use tags.
  write_sysreg(sctlr_el1, read_sysreg(sctlr_el1) | SCTLR_ATA0);
  set_tcf(SCTLR_TCF_SYNC | (2UL << 38));
  u64 v = 0;
  fault_log_reset();
  __asm__ volatile("ldtr %0, [%1]" : "=r"(v) : "r"(with_tag(USER_PAGE, 7)) : "memory");
  printf("  ldtr tag 7 on tag 6 (TCF=1, TCF0=2): %d sync fault(s), TFSR_EL1 %lx, TFSRE0_EL1 %lx\n",
         last_fault.count, read_tfsr(), read_tfsre0());
  clear_tfsr();
  fault_log_reset();
  probe_load(with_tag(USER_PAGE, 7), 0);
  printf("  ldr tag 7 on tag 6 (TCF=1): %d sync fault(s), ESR %lx, TFSRE0_EL1 %lx\n", last_fault.count,
         last_fault.esr, read_tfsre0());
  set_tcf(SCTLR_TCF_ASYNC | (1UL << 38));
  fault_log_reset();
  __asm__ volatile("ldtr %0, [%1]" : "=r"(v) : "r"(with_tag(USER_PAGE, 7)) : "memory");
  printf("  ldtr tag 7 on tag 6 (TCF=2, TCF0=1): %d sync fault(s), ESR %lx, TFSR_EL1 %lx, TFSRE0_EL1 %lx\n",
         last_fault.count, last_fault.esr, read_tfsr(), read_tfsre0());
  puts("mte-async done\n");
  return 0;
}
