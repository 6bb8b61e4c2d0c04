// bench-sieve: the sieve of Eratosthenes over 256 K byte flags, `rounds` times; prints the
// number of primes and a sum of the last ones found. See lib/bench.h.
#include "bench.h"

#define N 0x40000UL

static u64 sieve(u8 *flags, u64 n) {
  for (u64 i = 0; i < n; i++) flags[i] = 1;
  flags[0] = flags[1] = 0;
  for (u64 i = 2; i * i < n; i++) {
    if (!flags[i]) continue;
    for (u64 j = i * i; j < n; j += i) flags[j] = 0;
  }
  u64 count = 0, tail = 0;
  for (u64 i = 0; i < n; i++) {
    count += flags[i];
    if (flags[i]) tail = tail * 31 + i;
  }
  return (count << 32) ^ tail;
}

int main(void) {
  u32 rounds = bench_start(6);
  u64 buf = bench_tag(BENCH_BASE, N);
  u64 result = 0;
  for (u32 r = 0; r < rounds; r++) result += sieve((u8 *)buf, N - r % 7);
  bench_finish("bench-sieve", rounds, result, buf);
  return 0;
}
