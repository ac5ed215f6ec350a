// node/http/router: patterns, captures, 404 versus 405.
#include "node/http/router.hpp"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>

using namespace relay::node::http;

namespace {

Request request(std::string method, std::string target) {
  Request r;
  r.method = std::move(method);
  r.target = std::move(target);
  REQUIRE(parse_target(r));
  return r;
}

// A handler that answers "<name> <params as JSON>".
RouteHandler echo(std::string name) {
  return [name](const Request&, const Params& params) {
    return text_response(200, name + " " + nlohmann::json(params).dump());
  };
}

std::string code_of(const Response& r) {
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_discarded() || !j.contains("error")) return "(not a JSON error)";
  return j["error"]["code"].get<std::string>();
}

Router make_router() {
  Router router;
  router.add("GET", "/healthz", echo("health"));
  router.add("GET", "/api/v1/members", echo("list"));
  router.add("POST", "/api/v1/members", echo("admit"));
  router.add("GET", "/api/v1/members/{id}", echo("member"));
  router.add("POST", "/api/v1/members/{id}/suspend", echo("suspend"));
  router.add("GET", "/r/{token}", echo("link"));
  router.add("GET", "/r/v/{token}", echo("verify"));
  router.add("POST", "/r/v/{token}", echo("confirm"));
  router.add("GET", "/r/m/{token}/export", echo("export"));
  router.add("GET", "/pair/{a}/{b}", echo("pair"));
  return router;
}

}  // namespace

TEST_SUITE_BEGIN("router");

TEST_CASE("router: literal routes dispatch by method") {
  auto router = make_router();
  CHECK(router.handle(request("GET", "/healthz")).body == "health {}");
  CHECK(router.handle(request("GET", "/api/v1/members")).body == "list {}");
  CHECK(router.handle(request("POST", "/api/v1/members")).body == "admit {}");
  CHECK(router.handle(request("GET", "/api/v1/members?x=1")).body == "list {}");
}

TEST_CASE("router: captures become params") {
  auto router = make_router();
  CHECK(router.handle(request("GET", "/api/v1/members/m_123")).body == R"(member {"id":"m_123"})");
  CHECK(router.handle(request("POST", "/api/v1/members/m_9/suspend")).body ==
        R"(suspend {"id":"m_9"})");
  CHECK(router.handle(request("GET", "/pair/x/y")).body == R"(pair {"a":"x","b":"y"})");
  // Percent-decoded before matching; a capture is one whole segment.
  CHECK(router.handle(request("GET", "/r/abc%2Ddef")).body == R"(link {"token":"abc-def"})");
  CHECK(router.handle(request("GET", "/r/v/tok")).body == R"(verify {"token":"tok"})");
  CHECK(router.handle(request("POST", "/r/v/tok")).body == R"(confirm {"token":"tok"})");
  CHECK(router.handle(request("GET", "/r/m/tok/export")).body == R"(export {"token":"tok"})");
}

TEST_CASE("router: an unknown path is 404, a known path with another method 405") {
  auto router = make_router();
  for (const char* path :
       {"/nothing", "/api/v1", "/api/v1/members/", "/api/v1/members/m_1/x", "/r/", "/r/m/tok",
        "/r/m/tok/export/more", "/pair/x", "/pair//y", "/healthz/"}) {
    auto r = router.handle(request("GET", path));
    CHECK_MESSAGE(r.status == 404, path);
    CHECK(r.content_type == "application/json");
    CHECK(code_of(r) == "not_found");
  }
  for (auto [method, path] :
       std::vector<std::pair<const char*, const char*>>{{"POST", "/healthz"},
                                                        {"DELETE", "/api/v1/members"},
                                                        {"PUT", "/api/v1/members/m_1"},
                                                        {"GET", "/api/v1/members/m_1/suspend"},
                                                        {"POST", "/r/abc"},
                                                        {"POST", "/r/m/tok/export"}}) {
    auto r = router.handle(request(method, path));
    CHECK_MESSAGE(r.status == 405, method, " ", path);
    CHECK(code_of(r) == "method_not_allowed");
  }
}

// A path without captures is looked up (Router::exact_), not scanned for: it must still answer
// as the scan in order does, where an earlier capture route of the same method wins.
TEST_CASE("router: a literal path answers as the first matching route in order") {
  Router router;
  router.add("GET", "/r/{token}", echo("relay"));
  router.add("GET", "/r/sent", echo("sent-late"));  // never reached: /r/{token} comes first
  router.add("GET", "/x/sent", echo("sent"));
  router.add("GET", "/x/{token}", echo("x"));
  router.add("POST", "/x/{token}", echo("x-post"));
  router.add("PUT", "/x/sent", echo("put-first"));
  router.add("PUT", "/x/sent", echo("put-second"));
  CHECK(router.handle(request("GET", "/r/sent")).body == R"(relay {"token":"sent"})");
  CHECK(router.handle(request("GET", "/x/sent")).body == "sent {}");
  CHECK(router.handle(request("GET", "/x/other")).body == R"(x {"token":"other"})");
  // The literal path's other methods: a later capture route takes POST, PUT is the first.
  CHECK(router.handle(request("POST", "/x/sent")).body == R"(x-post {"token":"sent"})");
  CHECK(router.handle(request("PUT", "/x/sent")).body == "put-first {}");
  CHECK(router.handle(request("DELETE", "/x/sent")).status == 405);
  CHECK(router.handle(request("GET", "/x/sent/more")).status == 404);
}

// Routes are scanned only among those with as many segments as the path (Router::by_length_),
// and a route's captures are taken only once its literals matched.
TEST_CASE("router: a path is matched against routes of its length, captures of the one matched") {
  Router router;
  router.add("GET", "/a/{x}/b", echo("b"));
  router.add("GET", "/a/{y}/c", echo("c"));
  router.add("GET", "/a/{z}", echo("short"));
  router.add("POST", "/a/{x}/b/{w}", echo("long"));
  CHECK(router.handle(request("GET", "/a/1/c")).body == R"(c {"y":"1"})");
  CHECK(router.handle(request("GET", "/a/1")).body == R"(short {"z":"1"})");
  CHECK(router.handle(request("POST", "/a/1/b/2")).body == R"(long {"w":"2","x":"1"})");
  CHECK(router.handle(request("GET", "/a/1/b/2")).status == 405);
  CHECK(router.handle(request("GET", "/a/1/d")).status == 404);
  CHECK(router.handle(request("GET", "/a/1/b/2/3/4/5/6/7/8/9")).status == 404);  // longer than all
}

TEST_CASE("router: an empty router answers 404") {
  Router router;
  CHECK(router.handle(request("GET", "/")).status == 404);
}

TEST_SUITE_END();
