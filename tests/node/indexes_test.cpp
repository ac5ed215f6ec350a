// Indexes on request paths (issue 19): a member's handoffs (handoffs_by_member) and their live
// one for a candidate (handoffs_by_candidate, Handoffs::request), the outbox's drops on
// withdrawal and a peer's sender pass (outbox_index) and the witness status (cosigned_by); and
// the retention sweep's, once a second (handoffs_expiring); one kind of operator alert
// (alerts_by_kind).
// Each is checked against the whole-database scan it replaced, on a real LMDB store with many
// records written the way an older node wrote them (no index), then indexed by the start-up
// migration.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "node/common/key_encoding.hpp"
#include "node/federation/witness.hpp"
#include "node/storage/index_marks.hpp"
#include "protocol/event.hpp"
#include "support/federation_site.hpp"

using relay::test::FederationSite;
namespace cand = relay::node::candidates;
namespace fed = relay::node::federation;
namespace st = relay::node::storage;

namespace {

// The scan for_member used to be: every handoff, the member's, stable-sorted by created_ms.
std::vector<std::string> scanned_for_member(FederationSite& site, const std::string& member) {
  std::vector<fed::Handoff> out;
  auto db = site.env.database("handoffs");
  auto txn = site.env.begin_read();
  txn.for_each_prefix(db, "", [&](std::string_view, std::string_view value) {
    auto h = fed::Handoff::from_stored(nlohmann::json::parse(value));
    if (h.member == member) out.push_back(h);
  });
  std::stable_sort(out.begin(), out.end(), [](const fed::Handoff& a, const fed::Handoff& b) {
    return a.created_ms < b.created_ms;
  });
  std::vector<std::string> ids;
  for (const auto& h : out) ids.push_back(h.id);
  return ids;
}

// A handoff as an older node stored it (the caller sets its state and times): ref i, asked by
// one of 30 members.
fed::Handoff stored_handoff(std::mt19937& rng, int i) {
  fed::Handoff h;
  h.id = "h_" + relay::crypto::random_token(12);
  h.member = "m_member" + std::to_string(rng() % 30);
  h.company = "Company";
  h.peer = "osaka.example";
  h.ref = "p_ref" + std::to_string(i);
  return h;
}

std::vector<std::string> indexed_for_member(FederationSite& site, const std::string& member) {
  auto txn = site.env.begin_read();
  std::vector<std::string> ids;
  auto page = site.handoffs.page_for_member(txn, member, 1'000'000, "");
  for (const auto& h : page->records) ids.push_back(h.id);
  return ids;
}

}  // namespace

TEST_SUITE_BEGIN("indexes");

TEST_CASE("handoffs_by_member: for_member equals the old scan, after the migration of old data") {
  FederationSite site{"kobe.example", "JP-28"};
  // 3000 handoffs as an older node stored them (no index): 30 members, created_ms with ties.
  std::mt19937 rng(19);
  {
    auto db = site.env.database("handoffs");
    auto txn = site.env.begin_write();
    for (int i = 0; i < 3000; ++i) {
      auto h = stored_handoff(rng, i);
      h.created_ms = 1'700'000'000'000 + static_cast<std::int64_t>(rng() % 500);
      h.updated_ms = h.created_ms;
      txn.put(db, h.id, h.to_stored().dump());
    }
    txn.commit();
  }
  CHECK(indexed_for_member(site, "m_member3").empty());  // not indexed yet
  auto indexed =
      site.writer.submit_wait([&](st::WriteTxn& txn) { return site.handoffs.index_existing(txn); });
  CHECK(indexed == 2 * 3000);  // by member and by candidate (none expiring)
  // Once per data directory.
  CHECK(site.writer.submit_wait(
            [&](st::WriteTxn& txn) { return site.handoffs.index_existing(txn); }) == 0);
  std::size_t total = 0;
  for (int m = 0; m < 31; ++m) {
    auto member = "m_member" + std::to_string(m);
    auto expected = scanned_for_member(site, member);
    CHECK(indexed_for_member(site, member) == expected);
    total += expected.size();
  }
  CHECK(total == 3000);
  CHECK(indexed_for_member(site, "m_member").empty());  // a prefix of other ids is no member

  // Pages of 7, each after the last of the one before, are the whole list in turn (ties in
  // created_ms included); `after` must be one of the member's own handoffs.
  auto txn = site.env.begin_read();
  for (const std::string member : {"m_member3", "m_member17"}) {
    const auto all = indexed_for_member(site, member);
    REQUIRE(all.size() > 14);
    std::vector<std::string> walked;
    std::string after;
    for (;;) {
      auto page = site.handoffs.page_for_member(txn, member, 7, after);
      REQUIRE(page);
      CHECK(page->records.size() <= 7);
      CHECK(page->total == all.size());  // the member's own, on every page
      for (const auto& h : page->records) walked.push_back(h.id);
      CHECK(page->more == (walked.size() < all.size()));
      if (!page->more) break;
      after = page->records.back().id;
    }
    CHECK(walked == all);
    // Newest first: the same list backwards, page after page.
    std::vector<std::string> backwards;
    after.clear();
    for (;;) {
      auto page = site.handoffs.page_for_member(txn, member, 7, after, true);
      REQUIRE(page);
      CHECK(page->total == all.size());
      for (const auto& h : page->records) backwards.push_back(h.id);
      if (!page->more) break;
      after = page->records.back().id;
    }
    CHECK(backwards == std::vector<std::string>(all.rbegin(), all.rend()));
  }
  const auto theirs = indexed_for_member(site, "m_member17").front();
  CHECK_FALSE(site.handoffs.page_for_member(txn, "m_member3", 7, theirs));
  CHECK_FALSE(site.handoffs.page_for_member(txn, "m_member3", 7, "h_no_such_handoff"));
}

