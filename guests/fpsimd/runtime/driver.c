// The differential guests' driver: for each form, seed the generator with the form's seed, run
// its cases (fill v0-v3, x9 and NZCV, pick the case's FPCR, run the form's kernel, hash v0, x9,
// NZCV and FPSR afterwards) and print "<form> <cases> <hash>". This is lib/cases.ts in C:
// every generator call happens in the same order on both sides.
//
// A generated main.c defines the form table (struct form forms[], form_count, guest_title)
// and includes this file; the kernels are in the generated kernels.S.
#include "rt.h"
#include "specials.h"

typedef unsigned short u16;

struct form {
  const char *name;
  void (*kernel)(const u64 *in, u64 *out, u64 fpcr);
  u32 seed;
  u32 cases;
  u8 fill[5]; // v0, v1, v2, v3, x9 (FILL_* below)
  u8 lanes;   // lanes drawn from the distribution (0: all), the rest random bits
};

enum { FILL_NONE, FILL_BITS, FILL_F16, FILL_F32, FILL_F64, FILL_I8, FILL_I16, FILL_I32, FILL_I64 };

extern const struct form forms[];
extern const int form_count;
extern const char guest_title[];

// ------------------------------------------------------------------ generator (xoshiro128**)
static u32 s0, s1, s2, s3;

static u32 rotl(u32 x, int k) { return (x << k) | (x >> (32 - k)); }

static u32 splitmix(u32 *s) {
  *s += 0x9e3779b9u;
  u32 z = *s;
  z = (z ^ (z >> 16)) * 0x85ebca6bu;
  z = (z ^ (z >> 13)) * 0xc2b2ae35u;
  return z ^ (z >> 16);
}

static void rng_seed(u32 seed) {
  u32 s = seed;
  s0 = splitmix(&s);
  s1 = splitmix(&s);
  s2 = splitmix(&s);
  s3 = splitmix(&s);
}

static u32 rng(void) {
  u32 result = rotl(s1 * 5, 7) * 9;
  u32 t = s1 << 9;
  s2 ^= s0;
  s3 ^= s1;
  s1 ^= s2;
  s0 ^= s3;
  s2 ^= t;
  s3 = rotl(s3, 11);
  return result;
}

static u32 low_mask(u32 k) { return k >= 32 ? 0xffffffffu : (1u << k) - 1; }

// ------------------------------------------------------------------ lanes
struct shape {
  int bits, f, exp_bits, bias, range;
};
static const struct shape F16 = {16, 10, 5, 15, 3};
static const struct shape F32 = {32, 23, 8, 127, 8};
static const struct shape F64 = {64, 52, 11, 1023, 8};

static u64 gen_fp(const struct shape *sh, int has_prev, u64 prev) {
  u32 r = rng();
  u32 cat = r & 15;
  if (cat < 4) {
    if (sh->bits == 64) return special_f64[(r >> 4) % SPECIAL_F64_COUNT];
    if (sh->bits == 32) return special_f32[(r >> 4) % SPECIAL_F32_COUNT];
    return special_f16[(r >> 4) % SPECIAL_F16_COUNT];
  }
  if (cat < 7 || (cat >= 13 && !has_prev)) {
    u32 lo = rng();
    u32 hi = sh->bits == 64 ? rng() : 0;
    if (sh->bits == 16) lo &= 0xffff;
    return ((u64)hi << 32) | lo;
  }
  if (cat < 13) {
    u32 s = rng();
    u32 sign = s & 1;
    u32 sel = (s >> 1) & 7;
    u32 exp_ones = (1u << sh->exp_bits) - 1;
    u32 exp;
    if (sel < 4) exp = (u32)(sh->bias + (int)((s >> 4) % (u32)(2 * sh->range + 1)) - sh->range);
    else if (sel == 4) exp = 0;
    else if (sel == 5) exp = 1;
    else if (sel == 6) exp = exp_ones - 1;
    else exp = (s >> 4) % exp_ones;
    u32 clear = (s >> 20) % (u32)(sh->f + 1);
    u32 mlo = rng();
    if (sh->bits == 64) {
      u32 mhi = rng() & 0xfffff;
      if (clear >= 32) {
        mlo = 0;
        mhi &= ~low_mask(clear - 32);
      } else {
        mlo &= ~low_mask(clear);
      }
      return ((u64)((sign << 31) | (exp << 20) | mhi) << 32) | mlo;
    }
    mlo = mlo & low_mask((u32)sh->f) & ~low_mask(clear);
    return (sign << (sh->bits - 1)) | (exp << sh->f) | mlo;
  }
  u32 how = (r >> 4) & 3;
  if (how == 0) return prev;
  if (how == 1) return prev ^ (1ull << (sh->bits - 1));
  if (how == 2) {
    int delta = (int)((r >> 6) & 7) - 3;
    if (sh->bits == 64) return prev + (u64)(i64)delta;
    return (u32)(prev + (u64)(i64)delta) & (sh->bits == 32 ? 0xffffffffu : 0xffffu);
  }
  u32 k = (r >> 6) % (u32)sh->f;
  u32 x = rng();
  return prev ^ (x & low_mask(k));
}

