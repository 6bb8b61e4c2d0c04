// Secondary CPUs for the SMP guests: PSCI CPU_ON/CPU_OFF/AFFINITY_INFO, the boot CPU's MMU
// settings copied to each secondary, per-CPU stacks, and a sense-reversing barrier on LSE atomics.
#ifndef GUEST_SMP_H
#define GUEST_SMP_H
#include "rt.h"

#define SMP_MAX_CPUS 8
#define PSCI_CPU_OFF 0x84000002UL
#define PSCI_CPU_ON 0xC4000003UL
#define PSCI_AFFINITY_INFO 0xC4000004UL

static inline i64 psci(u64 fn, u64 a1, u64 a2, u64 a3) {
  register u64 x0 __asm__("x0") = fn;
  register u64 x1 __asm__("x1") = a1;
  register u64 x2 __asm__("x2") = a2;
  register u64 x3 __asm__("x3") = a3;
  __asm__ volatile("hvc #0" : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3)::"memory");
  return (i64)x0;
}

static inline unsigned cpu_id(void) { return (unsigned)(read_sysreg(mpidr_el1) & 0xff); }

// LSE atomics and an acquire load, so the compiler emits exactly these instructions.
static inline u32 ldadd32(volatile u32 *p, u32 v) {
  u32 old;
  __asm__ volatile("ldaddal %w1, %w0, [%2]" : "=r"(old) : "r"(v), "r"(p) : "memory");
  return old;
}
static inline u64 ldadd64(volatile u64 *p, u64 v) {
  u64 old;
  __asm__ volatile("ldaddal %1, %0, [%2]" : "=r"(old) : "r"(v), "r"(p) : "memory");
  return old;
}
static inline u32 ldar32(volatile u32 *p) {
  u32 v;
  __asm__ volatile("ldar %w0, [%1]" : "=r"(v) : "r"(p) : "memory");
  return v;
}
static inline void stlr32(volatile u32 *p, u32 v) { __asm__ volatile("stlr %w0, [%1]" ::"r"(v), "r"(p) : "memory"); }

// Starts every CPU PSCI knows (ids 1..SMP_MAX_CPUS-1) at smp_secondary_entry with its own
// stack; returns how many CPUs run (the boot CPU included). Call after mmu_enable.
unsigned smp_start(void (*fn)(unsigned cpu));
// Waits until every started CPU has reached this point (sense-reversing, LDADD + LDAR).
void smp_barrier(void);
// Powers the calling secondary off (PSCI CPU_OFF); does not return.
void smp_cpu_off(void) __attribute__((noreturn));
// Boot CPU: waits until AFFINITY_INFO says every secondary is off; returns how many were seen off.
unsigned smp_wait_all_off(void);
extern unsigned smp_cpus;
#endif
