// Registrations and confirmations share group commits (issue 19): the HTTP handler queues its
// write and answers once it is durable (http::Later) instead of holding its thread, so with
// one HTTP thread many requests in flight still land in one fsync. Before, one thread meant
// one registration per commit. The same holds for the public "lost your link?" form
// (/r/link). Replayed on a real relay-node process with http.threads = 1:
// the writer's counters come from /metrics, the mails from the spool, the credits from the
// member API, and relay-audit verifies the ledger afterwards.
#include <doctest/doctest.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "support/names.hpp"
#include "support/node_process.hpp"

using namespace relay::test;

namespace {

// relay_writer_commits_total and relay_writer_requests_total from /metrics.
struct WriterCounters {
  std::uint64_t commits = 0;
  std::uint64_t requests = 0;
};

std::uint64_t metric(const std::string& text, const std::string& name) {
  auto at = text.find("\n" + name + " ");
  REQUIRE_MESSAGE(at != std::string::npos, name << " missing from /metrics");
  return std::stoull(text.substr(at + name.size() + 2));
}

WriterCounters writer_counters(const NodeProcess& node) {
  auto reply = node.get("/metrics", node.auditor_token());
  REQUIRE(reply.status == 200);
  return {metric(reply.body, "relay_writer_commits_total"),
          metric(reply.body, "relay_writer_requests_total")};
}

// Runs `each(i)` for i in [0, n) on n threads released together.
template <class F>
void all_at_once(int n, F each) {
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i)
    threads.emplace_back([&, i] {
      ++ready;
      while (!go.load()) std::this_thread::yield();
      each(i);
    });
  while (ready.load() < n) std::this_thread::yield();
  go = true;
  for (auto& t : threads) t.join();
}

}  // namespace

TEST_CASE("intake: with one HTTP thread, concurrent registrations and confirmations share fsyncs") {
  constexpr int kCandidates = 40;
  auto o = options("batch.relaynode", "JP-28");
  o.configure = [](nlohmann::json& c) {
    c["http"]["threads"] = 1;
    c["limits"]["per_link"]["requests"] = 0;
  };
  NodeProcess node(o);
  auto member = node.admit_member("Batch KK");

  std::vector<TestCandidate> people;
  for (int i = 0; i < kCandidates; ++i) {
    auto tag = unique("batch" + std::to_string(i));
    people.push_back({"山田 " + tag, tag + "@example.jp", {}});
  }

  auto before = writer_counters(node);
  std::vector<HttpReply> registered(kCandidates);
  all_at_once(kCandidates, [&](int i) {
    registered[i] = node.submit_registration(member.relay_link, people[i]);
  });
  auto after = writer_counters(node);
  for (int i = 0; i < kCandidates; ++i) {
    CHECK_MESSAGE(registered[i].status == 200, registered[i].error);
    CHECK(registered[i].redirected_to.rfind("/r/sent", 0) == 0);
  }
  // One thread, one registration per commit, was the old floor: every commit now carries more.
  CHECK(after.requests - before.requests >= kCandidates);
  CHECK(after.commits - before.commits < kCandidates);
  MESSAGE("registrations: " << kCandidates << " in " << after.commits - before.commits
                            << " commits");

  // Every acknowledged registration has its confirmation mail.
  std::vector<std::string> verify(kCandidates);
  for (int i = 0; i < kCandidates; ++i) {
    auto links = node.wait_mail_links(people[i].email, "/r/v/", 1);
    REQUIRE_MESSAGE(links.size() == 1, people[i].email);
    verify[i] = path_of(links.front());
  }

  before = writer_counters(node);
  std::vector<HttpReply> confirmed(kCandidates);
  all_at_once(kCandidates, [&](int i) { confirmed[i] = node.request("POST", verify[i]); });
  after = writer_counters(node);
  for (int i = 0; i < kCandidates; ++i) {
    CHECK_MESSAGE(confirmed[i].status == 200, confirmed[i].error);
    CHECK(confirmed[i].redirected_to.rfind("/r/m/", 0) == 0);
  }
  CHECK(after.commits - before.commits < kCandidates);
  MESSAGE("confirmations: " << kCandidates << " in " << after.commits - before.commits
                            << " commits");

  // "Lost your link?" is public too: its requests wait for their commit the same way, so 40
  // at once share fsyncs on the one thread (it held the thread for its commit before), and
  // each person gets their management link again.
  before = writer_counters(node);
  std::vector<HttpReply> reminded(kCandidates);
  all_at_once(kCandidates, [&](int i) {
    reminded[i] = node.post_form("/r/link", {{"email", people[i].email}});
  });
  after = writer_counters(node);
  for (int i = 0; i < kCandidates; ++i)
    CHECK_MESSAGE(reminded[i].redirected_to == "/r/link/sent", reminded[i].error);
  CHECK(after.requests - before.requests >= kCandidates);
  CHECK(after.commits - before.commits < kCandidates);
  MESSAGE("link reminders: " << kCandidates << " in " << after.commits - before.commits
                             << " commits");
  for (int i = 0; i < kCandidates; ++i)
    CHECK_MESSAGE(node.wait_mail_links(people[i].email, "/r/m/", 2).size() == 2, people[i].email);

  // Confirmed twice: the second answers as already confirmed, and changes nothing.
  auto ledger = node.ledger_size();
  auto again = node.request("POST", verify.front());
  CHECK(again.status == 200);
  CHECK(again.body.find("確認済みです") != std::string::npos);
  CHECK(node.ledger_size() == ledger);

  // 40 verified referrals: 4 credits minted, and the ledger verifies.
  auto credits = member_credits(node, member);
  CHECK(credits["verified_referrals"] == kCandidates);
  CHECK(credits["credits_minted"] == kCandidates / 10);
  CHECK(credits["balance"] == kCandidates / 10);
  CHECK(audit_verify(node) == 0);

  // kill -9 right after: everything acknowledged is still there.
  node.kill9();
  node.start();
  CHECK(member_credits(node, member)["verified_referrals"] == kCandidates);
}
