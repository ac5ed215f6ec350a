// services::Introducing's decision in the Writer (issue 19, 3dc466e and ac63ab2): the request
// reads and opens the local candidate on the caller's thread, and the Writer decides on the
// committed record. A candidate who leaves the regional pool, is erased, or changes their data
// after the read and before the Writer runs is never introduced on the stale read: no credit
// spent, no request listed, no mail to an old address. On the node's own parts (real LMDB,
// Writer, key slots, ledger, federation; no HTTP), with a Writer request that holds the Writer
// until the test has made the read, so the race happens every time.
#include "node/services/introducing.hpp"

#include <doctest/doctest.h>

#include <functional>
#include <future>
#include <string>
#include <vector>

#include "config/node_config.hpp"
#include "domain_fixture.hpp"
#include "node/storage/txn.hpp"

using relay::test::Domain;
using namespace relay::node;
namespace intro = relay::node::introductions;
namespace cand = relay::node::candidates;

namespace {

relay::config::NodeConfig unit_config(const std::filesystem::path& dir) {
  auto c = relay::config::default_config();
  c.node.name = "unit.relaynode";
  c.node.region = "JP-28";
  c.data_dir = dir;
  c.mail.from = "relay@unit.relaynode";
  return c;
}

// Introducing wired over a Domain as node/node.cpp wires it (no peers, no statistics).
struct Site {
  Domain d;
  relay::config::NodeConfig config = unit_config(d.dir.path);
  intro::Requisitions reqs{d.env, d.ledger, d.reference, d.clock};
  intro::Introductions intros{d.env, d.ledger, d.credits, reqs, d.clock};
  intro::LocalRequests local_requests{d.env, d.clock};
  federation::Federation federation{config, d.env, d.writer, d.keys, d.ledger};
  federation::ProfileExchange profiles{federation, d.candidates};
  federation::PoolIndex pool{federation, d.candidates, profiles, config.node.name,
                             config.node.region};
  federation::Handoffs handoffs{federation, d.candidates, profiles, std::chrono::hours(24 * 30)};
  services::SuccessForecast success{d.env, intros, d.clock, services::SuccessSettings{}};
  services::Introducing introducing{
      d.env,
      d.writer,
      d.reference,
      d.ledger,
      d.members,
      d.candidates,
      d.referrals,
      d.credits,
      reqs,
      intros,
      local_requests,
      profiles,
      pool,
      handoffs,
      success,
      d.clock,
      services::IntroducingSettings{config.node.name, config.node.region, "http://127.0.0.1:9",
                                    config.mail.from}};

  members::Member member;
  std::string requisition;

  Site() {
    member = d.admit("Hyogo Logistics KK").member;
    REQUIRE(d.write(
        [&](storage::WriteTxn& txn) { return d.credits.grant(txn, member.id, 2, "programme"); }));
    intro::RequisitionInput in;
    in.title = "Backend engineer";
    in.category = "B";
    in.required_skills = {"c++"};
    in.prefectures = {"JP-28"};
    in.employment_type = "regular";
    auto opened = d.write([&](storage::WriteTxn& txn) { return reqs.open(txn, member.id, in); });
    REQUIRE(opened);
    requisition = opened.value().id;
  }

  // A confirmed local candidate consenting to the region (as confirmation leaves one).
  cand::CandidateRecord candidate(const std::string& email) {
    cand::Registration reg;
    reg.personal = {"Sato Hanako", email, ""};
    reg.profile = {"B", {"c++", "lmdb"}, "JP-28", "25-34", "3-5", {"backend engineer"}};
    reg.consent = {true, false, false, "test-1", d.clock.now_ms()};
    return d.write([&](storage::WriteTxn& txn) {
      auto r = d.candidates.create(txn, reg, d.candidates.pseudonym_of(email));
      r.status = cand::Status::active;
      d.candidates.save(txn, r);
      profiles.candidate_changed(txn, r);
      return r;
    });
  }

