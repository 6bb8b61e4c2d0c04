/* mte-test: tagvm's own check of MTE as a Linux user program sees it. Every line it prints
 * is the same on every run and every correct machine: addresses appear only as offsets from
 * the buffer they belong to, random tags only through properties that always hold.
 * Exits 0 when every check holds. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mte-user.h"

#define PAGE 4096UL
#define INCLUDE_NONZERO 0xfffeUL /* every tag but 0, as the kernel's documentation suggests */

static int checks, failures;

/* One check: "ok" and what was observed, or "FAIL", what was observed and what was due. */
static void check(int ok, const char *name, const char *expected, const char *fmt, ...) {
  char observed[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(observed, sizeof observed, fmt, ap);
  va_end(ap);
  checks++;
  if (ok) {
    printf("mte-test: ok   %s: %s\n", name, observed);
  } else {
    failures++;
    printf("mte-test: FAIL %s: %s (expected %s)\n", name, observed, expected);
  }
}

static void note(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  printf("mte-test: ");
  vprintf(fmt, ap);
  printf("\n");
  va_end(ap);
}

/* ------------------------------------------------------------- catching faults */

static sigjmp_buf fault_jump;
static volatile sig_atomic_t fault_expected, fault_taken;
static volatile int fault_code;
static volatile uintptr_t fault_addr;

static void on_segv(int sig, siginfo_t *si, void *context) {
  (void)sig;
  (void)context;
  fault_code = si->si_code;
  fault_addr = (uintptr_t)si->si_addr;
  fault_taken = 1;
  if (fault_expected) siglongjmp(fault_jump, 1);
  static const char msg[] = "mte-test: FAIL unexpected SIGSEGV\n";
  if (write(1, msg, sizeof msg - 1) < 0) _exit(3);
  _exit(3);
}

static void install_segv_handler(int expose_tag_bits) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_segv;
  sa.sa_flags = SA_SIGINFO | (expose_tag_bits ? SA_EXPOSE_TAGBITS : 0);
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGSEGV, &sa, NULL) != 0) {
    perror("sigaction");
    exit(1);
  }
}

/* Runs body; afterwards fault_taken, fault_code and fault_addr say whether a SIGSEGV came
 * (body is abandoned at the fault). A statement expression so body sees the caller's
 * variables; sigsetjmp must be called in the frame that stays live. */
#define TRY(body)                                  \
  do {                                             \
    fault_taken = 0;                               \
    fault_code = 0;                                \
    fault_addr = 0;                                \
    fault_expected = 1;                            \
    if (sigsetjmp(fault_jump, 1) == 0) { body; }   \
    fault_expected = 0;                            \
  } while (0)

static const char *code_name(int code) {
  switch (code) {
    case SEGV_MTESERR: return "SEGV_MTESERR";
    case SEGV_MTEAERR: return "SEGV_MTEAERR";
    case SEGV_MAPERR: return "SEGV_MAPERR";
    case SEGV_ACCERR: return "SEGV_ACCERR";
    default: return "another si_code";
  }
}

/* si_addr described relative to the buffer it falls in, so the text does not vary. */
static const char *describe_addr(char *out, size_t n, uintptr_t addr, const void *base,
                                 const char *base_name) {
  uintptr_t b = untagged(base);
  if (addr == 0) {
    snprintf(out, n, "0");
  } else if (untagged((void *)addr) >= b && untagged((void *)addr) < b + 4 * PAGE) {
    snprintf(out, n, "%s+0x%lx, tag %u, bits 63:60 = %lu", base_name,
             (unsigned long)(untagged((void *)addr) - b), tag_of((void *)addr),
             (unsigned long)(addr >> 60));
  } else {
    snprintf(out, n, "outside %s", base_name);
  }
  return out;
}

/* ----------------------------------------------------------------- helpers */

