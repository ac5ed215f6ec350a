#pragma once
// An invariant a harness checks: aborts (libFuzzer then saves the input as a crash; the replay
// run fails) naming the broken property. assert() would vanish under NDEBUG.
#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond)                                                                      \
  do {                                                                                        \
    if (!(cond)) {                                                                            \
      std::fprintf(stderr, "fuzz invariant broken: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                                           \
    }                                                                                         \
  } while (0)
