/* Source of the benchmark's instruction mix: ordinary integer C (strings, sorting, hashing,
 * CRC, formatting, bit tricks), compiled by scripts/gen-bench-mix.ts for Armv8.5-A + MTE. */
#include <stddef.h>
#include <stdint.h>

size_t my_strlen(const char *s) { const char *p = s; while (*p) p++; return (size_t)(p - s); }

int my_strcmp(const char *a, const char *b) {
  while (*a && *a == *b) { a++; b++; }
  return (unsigned char)*a - (unsigned char)*b;
}

void *my_memcpy(void *d, const void *s, size_t n) {
  unsigned char *dd = d; const unsigned char *ss = s;
  while (n >= 16) { uint64_t a, b; __builtin_memcpy(&a, ss, 8); __builtin_memcpy(&b, ss + 8, 8);
    __builtin_memcpy(dd, &a, 8); __builtin_memcpy(dd + 8, &b, 8); dd += 16; ss += 16; n -= 16; }
  while (n--) *dd++ = *ss++;
  return d;
}

static void swap(int64_t *a, int64_t *b) { int64_t t = *a; *a = *b; *b = t; }

void quicksort(int64_t *v, long lo, long hi) {
  while (lo < hi) {
    int64_t pivot = v[(lo + hi) / 2]; long i = lo, j = hi;
    while (i <= j) { while (v[i] < pivot) i++; while (v[j] > pivot) j--; if (i <= j) swap(&v[i++], &v[j--]); }
    if (j - lo < hi - i) { quicksort(v, lo, j); lo = i; } else { quicksort(v, i, hi); hi = j; }
  }
}

uint32_t crc32_sw(const uint8_t *p, size_t n) {
  uint32_t c = 0xffffffffu;
  for (size_t i = 0; i < n; i++) { c ^= p[i]; for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320u & -(c & 1)); }
  return ~c;
}

uint64_t fnv1a(const char *s) { uint64_t h = 1469598103934665603ull; while (*s) { h ^= (uint8_t)*s++; h *= 1099511628211ull; } return h; }

struct entry { uint64_t key; int64_t value; struct entry *next; };
struct table { struct entry **buckets; size_t mask; size_t count; };

int64_t *table_find(struct table *t, uint64_t key) {
  for (struct entry *e = t->buckets[(key * 0x9e3779b97f4a7c15ull) >> 40 & t->mask]; e; e = e->next)
    if (e->key == key) return &e->value;
  return 0;
}

int format_u64(char *out, uint64_t v, int base, int upper) {
  char tmp[64]; int n = 0; const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  do { tmp[n++] = digits[v % (unsigned)base]; v /= (unsigned)base; } while (v);
  for (int i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
  out[n] = 0; return n;
}

int format_i64(char *out, int64_t v) { if (v < 0) { *out = '-'; return 1 + format_u64(out + 1, (uint64_t)-v, 10, 0); } return format_u64(out, (uint64_t)v, 10, 0); }

uint32_t bits(uint64_t x, uint32_t y) {
  return (uint32_t)__builtin_popcountll(x) + (uint32_t)__builtin_clzll(x | 1) + (uint32_t)__builtin_ctz(y | 1) +
         (uint32_t)(x >> 13) + (y << 7) + ((x & 0xff00ff00ff00ff00ull) >> 8 != 0) + __builtin_bswap32(y);
}

int64_t mix(int64_t a, int64_t b, int c) {
  int64_t r = c > 3 ? a * b : a / (b | 1);
  r += (a < b) ? a : b; r ^= (int64_t)((uint64_t)a >> (c & 63)); r -= (c == 7) ? 42 : -a;
  return r % 1000003;
}

void *tag_region(void *p, size_t n) {
  char *q = p; void *t;
  __asm__ volatile("irg %0, %1" : "=r"(t) : "r"(q));
  for (size_t i = 0; i < n; i += 16) __asm__ volatile("stg %0, [%0]" : : "r"((char *)t + i) : "memory");
  return t;
}

long atomic_inc(long *p) { return __atomic_add_fetch(p, 1, __ATOMIC_SEQ_CST); }
int cas(int *p, int o, int n) { return __atomic_compare_exchange_n(p, &o, n, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE); }
