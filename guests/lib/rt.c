#include <stdarg.h>
#include "rt.h"

void putc(char c) { *(volatile u32 *)UART_BASE = (u8)c; }

void puts(const char *s) {
  while (*s) putc(*s++);
}

static void put_unsigned(u64 v, unsigned base, int width, char pad) {
  char buf[24];
  int n = 0;
  do {
    unsigned d = (unsigned)(v % base);
    buf[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
    v /= base;
  } while (v);
  while (n < width--) putc(pad);
  while (n) putc(buf[--n]);
}

void printf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  for (; *fmt; fmt++) {
    if (*fmt != '%') {
      putc(*fmt);
      continue;
    }
    fmt++;
    char pad = ' ';
    int width = 0, is_long = 0, left = 0;
    if (*fmt == '-') left = 1, fmt++;
    if (*fmt == '0') pad = '0';
    while (*fmt >= '0' && *fmt <= '9') width = width * 10 + (*fmt++ - '0');
    while (*fmt == 'l') is_long = 1, fmt++;
    switch (*fmt) {
    case 's': {
      const char *str = va_arg(ap, const char *);
      int len = 0;
      while (str[len]) len++;
      if (!left)
        for (int i = len; i < width; i++) putc(' ');
      puts(str);
      if (left)
        for (int i = len; i < width; i++) putc(' ');
      break;
    }
    case 'c': putc((char)va_arg(ap, int)); break;
    case 'd': {
      i64 v = is_long ? va_arg(ap, i64) : va_arg(ap, int);
      if (v < 0) putc('-'), v = -v;
      put_unsigned((u64)v, 10, width, pad);
      break;
    }
    case 'u': put_unsigned(is_long ? va_arg(ap, u64) : va_arg(ap, unsigned), 10, width, pad); break;
    case 'x': put_unsigned(is_long ? va_arg(ap, u64) : va_arg(ap, unsigned), 16, width, pad); break;
    case 'p': puts("0x"), put_unsigned(va_arg(ap, u64), 16, 16, '0'); break;
    case '%': putc('%'); break;
    default: putc('?'); break;
    }
  }
  va_end(ap);
}

void psci_failed(void) {
  puts("PSCI SYSTEM_OFF returned\n");
  for (;;) __asm__ volatile("wfi");
}

// Called when main returns. Builds made with -DGUEST_COUNT_INSNS (guests/count-insns.sh only,
// never the committed ELFs) print the virtual counter, which under QEMU's -icount shift=0
// advances once per instruction.
#ifdef GUEST_COUNT_INSNS
u64 rt_start_count __attribute__((section(".data"))) = 1;
#endif
void rt_exit(void) {
#ifdef GUEST_COUNT_INSNS
  printf("\n[instructions: %lu]\n", read_sysreg(cntvct_el0) - rt_start_count);
#endif
  power_off();
}

void *memset(void *d, int c, unsigned long n) {
  volatile u8 *p = d; // volatile: keep clang from turning this loop back into memset
  while (n--) *p++ = (u8)c;
  return d;
}

void *memcpy(void *d, const void *s, unsigned long n) {
  volatile u8 *p = d;
  const u8 *q = s;
  while (n--) *p++ = *q++;
  return d;
}

// ---- exceptions ----

static exception_handler current_handler;
volatile struct fault_log last_fault;

void set_exception_handler(exception_handler h) { current_handler = h; }

void fault_log_reset(void) {
  last_fault.count = 0;
  last_fault.esr = last_fault.far = last_fault.elr = 0;
}

int skip_data_aborts(struct frame *f, int vector) {
  u64 ec = ESR_EC(f->esr);
  if (vector != 4 || (ec != EC_DABT_CUR && ec != EC_DABT_LOW)) return 0;
  last_fault.count++;
  last_fault.esr = f->esr;
  last_fault.far = f->far;
  last_fault.elr = f->elr;
  f->elr += 4;
  return 1;
}

void rt_exception(struct frame *f, int vector) {
  if (current_handler && current_handler(f, vector)) return;
  printf("unexpected exception: vector %d ESR %lx ELR %lx FAR %lx\n", vector, f->esr, f->elr, f->far);
  power_off();
}

// ---- stage-1 tables ----

#define PAGE 0x1000UL
#define BLOCK 0x200000UL
#define DESC_TABLE 3UL
#define DESC_BLOCK 1UL
#define DESC_PAGE 3UL
#define DESC_AF (1UL << 10)
#define DESC_SH_INNER (3UL << 8)
#define DESC_ADDR 0x0000FFFFFFFFF000UL
#define TABLE_POOL 48

static u64 level1[512] __attribute__((aligned(4096)));
static u64 table_pool[TABLE_POOL][512] __attribute__((aligned(4096)));
static int tables_used;

