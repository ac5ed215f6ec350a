// common/freed_pages: bench-reads' finding replayed. An HTTP thread that frees a few pool
// replies at once (30 KB each) has glibc trim its arena and fault the pages in again for the
// next replies; after keep_freed_pages() it faults none. Run in a fresh process (this test
// binary again, one case): mallopt's thresholds are process-wide, and glibc moves them by
// itself once a large block is freed, which earlier tests in this process may have done.
#include "node/common/freed_pages.hpp"

#include <doctest/doctest.h>
#include <sys/resource.h>

#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "support/temp_dir.hpp"
#include "support/tool_run.hpp"

namespace {

constexpr const char* kChildEnv = "RELAY_FREED_PAGES_CHILD";
// Under scripts/sanitize the sanitizer's allocator replaces glibc's: mallopt does nothing there.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kGlibcMalloc = false;
#else
constexpr bool kGlibcMalloc = true;
#endif

// On a new thread: 16 replies of 30 KB in flight (32 connections on 4 threads), written, then
// all freed; 100 times after a first round. Returns the thread's minor page faults in those.
long reply_round_faults() {
  long faults = -1;
  std::thread t([&faults] {
    auto round = [] {
      std::vector<char*> replies;
      for (int i = 0; i < 16; ++i) {
        auto* reply = static_cast<char*>(std::malloc(30 * 1024));
        std::memset(reply, 'x', 30 * 1024);
        replies.push_back(reply);
      }
      for (auto* reply : replies) std::free(reply);
    };
    round();
    rusage before{};
    getrusage(RUSAGE_THREAD, &before);
    for (int i = 0; i < 100; ++i) round();
    rusage after{};
    getrusage(RUSAGE_THREAD, &after);
    faults = after.ru_minflt - before.ru_minflt;
  });
  t.join();
  return faults;
}

}  // namespace

TEST_CASE("freed pages (child): replies freed on a thread fault in again, then no longer") {
  if (!std::getenv(kChildEnv)) return;  // runs only in the fresh process the next case starts
  CHECK(reply_round_faults() > 100);    // glibc's defaults: about 24 faults a round
  relay::node::common::keep_freed_pages();
  CHECK(reply_round_faults() == 0);
}

TEST_CASE(
    "freed pages: with keep_freed_pages, replies freed on a thread are not faulted in again") {
  if (!kGlibcMalloc) {
    MESSAGE("skipped: a sanitizer's allocator, not glibc's");
    return;
  }
  relay::test::TempDir scratch("freed-pages");
  setenv(kChildEnv, "1", 1);
  auto run = relay::test::run_tool(
      {"/proc/self/exe", "--test-case=freed pages (child)*", "--no-version"}, scratch.path);
  unsetenv(kChildEnv);
  INFO(run.out, run.err);
  CHECK(run.exit_code == 0);
  CHECK(run.out.find("assertions: 2 | 2 passed") != std::string::npos);  // both ran
}
