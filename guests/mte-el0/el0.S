// EL0 side of mte-el0. el0_code is copied to its own page and entered with ERET.
// On entry x0 = a pointer whose tag does not match memory, x1 = one whose tag does.

    .text
    .global el0_code, el0_code_end
    .balign 16
el0_code:
    mov     x2, #0x2222
    mov     x3, #0x3333
    mov     x4, #0x4444
    mov     x5, #0x5555
    ldr     x2, [x0]        // tag check fault, taken to EL1 (EC 0x24); skipped
    ldr     x3, [x1]        // matching tag: loads
    ldgm    x4, [x1]        // UNDEFINED at EL0 (EC 0x00); skipped
    msr     tco, #1         // PSTATE.TCO is writable at EL0
    ldr     x5, [x0]        // no check with TCO set: loads
    mrs     x6, tco
    svc     #0x10           // back to EL1
el0_code_end:

// enter_el0(entry, el0_sp, x0, x1): runs `entry` at EL0 with SP_EL0 = el0_sp until it makes
// an SVC; the runtime's handler then resumes EL1 at el0_returned, which returns from here.
    .global enter_el0, el0_returned
enter_el0:
    adr     x9, el1_context
    stp     x19, x20, [x9, #0]
    stp     x21, x22, [x9, #16]
    stp     x23, x24, [x9, #32]
    stp     x25, x26, [x9, #48]
    stp     x27, x28, [x9, #64]
    stp     x29, x30, [x9, #80]
    msr     sp_el0, x1
    msr     elr_el1, x0
    mov     x9, #0x3c0      // EL0t, DAIF masked, TCO = 0
    msr     spsr_el1, x9
    mov     x0, x2
    mov     x1, x3
    eret
el0_returned:
    adr     x9, el1_context
    ldp     x19, x20, [x9, #0]
    ldp     x21, x22, [x9, #16]
    ldp     x23, x24, [x9, #32]
    ldp     x25, x26, [x9, #48]
    ldp     x27, x28, [x9, #64]
    ldp     x29, x30, [x9, #80]
    ret

    .data
    .balign 16
el1_context:
    .space  96
