// One kernel per form (generated kernels.S): void fk_<i>(const u64 *in, u64 *out, u64 fpcr).
// Loads v0-v3 (in[0..7]), x9 (in[8]) and NZCV (in[9]); sets FPCR = fpcr and clears FPSR; runs
// the form's instruction word; stores v0 (out[0..1]), x9 (out[2]), NZCV (out[3]), FPSR (out[4]).
    .macro fp_kernel index, word
    .p2align 2
    .globl fk_\index
    .type fk_\index, %function
fk_\index:
    ldp q0, q1, [x0]
    ldp q2, q3, [x0, #32]
    ldp x9, x10, [x0, #64]
    msr nzcv, x10
    msr fpcr, x2
    msr fpsr, xzr
    .inst \word
    mrs x11, fpsr
    mrs x12, nzcv
    str q0, [x1]
    stp x9, x12, [x1, #16]
    str x11, [x1, #32]
    ret
    .size fk_\index, . - fk_\index
    .endm
