// The web console (node/console): its page at /, its embedded files, and the session routes
// that exchange a member's API key or the operator token for a cookie session.
//   GET    /                        the console (HTML; the script calls the JSON API)
//   GET    /console/assets/{name}   embedded CSS/JS/Chart.js, ETag + no-cache (304 on a match)
//   POST   /console/session         sign in: JSON {"credential"} or a form field `credential`
//   GET    /console/session         who is signed in, and the CSRF token (401 no_session)
//   DELETE /console/session         sign out (X-CSRF-Token required)
//   GET    /console/reference       job categories, prefectures, bands (codes and labels)
// Sign-in counts a credential this node never issued as a guess (services/credential_guard),
// answers exactly what the API answers for that credential (401 unknown / 403 suspended) and
// refuses a POST from another site (Sec-Fetch-Site / Origin), so no page elsewhere can sign a
// browser in to an account of its choosing.
#include <stdexcept>

#include "node/api/common.hpp"
#include "node/console/assets.hpp"

namespace relay::node::api {

namespace {

// script-src 'self': every script is an embedded file; no inline script, no eval.
constexpr const char* kConsoleCsp =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

void secure_headers(Response& r) {
  r.headers["Content-Security-Policy"] = kConsoleCsp;
  r.headers["X-Frame-Options"] = "DENY";
  r.headers["X-Content-Type-Options"] = "nosniff";
  r.headers["Referrer-Policy"] = "no-referrer";
}

Response asset(const Request& request, const std::string& name) {
  const auto* a = console::find_asset(name);
  if (!a || name == "index.html") return reply(ApiError{404, "not_found", "no such file"});
  Response r;
  if (auto tag = request.header("if-none-match"); tag && *tag == a->etag) {
    r.status = 304;
    r.content_type = a->content_type;
  } else {
    r.content_type = a->content_type;
    r.body = std::string(a->bytes);
  }
  // Revalidated on every use: an upgraded node serves its new script at once.
  r.headers["Cache-Control"] = "no-cache";
  r.headers["ETag"] = a->etag;
  secure_headers(r);
  return r;
}

Response page() {
  const auto* a = console::find_asset("index.html");
  if (!a) throw std::logic_error("index.html is not embedded");
  auto r = http::html_response(200, std::string(a->bytes));
  r.headers["Cache-Control"] = "no-store";
  secure_headers(r);
  return r;
}

std::string cookie(const Services& s, std::string_view value, std::int64_t max_age_s) {
  return std::string(console::kCookie) + "=" + std::string(value) +
         "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" + std::to_string(max_age_s) +
         (s.facts.secure_cookies ? "; Secure" : "");
}

bool cross_site(const Request& request) {
  if (auto site = request.header("sec-fetch-site"); site && *site == "cross-site") return true;
  auto origin = request.header("origin");
  auto host = request.header("host");
  if (!origin || !host) return false;
  auto o = std::string(*origin);
  auto scheme = o.find("://");
  return scheme == std::string::npos || o.substr(scheme + 3) != *host;
}

bool is_form(const Request& request) {
  auto type = request.header("content-type");
  return type && type->starts_with("application/x-www-form-urlencoded");
}

// Who a credential signs in as: {"role": "member"|"operator", "member": {...}?}.
nlohmann::json who(const Caller& caller) {
  if (caller.role == Role::operator_) return {{"role", "operator"}};
  const auto& m = caller.the_member();
  return {{"role", "member"}, {"member", {{"id", m.id}, {"name", m.name}}}};
}

common::Result<Caller, ApiError> identify(const Services& s, std::string_view credential) {
  if (auto op = s.access.check(Role::operator_, credential)) return op.value();
  auto member = s.access.check(Role::member, credential);
  if (member) return member.value();
  if (member.error() == services::AccessError::unknown_member_key)
    return common::fail(error_for(console::SessionError::unknown_credential));
  return common::fail(error_for(member.error()));
}

Response sign_in(const Services& s, const Request& request) {
  if (cross_site(request)) return reply(error_for(console::SessionError::cross_site));
  if (auto wait = s.credential_guard.refused_for(request.remote_address)) {
    auto r = http::error_response(429, "too_many_attempts",
                                  "too many wrong credentials from this address; retry later");
    r.headers["Retry-After"] = std::to_string(wait->count());
    return r;
  }
  std::string credential;
  if (is_form(request)) {
    auto form = http::parse_form(request.body);
    if (!form || !form->contains("credential"))
      return reply(bad_request("missing_field", "credential: required"));
    credential = form->at("credential");
  } else {
    auto body = json_object_body(request);
    if (!body) return reply(body.error());
    if (auto fields = only_fields(*body, {"credential"}); !fields) return reply(fields.error());
    auto field = string_field(*body, "credential", true, 200);
    if (!field) return reply(field.error());
    credential = std::move(**field);
  }
  auto caller = identify(s, credential);
  if (!caller) {
    if (!s.access.is_known(credential)) s.credential_guard.failed(request.remote_address);
    return reply(caller.error());
  }
  auto started = s.console_sessions.start(std::move(credential));
  Response r;
  if (is_form(request)) {
    r = http::redirect_response("/");
  } else {
    auto body = who(caller.value());
    body["csrf_token"] = started.csrf;
    body["expires_ms"] = started.expires_ms;
    r = http::json_response(200, body);
  }
  r.headers["Set-Cookie"] = cookie(s, started.id, started.cookie_max_age_s);
  r.headers["Cache-Control"] = "no-store";
  return r;
}

Response session(const Services& s, const Request& request) {
  auto id = cookie_value(request, console::kCookie);
  auto active = id ? s.console_sessions.find(*id) : std::nullopt;
  if (!active) return reply(error_for(console::SessionError::no_session));
  auto caller = identify(s, active->credential);
  if (!caller) {
    s.console_sessions.end(*id);
    return reply(caller.error());
  }
  auto body = who(caller.value());
  body["csrf_token"] = active->csrf;
  body["expires_ms"] = active->expires_ms;
  auto r = http::json_response(200, body);
  r.headers["Cache-Control"] = "no-store";
  return r;
}

Response sign_out(const Services& s, const Request& request) {
  auto id = cookie_value(request, console::kCookie);
  auto active = id ? s.console_sessions.find(*id) : std::nullopt;
  if (!active) return reply(error_for(console::SessionError::no_session));
  auto csrf = csrf_presented(request);
  if (!csrf || !console::Sessions::csrf_matches(*active, *csrf))
    return reply(error_for(console::SessionError::csrf_missing));
  s.console_sessions.end(*id);
  auto r = http::json_response(200, {{"signed_out", true}});
  r.headers["Set-Cookie"] = cookie(s, "", 0);
  return r;
}

// The reference's codes and labels, for the console's selects and for labelling statistics.
Response reference(const Services& s) {
  auto list = [](const auto& entries) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& e : entries) out.push_back({{"code", e.code}, {"ja", e.ja}, {"en", e.en}});
    return out;
  };
  const auto& r = s.reference;
  return http::json_response(200, {{"job_categories", list(r.job_categories)},
                                   {"prefectures", list(r.prefectures)},
                                   {"age_bands", list(r.age_bands)},
                                   {"experience_bands", list(r.experience_bands)},
                                   {"region", s.facts.region},
                                   {"node", s.facts.name}});
}

}  // namespace

void add_console_routes(Routes& routes, const Services& s) {
  routes.add("GET", "/", Role::everyone,
             [](const Request&, const Params&, const Caller&) { return page(); });
  routes.add("GET", "/console/assets/{name}", Role::everyone,
             [](const Request& request, const Params& params, const Caller&) {
               return asset(request, params.at("name"));
             });
  routes.add(
      "POST", "/console/session", Role::everyone,
      [&s](const Request& request, const Params&, const Caller&) { return sign_in(s, request); });
  routes.add(
      "GET", "/console/session", Role::everyone,
      [&s](const Request& request, const Params&, const Caller&) { return session(s, request); });
  routes.add("GET", "/console/reference", Role::everyone,
             [&s](const Request&, const Params&, const Caller&) { return reference(s); });
  routes.add(
      "DELETE", "/console/session", Role::everyone,
      [&s](const Request& request, const Params&, const Caller&) { return sign_out(s, request); });
}

}  // namespace relay::node::api
