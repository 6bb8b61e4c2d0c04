// bench-list with MTE off (see lib/bench.h).
#define BENCH_MTE 0
#include "../bench-list/main.c"
