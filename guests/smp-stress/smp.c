#include "smp.h"

unsigned smp_cpus = 1;
static void (*smp_fn)(unsigned cpu);
static u64 boot_mair, boot_tcr, boot_ttbr0, boot_ttbr1, boot_sctlr;
static volatile u32 barrier_arrived, barrier_sense;
// Set once smp_cpus is final: a secondary that began early must not count the barrier wrong.
static volatile u32 smp_ready;
static u8 stacks[SMP_MAX_CPUS][16384] __attribute__((aligned(16)));
void smp_secondary_entry(void);

// Called by smp_secondary_entry with its stack set: the boot CPU's MMU settings, then fn.
void smp_secondary_main(void) {
  write_sysreg(mair_el1, boot_mair);
  write_sysreg(tcr_el1, boot_tcr);
  write_sysreg(ttbr0_el1, boot_ttbr0);
  write_sysreg(ttbr1_el1, boot_ttbr1);
  isb();
  __asm__ volatile("tlbi vmalle1\n dsb nsh" ::: "memory");
  write_sysreg(sctlr_el1, boot_sctlr);
  isb();
  while (!ldar32(&smp_ready)) __asm__ volatile("yield");
  smp_fn(cpu_id());
  smp_cpu_off();
}

unsigned smp_start(void (*fn)(unsigned cpu)) {
  smp_fn = fn;
  boot_mair = read_sysreg(mair_el1);
  boot_tcr = read_sysreg(tcr_el1);
  boot_ttbr0 = read_sysreg(ttbr0_el1);
  boot_ttbr1 = read_sysreg(ttbr1_el1);
  boot_sctlr = read_sysreg(sctlr_el1);
  dsb();
  unsigned n = 1;
  for (unsigned id = 1; id < SMP_MAX_CPUS; id++) {
    i64 r = psci(PSCI_CPU_ON, id, (u64)smp_secondary_entry, (u64)&stacks[id][sizeof stacks[id]]);
    if (r == 0) n++;
  }
  smp_cpus = n;
  stlr32(&smp_ready, 1);
  return n;
}

void smp_barrier(void) {
  u32 sense = ldar32(&barrier_sense);
  if (ldadd32(&barrier_arrived, 1) == smp_cpus - 1) {
    barrier_arrived = 0;
    stlr32(&barrier_sense, sense ^ 1);
    return;
  }
  while (ldar32(&barrier_sense) == sense) __asm__ volatile("yield");
}

void smp_cpu_off(void) {
  psci(PSCI_CPU_OFF, 0, 0, 0);
  for (;;) __asm__ volatile("wfi");
}

unsigned smp_wait_all_off(void) {
  unsigned off = 0;
  for (unsigned id = 1; id < smp_cpus; id++) {
    while (psci(PSCI_AFFINITY_INFO, id, 0, 0) != 1) __asm__ volatile("yield");
    off++;
  }
  return off;
}
