// simd-fault: what a SIMD&FP load or store leaves behind when it faults part-way, the
// facts the CPU's data path has to reproduce: registers and memory after a translation
// fault on the second page of a transfer, after a tag check fault on a later granule, with
// SP as the base (unchecked unless written back), and the alignment rules with
// SCTLR_EL1.A = 1 and on Device memory. Each probe starts with V0-V3 full of a pattern.
#include "probe.h"

typedef void probe_fn(u64 addr, u8 regs[64], u64 *base);
#define PROBES(X) \
  X(ld1_4r_post) X(ld4_s) X(ld1_2d2) X(ldr_q) X(ldp_q) X(ldp_q_pre) X(st1_4r) X(st4_s) X(stp_q) \
  X(str_q_post) X(ld1_lane) X(ld3_lane_h) X(ld1r_s) X(ld2r_d_post) X(st2_lane_d) X(ld1_s) X(ld1_b) \
  X(ld2_h) X(ld1r_d) X(ldr_d) X(ldr_s_post_reg) X(ld1_sp) X(ld1_sp_post) X(ldr_q_sp) X(ldr_q_sp_pre) X(st1_sp) X(ldr_q_sp_reg)
#define DECLARE(n) probe_fn probe_##n;
PROBES(DECLARE)
void simd_enable(void);
u64 load8(u64 addr);

#define PAGE 0x1000UL
// Normal memory: page MAPPED is mapped, the page after it is not.
#define MAPPED (UNTAGGED_BASE + 0x1000)
#define HOLE (MAPPED + PAGE)
// Tagged memory: granule tags 3, 4, 0, F from TV.
#define TV (TAGGED_BASE + 0x1000)
// A page mapped as Device-nGnRnE.
#define DEV (UNTAGGED_BASE + 0x4000)

static u8 regs[64] __attribute__((aligned(16)));

static void fill_regs(void) {
  for (int i = 0; i < 64; i++) regs[i] = (u8)(0xa0 + i);
}
static void fill_memory(u64 p, u64 n, u8 seed) {
  set_tco(1);
  for (u64 i = 0; i < n; i++) ((volatile u8 *)p)[i] = (u8)(seed + i);
  set_tco(0);
}
static void print_bytes(const char *label, const u8 *p, int n) {
  printf("    %s", label);
  for (int i = 0; i < n; i++) printf("%s%02x", i && i % 16 == 0 ? " " : "", p[i]);
  putc('\n');
}
static void print_memory(const char *label, u64 p, int n) {
  u8 buf[64];
  set_tco(1);
  for (int i = 0; i < n; i++) buf[i] = ((volatile u8 *)p)[i];
  set_tco(0);
  print_bytes(label, buf, n);
}

// Runs one probe and prints the fault (ESR, FAR relative to `origin`), V0-V3 and the base.
static void run(const char *what, probe_fn *fn, u64 addr, u64 origin) {
  fill_regs();
  u64 base = 0;
  fault_log_reset();
  fn(addr, regs, &base);
  printf("  %s\n", what);
  if (last_fault.count)
    printf("    fault ESR %lx, FAR = origin %s %lx\n", last_fault.esr, far_known(last_fault.far) >= far_known(origin) ? "+" : "-",
           far_known(last_fault.far) >= far_known(origin) ? far_known(last_fault.far) - far_known(origin)
                                                          : far_known(origin) - far_known(last_fault.far));
  else
    printf("    no fault\n");
  print_bytes("v0-v3 ", regs, 64);
  printf("    base %s\n", base == addr ? "unchanged" : "written back");
}

