// bench-alloc with MTE off (see lib/bench.h).
#define BENCH_MTE 0
#include "../bench-alloc/main.c"
