// Each probe: V0-V3 from regs[0..63], the SIMD&FP load or store under test with X0 as the
// base (or SP for the *_sp probes), then V0-V3 back to regs[] and X0 (the base after any
// writeback) to *base. A data abort on the probe is skipped by the runtime's handler, so
// what is stored afterwards is what the faulting instruction left behind.
//   void probe_<name>(u64 addr, u8 regs[64], u64 *base)
    .arch armv8.5-a+fp+simd+memtag

    .macro probe name, insn:vararg
    .text
    .global probe_\name
probe_\name:
    ldp     q0, q1, [x1]
    ldp     q2, q3, [x1, #32]
    \insn
    stp     q0, q1, [x1]
    stp     q2, q3, [x1, #32]
    str     x0, [x2]
    ret
    .endm

    probe ld1_4r_post, ld1 {v0.16b-v3.16b}, [x0], #64
    probe ld4_s, ld4 {v0.4s-v3.4s}, [x0]
    probe ld1_2d2, ld1 {v0.2d, v1.2d}, [x0]
    probe ldr_q, ldr q0, [x0]
    probe ldp_q, ldp q0, q1, [x0]
    probe ldp_q_pre, ldp q0, q1, [x0, #-16]!
    probe st1_4r, st1 {v0.16b-v3.16b}, [x0]
    probe st4_s, st4 {v0.4s-v3.4s}, [x0]
    probe stp_q, stp q0, q1, [x0]
    probe str_q_post, str q0, [x0], #32
    probe ld1_lane, ld1 {v0.b}[3], [x0]
    probe ld3_lane_h, ld3 {v0.h-v2.h}[5], [x0]
    probe ld1r_s, ld1r {v0.4s}, [x0]
    probe ld2r_d_post, ld2r {v0.2d, v1.2d}, [x0], #16
    probe st2_lane_d, st2 {v0.d, v1.d}[1], [x0]
    probe ld1_s, ld1 {v0.4s}, [x0]
    probe ld1_b, ld1 {v0.16b}, [x0]
    probe ld2_h, ld2 {v0.8h, v1.8h}, [x0]
    probe ld1r_d, ld1r {v0.2d}, [x0]
    probe ldr_d, ldr d0, [x0]
    probe ldr_s_post_reg, ld1 {v0.4s}, [x0], x0

// SP-based forms: SP is the base (X0 holds the address), restored afterwards.
    .macro probe_sp name, insn:vararg
    .text
    .global probe_\name
probe_\name:
    ldp     q0, q1, [x1]
    ldp     q2, q3, [x1, #32]
    mov     x3, sp
    mov     sp, x0
    \insn
    mov     x0, sp
    mov     sp, x3
    stp     q0, q1, [x1]
    stp     q2, q3, [x1, #32]
    str     x0, [x2]
    ret
    .endm

    probe_sp ld1_sp, ld1 {v0.16b}, [sp]
    probe_sp ld1_sp_post, ld1 {v0.16b}, [sp], #16
    probe_sp ldr_q_sp, ldr q0, [sp, #16]
    probe_sp ldr_q_sp_pre, ldr q0, [sp, #16]!
    probe_sp st1_sp, st1 {v0.16b}, [sp]
    probe_sp ldr_q_sp_reg, ldr q0, [sp, xzr]

// An integer load of 8 bytes, for comparing alignment rules: u64 load8(u64 addr, u64 sentinel).
    .global load8
load8:
    mov     x1, x0
    ldr     x0, [x1]
    ret

    .global simd_enable
simd_enable:
    mrs     x0, cpacr_el1
    orr     x0, x0, #(3 << 20)
    msr     cpacr_el1, x0
    isb
    ret
