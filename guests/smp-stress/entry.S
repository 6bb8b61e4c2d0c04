// Secondary CPUs start here (PSCI CPU_ON): x0 = the context id = the top of this CPU's stack.
    .text
    .global smp_secondary_entry
smp_secondary_entry:
    mov     sp, x0
    adr     x1, vectors
    msr     vbar_el1, x1
    isb
    bl      smp_secondary_main
1:  b       1b
