// bench-copy: a memcpy-like copy of 8-byte words (unrolled by four, then a word and a byte
// tail) from one 512 KiB buffer to another, `rounds` times at a moving offset and length,
// with a checksum of a sample of the copy after each round. See lib/bench.h.
#include "bench.h"

#define LEN 0x80000UL

static void copy(u8 *d, const u8 *s, u64 n) {
  u64 *dw = (u64 *)d;
  const u64 *sw = (const u64 *)s;
  for (; n >= 32; n -= 32, dw += 4, sw += 4) {
    u64 a = sw[0], b = sw[1], c = sw[2], e = sw[3];
    dw[0] = a;
    dw[1] = b;
    dw[2] = c;
    dw[3] = e;
  }
  for (; n >= 8; n -= 8) *dw++ = *sw++;
  d = (u8 *)dw;
  s = (const u8 *)sw;
  while (n--) *d++ = *s++;
}

int main(void) {
  u32 rounds = bench_start(16);
  u64 src = bench_tag(BENCH_BASE, LEN), dst = bench_tag(BENCH_BASE + LEN, LEN);
  u64 s = 0x2545f4914f6cdd1dUL;
  for (u64 i = 0; i < LEN / 8; i++) ((u64 *)src)[i] = xorshift64(&s);
  u64 sum = 0;
  for (u32 r = 0; r < rounds; r++) {
    u64 off = (r * 8 * 37) % 0x1000, n = LEN - 0x1000 - (r % 13);
    copy((u8 *)dst + off, (const u8 *)src + (r % 5) * 8, n);
    for (u64 i = off; i < off + n; i += 0x1000 - 8) sum = (sum ^ *(const u64 *)(dst + i)) * 0x100000001b3UL;
  }
  bench_finish("bench-copy", rounds, sum, dst);
  return 0;
}