// Asking for a candidate again returns the member's live handoff for it. That check read every
// handoff of the member, parsed, in the Writer; now it reads the member's handoffs for that
// candidate (handoffs_by_candidate), which older data directories get built once.
TEST_CASE("handoffs_by_candidate: a request finds the live handoff, after the migration") {
  FederationSite kobe{"kobe.example", "JP-28"};
  FederationSite osaka{"osaka.example", "JP-27"};
  kobe.peer_with(osaka);
  osaka.peer_with(kobe);
  std::vector<std::string> refs;
  for (int i = 0; i < 3; ++i) {
    auto c = osaka.add_candidate("候補 " + std::to_string(i),
                                 "c" + std::to_string(i) + "@example.jp", true);
    refs.push_back(osaka.profiles.ref_of(c.id));
  }
  osaka.deliver();
  kobe.deliver();
  relay::node::members::Member member{"m_member3", "Kobe Steel KK", true, 0, "link", ""};
  // As an older node stored them (no index): 2000 handoffs of the member for other candidates,
  // then a live one for refs[0], a declined one for refs[1] and another member's for refs[2].
  std::mt19937 rng(23);
  std::string live_id;
  {
    auto db = kobe.env.database("handoffs");
    auto txn = kobe.env.begin_write();
    auto put = [&](fed::Handoff h, const std::string& member_id, const std::string& ref,
                   fed::HandoffState state) {
      h.member = member_id;
      h.ref = ref;
      h.state = state;
      h.created_ms = h.updated_ms = 1'700'000'000'000;
      txn.put(db, h.id, h.to_stored().dump());
      return h.id;
    };
    for (int i = 0; i < 2000; ++i)
      put(stored_handoff(rng, i), member.id, "p_other" + std::to_string(i),
          fed::HandoffState::requested);
    live_id = put(stored_handoff(rng, 0), member.id, refs[0], fed::HandoffState::awaiting_consent);
    put(stored_handoff(rng, 0), member.id, refs[1], fed::HandoffState::declined);
    put(stored_handoff(rng, 0), "m_member4", refs[2], fed::HandoffState::requested);
    txn.commit();
  }
  CHECK(kobe.writer.submit_wait([&](st::WriteTxn& txn) {
    return kobe.handoffs.index_existing(txn);
  }) == 2 * 2003);  // by member and by candidate; none expiring
  auto ask = [&](const std::string& ref) {
    return kobe.writer.submit_wait([&](st::WriteTxn& txn) {
      return kobe.handoffs.request(txn, member, "osaka.example", ref);
    });
  };
  auto again = ask(refs[0]);
  REQUIRE(again.handoff);
  CHECK_FALSE(again.created);
  CHECK(again.handoff->id == live_id);
  auto after_decline = ask(refs[1]);  // a declined handoff is not live: a new one
  REQUIRE(after_decline.handoff);
  CHECK(after_decline.created);
  auto not_theirs = ask(refs[2]);  // another member's is not this member's
  REQUIRE(not_theirs.handoff);
  CHECK(not_theirs.created);
  // The new ones are indexed as they are made.
  CHECK(ask(refs[1]).handoff->id == after_decline.handoff->id);
  CHECK(ask(refs[2]).handoff->id == not_theirs.handoff->id);
  CHECK_FALSE(ask(refs[2]).created);
  // The two new ones, asked for in the same millisecond, list in the order they were made.
  auto txn = kobe.env.begin_read();
  auto newest = kobe.handoffs.page_for_member(txn, member.id, 2, "", true);
  REQUIRE(newest);
  REQUIRE(newest->records.size() == 2);
  CHECK(newest->records[0].id == not_theirs.handoff->id);
  CHECK(newest->records[1].id == after_decline.handoff->id);
}

