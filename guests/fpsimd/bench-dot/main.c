// Bench: float32 dot product over 16 K elements, repeated, in four-lane vectors (.4s FMUL
// and FADD over two accumulators: without fast math clang keeps a scalar loop scalar).
#include "../bench-common.h"

#define N 16384
#define ROUNDS 3072
static float x[N], y[N];

typedef float f32x4 __attribute__((vector_size(16)));

FP_CODE static void init(void) {
  for (int i = 0; i < N; i++) {
    x[i] = (float)((i * 17) % 101) / 64.0f - 0.75f;
    y[i] = (float)((i * 29) % 97) / 128.0f + 0.125f;
  }
}

/** Four lanes of partial sums, explicitly (SIMD whatever the compiler's FP-reassociation rules). */
FP_CODE static float dot4(const float *p, const float *q, int n) {
  f32x4 acc0 = {0, 0, 0, 0}, acc1 = {0, 0, 0, 0};
  for (int i = 0; i < n; i += 8) {
    acc0 += *(const f32x4 *)(p + i) * *(const f32x4 *)(q + i);
    acc1 += *(const f32x4 *)(p + i + 4) * *(const f32x4 *)(q + i + 4);
  }
  f32x4 acc = acc0 + acc1;
  return (acc[0] + acc[1]) + (acc[2] + acc[3]);
}

FP_CODE static u32 run(void) {
  init();
  volatile float total = 0;
  for (int r = 0; r < ROUNDS; r++) {
    total = total + dot4(x, y, N);
    x[r] *= 1.5f;
  }
  return float_bits(&total);
}

int main(void) {
  bench_start("bench-dot: float32 SIMD dot product");
  printf("dot %x\n", run());
  return 0;
}
