// The secondary CPU entry of smp-stress (PSCI CPU_ON lands there).
#include "../smp-stress/entry.S"
