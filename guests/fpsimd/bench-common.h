// Shared by the FP/SIMD bench guests (bench-*/main.c): FP on, Normal memory, and printing a
// value's bits so the output is compared with QEMU's exactly. The kernels are plain C that
// clang compiles with FP and Advanced SIMD (the guests are otherwise built general-regs-only).
#include "rt.h"

#define FP_CODE __attribute__((target("fp-armv8,neon"), noinline))

static inline void bench_start(const char *name) {
  mmu_enable(0, 0); // Normal memory for the data (the MMU is off at entry)
  write_sysreg(cpacr_el1, 3ul << 20);
  isb();
  printf("%s\n", name);
}

static inline u64 double_bits(const volatile double *d) { return *(const volatile u64 *)d; }
static inline u32 float_bits(const volatile float *f) { return *(const volatile u32 *)f; }
