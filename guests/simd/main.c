// Differential guest for integer AdvSIMD, permutes, crypto and SIMD&FP loads/stores.
// For each form in forms.h (a decoder row, generated from forms/*.ts by gen-forms.ts) it
// runs `cases` cases: an instruction word drawn from the row's free bits, all 32 V
// registers, X0-X30, FPSR.QC and (for loads/stores) a 4 KiB buffer from a seeded
// generator; the word is patched into a code slot and executed once; every register, FPSR
// and the buffer are hashed. One line per form. harness.ts is the same generator in
// TypeScript: a replay rebuilds each case and hashes what the model computes.
#include "rt.h"

struct form {
  u32 value, random, cases, flags, xmode, esz, line;
  const char *name;
};
#include "forms.h"

#define FLAG_MEMORY 1
#define FLAG_DISTINCT_RT2 2
#define FLAG_RM_NOT_BASE 4
#define MEM_BYTES 4096

// The block simd_run loads and stores (layout fixed by stub.S).
struct simd_case {
  u64 x[32];    // x[31] unused
  u64 fpsr;     // offset 256
  u64 saved_sp; // offset 264
  u32 v[128];   // offset 272
};
_Static_assert(__builtin_offsetof(struct simd_case, v) == 272, "stub.S layout");

void simd_run(struct simd_case *c);
void simd_setup(void);
extern u32 simd_slot[];

static struct simd_case kase __attribute__((aligned(16)));
static u8 membuf[MEM_BYTES] __attribute__((aligned(16)));

static u32 rng_state;
static u32 next(void) {
  rng_state += 0x9e3779b9u;
  u32 z = rng_state;
  z = (z ^ (z >> 16)) * 0x21f0aaadu;
  z = (z ^ (z >> 15)) * 0x735a2d97u;
  return z ^ (z >> 15);
}

static u32 mix(u32 h, u32 w) {
  h = (h ^ w) * 0x9e3779b1u;
  return h ^ (h >> 15);
}

static u32 special32(u32 bits) {
  u32 mask = bits == 32 ? 0xffffffffu : (1u << bits) - 1;
  u32 min = 1u << (bits - 1);
  switch (next() & 15) {
  case 0: return 0;
  case 1: return 1;
  case 2: return mask;
  case 3: return min;
  case 4: return min - 1;
  case 5: return min + 1;
  case 6: return min - 2;
  case 7: return (u32)((int)(next() % 145) - 72) & mask;
  case 8: return 1u << (next() % bits);
  case 9: return 0x55555555u & mask;
  case 10: return 0xaaaaaaaau & mask;
  case 11: return next() % 8 + bits - 4;
  case 12: return min; // twice as likely: the doubling multiplies saturate only there
  default: return next() & mask;
  }
}

static u64 special64(void) {
  switch (next() & 15) {
  case 0: return 0;
  case 1: return 1;
  case 2: return ~0UL;
  case 3: return 1UL << 63;
  case 4: return ~0UL >> 1;
  case 5: return (1UL << 63) + 1;
  case 6: return (~0UL >> 1) - 1;
  case 7: return (u64)(i64)((int)(next() % 145) - 72);
  case 8: return 1UL << (next() % 64);
  case 9: return 0x5555555555555555UL;
  case 10: return 0xaaaaaaaaaaaaaaaaUL;
  case 11: return next() % 8 + 60;
  case 12: return 1UL << 63;
  default: {
    u64 lo = next();
    u64 hi = next();
    return lo | hi << 32;
  }
  }
}

// The element size a form's word uses, or -1: 0x10 | esz for a constant, 0x20 | the bit
// position of a 2-bit size field.
static int esz_of(const struct form *f, u32 word) {
  if ((f->esz & 0xf0) == 0x10) return (f->esz & 7) > 3 ? 3 : (int)(f->esz & 7);
  if ((f->esz & 0xf0) == 0x20) return (int)((word >> (f->esz & 31)) & 3);
  return -1;
}

