// bench-crc32 with MTE off (see lib/bench.h).
#define BENCH_MTE 0
#include "../bench-crc32/main.c"
