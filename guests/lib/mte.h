// MTE helpers for guests: register bits, tag instructions, and checked probes.
#ifndef GUEST_MTE_H
#define GUEST_MTE_H
#include "rt.h"

#define TCR_TBI0 (1UL << 37)
#define TCR_TBI1 (1UL << 38)
#define TCR_TCMA0 (1UL << 57)
#define TCR_TCMA1 (1UL << 58)

#define SCTLR_ITFSB (1UL << 37)
#define SCTLR_TCF_SHIFT 40
#define SCTLR_TCF_MASK (3UL << SCTLR_TCF_SHIFT)
#define SCTLR_TCF_NONE (0UL << SCTLR_TCF_SHIFT)
#define SCTLR_TCF_SYNC (1UL << SCTLR_TCF_SHIFT)
#define SCTLR_TCF_ASYNC (2UL << SCTLR_TCF_SHIFT)
#define SCTLR_TCF_ASYM (3UL << SCTLR_TCF_SHIFT)
#define SCTLR_ATA0 (1UL << 42)
#define SCTLR_ATA (1UL << 43)

#define GCR_RRND (1UL << 16)

#define TAG_SHIFT 56
#define GRANULE 16UL

static inline u64 with_tag(u64 p, unsigned tag) { return (p & ~(0xFUL << TAG_SHIFT)) | ((u64)(tag & 15) << TAG_SHIFT); }
static inline unsigned tag_of(u64 p) { return (unsigned)(p >> TAG_SHIFT) & 15; }
// FAR_EL1 bits 63:60 are UNKNOWN after a tag check fault: only bits 59:0 are worth printing.
static inline u64 far_known(u64 far) { return far & 0x0FFFFFFFFFFFFFFFUL; }

static inline u64 irg(u64 p, u64 exclude) {
  u64 r;
  __asm__ volatile("irg %0, %1, %2" : "=r"(r) : "r"(p), "r"(exclude));
  return r;
}
static inline u64 gmi(u64 p, u64 mask) {
  u64 r;
  __asm__ volatile("gmi %0, %1, %2" : "=r"(r) : "r"(p), "r"(mask));
  return r;
}
#define addg(p, off, tagoff) ({ u64 r_; __asm__ volatile("addg %0, %1, #" #off ", #" #tagoff : "=r"(r_) : "r"((u64)(p))); r_; })
#define subg(p, off, tagoff) ({ u64 r_; __asm__ volatile("subg %0, %1, #" #off ", #" #tagoff : "=r"(r_) : "r"((u64)(p))); r_; })
static inline i64 subp(u64 a, u64 b) {
  i64 r;
  __asm__ volatile("subp %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
  return r;
}
static inline void stg(u64 p) { __asm__ volatile("stg %0, [%0]" ::"r"(p) : "memory"); }
static inline void stzg(u64 p) { __asm__ volatile("stzg %0, [%0]" ::"r"(p) : "memory"); }
static inline void st2g(u64 p) { __asm__ volatile("st2g %0, [%0]" ::"r"(p) : "memory"); }
static inline void stz2g(u64 p) { __asm__ volatile("stz2g %0, [%0]" ::"r"(p) : "memory"); }
static inline void stgp(u64 p, u64 a, u64 b) { __asm__ volatile("stgp %1, %2, [%0]" ::"r"(p), "r"(a), "r"(b) : "memory"); }
// Tag of the granule at `p`, as LDG inserts it into `p`.
static inline u64 ldg(u64 p) {
  u64 r = p;
  __asm__ volatile("ldg %0, [%1]" : "+r"(r) : "r"(p) : "memory");
  return r;
}
static inline unsigned load_tag(u64 p) { return tag_of(ldg(p)); }
static inline u64 ldgm(u64 p) {
  u64 r;
  __asm__ volatile("ldgm %0, [%1]" : "=r"(r) : "r"(p) : "memory");
  return r;
}
static inline void stgm(u64 p, u64 tags) { __asm__ volatile("stgm %1, [%0]" ::"r"(p), "r"(tags) : "memory"); }
static inline void stzgm(u64 p, u64 tag) { __asm__ volatile("stzgm %1, [%0]" ::"r"(p), "r"(tag) : "memory"); }
static inline void dc_gva(u64 p) { __asm__ volatile("dc gva, %0" ::"r"(p) : "memory"); }
static inline void dc_gzva(u64 p) { __asm__ volatile("dc gzva, %0" ::"r"(p) : "memory"); }
static inline void set_tco(int on) {
  if (on) __asm__ volatile("msr tco, #1" ::: "memory");
  else __asm__ volatile("msr tco, #0" ::: "memory");
}

// One checked 8-byte load / store in a single instruction, so that a handler that skips the
// faulting instruction (skip_data_aborts) leaves `sentinel` in place of the loaded value.
static inline u64 probe_load(u64 p, u64 sentinel) {
  u64 r = sentinel;
  __asm__ volatile("ldr %0, [%1]" : "+r"(r) : "r"(p) : "memory");
  return r;
}
static inline void probe_store(u64 p, u64 v) { __asm__ volatile("str %1, [%0]" ::"r"(p), "r"(v) : "memory"); }
static inline u8 probe_load8(u64 p, u8 sentinel) {
  u64 r = sentinel;
  __asm__ volatile("ldrb %w0, [%1]" : "+r"(r) : "r"(p) : "memory");
  return (u8)r;
}
static inline void probe_store8(u64 p, u8 v) { __asm__ volatile("strb %w1, [%0]" ::"r"(p), "r"((u32)v) : "memory"); }

// Turns on the MMU with MTE at stage 1: TBI0/TBI1, the given TCR extras, SCTLR_EL1.ATA and TCF.
static inline void mte_enable(u64 tcf, u64 tcr_extra) {
  write_sysreg(gcr_el1, 0);
  write_sysreg(tfsr_el1, 0);
  mmu_enable(TCR_TBI0 | TCR_TBI1 | tcr_extra, SCTLR_ATA | tcf);
}
static inline void set_tcf(u64 tcf) {
  write_sysreg(sctlr_el1, (read_sysreg(sctlr_el1) & ~SCTLR_TCF_MASK) | tcf);
  isb();
}

// Memory the MTE guests use: 2 MiB Tagged (MAIR 0xF0) and 2 MiB Normal untagged (0xFF).
#define TAGGED_BASE 0x40200000UL
#define UNTAGGED_BASE 0x40400000UL
#define REGION_SIZE 0x200000UL
static inline void map_test_regions(void) {
  mmu_map(TAGGED_BASE, REGION_SIZE, ATTR_TAGGED);
  mmu_map(UNTAGGED_BASE, REGION_SIZE, ATTR_NORMAL);
}

// Prints the allocation tags of `n` granules from `p` as hex digits, lowest address first.
static inline void print_tags(const char *label, u64 p, int n) {
  printf("%s", label);
  for (int i = 0; i < n; i++) printf("%x", load_tag(p + (u64)i * GRANULE));
  putc('\n');
}
// The layout of the test vectors in arm-mte.md section 7: granule tags 3, 4, 0, F from `base`.
static inline void set_vector_tags(u64 base) {
  stg(with_tag(base, 3));
  stg(with_tag(base + 0x10, 4));
  stg(with_tag(base + 0x20, 0));
  stg(with_tag(base + 0x30, 15));
}
#endif
