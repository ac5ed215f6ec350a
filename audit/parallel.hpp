#pragma once
// Splits a loop over [0, n) into contiguous blocks run on up to `threads` threads (the calling
// thread takes one block), for the verifier's CPU-bound steps: strict parsing, leaf hashing
// and Ed25519 verification of independent entries. Blocks write only their own slots of the
// caller's output vectors, so no locking is needed.
//
// The first exception thrown by any block is rethrown on the calling thread after every
// thread has joined.
#include <cstddef>
#include <functional>

namespace relay::audit {

// std::thread::hardware_concurrency(), at least 1.
unsigned default_threads();

void parallel_for(std::size_t n, unsigned threads,
                  const std::function<void(std::size_t begin, std::size_t end)>& block);

}  // namespace relay::audit
