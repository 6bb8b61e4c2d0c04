// One counter for the whole machine: every CPU reads CNTVCT_EL0 after an acquire load of the
// latest value another CPU read and published, and counts the reads that come out earlier
// than that value. The system counter is one for all CPUs and never goes back, and the ISB
// keeps the counter read after the load: a value read after seeing another CPU's reading can
// only be equal or later, whatever thread each vCPU runs on, whenever that thread started and
// however long it is held between its read and its publish (KVM's counter is one per VM).
#include "../smp-stress/smp.c"

#define CHECKS 20000
static volatile u64 latest;
static volatile u32 behind;
/** Per CPU, for a failure's report: reads behind, and the worst (value seen, value read after it). */
static u32 behind_of[SMP_MAX_CPUS];
static u64 worst_seen[SMP_MAX_CPUS], worst_now[SMP_MAX_CPUS];

static inline u64 ldar64(volatile u64 *p) {
  u64 v;
  __asm__ volatile("ldar %0, [%1]" : "=r"(v) : "r"(p) : "memory");
  return v;
}
static inline void stlr64(volatile u64 *p, u64 v) { __asm__ volatile("stlr %0, [%1]" ::"r"(v), "r"(p) : "memory"); }

static void work(unsigned cpu) {
  smp_barrier();
  for (int i = 0; i < CHECKS; i++) {
    u64 seen = ldar64(&latest);
    isb();
    u64 now = read_sysreg(cntvct_el0);
    if (now < seen) {
      ldadd32(&behind, 1);
      behind_of[cpu]++;
      if (seen - now > worst_seen[cpu] - worst_now[cpu]) {
        worst_seen[cpu] = seen;
        worst_now[cpu] = now;
      }
    }
    stlr64(&latest, now);
  }
}

int main(void) {
  mmu_enable(0, 0);
  unsigned n = smp_start(work);
  work(0);
  smp_wait_all_off();
  printf("smp-counter: %u cpus, %u checks per cpu, %u reads behind another cpu's earlier read\n", n, CHECKS, behind);
  u64 frequency = read_sysreg(cntfrq_el0);
  for (unsigned c = 0; c < n; c++) {
    if (behind_of[c] == 0) continue;
    u64 lag = worst_seen[c] - worst_now[c];
    printf("  cpu %u: %u behind, worst %lu us (read %lx after seeing %lx)\n", c, behind_of[c], lag * 1000000 / frequency, worst_now[c], worst_seen[c]);
  }
  return 0;
}