static u64 gen_int(int width, int has_prev, u64 prev) {
  u32 r = rng();
  u32 cat = r & 15;
  u32 mask = low_mask(width >= 32 ? 32 : (u32)width);
  if (cat < 4) {
    if (width == 64) return special_i64[(r >> 4) % SPECIAL_I64_COUNT];
    if (width == 32) return special_i32[(r >> 4) % SPECIAL_I32_COUNT];
    if (width == 16) return special_i16[(r >> 4) % SPECIAL_I16_COUNT];
    return special_i8[(r >> 4) % SPECIAL_I8_COUNT];
  }
  if (cat < 9 || (cat >= 14 && !has_prev)) {
    u32 lo = rng() & mask;
    u32 hi = width == 64 ? rng() : 0;
    return ((u64)hi << 32) | lo;
  }
  if (cat < 14) {
    u32 len = (r >> 4) % (u32)(width + 1);
    u32 lo = rng();
    u32 hi = width == 64 ? rng() : 0;
    if (len >= 32) hi &= low_mask(len - 32);
    else {
      lo &= low_mask(len);
      hi = 0;
    }
    u64 v = ((u64)hi << 32) | lo;
    if ((r >> 12) & 1) v = -v;
    if (width < 64) v &= mask;
    return v;
  }
  int delta = (int)((r >> 4) & 7) - 3;
  if (width == 64) return prev + (u64)(i64)delta;
  return (u32)(prev + (u64)(i64)delta) & mask;
}

static int lane_bits(int fill) {
  switch (fill) {
  case FILL_F16:
  case FILL_I16: return 16;
  case FILL_F32:
  case FILL_I32: return 32;
  case FILL_I8: return 8;
  default: return 64;
  }
}

static u64 get_lane(const u64 *reg, int bits, int e) {
  if (bits == 64) return reg[e];
  const u32 *w = (const u32 *)reg;
  if (bits == 32) return w[e];
  const u16 *h = (const u16 *)reg;
  if (bits == 16) return h[e];
  return ((const u8 *)reg)[e];
}

static void set_lane(u64 *reg, int bits, int e, u64 v) {
  if (bits == 64) reg[e] = v;
  else if (bits == 32) ((u32 *)reg)[e] = (u32)v;
  else if (bits == 16) ((u16 *)reg)[e] = (u16)v;
  else ((u8 *)reg)[e] = (u8)v;
}

static void fill_register(int fill, u64 *reg, const u64 *prev, int max_lanes) {
  if (fill == FILL_NONE) {
    reg[0] = reg[1] = 0;
    return;
  }
  int bits = lane_bits(fill);
  int lanes = 128 / bits;
  if (fill == FILL_BITS || (max_lanes > 0 && max_lanes < lanes)) {
    u32 w0 = rng(), w1 = rng(), w2 = rng(), w3 = rng();
    reg[0] = ((u64)w1 << 32) | w0;
    reg[1] = ((u64)w3 << 32) | w2;
    if (fill == FILL_BITS) return;
    lanes = max_lanes;
  }
  int is_fp = fill == FILL_F16 || fill == FILL_F32 || fill == FILL_F64;
  const struct shape *sh = bits == 16 ? &F16 : bits == 32 ? &F32 : &F64;
  for (int e = 0; e < lanes; e++) {
    u64 p = prev ? get_lane(prev, bits, e) : 0;
    u64 v = is_fp ? gen_fp(sh, prev != 0, p) : gen_int(bits, prev != 0, p);
    set_lane(reg, bits, e, v);
  }
}