TEST_CASE(
    "handoffs_expiring: due_for_expiry equals the old scan, after the migration of old data") {
  FederationSite site{"kobe.example", "JP-28"};
  const std::int64_t t0 = 1'700'000'000'000;
  // 2000 handoffs as an older node stored them (no index): every state, delivered ones with
  // expiry times (ties included) or a hire, expired and erased ones keeping their expires_ms.
  std::mt19937 rng(23);
  const fed::HandoffState states[] = {
      fed::HandoffState::requested, fed::HandoffState::awaiting_consent,
      fed::HandoffState::delivered, fed::HandoffState::delivered,
      fed::HandoffState::expired,   fed::HandoffState::erased};
  auto db = site.env.database("handoffs");
  {
    auto txn = site.env.begin_write();
    for (int i = 0; i < 2000; ++i) {
      auto h = stored_handoff(rng, i);
      h.state = states[rng() % std::size(states)];
      h.created_ms = h.updated_ms = t0;
      if (h.state != fed::HandoffState::requested &&
          h.state != fed::HandoffState::awaiting_consent) {
        h.candidate = "c_received" + std::to_string(i);
        h.delivered_ms = t0;
        h.expires_ms = t0 + static_cast<std::int64_t>(rng() % 1000);
        if (h.state == fed::HandoffState::delivered && rng() % 5 == 0) {
          h.hired = true;
          h.expires_ms.reset();
        }
      }
      txn.put(db, h.id, h.to_stored().dump());
    }
    txn.commit();
  }
  // What the sweep read before: every handoff, parsed, filtered.
  auto scanned = [&](std::int64_t now) {
    std::set<std::string> ids;
    auto txn = site.env.begin_read();
    txn.for_each_prefix(db, "", [&](std::string_view, std::string_view value) {
      auto h = fed::Handoff::from_stored(nlohmann::json::parse(value));
      if (h.state == fed::HandoffState::delivered && !h.hired && h.expires_ms &&
          *h.expires_ms <= now)
        ids.insert(h.id);
    });
    return ids;
  };
  auto due = [&](std::int64_t now) {
    auto txn = site.env.begin_read();
    auto list = site.handoffs.due_for_expiry(txn, now);
    CHECK(std::is_sorted(list.begin(), list.end(), [](const auto& a, const auto& b) {
      return *a.expires_ms < *b.expires_ms;
    }));
    std::set<std::string> ids;
    for (const auto& h : list) ids.insert(h.id);
    CHECK(ids.size() == list.size());
    return ids;
  };
  CHECK(due(t0 + 1000).empty());  // not indexed yet
  auto written =
      site.writer.submit_wait([&](st::WriteTxn& txn) { return site.handoffs.index_existing(txn); });
  const auto all_due = scanned(t0 + 1000);
  CHECK(all_due.size() > 200);
  CHECK(written == 2 * 2000 + all_due.size());  // member, candidate and expiry indexes
  for (std::int64_t now : {t0 - 1, t0, t0 + 1, t0 + 250, t0 + 500, t0 + 999, t0 + 5000})
    CHECK(due(now) == scanned(now));
  // Once per data directory.
  CHECK(site.writer.submit_wait(
            [&](st::WriteTxn& txn) { return site.handoffs.index_existing(txn); }) == 0);
}

