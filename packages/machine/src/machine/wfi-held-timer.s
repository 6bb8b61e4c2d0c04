// A bare-metal guest for 2 vCPUs and the vGICv3 (wfi-held-timer.test.ts): each CPU's virtual
// timer fires (CVAL already passed, ENABLE = 1, IMASK = 0) while the GIC holds its interrupt
// back, and the CPU sits in `wfi; b` for WINDOW_MS of guest time, counting the WFIs that
// complete; its physical timer (PPI 30, deliverable) ends the window:
//   CPU 0: PPI 27 disabled at its redistributor (GICR_ICENABLER0), PMR open;
//   CPU 1: PPI 27 enabled at priority 0xa0, masked by ICC_PMR_EL1 = 0x80 (PPI 30 at 0).
// Then CPU 1 opens PMR and takes the virtual timer's interrupt GOOD_ROUNDS times, each a 1 ms
// CNTV_TVAL slept in WFI (the good case). The held interrupt is no WFI wake-up event (KVM's
// kvm_arch_vcpu_runnable: no deliverable vGIC interrupt; the vCPU sleeps until PPI 30), so a
// window should complete one WFI or a few; a WFI completed because the timer fires spins
// through the loop tens of thousands of times.
//
// Raw image at 0x4008_0000, MMU off. Results at image offset 0x1800 (u64 each, see RES_*).
// Build: ./wfi-held-timer.sh (llvm-mc, llvm-objcopy) writes wfi-held-timer.bin.

        .equ GICD, 0x08000000
        .equ GICR, 0x080a0000           // + cpu << 17; the SGI/PPI frame at + 0x10000
        .equ GICR_WAKER, 0x14
        .equ SGI_FRAME, 0x10000          // GICR_* below are offsets in it
        .equ GICR_IGROUPR0, 0x80
        .equ GICR_ISENABLER0, 0x100
        .equ GICR_ICENABLER0, 0x180
        .equ GICR_ISPENDR0, 0x200
        .equ GICR_IPRIORITYR6, 0x418     // INTIDs 24-27, one byte each
        .equ GICR_IPRIORITYR7, 0x41c     // INTIDs 28-31
        .equ PPI_PTIMER, 30
        .equ PPI_VTIMER, 27
        .equ WINDOW_MS, 300
        .equ GOOD_ROUNDS, 5
        .equ PSCI_CPU_ON, 0xc4000003
        .equ PSCI_CPU_OFF, 0x84000002
        .equ PSCI_SYSTEM_OFF, 0x84000008

        .equ RES_WFI_DISABLED, 0x00     // CPU 0: WFIs completed in the window (PPI disabled)
        .equ RES_CTL_DISABLED, 0x08     // CPU 0: CNTV_CTL at the window's end (5: ENABLE | ISTATUS)
        .equ RES_PEND_DISABLED, 0x10    // CPU 0: GICR_ISPENDR0 at the window's end (bit 27: raised, held)
        .equ RES_IRQ_CPU0, 0x18         // CPU 0: interrupts taken other than PPI 30 (none expected)
        .equ RES_WFI_MASKED, 0x20       // CPU 1: WFIs completed in the window (PMR = 0)
        .equ RES_CTL_MASKED, 0x28       // CPU 1: CNTV_CTL at the window's end
        .equ RES_PEND_MASKED, 0x30      // CPU 1: GICR_ISPENDR0 at the window's end
        .equ RES_IRQ_MASKED, 0x38       // CPU 1: interrupts taken other than PPI 30 before the good rounds (none expected)
        .equ RES_TAKEN, 0x40            // CPU 1: timer interrupts taken in the good rounds
        .equ RES_WFI_GOOD, 0x48         // CPU 1: WFIs completed in the good rounds
        .equ RES_INTID, 0x50            // CPU 1: the last INTID acknowledged
        .equ RES_SPURIOUS, 0x58         // both: IAR1 reads of 1023
        .equ RES_DONE, 0x60             // CPU 1: 1 when finished
        .equ RES_PHASE, 0x68            // CPU 1: 1 in the good rounds
        .equ RES_ENDS, 0x70             // PPI 30 taken (window ends): CPU 0 at + 0, CPU 1 at + 8

        .text
        .globl _start
