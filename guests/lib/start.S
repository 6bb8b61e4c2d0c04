// Entry point and exception vectors shared by every guest.
// QEMU (and tagvm) enter at _start in EL1h with the MMU off, SP = 0 and DAIF masked.

    .section .text.start, "ax"
    .global _start
_start:
#ifdef GUEST_COUNT_INSNS
    mrs     x0, cntvct_el0
    ldr     x1, =rt_start_count
    str     x0, [x1]
#endif
    ldr     x0, =__stack_top
    mov     sp, x0
    adr     x0, vectors
    msr     vbar_el1, x0
    isb
    // Zero .bss ourselves rather than trust every loader to do it. The MMU is off, so memory
    // is Device: aligned 8-byte stores only (the linker script keeps .bss 16-byte aligned).
    ldr     x0, =__bss_start
    ldr     x1, =__bss_end
1:  cmp     x0, x1
    b.hs    2f
    str     xzr, [x0], #8
    b       1b
2:  bl      main
    bl      rt_exit
3:  b       3b

// One vector entry: save the general registers and the exception registers in a frame on
// the current stack, call rt_exception(frame, index), then restore (the handler may change
// ELR/SPSR or registers) and return.
    .macro vector_entry index
    .balign 0x80
    sub     sp, sp, #(36 * 8)
    stp     x0, x1, [sp, #0]
    mov     x0, #\index
    b       save_and_dispatch
    .endm

    .balign 0x800
    .global vectors
vectors:
    vector_entry 0
    vector_entry 1
    vector_entry 2
    vector_entry 3
    vector_entry 4
    vector_entry 5
    vector_entry 6
    vector_entry 7
    vector_entry 8
    vector_entry 9
    vector_entry 10
    vector_entry 11
    vector_entry 12
    vector_entry 13
    vector_entry 14
    vector_entry 15

save_and_dispatch:
    stp     x2, x3, [sp, #16]
    stp     x4, x5, [sp, #32]
    stp     x6, x7, [sp, #48]
    stp     x8, x9, [sp, #64]
    stp     x10, x11, [sp, #80]
    stp     x12, x13, [sp, #96]
    stp     x14, x15, [sp, #112]
    stp     x16, x17, [sp, #128]
    stp     x18, x19, [sp, #144]
    stp     x20, x21, [sp, #160]
    stp     x22, x23, [sp, #176]
    stp     x24, x25, [sp, #192]
    stp     x26, x27, [sp, #208]
    stp     x28, x29, [sp, #224]
    mrs     x2, elr_el1
    mrs     x3, spsr_el1
    stp     x30, x2, [sp, #240]
    mrs     x2, esr_el1
    stp     x3, x2, [sp, #256]
    mrs     x2, far_el1
    str     x2, [sp, #272]
    mov     x1, x0
    mov     x0, sp
    bl      rt_exception
    ldp     x30, x2, [sp, #240]
    msr     elr_el1, x2
    ldr     x3, [sp, #256]
    msr     spsr_el1, x3
    ldp     x28, x29, [sp, #224]
    ldp     x26, x27, [sp, #208]
    ldp     x24, x25, [sp, #192]
    ldp     x22, x23, [sp, #176]
    ldp     x20, x21, [sp, #160]
    ldp     x18, x19, [sp, #144]
    ldp     x16, x17, [sp, #128]
    ldp     x14, x15, [sp, #112]
    ldp     x12, x13, [sp, #96]
    ldp     x10, x11, [sp, #80]
    ldp     x8, x9, [sp, #64]
    ldp     x6, x7, [sp, #48]
    ldp     x4, x5, [sp, #32]
    ldp     x2, x3, [sp, #16]
    ldp     x0, x1, [sp, #0]
    add     sp, sp, #(36 * 8)
    eret

// PSCI SYSTEM_OFF through the hypervisor. Does not return on success.
    .text
    .global power_off
power_off:
    movz    x0, #0x0008
    movk    x0, #0x8400, lsl #16
    hvc     #0
    b       psci_failed