static u64 *new_table(void) {
  if (tables_used == TABLE_POOL) {
    puts("out of page tables\n");
    power_off();
  }
  u64 *t = table_pool[tables_used++];
  for (int i = 0; i < 512; i++) t[i] = 0;
  return t;
}

static u64 leaf_attrs(enum mem_attr attr) {
  u64 a = DESC_AF | ((u64)attr << 2);
  if (attr != ATTR_DEVICE) a |= DESC_SH_INNER;
  else a |= 3UL << 53; // device memory: never executable
  return a;
}

// The level-2 table for `va`, created when `create` is set (0 if absent and not created).
static u64 *level2_for(u64 va, int create) {
  u64 *e = &level1[(va >> 30) & 3];
  if ((*e & 3) != DESC_TABLE) {
    if (!create) return 0;
    *e = (u64)new_table() | DESC_TABLE;
  }
  return (u64 *)(*e & DESC_ADDR);
}

// The level-3 table for `va`, splitting a 2 MiB block into pages if needed.
static u64 *level3_for(u64 va) {
  u64 *e = &level2_for(va, 1)[(va >> 21) & 511];
  if ((*e & 3) != DESC_TABLE) {
    u64 *t = new_table();
    if ((*e & 3) == DESC_BLOCK) {
      u64 base = *e & DESC_ADDR, attrs = *e & ~DESC_ADDR & ~3UL;
      for (int i = 0; i < 512; i++) t[i] = (base + i * PAGE) | attrs | DESC_PAGE;
    }
    *e = (u64)t | DESC_TABLE;
  }
  return (u64 *)(*e & DESC_ADDR);
}

static void set_range(u64 base, u64 size, u64 leaf_bits, int unmap) {
  u64 end = base + size;
  for (u64 va = base; va < end;) {
    if ((va & (BLOCK - 1)) == 0 && end - va >= BLOCK) {
      level2_for(va, 1)[(va >> 21) & 511] = unmap ? 0 : (va | leaf_bits | DESC_BLOCK);
      va += BLOCK;
    } else {
      level3_for(va)[(va >> 12) & 511] = unmap ? 0 : (va | leaf_bits | DESC_PAGE);
      va += PAGE;
    }
  }
}

void mmu_map(u64 base, u64 size, enum mem_attr attr) { set_range(base, size, leaf_attrs(attr), 0); }
void mmu_map_el0(u64 base, u64 size, enum mem_attr attr) {
  // EL0-writable memory must also be privileged-execute-never, so set both XN bits.
  set_range(base, size, leaf_attrs(attr) | (1UL << 6) | (3UL << 53), 0);
}
void mmu_map_el0_code(u64 base, u64 size) {
  set_range(base, size, leaf_attrs(ATTR_NORMAL) | (3UL << 6) | (1UL << 53), 0); // AP = 11, PXN
}
void mmu_unmap(u64 base, u64 size) { set_range(base, size, 0, 1); }

void tlb_flush(void) {
  __asm__ volatile("dsb ishst\n tlbi vmalle1\n dsb ish\n isb" ::: "memory");
}

#define TCR_T0SZ_32 32UL
#define TCR_IRGN0_WBWA (1UL << 8)
#define TCR_ORGN0_WBWA (1UL << 10)
#define TCR_SH0_INNER (3UL << 12)
#define TCR_T1SZ_32 (32UL << 16)
#define TCR_IRGN1_WBWA (1UL << 24)
#define TCR_ORGN1_WBWA (1UL << 26)
#define TCR_SH1_INNER (3UL << 28)
#define TCR_TG1_4K (2UL << 30)
#define SCTLR_M 1UL
#define SCTLR_C (1UL << 2)
#define SCTLR_I (1UL << 12)

void mmu_enable(u64 tcr_extra, u64 sctlr_extra) {
  mmu_map(UART_BASE, PAGE, ATTR_DEVICE);
  mmu_map(RAM_BASE, ((u64)__image_end - RAM_BASE + BLOCK - 1) & ~(BLOCK - 1), ATTR_NORMAL);
  write_sysreg(mair_el1, MAIR_VALUE);
  write_sysreg(tcr_el1, TCR_T0SZ_32 | TCR_IRGN0_WBWA | TCR_ORGN0_WBWA | TCR_SH0_INNER | TCR_T1SZ_32 |
                            TCR_IRGN1_WBWA | TCR_ORGN1_WBWA | TCR_SH1_INNER | TCR_TG1_4K | tcr_extra);
  write_sysreg(ttbr0_el1, (u64)level1);
  write_sysreg(ttbr1_el1, (u64)level1);
  dsb();
  tlb_flush();
  write_sysreg(sctlr_el1, read_sysreg(sctlr_el1) | SCTLR_M | SCTLR_C | SCTLR_I | sctlr_extra);
  isb();
}
