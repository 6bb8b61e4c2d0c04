// The shared guest runtime: console, printing, power off, exceptions, stage-1 tables.
#ifndef GUEST_RT_H
#define GUEST_RT_H

typedef unsigned long u64;
typedef long i64;
typedef unsigned int u32;
typedef unsigned char u8;
typedef unsigned long uptr;

#define UART_BASE 0x09000000UL
#define RAM_BASE 0x40000000UL

#define read_sysreg(name) ({ u64 v_; __asm__ volatile("mrs %0, " #name : "=r"(v_)); v_; })
#define write_sysreg(name, v) __asm__ volatile("msr " #name ", %0" ::"r"((u64)(v)) : "memory")
#define isb() __asm__ volatile("isb" ::: "memory")
#define dsb() __asm__ volatile("dsb sy" ::: "memory")

// Console (PL011 data register only).
void putc(char c);
void puts(const char *s);          // no newline added
void printf(const char *fmt, ...); // %s %c %d %u %x %p, 'l' length, '0' and width, '-' for %s

void power_off(void) __attribute__((noreturn));
void rt_exit(void) __attribute__((noreturn)); // what returning from main does

// Exceptions. The frame is what lib/start.S saves; a handler may change any field,
// and the runtime restores the registers, ELR_EL1 and SPSR_EL1 from it before ERET.
struct frame {
  u64 x[31];
  u64 elr, spsr, esr, far;
};
// Vector index: 0-3 current EL with SP0, 4-7 current EL with SPx, 8-11 lower EL A64.
// Within each group: 0 sync, 1 IRQ, 2 FIQ, 3 SError.
// Return nonzero if handled; otherwise the runtime prints the exception and powers off.
typedef int (*exception_handler)(struct frame *f, int vector);
void set_exception_handler(exception_handler h);

#define ESR_EC(esr) (((esr) >> 26) & 0x3f)
#define EC_SVC64 0x15
#define EC_DABT_CUR 0x25
#define EC_DABT_LOW 0x24

// A handler that records a data abort and skips the faulting instruction.
struct fault_log {
  int count;
  u64 esr, far, elr;
};
extern volatile struct fault_log last_fault;
int skip_data_aborts(struct frame *f, int vector);
void fault_log_reset(void);

// Stage-1 identity map, 4 KiB granule, 32-bit VA (T0SZ = 32, walk starts at level 1).
// The same tables serve TTBR1 (T1SZ = 32), so VA 0xFFFF_FFFF_xxxx_xxxx aliases PA xxxx_xxxx.
enum mem_attr {
  ATTR_DEVICE = 0,   // MAIR 0x00 Device-nGnRnE
  ATTR_NORMAL = 1,   // MAIR 0xFF Normal write-back, untagged
  ATTR_TAGGED = 2,   // MAIR 0xF0 Normal write-back, Tagged
};
#define MAIR_VALUE 0x0000000000F0FF00UL
#define TTBR1_ALIAS 0xFFFFFFFF00000000UL

void mmu_map(u64 base, u64 size, enum mem_attr attr); // 4 KiB-aligned; uses 2 MiB blocks where it can
void mmu_map_el0(u64 base, u64 size, enum mem_attr attr); // also accessible from EL0 (AP = 01), never executable
void mmu_map_el0_code(u64 base, u64 size); // read-only at EL1 and EL0, executable at EL0 only
void mmu_unmap(u64 base, u64 size);
// Maps the console and the image/stack region, then turns on the MMU with the given extra
// TCR_EL1 and SCTLR_EL1 bits (for example TBI0, TCF, ATA).
void mmu_enable(u64 tcr_extra, u64 sctlr_extra);
void tlb_flush(void);

extern char __image_end[];

void *memset(void *d, int c, unsigned long n);
void *memcpy(void *d, const void *s, unsigned long n);

#endif
