/* MTE from Linux user space: the uapi constants (with fallbacks for older headers) and
 * the tag instructions as inline assembly. Built with -march=armv8.5-a+memtag. */
#ifndef TAGVM_MTE_USER_H
#define TAGVM_MTE_USER_H

#include <stdint.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/prctl.h>

#ifndef HWCAP2_MTE
#define HWCAP2_MTE (1UL << 18)
#endif
#ifndef HWCAP2_MTE3
#define HWCAP2_MTE3 (1UL << 22)
#endif
#ifndef PROT_MTE
#define PROT_MTE 0x20
#endif
#ifndef PR_SET_TAGGED_ADDR_CTRL
#define PR_SET_TAGGED_ADDR_CTRL 55
#define PR_GET_TAGGED_ADDR_CTRL 56
#define PR_TAGGED_ADDR_ENABLE (1UL << 0)
#endif
#ifndef PR_MTE_TCF_SHIFT
#define PR_MTE_TCF_SHIFT 1
#define PR_MTE_TCF_NONE (0UL << PR_MTE_TCF_SHIFT)
#define PR_MTE_TCF_SYNC (1UL << PR_MTE_TCF_SHIFT)
#define PR_MTE_TCF_ASYNC (2UL << PR_MTE_TCF_SHIFT)
#define PR_MTE_TCF_MASK (3UL << PR_MTE_TCF_SHIFT)
#define PR_MTE_TAG_SHIFT 3
#define PR_MTE_TAG_MASK (0xffffUL << PR_MTE_TAG_SHIFT)
#endif
#ifndef SEGV_MTEAERR
#define SEGV_MTEAERR 8
#endif
#ifndef SEGV_MTESERR
#define SEGV_MTESERR 9
#endif
#ifndef SA_EXPOSE_TAGBITS
#define SA_EXPOSE_TAGBITS 0x00000800
#endif

#define MTE_GRANULE 16UL
#define MTE_TAG_SHIFT 56
#define MTE_TAG_FIELD (0xfUL << MTE_TAG_SHIFT)

/* A pointer's allocation-tag field (bits 59:56). */
static inline unsigned tag_of(const volatile void *p) {
  return (unsigned)(((uintptr_t)p >> MTE_TAG_SHIFT) & 0xf);
}

/* The pointer with its tag field replaced by tag. */
static inline void *with_tag(const volatile void *p, unsigned tag) {
  return (void *)(((uintptr_t)p & ~MTE_TAG_FIELD) | ((uintptr_t)(tag & 0xf) << MTE_TAG_SHIFT));
}

/* The pointer with the whole top byte cleared, as untagged_addr() in the kernel. */
static inline uintptr_t untagged(const volatile void *p) {
  return (uintptr_t)p & ((1UL << 56) - 1);
}

/* IRG: a random tag, never one set in exclude_mask (nor excluded by GCR_EL1, which the
 * kernel sets from the prctl include mask). */
static inline void *mte_irg(void *p, uint64_t exclude_mask) {
  void *r;
  __asm__ volatile("irg %0, %1, %2" : "=r"(r) : "r"(p), "r"(exclude_mask));
  return r;
}

/* STG: the pointer's tag becomes the allocation tag of its granule. */
static inline void mte_stg(void *p) {
  __asm__ volatile("stg %0, [%0]" : : "r"(p) : "memory");
}

/* ST2G: the same for two granules. */
static inline void mte_st2g(void *p) {
  __asm__ volatile("st2g %0, [%0]" : : "r"(p) : "memory");
}

/* STZG: tag the granule and zero its data. */
static inline void mte_stzg(void *p) {
  __asm__ volatile("stzg %0, [%0]" : : "r"(p) : "memory");
}

/* STGP: tag the granule with the pointer's tag and store two words into it. */
static inline void mte_stgp(void *p, uint64_t lo, uint64_t hi) {
  __asm__ volatile("stgp %1, %2, [%0]" : : "r"(p), "r"(lo), "r"(hi) : "memory");
}

/* LDG: the allocation tag of p's granule (p's own tag field is ignored). */
static inline unsigned mte_ldg(const volatile void *p) {
  uintptr_t r = (uintptr_t)p;
  __asm__ volatile("ldg %0, [%1]" : "+r"(r) : "r"(p) : "memory");
  return tag_of((void *)r);
}

#endif