static int set_ctrl(unsigned long tcf, unsigned long include) {
  return prctl(PR_SET_TAGGED_ADDR_CTRL, PR_TAGGED_ADDR_ENABLE | tcf | (include << PR_MTE_TAG_SHIFT),
               0, 0, 0);
}

static void tag_range(void *p, size_t len, unsigned tag) {
  for (size_t off = 0; off < len; off += MTE_GRANULE) mte_stg(with_tag((char *)p + off, tag));
}

static int vmflags_have_mt(const void *addr) {
  FILE *f = fopen("/proc/self/smaps", "r");
  if (!f) return -1;
  char line[512];
  int inside = 0, found = -1;
  uintptr_t a = untagged(addr);
  while (fgets(line, sizeof line, f)) {
    unsigned long lo, hi;
    if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' ')) {
      inside = a >= lo && a < hi;
    } else if (inside && strncmp(line, "VmFlags:", 8) == 0) {
      found = strstr(line, " mt") != NULL;
      break;
    }
  }
  fclose(f);
  return found;
}

/* Writes value to each CPU's mte_tcf_preferred; the first CPU's old value goes to old. */
static int set_preferred_mode(const char *value, char *old, size_t old_len) {
  DIR *d = opendir("/sys/devices/system/cpu");
  if (!d) return -1;
  struct dirent *e;
  int written = 0, failed = 0;
  while ((e = readdir(d))) {
    if (strncmp(e->d_name, "cpu", 3) != 0 || e->d_name[3] < '0' || e->d_name[3] > '9') continue;
    char path[300];
    snprintf(path, sizeof path, "/sys/devices/system/cpu/%s/mte_tcf_preferred", e->d_name);
    if (old && !written) {
      FILE *r = fopen(path, "r");
      if (r) {
        if (!fgets(old, (int)old_len, r)) old[0] = 0;
        old[strcspn(old, "\n")] = 0;
        fclose(r);
      }
    }
    int fd = open(path, O_WRONLY);
    if (fd < 0 || write(fd, value, strlen(value)) < 0) failed = 1;
    if (fd >= 0) close(fd);
    written++;
  }
  closedir(d);
  return failed || !written ? -1 : 0;
}

static void kernel_entry(void) {
  /* Any entry from EL0 makes the kernel look at TFSRE0_EL1 for an asynchronous fault. */
  syscall(SYS_getppid);
}

/* ------------------------------------------------------------------- checks */