  // Introduces the candidate behind ref while `change` runs in the Writer request before it:
  // the introduction's read is made after the Writer took `change` and before `change` writes.
  common::Result<intro::Introduction, services::IntroduceError> introduce_while(
      const std::string& ref, std::function<void(storage::WriteTxn&)> change) {
    std::promise<void> started;
    std::promise<void> release;
    auto released = release.get_future().share();
    auto held = d.writer.submit([&, released](storage::WriteTxn& txn) {
      started.set_value();
      released.wait();
      change(txn);
      return 0;
    });
    started.get_future().wait();
    auto outcome = introducing.begin_introduce(member, requisition, config.node.name, ref, {});
    release.set_value();
    CHECK(held.get() == 0);
    return outcome();
  }

  std::int64_t balance() {
    auto txn = d.env.begin_read();
    return d.credits.account(txn, member.id).balance();
  }

  // The addresses of the mails queued for the candidate, oldest first.
  std::vector<std::string> mailed_to(const std::string& candidate_id) {
    std::vector<std::string> out;
    auto txn = d.env.begin_read();
    for (const auto& q : d.candidates.queued_mail(txn, 1000))
      if (q.candidate_id == candidate_id) out.push_back(q.mail.to);
    return out;
  }

  std::size_t requests_for(const std::string& candidate_id) {
    auto txn = d.env.begin_read();
    return local_requests.for_candidate(txn, candidate_id).size();
  }

  // Refused as not in the pool, with nothing of it left: no credit spent (both granted are
  // there), no introduction, no request listed, no mail.
  void check_not_introduced(
      const common::Result<intro::Introduction, services::IntroduceError>& done,
      const std::string& candidate_id) {
    REQUIRE_FALSE(done);
    CHECK(done.error() == services::IntroduceError::not_in_pool);
    CHECK(balance() == 2);
    CHECK(requests_for(candidate_id) == 0);
    CHECK(mailed_to(candidate_id).empty());
    auto txn = d.env.begin_read();
    CHECK(intros.page(txn, member.id, 1000, "")->records.empty());
  }
};

}  // namespace

TEST_SUITE_BEGIN("node");

TEST_CASE(
    "introducing: a local introduction spends a credit, lists the request, mails the "
    "candidate") {
  Site s;
  auto c = s.candidate("sato@example.jp");
  auto done = s.introduce_while(s.profiles.ref_of(c.id), [](storage::WriteTxn&) {});
  REQUIRE(done);
  CHECK(done.value().state == intro::IntroductionState::requested);
  CHECK(s.balance() == 1);
  CHECK(s.requests_for(c.id) == 1);
  CHECK(s.mailed_to(c.id) == std::vector<std::string>{"sato@example.jp"});
}

TEST_CASE(
    "introducing: a candidate who withdraws consent to the region after the read is not "
    "introduced") {
  Site s;
  auto c = s.candidate("sato@example.jp");
  auto done = s.introduce_while(s.profiles.ref_of(c.id), [&](storage::WriteTxn& txn) {
    auto r = s.d.candidates.find(txn, c.id);
    r->consent.region = false;
    s.d.candidates.save(txn, *r);
    s.profiles.candidate_changed(txn, *r);
  });
  s.check_not_introduced(done, c.id);
}

TEST_CASE("introducing: a candidate erased after the read is not introduced") {
  Site s;
  auto c = s.candidate("sato@example.jp");
  auto done = s.introduce_while(s.profiles.ref_of(c.id), [&](storage::WriteTxn& txn) {
    auto r = s.d.candidates.find(txn, c.id);
    s.d.candidates.erase(txn, *r);
  });
  s.check_not_introduced(done, c.id);
}

TEST_CASE(
    "introducing: a candidate who changes their address after the read is mailed at the "
    "new one") {
  Site s;
  auto c = s.candidate("sato@example.jp");
  auto done = s.introduce_while(s.profiles.ref_of(c.id), [&](storage::WriteTxn& txn) {
    auto r = s.d.candidates.find(txn, c.id);
    auto opened = s.d.candidates.open(*r);
    REQUIRE(opened);
    opened->personal.email = "hanako.sato@example.jp";
    s.d.candidates.update_data(txn, *r, opened->personal, opened->profile);
  });
  REQUIRE(done);
  CHECK(s.balance() == 1);
  CHECK(s.requests_for(c.id) == 1);
  // Only the introduction's mail: the change itself mails nothing here.
  CHECK(s.mailed_to(c.id) == std::vector<std::string>{"hanako.sato@example.jp"});
}

TEST_SUITE_END();
