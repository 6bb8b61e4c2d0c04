// Bench: double-precision matrix multiply (64 x 64, repeated), the FMLA-heavy inner loop
// clang vectorises into .2d lanes. Prints the checksum's bits.
#include "../bench-common.h"

#define N 64
#define ROUNDS 64
static double a[N * N], b[N * N], c[N * N];

FP_CODE static void init(void) {
  for (int i = 0; i < N * N; i++) {
    a[i] = (double)((i * 7) % 61) / 16.0 - 1.5;
    b[i] = (double)((i * 13) % 53) / 32.0 + 0.25;
  }
}

FP_CODE static void matmul(void) {
  for (int i = 0; i < N; i++)
    for (int j = 0; j < N; j++) c[i * N + j] = 0;
  for (int i = 0; i < N; i++)
    for (int k = 0; k < N; k++) {
      double aik = a[i * N + k];
      for (int j = 0; j < N; j++) c[i * N + j] += aik * b[k * N + j];
    }
}

/** The rounds, then a weighted sum of the last product, as its bits. */
FP_CODE static u64 run(void) {
  init();
  for (int r = 0; r < ROUNDS; r++) {
    matmul();
    b[r] += 1.0 / 1024; // a different product every round
  }
  volatile double s = 0;
  for (int i = 0; i < N * N; i++) s = s + c[i] * (double)(i % 7 + 1);
  return double_bits(&s);
}

int main(void) {
  bench_start("bench-matmul: 64x64 double matrix multiply");
  printf("checksum %lx\n", run());
  return 0;
}
