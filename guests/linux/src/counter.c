/* counter: prints the virtual counter (CNTVCT_EL0, which Linux lets user space read) and its
 * frequency. With QEMU's -icount shift=0 and a 1 GHz counter it ticks once per instruction
 * while a CPU runs, so /init uses it to tell how far boot took the machine. */
#include <stdint.h>
#include <stdio.h>

int main(void) {
  uint64_t count, frequency;
  __asm__ volatile("isb; mrs %0, cntvct_el0" : "=r"(count));
  __asm__ volatile("mrs %0, cntfrq_el0" : "=r"(frequency));
  printf("CNTVCT %llu at %llu Hz\n", (unsigned long long)count, (unsigned long long)frequency);
  return 0;
}
