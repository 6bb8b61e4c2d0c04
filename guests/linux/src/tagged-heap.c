/* tagged-heap: a large PROT_MTE heap whose every granule carries a known tag and known data,
 * checked again and again, for snapshot, restore and migration tests.
 *
 *   tagged-heap [--size MIB] [--passes N] [--churn] [--wait] [--untagged]
 *
 * --size    heap size in MiB (default 256)
 * --passes  check passes after the fill (default 3); 0 = until SIGINT, SIGTERM or SIGUSR1,
 *           which end the run after the pass under way
 * --churn   after each pass, retag and rewrite a sixteenth of the pages (pass p rewrites
 *           the pages whose index is p mod 16), so the heap keeps getting dirty
 * --wait    after the fill, print a marker and wait for a line on standard input (the
 *           console) before checking: a test saves or migrates the guest while it waits,
 *           and the newline it types on the other side proves the console works there
 * --untagged the same heap and data without PROT_MTE (no tags: benchmarks compare the two)
 *
 * Granule g of generation n has tag mix(g, n) & 15 and data words mix(g, n) and
 * ~mix(g, n) ^ g. A pass reads every tag with LDG and every word through a pointer with the
 * expected tag (synchronous tag checking stays on, so a wrong tag that LDG missed would still
 * fault). Output is deterministic: offsets, not addresses, except in a mismatch report.
 * Exit status: 0 intact, 1 mismatch, 2 a tag check fault, 3 bad arguments or no memory. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mte-user.h"

#define PAGE 4096UL
#define GRANULES_PER_PAGE (PAGE / MTE_GRANULE)
#define CHURN_PERIOD 16

static volatile sig_atomic_t stop_signal;
static char *heap;
/* 0 with --untagged: plain stores and loads, every tag 0. */
static int tagged = 1;

static void on_stop(int sig) { stop_signal = sig; }

static void on_segv(int sig, siginfo_t *si, void *context) {
  (void)sig;
  (void)context;
  char line[160];
  uintptr_t addr = (uintptr_t)si->si_addr;
  int n = snprintf(line, sizeof line,
                   "heap: TAG CHECK FAULT (si_code %d) at offset 0x%lx (address 0x%lx)\n",
                   si->si_code, (unsigned long)(untagged((void *)addr) - untagged(heap)),
                   (unsigned long)addr);
  if (write(1, line, (size_t)n) < 0) _exit(2);
  _exit(2);
}

/* splitmix64's finaliser over the granule index and its generation. */
static inline uint64_t mix(uint64_t granule, uint64_t generation) {
  uint64_t z = granule + generation * 0x9e3779b97f4a7c15UL + 0x7461677668656170UL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9UL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebUL;
  return z ^ (z >> 31);
}

/* How many times page p has been rewritten once `passes` passes have churned. */
static inline uint64_t generation_of(uint64_t page, uint64_t passes, int churn) {
  if (!churn) return 0;
  uint64_t r = page % CHURN_PERIOD;
  if (r == 0) return passes / CHURN_PERIOD;
  return passes >= r ? (passes - r) / CHURN_PERIOD + 1 : 0;
}

static void write_page(uint64_t page, uint64_t generation) {
  for (uint64_t i = 0; i < GRANULES_PER_PAGE; i++) {
    uint64_t g = page * GRANULES_PER_PAGE + i;
    uint64_t h = mix(g, generation);
    if (tagged) {
      mte_stgp(with_tag(heap + g * MTE_GRANULE, (unsigned)(h & 15)), h, ~h ^ g);
    } else {
      uint64_t *words = (uint64_t *)(heap + g * MTE_GRANULE);
      words[0] = h;
      words[1] = ~h ^ g;
    }
  }
}

/* Checks every granule; reports the first mismatch and returns 0, or returns 1. */
static int check_heap(uint64_t pages, uint64_t passes_done, int churn, uint64_t pass) {
  for (uint64_t page = 0; page < pages; page++) {
    uint64_t generation = generation_of(page, passes_done, churn);
    for (uint64_t i = 0; i < GRANULES_PER_PAGE; i++) {
      uint64_t g = page * GRANULES_PER_PAGE + i;
      uint64_t h = mix(g, generation);
      unsigned want_tag = tagged ? (unsigned)(h & 15) : 0;
      char *p = heap + g * MTE_GRANULE;
      unsigned tag = tagged ? mte_ldg(p) : 0;
      if (tag != want_tag) {
        printf("heap: MISMATCH in pass %lu at offset 0x%lx (granule %lu, address %p): "
               "tag expected %u found %u\n",
               (unsigned long)pass, (unsigned long)(g * MTE_GRANULE), (unsigned long)g, (void *)p,
               want_tag, tag);
        return 0;
      }
      const volatile uint64_t *words = with_tag(p, want_tag);
      uint64_t w0 = words[0], w1 = words[1];
      if (w0 != h || w1 != (~h ^ g)) {
        int second = w0 == h;
        printf("heap: MISMATCH in pass %lu at offset 0x%lx (granule %lu, address %p): "
               "data expected 0x%016lx found 0x%016lx\n",
               (unsigned long)pass, (unsigned long)(g * MTE_GRANULE + (second ? 8 : 0)),
               (unsigned long)g, (void *)(p + (second ? 8 : 0)),
               (unsigned long)(second ? ~h ^ g : h), (unsigned long)(second ? w1 : w0));
        return 0;
      }
    }
  }
  return 1;
}