static u64 fill_general(int fill) {
  switch (fill) {
  case FILL_NONE: return 0;
  case FILL_BITS: {
    u32 lo = rng();
    u32 hi = rng();
    return ((u64)hi << 32) | lo;
  }
  case FILL_I64: return gen_int(64, 0, 0);
  case FILL_F64: return gen_fp(&F64, 0, 0);
  case FILL_I32:
  case FILL_F32: {
    u32 lo = (u32)(fill == FILL_I32 ? gen_int(32, 0, 0) : gen_fp(&F32, 0, 0));
    u32 hi = rng();
    return ((u64)hi << 32) | lo;
  }
  case FILL_I16:
  case FILL_F16: {
    u32 v = (u32)(fill == FILL_I16 ? gen_int(16, 0, 0) : gen_fp(&F16, 0, 0));
    u32 top = rng();
    u32 hi = rng();
    return ((u64)hi << 32) | v | (top & 0xffff0000u);
  }
  default: {
    u32 v = (u32)gen_int(8, 0, 0);
    u32 top = rng();
    u32 hi = rng();
    return ((u64)hi << 32) | v | (top & 0xffffff00u);
  }
  }
}

static u64 fpcr_for_case(u32 i) {
  u32 rmode = i & 3, fz = (i >> 2) & 1, dn = (i >> 3) & 1, fz16 = (i >> 4) & 1, ahp = (i >> 5) & 1;
  return (rmode << 22) | (fz << 24) | (dn << 25) | (fz16 << 19) | (ahp << 26);
}

// ------------------------------------------------------------------ hash
static u32 h1, h2;

static void hash_word(u32 w) {
  u32 k = w * 0xcc9e2d51u;
  k = rotl(k, 15);
  k *= 0x1b873593u;
  h1 ^= k;
  h1 = rotl(h1, 13);
  h1 = h1 * 5 + 0xe6546b64u;
  u32 j = (w ^ 0x5bd1e995u) * 0x85ebca6bu;
  j = rotl(j, 17);
  h2 += j;
  h2 = rotl(h2, 11);
  h2 = h2 * 9 + 0x7f4a7c15u;
}

static u32 fmix(u32 h) {
  h = (h ^ (h >> 16)) * 0x85ebca6bu;
  h = (h ^ (h >> 13)) * 0xc2b2ae35u;
  return h ^ (h >> 16);
}

// ------------------------------------------------------------------ main
static u64 in[10] __attribute__((aligned(16)));
static u64 out[6] __attribute__((aligned(16)));

int main(void) {
  // Normal memory for the buffers (the MMU is off at entry), then FP/SIMD on at EL1 and EL0.
  mmu_enable(0, 0);
  write_sysreg(cpacr_el1, 3ul << 20);
  isb();
  printf("fpsimd %s: %d forms\n", guest_title, form_count);
  u64 total = 0;
  for (int f = 0; f < form_count; f++) {
    const struct form *fm = &forms[f];
    rng_seed(fm->seed);
    h1 = 0x9747b28cu;
    h2 = 0x1b873593u;
    for (u32 i = 0; i < fm->cases; i++) {
      u64 fpcr = fpcr_for_case(i);
      for (int r = 0; r < 4; r++) {
        int fill = fm->fill[r];
        int prev_same = r > 0 && fm->fill[r - 1] == fill && fill != FILL_BITS && fill != FILL_NONE;
        fill_register(fill, &in[2 * r], prev_same ? &in[2 * (r - 1)] : 0, fm->lanes);
      }
      in[8] = fill_general(fm->fill[4]);
      in[9] = (u64)(rng() >> 28) << 28;
      fm->kernel(in, out, fpcr);
      const u32 *w = (const u32 *)out;
      for (int k = 0; k < 10; k++) hash_word(w[k]);
#ifdef FPSIMD_TRACE
      if (f == FPSIMD_TRACE && i < FPSIMD_TRACE_CASES) {
        printf("case %u fpcr %lx in", i, fpcr);
        for (int k = 0; k < 10; k++) printf(" %lx", in[k]);
        printf(" out");
        for (int k = 0; k < 5; k++) printf(" %lx", out[k]);
        printf("\n");
      }
#endif
    }
    total += fm->cases;
    printf("%s %u %08x%08x\n", fm->name, fm->cases, fmix(h1), fmix(h2));
  }
  printf("fpsimd %s: %lu cases\n", guest_title, total);
  return 0;
}
