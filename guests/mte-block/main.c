// mte-block: the bulk tag instructions. LDGM/STGM cover 4 << GMID_EL1.BS bytes, STZGM and
// DC GVA/GZVA cover the DC ZVA block (4 << DCZID_EL0.BS bytes). The guest reads both sizes
// from the registers and prints them.
#include "probe.h"

#define B (TAGGED_BASE + 0x4000)

static void fill(u64 p, u64 bytes, u64 seed) {
  set_tco(1);
  for (u64 i = 0; i < bytes / 8; i++) ((volatile u64 *)p)[i] = seed + i;
  set_tco(0);
}

// Counts the zero words in [p, p + bytes).
static u64 zero_words(u64 p, u64 bytes) {
  u64 n = 0;
  set_tco(1);
  for (u64 i = 0; i < bytes / 8; i++) n += ((volatile u64 *)p)[i] == 0;
  set_tco(0);
  return n;
}

int main(void) {
  set_exception_handler(skip_data_aborts);
  puts("mte-block: LDGM, STGM, STZGM, DC GVA, DC GZVA\n");
  map_test_regions();
  mte_enable(SCTLR_TCF_SYNC, 0);
  u64 gmid = read_sysreg(gmid_el1), dczid = read_sysreg(dczid_el0);
  u64 gm_bytes = 4UL << (gmid & 15), zva_bytes = 4UL << (dczid & 15);
  printf("GMID_EL1 %lx: LDGM/STGM block %lu bytes (%lu granules)\n", gmid, gm_bytes, gm_bytes / 16);
  printf("DCZID_EL0 %lx: DC ZVA / STZGM / DC GVA block %lu bytes\n", dczid, zva_bytes);

  // Tags 0,1,2,...,f across the first 16 granules with STG, then read them in bulk.
  for (u64 g = 0; g < 32; g++) stg(with_tag(B + g * 16, (unsigned)g));
  print_tags("STG 0..f twice:       ", B, 32);
  for (u64 off = 0; off < 512; off += gm_bytes) printf("  ldgm [B+%03lx] = %016lx\n", off + 8, ldgm(B + off + 8));

  stgm(B + 0x24, 0x0123456789abcdefUL);
  print_tags("STGM 0x0123456789abcdef at B+0x24: ", B, 32);
  stgm(B + 0x104, 0x8765);
  print_tags("STGM 0x8765 at B+0x104:            ", B, 32);

  fill(B, 0x200, 0x1000);
  stzgm(B + 0x30, 0xa);
  print_tags("STZGM tag a at B+0x30:             ", B, 32);
  printf("  zero words in the first 0x200 bytes: %lu\n", zero_words(B, 0x200));

  fill(B, 0x200, 0x2000);
  dc_gva(with_tag(B + 0x88, 0xb));
  print_tags("DC GVA p(b)+0x88:                  ", B, 32);
  printf("  zero words: %lu\n", zero_words(B, 0x200));
  dc_gzva(with_tag(B + 0x140, 0xc));
  print_tags("DC GZVA p(c)+0x140:                ", B, 32);
  printf("  zero words: %lu\n", zero_words(B, 0x200));

  puts("Checked access after the bulk updates:\n");
  check_load("ldr [p(c)+0x140] on tag c", with_tag(B + 0x140, 0xc));
  check_load("ldr [p(b)+0x140] on tag c", with_tag(B + 0x140, 0xb));
  puts("Bulk tags on untagged memory (MAIR 0xFF):\n");
  stgm(UNTAGGED_BASE, 0x1111111111111111UL);
  printf("  stgm then ldgm = %lx\n", ldgm(UNTAGGED_BASE));
  puts("mte-block done\n");
  return 0;
}