static void fill_register(u32 *w, int hint) {
  if ((next() & 7) < 3) {
    for (int i = 0; i < 4; i++) w[i] = next();
    return;
  }
  u32 esz = next() & 3;
  if (hint >= 0 && (next() & 3) != 0) esz = (u32)hint;
  if (esz == 3) {
    u64 a = special64();
    u64 b = special64();
    w[0] = (u32)a;
    w[1] = (u32)(a >> 32);
    w[2] = (u32)b;
    w[3] = (u32)(b >> 32);
    return;
  }
  u32 bits = 8u << esz;
  u8 *bytes = (u8 *)w;
  for (u32 lane = 0; lane < (16u >> esz); lane++) {
    u32 x = special32(bits);
    for (u32 b = 0; b < bits / 8; b++) bytes[lane * (bits / 8) + b] = (u8)(x >> (8 * b));
  }
}

static void patch(u32 word) {
  simd_slot[0] = word;
  __asm__ volatile("dc cvau, %0\n dsb ish\n ic ivau, %0\n dsb ish\n isb" ::"r"(simd_slot) : "memory");
}

static u32 run_form(const struct form *f, u32 index, u32 *qc) {
  u64 base = (u64)membuf + MEM_BYTES / 2;
  u32 h = 0x811c9dc5u;
  rng_state = 0x5eed51d0u ^ ((index + 1) * 0x85ebca6bu);
  *qc = 0;
  for (u32 c = 0; c < f->cases; c++) {
    u32 word;
    for (;;) {
      word = f->value | (next() & f->random);
      if ((f->flags & FLAG_DISTINCT_RT2) && (word & 31) == ((word >> 10) & 31)) continue;
      if ((f->flags & FLAG_RM_NOT_BASE) && ((word >> 16) & 31) == 1) continue;
      break;
    }
    int hint = esz_of(f, word);
    for (int r = 0; r < 32; r++) {
      // One register in four repeats V0, so two operands are often equal.
      if (r > 0 && (next() & 3) == 0) {
        for (int i = 0; i < 4; i++) kase.v[4 * r + i] = kase.v[i];
      } else {
        fill_register(&kase.v[4 * r], hint);
      }
    }
    for (int i = 0; i < 31; i++) {
      switch (f->xmode) {
      case 1: kase.x[i] = (u64)(i64)((int)(next() % 128) - 64); break;
      case 2: { u64 lo = next() % 64; kase.x[i] = lo | (u64)next() << 32; break; }
      case 3: { u64 lo = (u32)((int)(next() % 128) - 64); kase.x[i] = lo | (u64)next() << 32; break; }
      default: kase.x[i] = special64();
      }
    }
    if (f->flags & FLAG_MEMORY) kase.x[1] = base;
    u64 fpsr_in = (u64)(next() & 1) << 27;
    kase.fpsr = fpsr_in;
    if (f->flags & FLAG_MEMORY) {
      u32 *m = (u32 *)membuf;
      for (int i = 0; i < MEM_BYTES / 4; i++) m[i] = next();
    }
    patch(word);
    simd_run(&kase);
    for (int i = 0; i < 128; i++) h = mix(h, kase.v[i]);
    for (int i = 0; i < 31; i++) {
      h = mix(h, (u32)kase.x[i]);
      h = mix(h, (u32)(kase.x[i] >> 32));
    }
    h = mix(h, (u32)kase.fpsr);
    if (f->flags & FLAG_MEMORY) {
      u32 *m = (u32 *)membuf;
      for (int i = 0; i < MEM_BYTES / 4; i++) h = mix(h, m[i]);
    }
    if ((kase.fpsr & (1u << 27)) && !fpsr_in) (*qc)++;
  }
  return h;
}

int main(void) {
  mmu_enable(0, 0);
  simd_setup(); // FP/SIMD access on, FPCR = 0
  printf("simd differential: %u forms, seed %x\n", FORM_COUNT, 0x5eed51d0u);
  printf("buffer %lx\n", (u64)membuf + MEM_BYTES / 2);
  // The bytes around the slot, for literal loads (the slot itself holds each case's word).
  printf("slot %lx", (u64)simd_slot);
  for (int i = -16; i < 24; i++) printf(" %08x", simd_slot[i]);
  printf("\n");
  u32 total = 0;
  for (u32 i = 0; i < FORM_COUNT; i++) {
    u32 qc;
    u32 h = run_form(&forms[i], i, &qc);
    total += forms[i].cases;
    printf("%s line %u cases %u qc %u hash %08x\n", forms[i].name, forms[i].line, forms[i].cases, qc, h);
  }
  printf("done: %u cases\n", total);
  return 0;
}
