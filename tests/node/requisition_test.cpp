// Requisitions (issue 14): validation naming the field, skills normalised by the registration
// form's own function, ledger events with ids and codes only, member scoping.
#include "node/introductions/requisition.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "domain_fixture.hpp"
#include "ledger_audit.hpp"
#include "node/storage/index_marks.hpp"
#include "record_pages.hpp"

using relay::test::Domain;
namespace intro = relay::node::introductions;
namespace storage = relay::node::storage;

namespace {

intro::RequisitionInput forklift_input() {
  intro::RequisitionInput in;
  in.title = "倉庫内フォークリフト作業";
  in.category = "I";
  in.required_skills = {"フォークリフト", "  ＦＯＲＫＬＩＦＴ  Licence "};
  in.preferred_skills = {"玉掛け", "フォークリフト"};
  in.prefectures = {"JP-28", "JP-27", "JP-28"};
  in.experience_band = "3-5";
  in.headcount = 2;
  in.employment_type = "regular";
  return in;
}

struct Fixture {
  Domain d;
  intro::Requisitions reqs{d.env, d.ledger, d.reference, d.clock};
};

}  // namespace

TEST_SUITE_BEGIN("node");

TEST_CASE("requisitions: open, edit, close, each with its ledger event") {
  Fixture f;
  auto m = f.d.admit("Hyogo Logistics KK").member;
  auto opened =
      f.d.write([&](storage::WriteTxn& txn) { return f.reqs.open(txn, m.id, forklift_input()); });
  REQUIRE(opened);
  const auto& r = opened.value();
  CHECK(r.id.rfind("q_", 0) == 0);
  // Normalised exactly as the registration form normalises skills.
  CHECK(r.required_skills ==
        std::vector<std::string>{*relay::config::normalise_skill("フォークリフト"),
                                 *relay::config::normalise_skill("  ＦＯＲＫＬＩＦＴ  Licence ")});
  CHECK(r.required_skills[1] == "forklift licence");
  // A skill both preferred and required counts as required only; duplicates dropped.
  CHECK(r.preferred_skills == std::vector<std::string>{*relay::config::normalise_skill("玉掛け")});
  CHECK(r.prefectures == std::vector<std::string>{"JP-28", "JP-27"});
  CHECK(r.employment_type == intro::EmploymentType::regular);

  auto edited_input = forklift_input();
  edited_input.employment_type = "secondment";
  edited_input.headcount = 1;
  f.d.clock.advance(std::chrono::minutes(5));
  auto edited = f.d.write(
      [&](storage::WriteTxn& txn) { return f.reqs.update(txn, m.id, r.id, edited_input); });
  REQUIRE(edited);
  CHECK(edited->employment_type == intro::EmploymentType::secondment);
  CHECK(edited->updated_ms > edited->created_ms);

  auto closed = f.d.write([&](storage::WriteTxn& txn) { return f.reqs.close(txn, m.id, r.id); });
  REQUIRE(closed);
  CHECK_FALSE(closed->open);
  auto again = f.d.write([&](storage::WriteTxn& txn) { return f.reqs.close(txn, m.id, r.id); });
  REQUIRE_FALSE(again);
  CHECK(again.error().code == intro::RequisitionError::Code::closed);
  auto edit_closed = f.d.write(
      [&](storage::WriteTxn& txn) { return f.reqs.update(txn, m.id, r.id, edited_input); });
  CHECK(edit_closed.error().code == intro::RequisitionError::Code::closed);

  auto audited = relay::test::audit_ledger(f.d.env, f.d.ledger);
  CHECK(audited.problems.empty());
  std::vector<std::string> tail(audited.kinds.end() - 3, audited.kinds.end());
  CHECK(tail == std::vector<std::string>{"requisition_opened", "requisition_updated",
                                         "requisition_closed"});
  // No title, no skills in the ledger: ids and codes only.
  {
    auto txn = f.d.env.begin_read();
    for (std::uint64_t i = 0; i < f.d.ledger.size(txn); ++i) {
      auto entry = *f.d.ledger.entry(txn, i);
      CHECK(entry.find("フォークリフト") == std::string::npos);
      CHECK(entry.find("forklift") == std::string::npos);
    }
  }

  auto view = closed->to_member_json();
  CHECK(view["state"] == "closed");
  CHECK(view["employment_type"] == "secondment");
  CHECK(view["employment_type_label"]["ja"] == "在籍型出向");
  CHECK_FALSE(view.contains("member"));
}

