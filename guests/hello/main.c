// The smallest guest: MMU off, print a greeting through the PL011, power off.
#include "rt.h"

int main(void) {
  printf("Hello from a bare-metal AArch64 guest at EL%d.\n", (int)(read_sysreg(CurrentEL) >> 2) & 3);
  printf("SCTLR_EL1 = %lx (MMU %s)\n", read_sysreg(sctlr_el1), (read_sysreg(sctlr_el1) & 1) ? "on" : "off");
  puts("Powering off.\n");
  return 0;
}
