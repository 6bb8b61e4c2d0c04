// bench-copy with MTE off (see lib/bench.h).
#define BENCH_MTE 0
#include "../bench-copy/main.c"