TEST_CASE("handoffs_by_member: a new handoff is indexed in its own request") {
  FederationSite a{"kobe.example", "JP-28"};
  FederationSite b{"osaka.example", "JP-27"};
  a.peer_with(b);
  b.peer_with(a);
  auto c1 = b.add_candidate("山田 花子", "hanako@example.jp", true);
  auto c2 = b.add_candidate("田中 太郎", "taro@example.jp", true);
  b.deliver();
  relay::node::members::Member member{"m_test", "Kobe Steel KK", true, 0, "link", ""};
  for (const auto& c : {c1, c2}) {
    a.clock.advance(std::chrono::milliseconds(5));
    auto r = a.writer.submit_wait([&](st::WriteTxn& txn) {
      return a.handoffs.request(txn, member, "osaka.example", b.profiles.ref_of(c.id));
    });
    REQUIRE(r.created);
  }
  auto ids = indexed_for_member(a, "m_test");
  CHECK(ids.size() == 2);
  CHECK(ids == scanned_for_member(a, "m_test"));
  // The migration over a store whose handoffs are all indexed already changes nothing.
  a.writer.submit_wait([&](st::WriteTxn& txn) { return a.handoffs.index_existing(txn); });
  CHECK(indexed_for_member(a, "m_test") == ids);
}

TEST_CASE("outbox_index: drop and drop_about equal the old scans, after the migration") {
  FederationSite site{"kobe.example", "JP-28"};
  const auto upsert = std::string(relay::protocol::ProfileUpsert::type);
  // 2000 queued messages: profile.upserts about 200 refs to 4 peers, and other messages.
  std::vector<std::string> ids;
  site.writer.submit_wait([&](st::WriteTxn& txn) {
    for (int i = 0; i < 2000; ++i) {
      auto ref = "p_ref" + std::to_string(i % 200);
      auto peer = "peer" + std::to_string(i % 4);
      auto type = i % 3 == 0 ? std::string("handoff.deliver") : upsert;
      ids.push_back(site.federation.outbox().enqueue(
          txn, peer, type,
          [&](const std::string&) {
            return nlohmann::json{{"ref", ref}};
          },
          "", type == upsert ? ref : ""));
    }
  });
  // Make it an older node's outbox: no index, no subject on the entries, no mark.
  {
    auto outbox = site.env.database("outbox");
    auto txn = site.env.begin_write();
    std::vector<std::pair<std::string, std::string>> rewritten;
    txn.for_each_prefix(outbox, "", [&](std::string_view key, std::string_view value) {
      auto j = nlohmann::json::parse(value);
      j.erase("subject");
      rewritten.emplace_back(std::string(key), j.dump());
    });
    for (const auto& [k, v] : rewritten) txn.put(outbox, k, v);
    txn.clear(site.env.database("outbox_index"));
    txn.clear(site.env.database(st::kIndexMarks));
    txn.commit();
  }
  // One upsert about p_ref7 failed: drops leave failed entries alone, as before.
  auto entries = site.outbox();
  auto failed = *std::find_if(entries.begin(), entries.end(), [&](const fed::OutboxEntry& e) {
    return e.type == upsert && e.body.value("ref", "") == "p_ref7";
  });
  failed.state = fed::OutboxState::failed;
  site.writer.submit_wait([&](st::WriteTxn& txn) { site.federation.outbox().update(txn, failed); });

  auto indexed = site.writer.submit_wait([&](st::WriteTxn& txn) {
    return site.federation.outbox().index_existing(txn, fed::ProfileExchange::outbox_subject);
  });
  CHECK(indexed == 2000);
  // A peer's sender pass reads that peer's entries only (p/<peer>/ in outbox_index) and finds
  // what a scan of the whole outbox finds, in the same order.
  {
    auto txn = site.env.begin_read();
    for (const std::string peer : {"peer0", "peer3", "nobody"}) {
      std::vector<std::string> expected, got;
      for (const auto& e : site.federation.outbox().all(txn))
        if (e.peer == peer && e.state == fed::OutboxState::pending) expected.push_back(e.id);
      for (const auto& e : site.federation.outbox().due_for(txn, peer, site.clock.now_ms(), 100000))
        got.push_back(e.id);
      CHECK(got == expected);
      CHECK(got.size() ==
            (peer == "nobody" ? 0u : (peer == "peer0" ? 500u : 499u)));  // peer3: one failed
    }
  }

  // The old drop_if predicates, applied to the outbox as it stands, name what must go.
  auto expect_left = [&](const std::function<bool(const fed::OutboxEntry&)>& dropped) {
    std::vector<std::string> left;
    for (const auto& e : site.outbox())
      if (!(e.state == fed::OutboxState::pending && dropped(e))) left.push_back(e.id);
    return left;
  };
  auto left_ids = [&] {
    std::vector<std::string> left;
    for (const auto& e : site.outbox()) left.push_back(e.id);
    return left;
  };
  for (const auto& ref : {"p_ref7", "p_ref8", "p_ref150", "p_none"}) {
    auto expected = expect_left([&](const fed::OutboxEntry& e) {
      return e.type == upsert && e.body.is_object() && e.body.value("ref", "") == ref;
    });
    auto before = site.outbox().size();
    auto n = site.writer.submit_wait(
        [&](st::WriteTxn& txn) { return site.federation.outbox().drop_about(txn, upsert, ref); });
    CHECK(left_ids() == expected);
    CHECK(n == before - expected.size());
  }
  CHECK(left_ids().size() < 2000);
  auto left = left_ids();
  CHECK(std::count(left.begin(), left.end(), failed.id) == 1);
  // By message id: a pending one goes; one already gone, or a failed one, does not.
  auto drop = [&](const std::string& id) {
    return site.writer.submit_wait(
        [&](st::WriteTxn& txn) { return site.federation.outbox().drop(txn, id); });
  };
  auto expected = expect_left([&](const fed::OutboxEntry& e) { return e.id == ids[999]; });
  CHECK(drop(ids[999]));
  CHECK_FALSE(drop(ids[999]));
  CHECK_FALSE(drop(failed.id));
  CHECK_FALSE(drop("msg_unknown"));
  CHECK(left_ids() == expected);
  // Entries that leave the outbox (delivered) take their index keys with them.
  site.writer.submit_wait([&](st::WriteTxn& txn) {
    for (const auto& e : site.federation.outbox().all(txn))
      site.federation.outbox().remove(txn, e.key);
  });
  auto txn = site.env.begin_read();
  CHECK(txn.count(site.env.database("outbox_index")) == 0);
}

