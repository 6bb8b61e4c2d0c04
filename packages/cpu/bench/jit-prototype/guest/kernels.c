// The three hot loops the compiled-tier prototype measures. Each is a leaf function that
// takes everything as arguments (no globals, no literal pools), so its words run the same
// at any address: the QEMU guest calls them in place, and tagvm loads the words that
// build.sh extracts into ../fixtures/kernels.json.
#include <arm_acle.h>

typedef unsigned long u64;
typedef unsigned int u32;
typedef unsigned char u8;

#define KERNEL __attribute__((noinline, section(".text.kernels")))

// CRC-32C of a buffer, `rounds` times (the next round starts from the last CRC): 8-byte
// loads and CRC32CX, a byte tail with CRC32CB.
KERNEL u32 crc32_kernel(const u8 *buf, u64 len, u64 rounds) {
  u32 crc = 0xffffffffu;
  for (u64 r = 0; r < rounds; r++) {
    const u8 *p = buf;
    u64 n = len;
    for (; n >= 8; n -= 8, p += 8) crc = __crc32cd(crc, *(const u64 *)p);
    for (; n != 0; n--, p++) crc = __crc32cb(crc, *p);
  }
  return ~crc;
}

// Sieve of Eratosthenes over `n` byte flags, `rounds` times; returns the prime count of
// the last round. Byte loads and stores, 64-bit adds, compares and branches.
KERNEL u64 sieve_kernel(u8 *flags, u64 n, u64 rounds) {
  u64 count = 0;
  for (u64 r = 0; r < rounds; r++) {
    for (u64 i = 0; i < n; i++) flags[i] = 1;
    flags[0] = flags[1] = 0;
    for (u64 i = 2; i * i < n; i++) {
      if (!flags[i]) continue;
      for (u64 j = i * i; j < n; j += i) flags[j] = 0;
    }
    count = 0;
    for (u64 i = 0; i < n; i++) count += flags[i];
  }
  return count;
}

// A tagged allocator's life cycle over an arena of 64-byte objects, `rounds` times: each
// object gets a random tag (IRG), its four granules are tagged (STG), its fields are written
// and read back through the tagged pointer (checked stores and loads), and freeing retags
// it with the next tag (ADDG + STG) so a stale pointer would fault. Returns a checksum of
// the data (never of the tags, which QEMU and tagvm may choose differently).
KERNEL u64 tagalloc_kernel(u8 *arena, u64 count, u64 rounds) {
  u64 sum = 0;
  for (u64 r = 0; r < rounds; r++) {
    for (u64 i = 0; i < count; i++) {
      u64 *obj = (u64 *)__arm_mte_create_random_tag(arena + i * 64, 0);
      for (int g = 0; g < 4; g++) __arm_mte_set_tag((u8 *)obj + 16 * g);
      for (int k = 0; k < 8; k++) obj[k] = (i << 8) + r * 31 + (u64)k;
      // The object is used later, by other code: the compiler may not forward the stores.
      __asm__ volatile("" ::: "memory");
      u64 s = 0;
      for (int k = 0; k < 8; k++) s += obj[k] ^ (s << 1);
      sum += s;
      u8 *freed = __arm_mte_increment_tag((u8 *)obj, 1);
      for (int g = 0; g < 4; g++) __arm_mte_set_tag(freed + 16 * g);
    }
  }
  return sum;
}