int main(void) {
  char a1[128], a2[128];
  setvbuf(stdout, NULL, _IOLBF, 0);
  note("start");

  unsigned long hwcap2 = getauxval(AT_HWCAP2);
  int have_mte3 = (hwcap2 & HWCAP2_MTE3) != 0;
  check((hwcap2 & HWCAP2_MTE) != 0, "HWCAP2_MTE", "present", "%s",
        hwcap2 & HWCAP2_MTE ? "present" : "absent");
  if (!(hwcap2 & HWCAP2_MTE)) {
    note("no MTE: nothing else to check");
    note("done: %d checks, %d failed", checks, failures);
    return 1;
  }
  note("HWCAP2_MTE3 (asymmetric mode): %s", have_mte3 ? "present" : "absent");

  /* prctl: synchronous mode, every non-zero tag allowed for IRG. */
  int r = set_ctrl(PR_MTE_TCF_SYNC, INCLUDE_NONZERO);
  long got = prctl(PR_GET_TAGGED_ADDR_CTRL, 0, 0, 0, 0);
  check(r == 0 && got == 0x7fff3, "prctl sync, include 0xfffe", "set 0, get 0x7fff3",
        "set %d, get 0x%lx", r, got);

  install_segv_handler(1);

  char *buf = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE | PROT_MTE, MAP_PRIVATE | MAP_ANONYMOUS,
                   -1, 0);
  check(buf != MAP_FAILED, "mmap PROT_MTE", "a mapping", "%s",
        buf != MAP_FAILED ? "a mapping" : strerror(errno));
  if (buf == MAP_FAILED) return 1;
  check(vmflags_have_mt(buf) == 1, "smaps VmFlags", "mt", "%s",
        vmflags_have_mt(buf) == 1 ? "mt" : "no mt");

  int nonzero = 0;
  for (size_t off = 0; off < 4 * PAGE; off += MTE_GRANULE) nonzero += mte_ldg(buf + off) != 0;
  check(nonzero == 0, "fresh PROT_MTE pages", "every tag 0", "%d of 1024 granules tagged non-zero",
        nonzero);

  /* PROT_MTE added later by mprotect; without it tags read as 0 and are not checked. */
  char *plain = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  mte_stg(with_tag(plain, 5));
  unsigned plain_tag = mte_ldg(plain);
  TRY(*(volatile char *)with_tag(plain, 9) = 1);
  check(plain_tag == 0 && !fault_taken, "memory without PROT_MTE",
        "STG ignored, LDG 0, no check", "LDG after STG 5 gives %u, access with tag 9 %s", plain_tag,
        fault_taken ? "faulted" : "does not fault");
  r = mprotect(plain, PAGE, PROT_READ | PROT_WRITE | PROT_MTE);
  mte_stg(with_tag(plain, 5));
  check(r == 0 && mte_ldg(plain) == 5 && vmflags_have_mt(plain) == 1, "mprotect PROT_MTE",
        "0, tag 5 kept, mt", "%d, LDG after STG 5 gives %u, %s", r, mte_ldg(plain),
        vmflags_have_mt(plain) == 1 ? "mt" : "no mt");

  /* IRG: random, but never an excluded tag. */
  unsigned seen = 0, zeros = 0;
  for (int i = 0; i < 1000; i++) {
    unsigned t = tag_of(mte_irg(buf, 0));
    seen |= 1u << t;
    zeros += t == 0;
  }
  check(zeros == 0 && seen == 0xfffe, "IRG x1000, include 0xfffe", "tags 1-15 all seen, never 0",
        "tags seen 0x%04x, %u zeros", seen, zeros);
  int all5 = 1;
  for (int i = 0; i < 100; i++) all5 &= tag_of(mte_irg(buf, 0xffff & ~(1u << 5))) == 5;
  check(all5, "IRG x100, register excludes all but 5", "always 5", "%s", all5 ? "always 5" : "not always 5");
  set_ctrl(PR_MTE_TCF_SYNC, 1UL << 3);
  int all3 = 1;
  for (int i = 0; i < 100; i++) all3 &= tag_of(mte_irg(buf, 0)) == 3;
  check(all3, "IRG x100, prctl include 0x0008", "always 3", "%s", all3 ? "always 3" : "not always 3");
  set_ctrl(PR_MTE_TCF_SYNC, 0);
  int all0 = 1;
  for (int i = 0; i < 100; i++) all0 &= tag_of(mte_irg(buf, 0)) == 0;
  check(all0, "IRG x100, prctl include 0x0000", "always 0", "%s", all0 ? "always 0" : "not always 0");
  set_ctrl(PR_MTE_TCF_SYNC, INCLUDE_NONZERO);

  /* STG, ST2G, STZG, STGP and LDG. */
  int round_trip = 1;
  for (unsigned t = 0; t < 16; t++) mte_stg(with_tag(buf + t * MTE_GRANULE, t));
  for (unsigned t = 0; t < 16; t++) round_trip &= mte_ldg(buf + t * MTE_GRANULE) == t;
  check(round_trip, "STG then LDG, tags 0-15 on 16 granules", "each read back", "%s",
        round_trip ? "each read back" : "a tag differs");
  mte_st2g(with_tag(buf + 16 * MTE_GRANULE, 0xa));
  check(mte_ldg(buf + 16 * MTE_GRANULE) == 0xa && mte_ldg(buf + 17 * MTE_GRANULE) == 0xa, "ST2G",
        "tags 10 10", "tags %u %u", mte_ldg(buf + 16 * MTE_GRANULE), mte_ldg(buf + 17 * MTE_GRANULE));
  memset(buf + 18 * MTE_GRANULE, 0xff, MTE_GRANULE); /* tag 0, untagged pointer: matches */
  mte_stzg(with_tag(buf + 18 * MTE_GRANULE, 0xc));
  volatile uint64_t *z = with_tag(buf + 18 * MTE_GRANULE, 0xc);
  check(mte_ldg(z) == 0xc && z[0] == 0 && z[1] == 0, "STZG", "tag 12, data zero",
        "tag %u, data 0x%lx 0x%lx", mte_ldg(z), (unsigned long)z[0], (unsigned long)z[1]);
  mte_stgp(with_tag(buf + 19 * MTE_GRANULE, 6), 0x1111222233334444UL, 0x5555666677778888UL);
  volatile uint64_t *g = with_tag(buf + 19 * MTE_GRANULE, 6);
  check(mte_ldg(g) == 6 && g[0] == 0x1111222233334444UL && g[1] == 0x5555666677778888UL, "STGP",
        "tag 6 and both words", "tag %u, data 0x%lx 0x%lx", mte_ldg(g), (unsigned long)g[0],
        (unsigned long)g[1]);

  volatile uint64_t *match = with_tag(buf + 5 * MTE_GRANULE, 5);
  TRY(match[0] = 0xabcdef; match[1] = match[0] + 1);
  check(!fault_taken && match[1] == 0xabcdf0, "store and load with the matching tag",
        "no fault, data kept", "%s", fault_taken ? "faulted" : "no fault, data kept");

  /* A use-after-free: a 64-byte object tagged 3, freed and retagged 7 by its allocator,
   * then used through the stale pointer. */
  char *obj = buf + PAGE;
  tag_range(obj, 64, 3);
  volatile uint64_t *stale = with_tag(obj, 3);
  stale[2] = 0x0b1ec7;
  tag_range(obj, 64, 7);
  volatile uint64_t sink = 0;
  TRY(sink = stale[2]);
  (void)sink;
  check(fault_taken && fault_code == SEGV_MTESERR, "use-after-free load (sync)",
        "SIGSEGV SEGV_MTESERR", "%s %s", fault_taken ? "SIGSEGV" : "no signal", code_name(fault_code));
  check(fault_addr == (uintptr_t)&stale[2], "  its si_addr (SA_EXPOSE_TAGBITS)",
        "object+0x10, tag 3, bits 63:60 = 0", "%s",
        describe_addr(a1, sizeof a1, fault_addr, obj, "object"));
  TRY(stale[3] = 0xbad);
  volatile uint64_t *fresh = with_tag(obj, 7);
  check(fault_taken && fault_code == SEGV_MTESERR && fault_addr == (uintptr_t)&stale[3] &&
            fresh[3] == 0,
        "use-after-free store (sync)", "SEGV_MTESERR at object+0x18, memory unchanged",
        "%s at %s, memory %s", code_name(fault_code),
        describe_addr(a1, sizeof a1, fault_addr, obj, "object"),
        fresh[3] == 0 ? "unchanged" : "written");
  install_segv_handler(0);
  TRY(sink = stale[2]);
  check(fault_taken && fault_code == SEGV_MTESERR && fault_addr == untagged(&stale[2]),
        "use-after-free load, handler without SA_EXPOSE_TAGBITS",
        "SEGV_MTESERR at object+0x10, tag 0, bits 63:60 = 0", "%s at %s", code_name(fault_code),
        describe_addr(a1, sizeof a1, fault_addr, obj, "object"));
  install_segv_handler(1);

  /* An out-of-bounds write: a 32-byte object tagged 4 next to one tagged 9. */
  char *a = buf + 2 * PAGE, *b = a + 32;
  tag_range(a, 32, 4);
  tag_range(b, 32, 9);
  volatile uint64_t *pa = with_tag(a, 4), *pb = with_tag(b, 9);
  pb[0] = 0x5a5a5a5a5a5a5a5aUL;
  TRY(pa[4] = 0x0123456789UL); /* a + 32: the first word of b */
  check(fault_taken && fault_code == SEGV_MTESERR && fault_addr == (uintptr_t)&pa[4] &&
            pb[0] == 0x5a5a5a5a5a5a5a5aUL,
        "out-of-bounds store (sync)", "SEGV_MTESERR at a+0x20 with tag 4, neighbour unchanged",
        "%s at %s, neighbour %s", code_name(fault_code),
        describe_addr(a1, sizeof a1, fault_addr, a, "a"),
        pb[0] == 0x5a5a5a5a5a5a5a5aUL ? "unchanged" : "overwritten");
  TRY(sink = pa[5]);
  check(fault_taken && fault_code == SEGV_MTESERR && fault_addr == (uintptr_t)&pa[5],
        "out-of-bounds load (sync)", "SEGV_MTESERR at a+0x28 with tag 4", "%s at %s",
        code_name(fault_code), describe_addr(a1, sizeof a1, fault_addr, a, "a"));

  /* The kernel checks its own accesses to user memory in sync mode: a system call given a
   * pointer with the wrong tag fails with EFAULT instead of a signal. */
  int pipefd[2];
  if (pipe(pipefd) != 0) return 1;
  errno = 0;
  ssize_t w = write(pipefd[1], (const void *)&stale[0], 16);
  int werr = errno;
  check(w == -1 && werr == EFAULT, "write(2) from a stale pointer (sync)", "-1 EFAULT", "%zd %s",
        w, w == -1 ? strerrorname_np(werr) : "");
  w = write(pipefd[1], (const void *)fresh, 16);
  check(w == 16, "write(2) from the matching pointer", "16", "%zd", w);
  close(pipefd[0]);
  close(pipefd[1]);

  /* Asynchronous mode: the store happens; the fault is reported at the next kernel entry
   * as SEGV_MTEAERR with no address. */
  r = set_ctrl(PR_MTE_TCF_ASYNC, INCLUDE_NONZERO);
  got = prctl(PR_GET_TAGGED_ADDR_CTRL, 0, 0, 0, 0);
  check(r == 0 && got == 0x7fff5, "prctl async", "set 0, get 0x7fff5", "set %d, get 0x%lx", r, got);
  fresh[4] = 0;
  TRY(stale[4] = 0xa5a5; kernel_entry());
  check(fault_taken && fault_code == SEGV_MTEAERR && fault_addr == 0 && fresh[4] == 0xa5a5,
        "use-after-free store (async)", "SEGV_MTEAERR, si_addr 0, the store done",
        "%s %s, si_addr %s, the store %s", fault_taken ? "SIGSEGV" : "no signal",
        code_name(fault_code), describe_addr(a1, sizeof a1, fault_addr, obj, "object"),
        fresh[4] == 0xa5a5 ? "done" : "not done");

  /* Asymmetric mode (FEAT_MTE3): loads fault synchronously, stores asynchronously. The kernel
   * selects it when the task asks for sync and async and the CPU's preferred mode is asymm. */
  if (have_mte3) {
    char old_pref[32] = "";
    if (set_preferred_mode("asymm", old_pref, sizeof old_pref) != 0) {
      note("asymmetric mode: skipped (cannot write mte_tcf_preferred; run as root)");
    } else {
      r = set_ctrl(PR_MTE_TCF_SYNC | PR_MTE_TCF_ASYNC, INCLUDE_NONZERO);
      got = prctl(PR_GET_TAGGED_ADDR_CTRL, 0, 0, 0, 0);
      check(r == 0 && got == 0x7fff7, "prctl sync|async, preferred asymm", "set 0, get 0x7fff7",
            "set %d, get 0x%lx", r, got);
      TRY(sink = stale[5]);
      check(fault_taken && fault_code == SEGV_MTESERR && fault_addr == (uintptr_t)&stale[5],
            "use-after-free load (asymmetric)", "SEGV_MTESERR at object+0x28 with tag 3",
            "%s at %s", code_name(fault_code), describe_addr(a1, sizeof a1, fault_addr, obj, "object"));
      fresh[6] = 0;
      TRY(stale[6] = 0x5a5a; kernel_entry());
      check(fault_taken && fault_code == SEGV_MTEAERR && fault_addr == 0 && fresh[6] == 0x5a5a,
            "use-after-free store (asymmetric)", "SEGV_MTEAERR, si_addr 0, the store done",
            "%s, si_addr %s, the store %s", code_name(fault_code),
            describe_addr(a2, sizeof a2, fault_addr, obj, "object"),
            fresh[6] == 0x5a5a ? "done" : "not done");
      set_preferred_mode(old_pref[0] ? old_pref : "async", NULL, 0);
    }
  }

  /* No checking: tagged pointers are still allowed, mismatches are ignored. */
  set_ctrl(PR_MTE_TCF_NONE, INCLUDE_NONZERO);
  TRY(sink = stale[7]; stale[7] = 0x77; kernel_entry());
  check(!fault_taken && fresh[7] == 0x77, "use-after-free with PR_MTE_TCF_NONE",
        "no fault, the store done", "%s, the store %s", fault_taken ? "a fault" : "no fault",
        fresh[7] == 0x77 ? "done" : "not done");
  set_ctrl(PR_MTE_TCF_SYNC, INCLUDE_NONZERO);

  /* fork: the child has the parent's tags and its tag-check mode. */
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    int ok = mte_ldg(obj) == 7 && mte_ldg(a) == 4 && mte_ldg(b) == 9;
    TRY(sink = stale[0]);
    _exit(ok && fault_taken && fault_code == SEGV_MTESERR ? 0 : 1);
  }
  int wstatus = 0;
  waitpid(pid, &wstatus, 0);
  check(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0, "fork (private mapping)",
        "the child sees the tags and faults the same", "%s",
        WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0 ? "the child sees the tags and faults the same"
                                                       : "the child disagrees");

  /* A shared mapping: a tag the child stores is the parent's too. */
  char *shared = mmap(NULL, PAGE, PROT_READ | PROT_WRITE | PROT_MTE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  fflush(stdout);
  pid = fork();
  if (pid == 0) {
    mte_stg(with_tag(shared + 32, 0xb));
    _exit(0);
  }
  waitpid(pid, &wstatus, 0);
  check(shared != MAP_FAILED && mte_ldg(shared + 32) == 0xb, "MAP_SHARED|MAP_ANONYMOUS PROT_MTE",
        "the child's tag 11 seen", "tag %u seen", shared != MAP_FAILED ? mte_ldg(shared + 32) : 99);

  /* memfd (shmem) can be mapped PROT_MTE. */
  int mfd = memfd_create("tagvm-mte", 0);
  char *mem = MAP_FAILED;
  if (mfd >= 0 && ftruncate(mfd, PAGE) == 0)
    mem = mmap(NULL, PAGE, PROT_READ | PROT_WRITE | PROT_MTE, MAP_SHARED, mfd, 0);
  if (mem != MAP_FAILED) mte_stg(with_tag(mem, 0xd));
  check(mem != MAP_FAILED && mte_ldg(mem) == 0xd, "memfd mmap PROT_MTE", "mapped, tag 13 kept",
        "%s", mem == MAP_FAILED ? strerror(errno) : mte_ldg(mem) == 0xd ? "mapped, tag 13 kept" : "tag lost");

  note("done: %d checks, %d failed", checks, failures);
  return failures ? 1 : 0;
}
