// node/http/message: percent-decoding, forms, request targets, bearer tokens and the
// response helpers, without a socket.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "node/http/message.hpp"

using namespace relay::node::http;

TEST_SUITE_BEGIN("http message");

TEST_CASE("http: percent_decode") {
  CHECK(percent_decode("abc", false) == "abc");
  CHECK(percent_decode("%41%62%2f", false) == "Ab/");
  CHECK(percent_decode("%E3%81%82", false) == "あ");
  CHECK(percent_decode("a+b", true) == "a b");
  CHECK(percent_decode("a+b", false) == "a+b");
  CHECK(percent_decode("%2B", true) == "+");
  CHECK(percent_decode("%00", false) == std::string(1, '\0'));
  CHECK(percent_decode("", false) == "");
  CHECK(percent_decode("x%41", false) == "xA");
  // Plain runs between escapes (copied whole) in both modes.
  CHECK(percent_decode("abc%20def+ghi%41jk", true) == "abc def ghiAjk");
  CHECK(percent_decode("abc%20def+ghi%41jk", false) == "abc def+ghiAjk");
  CHECK(percent_decode("++%2B+", true) == "  + ");
  for (const char* bad : {"%", "%4", "x%4", "%zz", "%4g", "%%41", "a%"})
    CHECK_FALSE_MESSAGE(percent_decode(bad, false).has_value(), bad);
}

TEST_CASE("http: percent_encode round trips") {
  CHECK(percent_encode("abc-_.~XYZ019") == "abc-_.~XYZ019");
  CHECK(percent_encode("a b&c=d/e+f") == "a%20b%26c%3Dd%2Fe%2Bf");
  CHECK(percent_encode("あ") == "%E3%81%82");
  for (const std::string& s :
       {std::string("山田 太郎 <x@y.jp>"), std::string("\r\n\t%+"), std::string("\x00\xff", 2)})
    CHECK(percent_decode(percent_encode(s), true) == s);
}

TEST_CASE("http: parse_form") {
  auto f = parse_form("name=%E5%B1%B1%E7%94%B0+%E5%A4%AA%E9%83%8E&email=a%40b.jp&empty=&flag");
  REQUIRE(f);
  CHECK(f->at("name") == "山田 太郎");
  CHECK(f->at("email") == "a@b.jp");
  CHECK(f->at("empty") == "");
  CHECK(f->at("flag") == "");
  CHECK(f->size() == 4);
  // Repeated keys are joined with '\n' in order (checkbox groups).
  auto repeated = parse_form("skill=a&other=1&skill=b&skill=c");
  REQUIRE(repeated);
  CHECK(repeated->at("skill") == "a\nb\nc");
  // Empty pairs are skipped; an empty body is an empty form.
  auto sparse = parse_form("&&a=1&&");
  REQUIRE(sparse);
  CHECK(sparse->size() == 1);
  CHECK(parse_form("")->empty());
  // '=' inside a value is kept; '+' in a key is a space.
  auto eq = parse_form("a+b=c=d");
  REQUIRE(eq);
  CHECK(eq->at("a b") == "c=d");
  for (const char* bad : {"a=%zz", "%zz=1", "a=1&b=%", "a=%4"})
    CHECK_FALSE_MESSAGE(parse_form(bad).has_value(), bad);
}

TEST_CASE("http: parse_target splits and decodes path and query") {
  Request r;
  r.target = "/api/v1/referrals?limit=10&lang=en&x=%41+B";
  REQUIRE(parse_target(r));
  CHECK(r.path == "/api/v1/referrals");
  CHECK(r.query.size() == 3);
  CHECK(r.query.at("limit") == "10");
  CHECK(r.query.at("lang") == "en");
  CHECK(r.query.at("x") == "A B");

  r.target = "/r/%E3%81%82+b";
  REQUIRE(parse_target(r));
  CHECK(r.path == "/r/あ+b");  // '+' is no space in a path
  CHECK(r.query.empty());      // the previous query is gone

  r.target = "/";
  REQUIRE(parse_target(r));
  CHECK(r.path == "/");
  r.target = "/a?";
  REQUIRE(parse_target(r));
  CHECK(r.path == "/a");
  CHECK(r.query.empty());

  for (const char* bad :
       {"", "relative/path", "*", "http://host/x", "/a%zz", "/a?b=%zz", "?a=1", "%2Fa"}) {
    Request b;
    b.target = bad;
    CHECK_FALSE_MESSAGE(parse_target(b), bad);
  }
}

TEST_CASE("http: field_name folds A-Z only") {
  CHECK(field_name("X-Forwarded-For") == "x-forwarded-for");
  CHECK(field_name("authorization") == "authorization");
  CHECK(field_name("Sec-Fetch-Site_1") == "sec-fetch-site_1");
  CHECK(field_name("\xC3\x84Z@[`{") == "\xC3\x84z@[`{");  // bytes beside A-Z stay
}

TEST_CASE("http: bearer_token") {
  auto with = [](std::string value) {
    Request r;
    r.headers["authorization"] = std::move(value);
    return r;
  };
  Request none;
  CHECK_FALSE(none.bearer_token());
  auto ok = with("Bearer rk_abc-DEF.123_x");
  REQUIRE(ok.bearer_token());
  CHECK(*ok.bearer_token() == "rk_abc-DEF.123_x");
  for (const char* bad :
       {"Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Token abc", "Bearerabc", "Bearer a b",
        "Bearer a\tb", "Bearer abc\r", "Bearer <script>", "Bearer  abc",
        // next to each allowed range, and bytes past ASCII
        "Bearer a/b", "Bearer a:b", "Bearer a@b", "Bearer a[b", "Bearer a`b", "Bearer a{b",
        "Bearer a~b", "Bearer a+b", "Bearer caf\xc3\xa9",
        "Bearer a\xff"
        "b"})
    CHECK_FALSE_MESSAGE(with(bad).bearer_token().has_value(), bad);
  CHECK(with("Bearer 09azAZ-_.").bearer_token() == "09azAZ-_.");
  // Header lookup is by lower-case name.
  CHECK(ok.header("authorization"));
  CHECK_FALSE(ok.header("Authorization"));
}

TEST_CASE("http: responses") {
  auto e = error_response(404, "not_found", "no such thing");
  CHECK(e.status == 404);
  CHECK(e.content_type == "application/json");
  auto body = nlohmann::json::parse(e.body);
  CHECK(body == nlohmann::json{{"error", {{"code", "not_found"}, {"message", "no such thing"}}}});
  // Invalid UTF-8 in a message never throws; it is replaced.
  auto bad = error_response(400, "bad", std::string("x\xff", 2));
  CHECK(nlohmann::json::parse(bad.body)["error"]["message"] == "x\xEF\xBF\xBD");
  auto h = html_response(200, "<p>x</p>");
  CHECK(h.content_type == "text/html; charset=utf-8");
  CHECK(h.body == "<p>x</p>");
  auto j = json_response(201, {{"a", 1}});
  CHECK(j.status == 201);
  CHECK(j.body == R"({"a":1})");
  auto redirect = redirect_response("/r/m/x");
  CHECK(redirect.status == 303);
  CHECK(redirect.headers.at("Location") == "/r/m/x");
  auto t = text_response(200, "note");
  CHECK(t.content_type == "text/plain; charset=utf-8");
}

TEST_SUITE_END();
