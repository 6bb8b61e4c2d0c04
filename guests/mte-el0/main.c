// mte-el0: MTE seen from EL0. A tag check fault at EL0 (SCTLR_EL1.TCF0, ATA0) is a data abort
// from a lower EL (EC 0x24); LDGM is UNDEFINED at EL0; PSTATE.TCO can be set at EL0; an SVC
// from EL0 enters EL1 with TCO set and the EL0 TCO saved in SPSR_EL1.
#include "probe.h"

#define EL0_CODE 0x40600000UL
#define EL0_DATA (TAGGED_BASE + 0x3000)
#define EL0_STACK (UNTAGGED_BASE + 0x3000)

extern char el0_code[], el0_code_end[], el0_returned[];
void enter_el0(u64 entry, u64 sp, u64 x0, u64 x1);

static struct frame at_svc;
static u64 tco_at_svc;
static int el0_events;

static int on_exception(struct frame *f, int vector) {
  if (vector != 8) return skip_data_aborts(f, vector); // not from EL0
  u64 ec = ESR_EC(f->esr);
  el0_events++;
  if (ec == EC_SVC64) {
    at_svc = *f;
    tco_at_svc = read_sysreg(tco);
    f->elr = (u64)el0_returned; // resume EL1 after enter_el0
    f->spsr = 0x3c5;            // EL1h, DAIF masked
    return 1;
  }
  if (ec == EC_DABT_LOW) {
    printf("  EL0 data abort: ESR %lx FAR[59:0] %lx at EL0 code +%lx\n", f->esr, far_known(f->far), f->elr - EL0_CODE);
  } else if (ec == 0) {
    printf("  EL0 undefined instruction: ESR %lx at EL0 code +%lx (%08x)\n", f->esr, f->elr - EL0_CODE,
           *(volatile u32 *)f->elr);
  } else {
    return 0;
  }
  f->elr += 4;
  return 1;
}

int main(void) {
  set_exception_handler(on_exception);
  puts("mte-el0: tag checks, LDGM and TCO at EL0\n");
  // The EL0 code gets its own page (copied while the MMU is off, so no cache maintenance).
  u64 n = (u64)(el0_code_end - el0_code);
  for (u64 i = 0; i < n; i += 4) *(volatile u32 *)(EL0_CODE + i) = *(volatile u32 *)(el0_code + i);
  map_test_regions();
  mmu_map_el0_code(EL0_CODE, 0x1000);
  mmu_map_el0(EL0_DATA & ~0xfffUL, 0x1000, ATTR_TAGGED);
  mmu_map_el0(EL0_STACK - 0x1000, 0x1000, ATTR_NORMAL);
  mte_enable(SCTLR_TCF_SYNC, 0);
  write_sysreg(sctlr_el1, read_sysreg(sctlr_el1) | SCTLR_ATA0 | (1UL << 38)); // ATA0, TCF0 = sync
  isb();
  __asm__ volatile("ic iallu\n dsb ish\n isb" ::: "memory");

  stg(with_tag(EL0_DATA, 6));
  *(volatile u64 *)with_tag(EL0_DATA, 6) = 0x600d;
  printf("EL0 data at %lx has tag %x; SCTLR_EL1.TCF0 = %lu, ATA0 = %lu\n", EL0_DATA, load_tag(EL0_DATA),
         (read_sysreg(sctlr_el1) >> 38) & 3, (read_sysreg(sctlr_el1) >> 42) & 1);
  puts("Running at EL0:\n");
  enter_el0(EL0_CODE, EL0_STACK, with_tag(EL0_DATA, 9), with_tag(EL0_DATA, 6));
  printf("Back at EL%lu after %d exceptions from EL0\n", (read_sysreg(CurrentEL) >> 2) & 3, el0_events);
  printf("  SVC: ESR %lx, SPSR_EL1 %lx (M = EL0t, TCO bit 25 = %lu), TCO in the handler %lx\n", at_svc.esr,
         at_svc.spsr, (at_svc.spsr >> 25) & 1, tco_at_svc);
  printf("  EL0 registers: x2 %lx (faulting load skipped), x3 %lx, x4 %lx (LDGM skipped), x5 %lx, x6 %lx\n",
         at_svc.x[2], at_svc.x[3], at_svc.x[4], at_svc.x[5], at_svc.x[6]);
  printf("  TCO at EL1 now %lx\n", read_sysreg(tco));
  puts("mte-el0 done\n");
  return 0;
}
