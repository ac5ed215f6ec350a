// A candidate's management link through a real node: lost, it is mailed again from /r/link
// (the page answers the same for any address, so it tells nobody who is registered, and an
// address is rate limited as registrations are); leaked, the person replaces it from the
// management page, the new one goes to their mailbox only and the old one opens nothing.
#include <doctest/doctest.h>

#include <string>

#include "support/names.hpp"
#include "support/node_process.hpp"

using relay::test::contains;
using relay::test::NodeProcess;
using relay::test::path_of;
using relay::test::TestCandidate;
using relay::test::unique;

namespace {

NodeProcess& link_node() {
  static NodeProcess node([] {
    NodeProcess::Options o;
    o.name = "links.relaynode";
    return o;
  }());
  return node;
}

TestCandidate candidate(const std::string& stem) {
  auto tag = unique(stem);
  return TestCandidate{"鈴木 " + tag, tag + "@example.jp", {}};
}

}  // namespace

TEST_SUITE_BEGIN("management link");

TEST_CASE("link: a lost management link is mailed again; the page tells nobody who registered") {
  auto& node = link_node();
  auto member = node.admit_member(unique("Lost Link KK"));
  auto person = candidate("lost");
  auto manage = node.register_and_confirm(path_of(member.relay_link), person);
  REQUIRE(node.wait_mail_links(person.email, "/r/m/", 1).size() == 1);

  auto form = node.get("/r/link");
  REQUIRE(form.status == 200);
  CHECK(contains(form.body, "管理ページのリンクを受け取る"));
  CHECK(contains(form.body, "name=\"email\""));
  CHECK(contains(form.header("cache-control"), "no-store"));
  CHECK(contains(node.get("/r/link?lang=en").body, "Get your management link again"));
  // Where a person without their link lands: the home page and a dead link point here.
  CHECK(contains(node.get("/r/").body, "href=\"/r/link\""));
  auto dead = node.get("/r/m/nobody.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
  CHECK(dead.status == 404);
  CHECK(contains(dead.body, "href=\"/r/link\""));

  auto ledger = node.ledger_size();
  auto asked = node.post_form("/r/link", {{"email", person.email}});
  CHECK(asked.redirected_to == "/r/link/sent");
  REQUIRE(asked.status == 200);
  CHECK(contains(asked.body, "メールを確認してください"));
  auto links = node.wait_mail_links(person.email, "/r/m/", 2);
  REQUIRE(links.size() == 2);
  CHECK(links.back() == manage);  // the link that works, not a new one
  CHECK(contains(node.get(path_of(links.back())).body, person.email));

  // An address registered nowhere gets the same answer, and no mail.
  auto stranger = candidate("stranger");
  auto unknown = node.post_form("/r/link?lang=en", {{"email", stranger.email}});
  CHECK(unknown.redirected_to == "/r/link/sent?lang=en");
  CHECK(unknown.status == 200);
  CHECK(contains(unknown.body, "If a completed registration uses that address"));
  // Not an address: the form again, with the error, and nothing else.
  auto invalid = node.post_form("/r/link", {{"email", "not an address"}});
  CHECK(invalid.status == 422);
  CHECK(contains(invalid.body, "有効なメールアドレスを入力してください"));
  CHECK(contains(invalid.body, "name=\"email\""));
  CHECK(node.post_form("/r/link", {}).status == 422);
  // From another site: refused, as every candidate form is.
  auto cross = node.request(
      "POST", "/r/link", "email=" + person.email,
      {{"Content-Type", "application/x-www-form-urlencoded"}, {"Sec-Fetch-Site", "cross-site"}});
  CHECK(cross.status == 403);
  CHECK(node.ledger_size() == ledger);
  CHECK(node.mail_links(stranger.email, "/r/").empty());

  // limits.per_address (5 an hour) counts these with the registration: the registration and
  // the first request made two, three more pass, the next waits.
  for (int i = 0; i < 3; ++i)
    CHECK(node.post_form("/r/link", {{"email", person.email}}).redirected_to == "/r/link/sent");
  auto limited = node.post_form("/r/link", {{"email", person.email}});
  CHECK(limited.status == 429);
  CHECK_FALSE(limited.header("retry-after").empty());
  CHECK(node.wait_mail_links(person.email, "/r/m/", 5).size() == 5);
  CHECK_FALSE(contains(node.log_tail(1 << 20), person.email));
}

TEST_CASE("link: a replaced management link stops working; the new one arrives by mail only") {
  auto& node = link_node();
  auto member = node.admit_member(unique("Leaked Link KK"));
  auto person = candidate("leaked");
  auto manage = path_of(node.register_and_confirm(path_of(member.relay_link), person));
  REQUIRE(node.wait_mail_links(person.email, "/r/m/", 1).size() == 1);
  auto page = node.get(manage + "?lang=en");
  REQUIRE(page.status == 200);
  CHECK(contains(page.body, "action=\"" + manage + "/replace-link?lang=en\""));

  auto replaced = node.post_form(manage + "/replace-link?lang=en", {});
  CHECK(replaced.redirected_to == "/r/link/replaced?lang=en");
  REQUIRE(replaced.status == 200);
  CHECK(contains(replaced.body, "Your link was replaced"));
  auto fresh = path_of(node.wait_mail_links(person.email, "/r/m/", 2).back());
  REQUIRE(fresh != manage);
  CHECK_FALSE(contains(replaced.body, fresh.substr(std::string("/r/m/").size())));

  // The old link opens nothing, not even its actions; the new one is the page.
  auto old = node.get(manage);
  CHECK(old.status == 404);
  CHECK_FALSE(contains(old.body, person.email));
  CHECK(node.get(manage + "/export").status == 404);
  auto ledger = node.ledger_size();
  CHECK_FALSE(contains(node.post_form(manage + "/erase", {{"confirm", "yes"}}).body, "削除の状況"));
  CHECK(node.ledger_size() == ledger);  // nothing erased through the dead link
  auto now = node.get(fresh);
  REQUIRE(now.status == 200);
  CHECK(contains(now.body, person.email));
  // Replacing again through the old link replaces nothing.
  node.post_form(manage + "/replace-link", {});
  CHECK(node.get(fresh).status == 200);

  // The link survives a restart, and after erasure shows the erasure's progress.
  node.restart();
  CHECK(contains(node.get(fresh).body, person.email));
  auto erased = node.post_form(fresh + "/erase", {{"confirm", "yes"}});
  REQUIRE(erased.status == 200);
  CHECK(contains(erased.body, "削除の状況"));
  CHECK(node.get(manage).status == 404);
  // Erasure takes the spooled mail too, links and all.
  CHECK(relay::test::eventually([&] { return node.mail_links(person.email, "/r/").empty(); }));
}

TEST_SUITE_END();