static int usage(void) {
  fprintf(stderr, "usage: tagged-heap [--size MIB] [--passes N (0 = until signal)] [--churn] [--wait] [--untagged]\n");
  return 3;
}

int main(int argc, char **argv) {
  unsigned long size_mib = 256, passes = 3;
  int churn = 0, wait = 0;
  for (int i = 1; i < argc; i++) {
    char *end;
    if (strcmp(argv[i], "--churn") == 0) {
      churn = 1;
    } else if (strcmp(argv[i], "--wait") == 0) {
      wait = 1;
    } else if (strcmp(argv[i], "--untagged") == 0) {
      tagged = 0;
    } else if ((strcmp(argv[i], "--size") == 0 || strcmp(argv[i], "--passes") == 0) && i + 1 < argc) {
      errno = 0;
      unsigned long v = strtoul(argv[i + 1], &end, 10);
      if (errno || *end || end == argv[i + 1]) return usage();
      if (argv[i][2] == 's') size_mib = v;
      else passes = v;
      i++;
    } else {
      return usage();
    }
  }
  if (size_mib == 0 || size_mib > (1UL << 20)) return usage();
  setvbuf(stdout, NULL, _IOLBF, 0);

  if (tagged && !(getauxval(AT_HWCAP2) & HWCAP2_MTE)) {
    printf("heap: no MTE (HWCAP2_MTE absent)\n");
    return 3;
  }
  if (prctl(PR_SET_TAGGED_ADDR_CTRL,
            PR_TAGGED_ADDR_ENABLE | PR_MTE_TCF_SYNC | (0xfffeUL << PR_MTE_TAG_SHIFT), 0, 0, 0)) {
    printf("heap: prctl(PR_SET_TAGGED_ADDR_CTRL) failed: %s\n", strerror(errno));
    return 3;
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_segv;
  sa.sa_flags = SA_SIGINFO | SA_EXPOSE_TAGBITS;
  sigaction(SIGSEGV, &sa, NULL);
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stop;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGUSR1, &sa, NULL);

  uint64_t bytes = (uint64_t)size_mib << 20, pages = bytes / PAGE;
  heap = mmap(NULL, bytes, PROT_READ | PROT_WRITE | (tagged ? PROT_MTE : 0), MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (heap == MAP_FAILED) {
    printf("heap: mmap of %lu MiB with PROT_MTE failed: %s\n", size_mib, strerror(errno));
    return 3;
  }
  for (uint64_t page = 0; page < pages; page++) write_page(page, 0);
  char planned[32] = "until signal";
  if (passes) snprintf(planned, sizeof planned, "%lu", passes);
  printf("heap: ready: %lu MiB, %lu granules %s, pattern tagvm-heap-1, churn %s, passes %s\n",
         size_mib, (unsigned long)(bytes / MTE_GRANULE), tagged ? "tagged" : "untagged", churn ? "on" : "off", planned);
  if (wait) {
    char line[64];
    printf("heap: waiting for a line on standard input before checking\n");
    if (!fgets(line, sizeof line, stdin)) {
      printf("heap: standard input ended while waiting\n");
      return 3;
    }
    /* A short sleep: only the timer interrupt ends it, so it shows timers fire after a move. */
    struct timespec t0, t1, nap = {0, 20 * 1000 * 1000};
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (nanosleep(&nap, &nap) && errno == EINTR) {
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long slept_ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    if (slept_ms < 20) {
      printf("heap: a 20 ms sleep ended after %ld ms: the monotonic clock went wrong\n", slept_ms);
      return 1;
    }
    printf("heap: line received, slept 20 ms, checking\n");
  }

  uint64_t done = 0;
  while (passes == 0 || done < passes) {
    if (!check_heap(pages, done, churn, done + 1)) return 1;
    done++;
    printf("heap: pass %lu: %lu granules, every tag and byte as written\n", (unsigned long)done,
           (unsigned long)(bytes / MTE_GRANULE));
    if (churn) {
      uint64_t rewritten = 0;
      for (uint64_t page = done % CHURN_PERIOD; page < pages; page += CHURN_PERIOD) {
        write_page(page, generation_of(page, done, churn));
        rewritten++;
      }
      printf("heap: pass %lu: rewrote %lu pages with new tags and data\n", (unsigned long)done,
             (unsigned long)rewritten);
    }
    if (stop_signal) {
      printf("heap: stopped by signal %d\n", (int)stop_signal);
      break;
    }
  }
  printf("heap intact: %lu passes, %lu MiB, every tag and byte as written\n", (unsigned long)done,
         size_mib);
  return 0;
}
