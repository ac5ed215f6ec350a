#pragma once
// Names unique to one test run, for members, candidates' e-mail addresses and directories that
// live in shared nodes (a second run or a second case must not collide with the first).
#include <string>

namespace relay::test {

// stem + "-" + the process id + "-" + a counter: unique per run and per call. Thread-safe.
std::string unique(const std::string& stem);

}  // namespace relay::test