TEST_CASE("cosigned_by: the witness status names each peer's latest cosigned size") {
  FederationSite a{"kobe.example", "JP-28"};
  FederationSite b{"osaka.example", "JP-27"};
  FederationSite c{"nagoya.example", "JP-23"};
  a.peer_with(b);
  a.peer_with(c);
  fed::Witness witness(a.federation);
  // 5000 cosignature lines as an older node stored them: osaka cosigned every size up to
  // 4000, nagoya only up to 1000 (the old status walked back through every later line). The
  // status signs our checkpoint at the latest cosigned size: the ledger has that many entries.
  a.writer.submit_wait([&](st::WriteTxn& txn) {
    while (a.ledger.size(txn) < 4000)
      a.ledger.append(txn, relay::protocol::member_suspended("m_x"));
  });
  {
    auto db = a.env.database("cosignatures");
    auto txn = a.env.begin_write();
    for (std::uint64_t size = 1; size <= 4000; ++size) {
      txn.put(db, relay::node::common::be64(size) + "osaka.example", "— osaka.example x\n");
      if (size <= 1000)
        txn.put(db, relay::node::common::be64(size) + "nagoya.example", "— nagoya.example x\n");
    }
    txn.commit();
  }
  auto sizes = [&] {
    auto txn = a.env.begin_read();
    std::map<std::string, nlohmann::json> out;
    auto status = witness.status(txn);
    for (const auto& p : status.at("peers"))
      out[p.at("peer").get<std::string>()] = p.at("cosigned_size");
    return out;
  };
  CHECK(sizes()["osaka.example"].is_null());  // not indexed yet
  CHECK(a.writer.submit_wait([&](st::WriteTxn& txn) { return witness.index_existing(txn); }) == 2);
  CHECK(a.writer.submit_wait([&](st::WriteTxn& txn) { return witness.index_existing(txn); }) == 0);
  auto s = sizes();
  CHECK(s["osaka.example"] == 4000);
  CHECK(s["nagoya.example"] == 1000);
}