TEST_CASE("requisitions: a read after an edit that rolled back is the committed requisition") {
  // get() keeps what it parsed (an introduction reads its requisition twice); what it keeps is
  // used only for the same stored bytes, so an edit seen inside a request that rolled back
  // never answers a later read.
  Fixture f;
  auto m = f.d.admit("Hyogo Logistics KK").member;
  auto opened =
      f.d.write([&](storage::WriteTxn& txn) { return f.reqs.open(txn, m.id, forklift_input()); });
  REQUIRE(opened);
  const std::string id = opened->id;
  const std::string title = opened->title;
  {
    auto txn = f.d.env.begin_read();
    REQUIRE(f.reqs.get(txn, m.id, id));
  }
  std::string seen_inside;
  auto rolled = f.d.write([&](storage::WriteTxn& txn) {
    auto input = forklift_input();
    input.title = "rolled back";
    REQUIRE(f.reqs.update(txn, m.id, id, input));
    seen_inside = f.reqs.get(txn, m.id, id)->title;
    throw storage::Rollback<int>{1};
    return 0;
  });
  CHECK(rolled == 1);
  CHECK(seen_inside == "rolled back");
  auto txn = f.d.env.begin_read();
  auto read = f.reqs.get(txn, m.id, id);
  REQUIRE(read);
  CHECK(read->title == title);
  CHECK(read->open);
}

TEST_CASE("requisitions: validation names the field and writes nothing") {
  Fixture f;
  auto m = f.d.admit("Validation KK").member;
  const auto size = f.d.ledger_size();
  auto expect_field = [&](intro::RequisitionInput in, const std::string& field) {
    auto r = f.d.write([&](storage::WriteTxn& txn) { return f.reqs.open(txn, m.id, in); });
    REQUIRE_FALSE(r);
    CHECK(r.error().code == intro::RequisitionError::Code::invalid);
    CHECK(r.error().field == field);
  };
  auto in = forklift_input();
  in.title = "";
  expect_field(in, "title");
  in = forklift_input();
  in.title = std::string(201, 'a');
  expect_field(in, "title");
  in = forklift_input();
  in.category = "Z";
  expect_field(in, "category");
  in = forklift_input();
  in.required_skills = {};
  expect_field(in, "required_skills");
  in = forklift_input();
  in.required_skills = {std::string(65, 'x')};
  expect_field(in, "required_skills");
  in = forklift_input();
  in.preferred_skills = {"\x01"};
  expect_field(in, "preferred_skills");
  in = forklift_input();
  in.prefectures = {};
  expect_field(in, "prefectures");
  in = forklift_input();
  in.prefectures = {"JP-48"};
  expect_field(in, "prefectures");
  in = forklift_input();
  in.experience_band = "forever";
  expect_field(in, "experience_band");
  in = forklift_input();
  in.headcount = 0;
  expect_field(in, "headcount");
  in = forklift_input();
  in.employment_type = "slavery";
  expect_field(in, "employment_type");
  in = forklift_input();
  in.kind = "loan";
  expect_field(in, "kind");
  CHECK(f.d.ledger_size() == size);
  for (auto type : {"regular", "contract", "part_time", "side_job", "secondment", "transfer"}) {
    in = forklift_input();
    in.employment_type = type;
    CHECK(intro::validate(in, f.d.reference));
  }
}

