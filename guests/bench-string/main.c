// bench-string: string processing over 128 KiB of generated text (words of letters between
// spaces and punctuation, NUL-terminated), `rounds` times: split into words, hash each
// (FNV-1a), find the longest, count words in order by strcmp with the one before, upper-case
// the words of odd hash in place (next round lower-cases them back). See lib/bench.h.
#include "bench.h"

#define LEN 0x20000UL

static int is_letter(u8 c) { return (u8)((c | 0x20) - 'a') < 26; }

// strcmp of two words ending at the first non-letter.
static int word_cmp(const u8 *a, const u8 *b) {
  while (is_letter(*a) && *a == *b) a++, b++;
  u8 ca = is_letter(*a) ? *a : 0, cb = is_letter(*b) ? *b : 0;
  return (int)ca - (int)cb;
}

static u64 process(u8 *text, u32 round) {
  u64 words = 0, longest = 0, ordered = 0, hash_sum = 0;
  const u8 *previous = 0;
  u8 *p = text;
  while (*p) {
    while (*p && !is_letter(*p)) p++;
    if (!*p) break;
    u8 *w = p;
    u32 h = 2166136261u;
    while (is_letter(*p)) h = (h ^ (*p++ | 0x20)) * 16777619u;
    u64 len = (u64)(p - w);
    if (len > longest) longest = len;
    if (previous && word_cmp(previous, w) <= 0) ordered++;
    previous = w;
    if ((h ^ round) & 1) {
      for (u8 *c = w; c < p; c++) *c ^= 0x20; // flip case
    }
    hash_sum += h;
    words++;
  }
  return (words << 48) ^ (longest << 40) ^ (ordered << 20) ^ hash_sum;
}

int main(void) {
  u32 rounds = bench_start(8);
  u8 *text = (u8 *)bench_tag(BENCH_BASE, LEN);
  u64 s = 0xda942042e4dd58b5UL;
  static const char gaps[] = " ,. ;\n  ";
  for (u64 i = 0; i < LEN - 1;) {
    u64 r = xorshift64(&s);
    u64 len = 1 + (r & 7) + ((r >> 3) & 3);
    for (u64 k = 0; k < len && i < LEN - 2; k++, r >>= 5) text[i++] = 'a' + (u8)((r >> 8) % 26);
    text[i++] = gaps[(r >> 40) & 7];
  }
  text[LEN - 1] = 0;
  u64 result = 0;
  for (u32 r = 0; r < rounds; r++) result = result * 0x100000001b3UL + process(text, r);
  bench_finish("bench-string", rounds, result, (u64)text);
  return 0;
}