TEST_CASE("alerts_by_kind: a page of one kind, either way, equals the whole list's, built once") {
  FederationSite site{"kobe.example", "JP-28"};
  // Kinds where one is the start of another ("erasure", "erasure_overdue"), a second apart.
  const std::vector<std::string> kinds = {"erasure_overdue", "erasure", "delivery_refused",
                                          "erasure_overdue", "erasure", "erasure_overdue",
                                          "mail_given_up",   "erasure", "erasure_overdue"};
  site.writer.submit_wait([&](st::WriteTxn& txn) {
    for (std::size_t i = 0; i < kinds.size(); ++i) {
      site.clock.advance(std::chrono::seconds(1));
      site.federation.raise_alert(txn, kinds[i], "", "alert " + std::to_string(i));
    }
  });
  auto read = [&](fed::AlertQuery q) {
    auto txn = site.env.begin_read();
    return site.federation.alerts().read(txn, q);
  };
  auto ids = [](const std::vector<nlohmann::json>& alerts) {
    std::vector<std::string> out;
    for (const auto& a : alerts) out.push_back(a.at("id").get<std::string>());
    return out;
  };
  const auto all = read({});
  REQUIRE(all);
  REQUIRE(all->alerts.size() == kinds.size());
  CHECK_FALSE(all->more);
  // Every page of `limit`, following the last one shown, in either order and of any kind,
  // joins up to the whole list's alerts of that kind in that order.
  auto walk = [&](const std::string& kind, bool newest_first, std::size_t limit) {
    std::vector<std::string> out;
    fed::AlertQuery q{kind, "", limit, newest_first};
    for (;;) {
      auto page = read(q);
      REQUIRE(page);
      CHECK(page->alerts.size() <= limit);
      for (auto& id : ids(page->alerts)) out.push_back(id);
      if (!page->more) return out;
      q.after = out.back();
    }
  };
  for (const std::string kind : {"", "erasure", "erasure_overdue", "delivery_refused", "none"}) {
    std::vector<std::string> expected;
    for (std::size_t i = 0; i < kinds.size(); ++i)
      if (kind.empty() || kinds[i] == kind)
        expected.push_back(all->alerts[i].at("id").get<std::string>());
    std::vector<std::string> backwards(expected.rbegin(), expected.rend());
    for (std::size_t limit : {1, 2, 3, 100}) {
      CHECK_MESSAGE(walk(kind, false, limit) == expected, kind << " " << limit);
      CHECK_MESSAGE(walk(kind, true, limit) == backwards, kind << " " << limit);
    }
  }
  // `after` must be an alert (of that kind).
  const auto overdue_id = all->alerts[0].at("id").get<std::string>();
  CHECK_FALSE(read({"", "zz", 5, true}));
  CHECK_FALSE(read({"", "00", 5, true}));
  CHECK_FALSE(read({"erasure", overdue_id, 5, true}));  // an erasure_overdue one
  CHECK(read({"erasure_overdue", overdue_id, 5, true}));
  // An older data directory: no kind index, no mark; the start-up build indexes every alert.
  site.writer.submit_wait([&](st::WriteTxn& txn) {
    txn.clear(site.env.database("alerts_by_kind"));
    txn.clear(site.env.database(st::kIndexMarks));
  });
  CHECK(read({"erasure", "", 100, false})->alerts.empty());
  CHECK(site.writer.submit_wait([&](st::WriteTxn& txn) {
    return site.federation.alerts().index_existing(txn);
  }) == kinds.size());
  CHECK(walk("erasure", true, 2).size() == 3);
  CHECK(walk("erasure_overdue", false, 2).size() == 4);
  CHECK(site.writer.submit_wait(
            [&](st::WriteTxn& txn) { return site.federation.alerts().index_existing(txn); }) == 0);
}

TEST_SUITE_END();

// The dispatcher's look for peers with something due, and the operator's per-peer counts, as
// they were computed before the due index and the counts: by reading the whole outbox.
std::set<std::string> scanned_peers_with_due(FederationSite& site, std::int64_t now_ms) {
  std::set<std::string> out;
  auto txn = site.env.begin_read();
  for (const auto& e : site.federation.outbox().all(txn))
    if (e.state == fed::OutboxState::pending && e.next_ms <= now_ms) out.insert(e.peer);
  return out;
}

std::map<std::string, std::string> scanned_delivery(FederationSite& site, std::int64_t now_ms,
                                                    std::int64_t give_up_after_ms) {
  std::map<std::string, fed::PeerDelivery> out;
  auto txn = site.env.begin_read();
  for (const auto& e : site.federation.outbox().all(txn)) {
    auto& d = out[e.peer];
    if (e.state == fed::OutboxState::pending) {
      ++d.queued;
      if (now_ms - e.created_ms > give_up_after_ms / 2) ++d.at_risk;
      if (!d.oldest_queued_ms || e.created_ms < *d.oldest_queued_ms)
        d.oldest_queued_ms = e.created_ms;
    } else if (e.state == fed::OutboxState::failed) {
      ++d.refused;
    } else {
      ++d.undelivered;
    }
  }
  std::map<std::string, std::string> text;
  for (const auto& [peer, d] : out) text[peer] = d.to_json().dump();
  return text;
}

