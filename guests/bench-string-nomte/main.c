// bench-string with MTE off (see lib/bench.h).
#define BENCH_MTE 0
#include "../bench-string/main.c"