_start:
        adr     x0, vectors
        msr     vbar_el1, x0
        mov     x1, #GICD
        mov     w2, #0x12               // GICD_CTLR: ARE, EnableGrp1
        str     w2, [x1]
        dsb     sy
        ldr     x0, =PSCI_CPU_ON
        mov     x1, #1                  // MPIDR Aff0 = 1
        adr     x2, secondary
        mov     x3, #0
        hvc     #0
        mov     x0, #0
        bl      gic_cpu_init
        ldr     x1, =GICR + SGI_FRAME
        mov     w2, #(1 << PPI_VTIMER)
        str     w2, [x1, #GICR_ICENABLER0]
        mov     w2, #(1 << PPI_PTIMER)
        str     w2, [x1, #GICR_ISENABLER0]
        mov     x2, #0xff
        msr     icc_pmr_el1, x2
        isb
        msr     daifclr, #2
        bl      held_window
        adr     x5, results
        str     x20, [x5, #RES_WFI_DISABLED]
        str     x22, [x5, #RES_CTL_DISABLED]
        str     x23, [x5, #RES_PEND_DISABLED]
        msr     daifset, #2
        // Wait for CPU 1, then power the machine off.
        add     x6, x5, #RES_DONE
1:      ldar    x2, [x6]
        cbnz    x2, 2f
        yield
        b       1b
2:      ldr     x0, =PSCI_SYSTEM_OFF
        hvc     #0
        b       .

secondary:
        adr     x0, vectors
        msr     vbar_el1, x0
        mov     x0, #1
        bl      gic_cpu_init
        ldr     x1, =GICR + (1 << 17) + SGI_FRAME
        mov     w2, #0xa0000000         // PPI 27: priority 0xa0
        str     w2, [x1, #GICR_IPRIORITYR6]
        mov     w2, #(1 << PPI_VTIMER) | (1 << PPI_PTIMER)
        str     w2, [x1, #GICR_ISENABLER0]
        mov     x2, #0x80               // priorities 0x80 and lower (numerically higher) masked
        msr     icc_pmr_el1, x2
        isb
        msr     daifclr, #2
        bl      held_window
        adr     x5, results
        str     x20, [x5, #RES_WFI_MASKED]
        str     x22, [x5, #RES_CTL_MASKED]
        str     x23, [x5, #RES_PEND_MASKED]
        // The good case: PMR open, the timer armed 1 ms ahead each round; its interrupt wakes the WFI.
        mov     x2, #1
        str     x2, [x5, #RES_PHASE]
        mov     x2, #0xff
        msr     icc_pmr_el1, x2
        isb
        mrs     x24, cntfrq_el0
        mov     x2, #1000
        udiv    x24, x24, x2            // ticks per ms
        mov     x25, #0                 // rounds done
        mov     x20, #0                 // WFIs completed
3:      msr     cntv_tval_el0, x24
        mov     x2, #1
        msr     cntv_ctl_el0, x2        // ENABLE (the handler sets IMASK)
        isb
4:      wfi
        add     x20, x20, #1
        ldr     x2, [x5, #RES_TAKEN]
        cmp     x2, x25
        b.ls    4b
        add     x25, x25, #1
        cmp     x25, #GOOD_ROUNDS
        b.lo    3b
        msr     daifset, #2
        msr     cntv_ctl_el0, xzr
        str     x20, [x5, #RES_WFI_GOOD]
        add     x6, x5, #RES_DONE
        mov     x2, #1
        stlr    x2, [x6]
        ldr     x0, =PSCI_CPU_OFF
        hvc     #0
        b       .

// x0 = cpu: wakes its redistributor, puts SGIs/PPIs in group 1 at priority 0, enables group 1 at the CPU interface.
gic_cpu_init:
        mov     x1, #GICR
        add     x1, x1, x0, lsl #17
        ldr     w2, [x1, #GICR_WAKER]
        bic     w2, w2, #2              // ProcessorSleep
        str     w2, [x1, #GICR_WAKER]
1:      ldr     w2, [x1, #GICR_WAKER]
        tbnz    w2, #2, 1b              // ChildrenAsleep
        add     x1, x1, #SGI_FRAME
        mov     w2, #-1
        str     w2, [x1, #GICR_IGROUPR0]
        str     wzr, [x1, #GICR_IPRIORITYR6]
        str     wzr, [x1, #GICR_IPRIORITYR7]
        mov     x2, #1
        msr     icc_igrpen1_el1, x2
        isb
        ret

// The virtual timer fires from now on (CVAL = the counter, ENABLE, unmasked); WFI until
// WINDOW_MS of guest time passed, when the physical timer's interrupt comes. x20 = WFIs
// completed, x22 = CNTV_CTL and x23 = GICR_ISPENDR0 of this CPU at the end. Uses x0-x4, x20-x23.
held_window:
        mrs     x0, mpidr_el1
        and     x0, x0, #0xff
        mov     x1, #GICR
        add     x1, x1, x0, lsl #17
        add     x4, x1, #SGI_FRAME
        add     x4, x4, #GICR_ISPENDR0
        mrs     x2, cntfrq_el0
        mov     x3, #WINDOW_MS
        mul     x2, x2, x3
        mov     x3, #1000
        udiv    x2, x2, x3
        isb
        mrs     x21, cntvct_el0
        msr     cntv_cval_el0, x21
        mov     x3, #1
        msr     cntv_ctl_el0, x3
        msr     cntp_tval_el0, x2
        msr     cntp_ctl_el0, x3
        add     x21, x21, x2
        mov     x20, #0
1:      wfi
        add     x20, x20, #1
        isb
        mrs     x2, cntvct_el0
        cmp     x2, x21
        b.lo    1b
        mrs     x22, cntv_ctl_el0
        ldr     w23, [x4]
        msr     cntv_ctl_el0, xzr
        msr     cntp_ctl_el0, xzr
        isb
        ret

        .ltorg

// EL1h IRQ (VBAR + 0x280); every other vector stops the CPU where a debugger sees it.
        .balign 0x800
vectors:
        .rept 5
        b       .
        .balign 0x80
        .endr
        b       irq                     // 0x280: current EL with SPx, IRQ
        .balign 0x80
        .rept 10
        b       .
        .balign 0x80
        .endr

// Registers x9-x13 are the handler's alone.
irq:
        adr     x11, results
        mrs     x10, icc_iar1_el1
        and     x10, x10, #0xffffff
        cmp     x10, #1023
        b.ne    1f
        ldr     x12, [x11, #RES_SPURIOUS]
        add     x12, x12, #1
        str     x12, [x11, #RES_SPURIOUS]
        eret
1:      mrs     x9, mpidr_el1
        and     x9, x9, #0xff
        cmp     x10, #PPI_PTIMER
        b.ne    5f
        add     x12, x11, #RES_ENDS
        add     x12, x12, x9, lsl #3
        ldr     x13, [x12]
        add     x13, x13, #1
        str     x13, [x12]
        mov     x12, #3                 // ENABLE | IMASK: its line drops
        msr     cntp_ctl_el0, x12
        isb
        b       4f
5:      cbnz    x9, 2f
        ldr     x12, [x11, #RES_IRQ_CPU0]
        add     x12, x12, #1
        str     x12, [x11, #RES_IRQ_CPU0]
        b       6f
2:      str     x10, [x11, #RES_INTID]
        ldr     x12, [x11, #RES_PHASE]
        cbnz    x12, 3f
        ldr     x12, [x11, #RES_IRQ_MASKED]
        add     x12, x12, #1
        str     x12, [x11, #RES_IRQ_MASKED]
6:      mov     x12, #3                 // an unexpected virtual timer interrupt: mask it (no storm)
        msr     cntv_ctl_el0, x12
        isb
        b       4f
3:      cmp     x10, #PPI_VTIMER
        b.ne    4f
        ldr     x12, [x11, #RES_TAKEN]
        add     x12, x12, #1
        str     x12, [x11, #RES_TAKEN]
        mov     x12, #3                 // ENABLE | IMASK: the line drops until the next round
        msr     cntv_ctl_el0, x12
        isb
4:      msr     icc_eoir1_el1, x10
        eret

        .org 0x1800
results:
        .fill 18, 8, 0
