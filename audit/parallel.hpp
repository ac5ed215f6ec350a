#pragma once
// Splits a loop over [0, n) into small contiguous blocks that up to `threads` threads (the
// calling thread among them) take in turn, for the verifier's CPU-bound steps: strict parsing,
// leaf hashing and Ed25519 verification of independent entries. Blocks are handed out as
// threads become free, not fixed in advance, so a thread slowed down (by other load on the
// machine, or by `alongside`) leaves the others little to wait for. Blocks write only their
// own slots of the caller's output vectors, so no locking is needed.
//
// `alongside`, if given, runs once on the calling thread before it takes blocks, while the
// other threads start on them: the verifier's in-order work on the same batch, which would
// otherwise leave every other core idle. It must not touch what the blocks write.
//
// The first exception thrown by any block (or by `alongside`) is rethrown on the calling
// thread after every thread has joined; blocks not yet started are then skipped.
#include <cstddef>
#include <functional>

namespace relay::audit {

// std::thread::hardware_concurrency(), at least 1.
unsigned default_threads();

void parallel_for(std::size_t n, unsigned threads,
                  const std::function<void(std::size_t begin, std::size_t end)>& block,
                  const std::function<void()>& alongside = {});

}  // namespace relay::audit
