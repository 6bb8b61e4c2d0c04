// bench-list: pointer chasing through a singly linked list of 64 K nodes of 16 bytes (one
// granule each, each with its own random tag under MTE) linked in a shuffled order across
// 1 MiB, `rounds` traversals that sum the values and bump every fourth one. See lib/bench.h.
#include "bench.h"

#define NODES 0x10000UL

struct node {
  struct node *next;
  u64 value;
};

int main(void) {
  u32 rounds = bench_start(12);
  // A random permutation (Fisher-Yates) kept in the second half of the region, untagged
  // indices: order[i] is the i-th node visited.
  u32 *order = (u32 *)(BENCH_BASE + 0x400000);
  for (u32 i = 0; i < NODES; i++) order[i] = i;
  u64 s = 0x853c49e6748fea9bUL;
  for (u32 i = NODES - 1; i > 0; i--) {
    u32 j = (u32)(xorshift64(&s) % (i + 1)), t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  struct node *nodes[2] = {0, 0}; // head, previous
  for (u32 i = 0; i < NODES; i++) {
    struct node *n = (struct node *)bench_tag(BENCH_BASE + order[i] * sizeof(struct node), sizeof(struct node));
    n->next = 0;
    n->value = order[i] * 0x9e3779b9UL;
    if (nodes[1]) nodes[1]->next = n;
    else nodes[0] = n;
    nodes[1] = n;
  }
  u64 sum = 0;
  for (u32 r = 0; r < rounds; r++) {
    u64 k = 0;
    for (struct node *n = nodes[0]; n; n = n->next, k++) {
      sum += n->value ^ k;
      if ((k & 3) == r % 4) n->value += sum >> 60;
    }
  }
  bench_finish("bench-list", rounds, sum, (u64)nodes[1]);
  return 0;
}
