// mte-tco: PSTATE.TCO suppresses tag checks; it is set on exception entry, saved in SPSR_EL1
// bit 25 and restored by ERET. Tag instructions still work with TCO set.
#include "probe.h"

#define V (TAGGED_BASE + 0x1000)

static u64 tco_in_handler, spsr_in_handler;

static int on_exception(struct frame *f, int vector) {
  if (vector == 4 && ESR_EC(f->esr) == EC_SVC64) {
    tco_in_handler = read_sysreg(tco);
    spsr_in_handler = f->spsr;
    return 1;
  }
  return skip_data_aborts(f, vector);
}

static u64 read_tco(void) { return read_sysreg(tco); }

static void svc_with_tco(int tco) {
  set_tco(tco);
  __asm__ volatile("svc #1" ::: "memory");
  printf("  svc with TCO=%d: in the handler TCO %lx, SPSR_EL1 bit 25 = %lu; after ERET TCO %lx\n", tco,
         tco_in_handler, (spsr_in_handler >> 25) & 1, read_tco());
}

int main(void) {
  set_exception_handler(on_exception);
  puts("mte-tco: tag check override\n");
  map_test_regions();
  mte_enable(SCTLR_TCF_SYNC, 0);
  setup_vector_page(V);
  printf("TCO at start: %lx\n", read_tco());
  check_load("TCO=0: ldr [p(4)] on tag 3", with_tag(V, 4));
  set_tco(1);
  printf("msr tco, #1 -> TCO %lx\n", read_tco());
  check_load("TCO=1: ldr [p(4)] on tag 3", with_tag(V, 4));
  check_store("TCO=1: str [p(5)+0x10] on tag 4", with_tag(V + 0x10, 5), 0x55);
  stg(with_tag(V + 0x20, 0xd));
  print_tags("TCO=1: tag instructions still work, tags ", V, 4);
  write_sysreg(tco, 0);
  isb();
  printf("msr tco, xzr -> TCO %lx\n", read_tco());
  check_load("TCO=0: ldr [p(5)+0x10] on tag 4", with_tag(V + 0x10, 5));
  write_sysreg(tco, 1UL << 25);
  isb();
  printf("msr tco, x (bit 25 set) -> TCO %lx\n", read_tco());
  set_tco(0);
  puts("Exceptions:\n");
  svc_with_tco(0);
  svc_with_tco(1);
  set_tco(0);
  puts("mte-tco done\n");
  return 0;
}
