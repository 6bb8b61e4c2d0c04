// bench-crc32: CRC-32 (the zlib polynomial, CRC32X/CRC32B) over 256 KiB of xorshift data,
// `rounds` times, each round continuing from the last CRC. See lib/bench.h.
#include <arm_acle.h>
#include "bench.h"

#define LEN 0x40000UL

static u32 crc32_buffer(u32 crc, const u8 *p, u64 n) {
  for (; n >= 8; n -= 8, p += 8) crc = __crc32d(crc, *(const u64 *)p);
  for (; n != 0; n--, p++) crc = __crc32b(crc, *p);
  return crc;
}

int main(void) {
  u32 rounds = bench_start(40);
  u64 buf = bench_tag(BENCH_BASE, LEN);
  u64 s = 0x9e3779b97f4a7c15UL;
  for (u64 i = 0; i < LEN / 8; i++) ((u64 *)buf)[i] = xorshift64(&s);
  u32 crc = 0xffffffffu;
  // 3 bytes short of the buffer: the byte tail runs too.
  for (u32 r = 0; r < rounds; r++) crc = crc32_buffer(crc, (const u8 *)buf, LEN - 3);
  bench_finish("bench-crc32", rounds, ~crc, buf);
  return 0;
}