int main(void) {
  set_exception_handler(skip_data_aborts);
  puts("simd-fault: SIMD&FP loads and stores that fault part-way\n");
  map_test_regions();
  mmu_map(DEV, PAGE, ATTR_DEVICE);
  mmu_unmap(HOLE, PAGE);
  mte_enable(SCTLR_TCF_SYNC, 0);
  simd_enable();

  puts("Translation fault on the second page (origin = the unmapped page):\n");
  fill_memory(MAPPED, PAGE, 0x10);
  run("ld1 {v0.16b-v3.16b}, [x0], #64 at hole-24", probe_ld1_4r_post, HOLE - 24, HOLE);
  run("ld4 {v0.4s-v3.4s}, [x0] at hole-24", probe_ld4_s, HOLE - 24, HOLE);
  run("ld1 {v0.2d, v1.2d}, [x0] at hole-8", probe_ld1_2d2, HOLE - 8, HOLE);
  run("ldr q0, [x0] at hole-8", probe_ldr_q, HOLE - 8, HOLE);
  run("ldp q0, q1, [x0] at hole-16", probe_ldp_q, HOLE - 16, HOLE);
  run("ldp q0, q1, [x0, #-16]! at hole", probe_ldp_q_pre, HOLE, HOLE);
  run("ld1 {v0.b}[3], [x0] at hole", probe_ld1_lane, HOLE, HOLE);
  run("ld3 {v0.h-v2.h}[5], [x0] at hole-2", probe_ld3_lane_h, HOLE - 2, HOLE);
  run("ld1r {v0.4s}, [x0] at hole-2", probe_ld1r_s, HOLE - 2, HOLE);
  run("ld2r {v0.2d, v1.2d}, [x0], #16 at hole-8", probe_ld2r_d_post, HOLE - 8, HOLE);
  run("st1 {v0.16b-v3.16b}, [x0] at hole-24", probe_st1_4r, HOLE - 24, HOLE);
  print_memory("memory[hole-32, hole) ", HOLE - 32, 32);
  fill_memory(HOLE - 64, 64, 0x10);
  run("st4 {v0.4s-v3.4s}, [x0] at hole-24", probe_st4_s, HOLE - 24, HOLE);
  print_memory("memory[hole-32, hole) ", HOLE - 32, 32);
  fill_memory(HOLE - 64, 64, 0x10);
  run("stp q0, q1, [x0] at hole-16", probe_stp_q, HOLE - 16, HOLE);
  print_memory("memory[hole-32, hole) ", HOLE - 32, 32);
  fill_memory(HOLE - 64, 64, 0x10);
  run("str q0, [x0], #32 at hole-8", probe_str_q_post, HOLE - 8, HOLE);
  print_memory("memory[hole-32, hole) ", HOLE - 32, 32);
  fill_memory(HOLE - 64, 64, 0x10);
  run("st2 {v0.d, v1.d}[1], [x0] at hole-8", probe_st2_lane_d, HOLE - 8, HOLE);
  print_memory("memory[hole-32, hole) ", HOLE - 32, 32);

  puts("Tag check fault on a later granule (tags 3,4,0,F; origin = the tagged block):\n");
  setup_vector_page(TV);
  fill_memory(TV, 64, 0x40);
  run("ld1 {v0.16b-v3.16b}, [x0], #64 via tag 3", probe_ld1_4r_post, with_tag(TV, 3), with_tag(TV, 3));
  run("ld4 {v0.4s-v3.4s}, [x0] via tag 3", probe_ld4_s, with_tag(TV, 3), with_tag(TV, 3));
  run("ldp q0, q1, [x0] via tag 3", probe_ldp_q, with_tag(TV, 3), with_tag(TV, 3));
  run("ld1 {v0.2d, v1.2d}, [x0] via tag 4 at +8", probe_ld1_2d2, with_tag(TV + 8, 4), with_tag(TV, 4));
  run("st1 {v0.16b-v3.16b}, [x0] via tag 3", probe_st1_4r, with_tag(TV, 3), with_tag(TV, 3));
  print_memory("memory[0, 64) ", TV, 64);
  fill_memory(TV, 64, 0x40);
  run("stp q0, q1, [x0] via tag 4 at +16 (granules 1, 2)", probe_stp_q, with_tag(TV + 16, 4), with_tag(TV, 4));
  print_memory("memory[0, 64) ", TV, 64);
  fill_memory(TV, 64, 0x40);
  run("ld1 {v0.16b}, [sp] with SP tag 5 (unchecked)", probe_ld1_sp, with_tag(TV, 5), with_tag(TV, 5));
  run("ld1 {v0.16b}, [sp], #16 with SP tag 5", probe_ld1_sp_post, with_tag(TV, 5), with_tag(TV, 5));
  run("ldr q0, [sp, #16] with SP tag 5 (unchecked)", probe_ldr_q_sp, with_tag(TV, 5), with_tag(TV, 5));
  run("ldr q0, [sp, #16]! with SP tag 5", probe_ldr_q_sp_pre, with_tag(TV, 5), with_tag(TV, 5));
  run("st1 {v0.16b}, [sp] with SP tag 5 (unchecked)", probe_st1_sp, with_tag(TV, 5), with_tag(TV, 5));
  print_memory("memory[0, 16) ", TV, 16);
  fill_memory(TV, 64, 0x40);
  run("ldr q0, [sp, xzr] with SP tag 5 (register offset)", probe_ldr_q_sp_reg, with_tag(TV, 5), with_tag(TV, 5));
  run("ld1 {v0.4s}, [x0], x0 via tag 3 (post-index by register)", probe_ldr_s_post_reg, with_tag(TV, 3), with_tag(TV, 3));

  puts("Alignment with SCTLR_EL1.A = 1 (origin = an aligned address):\n");
  write_sysreg(sctlr_el1, read_sysreg(sctlr_el1) | 2);
  isb();
  u64 al = MAPPED + 0x100;
  run("ld1 {v0.4s}, [x0] at +2", probe_ld1_s, al + 2, al);
  run("ld1 {v0.4s}, [x0] at +4", probe_ld1_s, al + 4, al);
  run("ld1 {v0.16b}, [x0] at +1", probe_ld1_b, al + 1, al);
  run("ld2 {v0.8h, v1.8h}, [x0] at +1", probe_ld2_h, al + 1, al);
  run("ld1r {v0.2d}, [x0] at +4", probe_ld1r_d, al + 4, al);
  run("ldr q0, [x0] at +8", probe_ldr_q, al + 8, al);
  run("ldr d0, [x0] at +4", probe_ldr_d, al + 4, al);
  run("ldp q0, q1, [x0] at +8", probe_ldp_q, al + 8, al);
  write_sysreg(sctlr_el1, read_sysreg(sctlr_el1) & ~2UL);
  isb();

  puts("Device-nGnRnE memory (SCTLR_EL1.A = 0):\n");
  __asm__ volatile("at s1e1r, %0\n isb" ::"r"(DEV) : "memory");
  printf("  PAR_EL1.ATTR of the page: %lx (0 = Device-nGnRnE)\n", read_sysreg(par_el1) >> 56);
  run("ld1 {v0.4s}, [x0] at +4", probe_ld1_s, DEV + 4, DEV);
  run("ld1 {v0.4s}, [x0] at +2", probe_ld1_s, DEV + 2, DEV);
  run("ld1 {v0.16b}, [x0] at +1", probe_ld1_b, DEV + 1, DEV);
  run("ldr q0, [x0] at +8", probe_ldr_q, DEV + 8, DEV);
  run("ldr d0, [x0] at +4", probe_ldr_d, DEV + 4, DEV);
  fault_log_reset();
  load8(DEV + 4);
  printf("  ldr x0, [x0] at +4 (integer, for comparison)\n    %s", last_fault.count ? "fault" : "no fault");
  if (last_fault.count) printf(" ESR %lx", last_fault.esr);
  putc('\n');
  return 0;
}
