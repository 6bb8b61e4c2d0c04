// Checked probes with one-line reports, shared by the MTE guests.
#ifndef GUEST_PROBE_H
#define GUEST_PROBE_H
#include "mte.h"

#define SENTINEL 0x5e5e5e5e5e5e5e5eUL

// Reads TFSR_EL1 after the barrier that makes pending asynchronous tag check faults visible.
static inline u64 read_tfsr(void) {
  __asm__ volatile("dsb nsh\n isb" ::: "memory");
  return read_sysreg(tfsr_el1);
}
static inline u64 read_tfsre0(void) {
  __asm__ volatile("dsb nsh\n isb" ::: "memory");
  return read_sysreg(tfsre0_el1);
}
static inline void clear_tfsr(void) {
  write_sysreg(tfsr_el1, 0);
  write_sysreg(tfsre0_el1, 0);
  isb();
}

// Reports a probe: synchronous faults seen (ESR, FAR bits 59:0) and TFSR_EL1 afterwards.
static inline void probe_report(const char *what, u64 value, int is_load) {
  printf("  %s: ", what);
  if (last_fault.count) printf("sync fault ESR %lx FAR[59:0] %lx", last_fault.esr, far_known(last_fault.far));
  else printf("no exception");
  if (is_load) printf(", value %lx", value);
  printf(", TFSR_EL1 %lx\n", read_tfsr());
}
static inline u64 check_load(const char *what, u64 p) {
  fault_log_reset();
  u64 v = probe_load(p, SENTINEL);
  probe_report(what, v, 1);
  return v;
}
static inline void check_store(const char *what, u64 p, u64 value) {
  fault_log_reset();
  probe_store(p, value);
  probe_report(what, 0, 0);
}
// Reads memory with tag checks suppressed (PSTATE.TCO = 1).
static inline u64 peek(u64 p) {
  set_tco(1);
  u64 v = *(volatile u64 *)p;
  set_tco(0);
  return v;
}
// The test-vector page: tags 3,4,0,F and recognisable data in the first 8 words.
static inline void setup_vector_page(u64 v) {
  set_vector_tags(v);
  set_tco(1);
  for (int i = 0; i < 8; i++) ((volatile u64 *)v)[i] = 0x0101010101010101UL * (u64)(i + 1);
  set_tco(0);
}
#endif
