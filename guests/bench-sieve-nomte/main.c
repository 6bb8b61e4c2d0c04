// bench-sieve with MTE off (see lib/bench.h).
#define BENCH_MTE 0
#include "../bench-sieve/main.c"
