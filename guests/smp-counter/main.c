// One counter for the whole machine: every CPU reads CNTVCT_EL0 after an acquire load of the
// latest value another CPU read and published, and counts the reads that come out earlier
// than that value by more than 1 ms (a vCPU whose counter was started behind the others').
// The value read after seeing another CPU's reading must not be earlier: KVM's counter is
// one per VM, whatever thread each vCPU runs on and whenever that thread started.
#include "../smp-stress/smp.c"

#define CHECKS 20000
static volatile u64 latest;
static volatile u32 behind;

static inline u64 ldar64(volatile u64 *p) {
  u64 v;
  __asm__ volatile("ldar %0, [%1]" : "=r"(v) : "r"(p) : "memory");
  return v;
}
static inline void stlr64(volatile u64 *p, u64 v) { __asm__ volatile("stlr %0, [%1]" ::"r"(v), "r"(p) : "memory"); }

static void work(unsigned cpu) {
  (void)cpu;
  u64 tolerance = read_sysreg(cntfrq_el0) / 1000;
  smp_barrier();
  for (int i = 0; i < CHECKS; i++) {
    u64 seen = ldar64(&latest);
    isb();
    u64 now = read_sysreg(cntvct_el0);
    if (now + tolerance < seen) ldadd32(&behind, 1);
    stlr64(&latest, now);
  }
}

int main(void) {
  mmu_enable(0, 0);
  unsigned n = smp_start(work);
  work(0);
  smp_wait_all_off();
  printf("smp-counter: %u cpus, %u checks per cpu, %u reads behind another cpu's earlier read by more than 1 ms\n", n, CHECKS, behind);
  return 0;
}
