// Bench: memcpy with 128-bit SIMD registers (64-byte blocks of LDP/STP Q, as glibc's and
// musl's memcpy do), 256 KiB copied back and forth, then a checksum of the result.
#include "../bench-common.h"

#define BYTES (256 * 1024)
#define ROUNDS 768
static u8 src[BYTES] __attribute__((aligned(64)));
static u8 dst[BYTES] __attribute__((aligned(64)));

typedef u8 v16 __attribute__((vector_size(16)));

FP_CODE static void copy(u8 *to, const u8 *from, u64 n) {
  for (u64 i = 0; i < n; i += 64) {
    v16 a = *(const v16 *)(from + i), b = *(const v16 *)(from + i + 16);
    v16 c = *(const v16 *)(from + i + 32), d = *(const v16 *)(from + i + 48);
    *(v16 *)(to + i) = a;
    *(v16 *)(to + i + 16) = b;
    *(v16 *)(to + i + 32) = c;
    *(v16 *)(to + i + 48) = d;
  }
}

int main(void) {
  bench_start("bench-memcpy: 256 KiB SIMD copies");
  for (u64 i = 0; i < BYTES; i++) src[i] = (u8)(i * 131 + (i >> 9));
  for (int r = 0; r < ROUNDS; r++) {
    copy(dst, src, BYTES);
    dst[r * 4099 % BYTES] ^= (u8)(r | 1); // carried back into src by the next copy
    copy(src, dst, BYTES);
  }
  u64 sum = 0;
  for (u64 i = 0; i < BYTES; i += 8) sum = (sum ^ *(const u64 *)(dst + i)) * 0x100000001b3ul;
  printf("sum %lx\n", sum);
  return 0;
}