std::map<std::string, std::string> indexed_delivery(FederationSite& site, std::int64_t now_ms,
                                                    std::int64_t give_up_after_ms) {
  auto txn = site.env.begin_read();
  std::map<std::string, std::string> text;
  for (const auto& [peer, d] :
       site.federation.outbox().delivery(txn, now_ms, std::chrono::milliseconds(give_up_after_ms)))
    text[peer] = d.to_json().dump();
  return text;
}

TEST_CASE(
    "outbox due index and counts: peers with something due and the per-peer view equal the "
    "old scans, through retries, refusals, give-ups and deliveries, and after the migration") {
  FederationSite site{"kobe.example", "JP-28"};
  auto& outbox = site.federation.outbox();
  const auto t0 = site.clock.now_ms();
  // 600 messages to 5 peers, created a second apart.
  for (int i = 0; i < 600; ++i) {
    site.writer.submit_wait([&](st::WriteTxn& txn) {
      outbox.enqueue(txn, "peer" + std::to_string(i % 5), "ping",
                     [](const std::string&) { return nlohmann::json::object(); });
    });
    site.clock.advance(std::chrono::seconds(1));
  }
  // peer0's all back off an hour, peer1's every other one; peer2 refuses a few; peer3's
  // first 40 are given up; every tenth of peer4's is delivered (leaves the outbox).
  site.writer.submit_wait([&](st::WriteTxn& txn) {
    int n = 0;
    for (auto e : outbox.all(txn)) {
      ++n;
      if (e.peer == "peer0" || (e.peer == "peer1" && n % 2 == 0)) {
        e.attempts = 3;
        e.next_ms = site.clock.now_ms() + 3'600'000;
        outbox.update(txn, e);
      } else if (e.peer == "peer2" && n % 7 == 0) {
        e.state = fed::OutboxState::failed;
        outbox.update(txn, e);
      } else if (e.peer == "peer3" && n <= 200) {
        outbox.give_up(txn, e, "no answer");
      } else if (e.peer == "peer4" && n % 10 == 0) {
        outbox.remove(txn, e.key);
      }
    }
  });
  const std::int64_t horizon = 600'000;  // at risk after 300 s
  auto agree = [&] {
    for (auto now : {t0 - 1, t0 + 100'000, site.clock.now_ms(), site.clock.now_ms() + 3'600'001}) {
      auto txn = site.env.begin_read();
      CHECK(outbox.peers_with_due(txn, now) == scanned_peers_with_due(site, now));
      CHECK(indexed_delivery(site, now, horizon) == scanned_delivery(site, now, horizon));
    }
  };
  agree();
  {
    auto txn = site.env.begin_read();
    CHECK(outbox.peers_with_due(txn, site.clock.now_ms()) ==
          std::set<std::string>{"peer1", "peer2", "peer3", "peer4"});
  }

  // An older data directory: no due index, no counts, no mark for them; built at start-up.
  site.writer.submit_wait([&](st::WriteTxn& txn) {
    auto index = site.env.database("outbox_index");
    txn.del_prefix(index, "n/");
    txn.del_prefix(index, "c/");
    txn.del(site.env.database(st::kIndexMarks), "outbox_due_index");
  });
  {
    auto txn = site.env.begin_read();
    CHECK(outbox.peers_with_due(txn, site.clock.now_ms()).empty());
  }
  site.writer.submit_wait([&](st::WriteTxn& txn) {
    return outbox.index_existing(txn, fed::ProfileExchange::outbox_subject);
  });
  agree();

  // Everything delivered: nothing is due, and only the given-up entries are counted.
  site.writer.submit_wait([&](st::WriteTxn& txn) {
    for (const auto& e : outbox.all(txn))
      if (e.state != fed::OutboxState::undelivered) outbox.remove(txn, e.key);
  });
  agree();
  auto txn = site.env.begin_read();
  auto view = outbox.delivery(txn, site.clock.now_ms(), std::chrono::milliseconds(horizon));
  REQUIRE(view.size() == 1);
  CHECK(view.at("peer3").undelivered == 40);
  CHECK(view.at("peer3").queued == 0);
}

TEST_CASE(
    "candidates_awaiting_receipt: holds exactly the records with an erasure request neither "
    "receipted nor overdue, and is built once for an older data directory") {
  FederationSite site{"kobe.example", "JP-28"};
  // 30 received records stand in for candidates; a third get a disclosure and an erasure
  // request, of which some are then receipted and some marked overdue.
  std::vector<std::string> waiting;
  site.writer.submit_wait([&](st::WriteTxn& txn) {
    for (int i = 0; i < 30; ++i) {
      cand::Opened data{{"候補", "c" + std::to_string(i) + "@example.jp", ""},
                        {"B", {"c++"}, "JP-28", "25-34", "3-5", {}}};
      auto r = site.store.create_received(txn, "osaka.example", data, "{}",
                                          {false, false, false, "v1", 1},
                                          {"h_in" + std::to_string(i), "m_1", 2});
      if (i % 3 != 0) continue;
      auto handoff = "h_" + std::to_string(i);
      r.add_disclosure({handoff, "Co", "nagoya.example", "JP-23", 1, "v1", "", std::nullopt});
      r.request_erasure(site.clock.now_ms());
      if (i % 9 == 3) r.confirm_erasure(handoff, "nagoya.example", 2, "sig", "erased");
      if (i % 9 == 6) r.mark_erasure_overdue(handoff, "nagoya.example");
      if (i % 9 == 0) waiting.push_back(r.id);
      site.store.save(txn, r);
    }
  });
  auto ids = [&] {
    auto txn = site.env.begin_read();
    std::vector<std::string> out;
    for (const auto& r : site.store.awaiting_receipt(txn)) out.push_back(r.id);
    return out;
  };
  std::sort(waiting.begin(), waiting.end());
  CHECK(waiting.size() == 4);  // i = 0, 9, 18, 27
  CHECK(ids() == waiting);

  // An older data directory: no index and no mark; the start-up build finds the same records.
  site.writer.submit_wait([&](st::WriteTxn& txn) {
    txn.clear(site.env.database("candidates_awaiting_receipt"));
    txn.clear(site.env.database(st::kIndexMarks));
  });
  CHECK(ids().empty());
  CHECK(site.writer.submit_wait(
            [&](st::WriteTxn& txn) { return site.store.index_existing(txn); }) == 4);
  CHECK(ids() == waiting);
  CHECK(site.writer.submit_wait(
            [&](st::WriteTxn& txn) { return site.store.index_existing(txn); }) == 0);

  // A receipt takes the record out.
  site.writer.submit_wait([&](st::WriteTxn& txn) {
    auto r = site.store.find(txn, waiting[0]);
    REQUIRE(r);
    REQUIRE(
        r->confirm_erasure(r->erasure_requests()[0].handoff, "nagoya.example", 3, "sig", "erased"));
    site.store.save(txn, *r);
  });
  CHECK(ids() == std::vector<std::string>(waiting.begin() + 1, waiting.end()));
}

TEST_CASE(
    "local_refs: an introduction's ref finds its candidate without a scan, after the "
    "migration too") {
  FederationSite site{"kobe.example", "JP-28"};
  std::vector<cand::CandidateRecord> people;
  for (int i = 0; i < 12; ++i)
    people.push_back(site.add_candidate("候補", "ref" + std::to_string(i) + "@example.jp", i % 2));
  // One leaves the regional pool (consent narrowed), one is erased.
  site.writer.submit_wait([&](st::WriteTxn& txn) {
    auto r = site.store.find(txn, people[3].id);
    r->consent.region = false;
    site.store.save(txn, *r);
    site.profiles.candidate_changed(txn, *r);
    auto e = site.store.find(txn, people[4].id);
    site.store.erase(txn, *e);
    site.profiles.candidate_changed(txn, *site.store.find(txn, people[4].id));
  });
  auto found = [&] {
    auto txn = site.env.begin_read();
    std::vector<bool> out;
    for (const auto& p : people) {
      auto id = site.profiles.local_candidate_for(txn, site.profiles.ref_of(p.id));
      CHECK((!id || *id == p.id));
      out.push_back(id.has_value());
    }
    return out;
  };
  std::vector<bool> expected(12, true);
  expected[3] = expected[4] = false;
  CHECK(found() == expected);
  {
    auto txn = site.env.begin_read();
    CHECK_FALSE(site.profiles.local_candidate_for(txn, "p_000000000000000000000000"));
    CHECK_FALSE(site.profiles.local_candidate_for(txn, "not a ref"));
  }
  // An older data directory: the start-up build finds the same.
  site.writer.submit_wait([&](st::WriteTxn& txn) {
    txn.clear(site.env.database("local_refs"));
    txn.clear(site.env.database(st::kIndexMarks));
  });
  CHECK(found() == std::vector<bool>(12, false));
  CHECK(site.writer.submit_wait(
            [&](st::WriteTxn& txn) { return site.profiles.index_existing(txn); }) == 10);
  CHECK(found() == expected);
}
