// cpu-basic: stage-1 MMU on, an SVC taken and returned from, data aborts on unmapped
// addresses (ESR/FAR printed), and integer checksum / CRC32 loops over memory.
#include <arm_acle.h>
#include "mte.h"

#define BUF_BASE 0x40200000UL
#define BUF_SIZE 0x40000UL // 256 KiB

static int on_exception(struct frame *f, int vector) {
  if (vector == 4 && ESR_EC(f->esr) == EC_SVC64) {
    // SVC's preferred return address is the next instruction: ELR already points past it.
    printf("  SVC taken: ESR %lx imm %lx x0 %lx x1 %lx\n", f->esr, f->esr & 0xffff, f->x[0], f->x[1]);
    f->x[0] = f->x[0] + f->x[1];
    return 1;
  }
  return skip_data_aborts(f, vector);
}

static u64 do_svc(u64 a, u64 b) {
  register u64 x0 __asm__("x0") = a;
  register u64 x1 __asm__("x1") = b;
  __asm__ volatile("svc #0x42" : "+r"(x0) : "r"(x1) : "memory");
  return x0;
}

static void abort_at(const char *what, u64 addr, int store) {
  fault_log_reset();
  u64 v = 0x5a5a5a5a5a5a5a5aUL;
  if (store) probe_store(addr, v);
  else v = probe_load(addr, v);
  printf("  %s %lx: %d abort(s), ESR %lx FAR %lx, value %lx\n", what, addr, last_fault.count, last_fault.esr,
         last_fault.far, v);
}

static u32 crc32_buffer(const u64 *p, u64 words) {
  u32 crc = 0xffffffff;
  for (u64 i = 0; i < words; i++) crc = __crc32d(crc, p[i]);
  return ~crc;
}

static u64 mix_checksum(const u64 *p, u64 words) {
  u64 h = 0xcbf29ce484222325UL, s = 0;
  for (u64 i = 0; i < words; i++) {
    h = (h ^ p[i]) * 0x100000001b3UL;
    s += (u64)(((unsigned __int128)p[i] * h) >> 64) ^ (p[i] >> (i & 31));
    s = (s << 7) | (s >> 57);
  }
  return h ^ s;
}

int main(void) {
  set_exception_handler(on_exception);
  puts("cpu-basic: MMU, SVC, data aborts, integer loops\n");
  mmu_map(BUF_BASE, BUF_SIZE, ATTR_NORMAL);
  mmu_enable(0, 0);
  u64 sctlr = read_sysreg(sctlr_el1);
  printf("MMU on: SCTLR_EL1.M=%lu C=%lu I=%lu, MAIR_EL1 %lx\n", sctlr & 1, (sctlr >> 2) & 1, (sctlr >> 12) & 1,
         read_sysreg(mair_el1));

  puts("SVC:\n");
  u64 r = do_svc(40, 2);
  printf("  returned to EL1 with x0 = %lu\n", r);

  puts("Data aborts:\n");
  abort_at("load from unmapped", 0x50000000UL, 0);   // level-2 entry empty
  abort_at("store to unmapped", 0x50000008UL, 1);
  abort_at("load from unmapped", 0x80000000UL, 0);   // level-1 entry empty
  mmu_unmap(BUF_BASE + BUF_SIZE - 0x1000, 0x1000);   // a single page hole (level 3)
  tlb_flush();
  abort_at("load from unmapped page", BUF_BASE + BUF_SIZE - 0x1000 + 0x10, 0);
  abort_at("load beyond the 4 GiB VA range", 0x100000000UL, 0); // T0SZ = 32: level-0 fault

  puts("Integer loops:\n");
  u64 *buf = (u64 *)BUF_BASE;
  u64 words = (BUF_SIZE - 0x1000) / 8;
  u64 x = 0x9e3779b97f4a7c15UL;
  for (u64 i = 0; i < words; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    buf[i] = x;
  }
  printf("  xorshift fill of %lu words, last %lx\n", words, x);
  for (int round = 0; round < 4; round++) {
    printf("  round %d: CRC32 %08x, mix %lx\n", round, crc32_buffer(buf, words), mix_checksum(buf, words));
    for (u64 i = 0; i < words; i++) buf[i] = buf[i] * 6364136223846793005UL + (u64)round;
  }
  u64 q = 0xfedcba9876543210UL / 12345, rem = 0xfedcba9876543210UL % 12345;
  i64 sq = (i64)0x8000000000000001L / -7;
  printf("  divide: %lx r %lu, signed %ld\n", q, rem, sq);
  puts("cpu-basic done\n");
  return 0;
}