TEST_CASE("requisitions: one member never sees or edits another's; offers are listed by kind") {
  Fixture f;
  auto a = f.d.admit("A KK").member;
  auto b = f.d.admit("B KK").member;
  auto offer_input = forklift_input();
  offer_input.kind = "secondment_offer";
  offer_input.employment_type = "secondment";
  auto ra =
      f.d.write([&](storage::WriteTxn& txn) { return f.reqs.open(txn, a.id, forklift_input()); });
  auto rb = f.d.write([&](storage::WriteTxn& txn) { return f.reqs.open(txn, b.id, offer_input); });
  REQUIRE(ra);
  REQUIRE(rb);
  auto stolen = f.d.write(
      [&](storage::WriteTxn& txn) { return f.reqs.update(txn, b.id, ra->id, forklift_input()); });
  CHECK(stolen.error().code == intro::RequisitionError::Code::not_found);
  auto txn = f.d.env.begin_read();
  CHECK_FALSE(f.reqs.get(txn, b.id, ra->id));
  CHECK(f.reqs.get(txn, a.id, ra->id));
  CHECK(f.reqs.page(txn, a.id, 1000, "")->records.size() == 1);
  auto offers = f.reqs.list_open(txn, intro::RequisitionKind::secondment_offer);
  REQUIRE(offers.size() == 1);
  CHECK(offers[0].member == b.id);
  CHECK(f.reqs.list_open(txn, intro::RequisitionKind::requisition).size() == 1);
}

// Pairing reads the open requisitions of a kind (open_requisitions), not every requisition
// ever opened: closed ones leave the index, and an edit that changes the kind moves its key.
TEST_CASE("requisitions: the open ones of each kind are indexed; older directories once") {
  Fixture f;
  // As at a node's first start: every build marked done.
  CHECK(f.d.write([&](storage::WriteTxn& txn) { return f.reqs.index_existing(txn); }) == 0);
  auto a = f.d.admit("A KK").member;
  auto offer_input = forklift_input();
  offer_input.kind = "secondment_offer";
  offer_input.employment_type = "secondment";
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    auto r =
        f.d.write([&](storage::WriteTxn& txn) { return f.reqs.open(txn, a.id, forklift_input()); });
    REQUIRE(r);
    ids.push_back(r->id);
  }
  auto open_of = [&](intro::RequisitionKind kind) {
    auto txn = f.d.env.begin_read();
    std::vector<std::string> out;
    for (const auto& r : f.reqs.list_open(txn, kind)) out.push_back(r.id);
    std::sort(out.begin(), out.end());
    return out;
  };
  auto sorted = [](std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  CHECK(open_of(intro::RequisitionKind::requisition) == sorted(ids));
  for (int i = 0; i < 3; ++i)
    REQUIRE(f.d.write([&](storage::WriteTxn& txn) { return f.reqs.close(txn, a.id, ids[i]); }));
  REQUIRE(f.d.write(
      [&](storage::WriteTxn& txn) { return f.reqs.update(txn, a.id, ids[4], offer_input); }));
  CHECK(open_of(intro::RequisitionKind::requisition) == std::vector<std::string>{ids[3]});
  CHECK(open_of(intro::RequisitionKind::secondment_offer) == std::vector<std::string>{ids[4]});
  auto index = f.d.env.database("open_requisitions");
  auto entries = [&] {
    auto txn = f.d.env.begin_read();
    return txn.count(index);
  };
  CHECK(entries() == 2);

  // A data directory from before the index: its open requisitions are found once.
  f.d.write([&](storage::WriteTxn& txn) {
    txn.clear(index);
    txn.del(f.d.env.database(storage::kIndexMarks), "open_requisitions");
  });
  CHECK(open_of(intro::RequisitionKind::requisition).empty());
  CHECK(f.d.write([&](storage::WriteTxn& txn) { return f.reqs.index_existing(txn); }) == 2);
  CHECK(f.d.write([&](storage::WriteTxn& txn) { return f.reqs.index_existing(txn); }) == 0);
  CHECK(entries() == 2);
  CHECK(open_of(intro::RequisitionKind::requisition) == std::vector<std::string>{ids[3]});
  CHECK(open_of(intro::RequisitionKind::secondment_offer) == std::vector<std::string>{ids[4]});
}

TEST_CASE("requisitions: input from the API's JSON") {
  auto in = intro::RequisitionInput::from_json(nlohmann::json::parse(R"({
    "title": "介護スタッフ", "category": "E", "required_skills": ["介護福祉士", 7],
    "prefectures": ["JP-13"], "headcount": 3, "employment_type": "part_time"})"));
  CHECK(in.title == "介護スタッフ");
  CHECK(in.required_skills == std::vector<std::string>{"介護福祉士", ""});
  CHECK(in.headcount == 3);
  CHECK(in.kind == "requisition");
  CHECK(in.experience_band.empty());
  auto r = intro::validate(in, relay::test::load_test_reference());
  REQUIRE_FALSE(r);
  CHECK(r.error().field == "required_skills");  // the 7 became "", which is no skill
}

TEST_CASE("requisitions: a member's pages in the order opened, from their own index, built once") {
  Fixture f;
  // As at a node's first start: every build marked done.
  CHECK(f.d.write([&](storage::WriteTxn& txn) { return f.reqs.index_existing(txn); }) == 0);
  auto a = f.d.admit("Pages A KK").member;
  auto b = f.d.admit("Pages B KK").member;
  std::vector<std::string> made;
  for (int i = 0; i < 7; ++i) {
    // Some in the same millisecond, as an ATS opens them: still listed in the order opened.
    if (i % 3 == 0) f.d.clock.advance(std::chrono::milliseconds(1000));
    auto r =
        f.d.write([&](storage::WriteTxn& txn) { return f.reqs.open(txn, a.id, forklift_input()); });
    REQUIRE(r);
    made.push_back(r->id);
  }
  auto theirs =
      f.d.write([&](storage::WriteTxn& txn) { return f.reqs.open(txn, b.id, forklift_input()); });
  REQUIRE(theirs);
  // A closed one and an edited one keep their places.
  REQUIRE(f.d.write([&](storage::WriteTxn& txn) { return f.reqs.close(txn, a.id, made[1]); }));
  REQUIRE(f.d.write(
      [&](storage::WriteTxn& txn) { return f.reqs.update(txn, a.id, made[2], forklift_input()); }));
  // Pages of a's alone (their totals too: not b's), oldest first or newest first.
  auto walk = [&](std::size_t limit, bool newest_first = false) {
    auto txn = f.d.env.begin_read();
    return relay::test::walk_record_pages(limit, [&](const std::string& after) {
      return f.reqs.page(txn, a.id, limit, after, newest_first);
    });
  };
  for (std::size_t limit : {1, 2, 3, 7, 100}) CHECK_MESSAGE(walk(limit) == made, limit);
  // Last opened first (?order=newest): the same from the other end.
  CHECK(walk(3, true) == std::vector<std::string>(made.rbegin(), made.rend()));
  {
    auto txn = f.d.env.begin_read();
    std::vector<std::string> listed;
    const auto all = f.reqs.page(txn, a.id, 1000, "");  // kept: a range-for over ->records dangles
    REQUIRE(all);
    for (const auto& r : all->records) listed.push_back(r.id);
    CHECK(listed == made);
    CHECK_FALSE(f.reqs.page(txn, a.id, 3, theirs->id));  // b's
    CHECK_FALSE(f.reqs.page(txn, a.id, 3, "q_nosuchrequisition"));
    CHECK(f.reqs.page(txn, b.id, 1000, "")->records.size() == 1);
  }
  // An older data directory: its index keyed by id alone, no mark; the start-up build gives
  // the same pages and empties the old index.
  f.d.write([&](storage::WriteTxn& txn) {
    txn.clear(f.d.env.database("member_requisitions_by_time"));
    txn.del(f.d.env.database(storage::kIndexMarks), "member_requisitions_by_time");
    txn.put(f.d.env.database("member_requisitions"), a.id + "/" + made[0], "");
  });
  CHECK(walk(3).empty());
  CHECK(f.d.write([&](storage::WriteTxn& txn) { return f.reqs.index_existing(txn); }) == 8);
  CHECK(walk(3) == made);
  CHECK(f.d.env.begin_read().count(f.d.env.database("member_requisitions")) == 0);
  CHECK(f.d.write([&](storage::WriteTxn& txn) { return f.reqs.index_existing(txn); }) == 0);
}

TEST_SUITE_END();
