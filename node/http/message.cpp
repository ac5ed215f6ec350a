#include "node/http/message.hpp"

#include <array>

namespace relay::node::http {

std::optional<std::string_view> Request::header(std::string_view name) const {
  auto it = headers.find(name);
  if (it == headers.end()) return std::nullopt;
  return std::string_view(it->second);
}

std::string field_name(std::string_view name) {
  std::string out(name);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::optional<std::string_view> Request::bearer_token() const {
  auto value = header("authorization");
  if (!value) return std::nullopt;
  constexpr std::string_view prefix = "Bearer ";
  if (value->size() <= prefix.size() || value->substr(0, prefix.size()) != prefix)
    return std::nullopt;
  auto token = value->substr(prefix.size());
  // A table, not std::isalnum (which consults the locale for every character) nor a chain of
  // ranges: every member request checks its ~43-character key here.
  static constexpr auto kAllowed = [] {
    std::array<bool, 256> t{};
    for (int c = 0; c < 256; ++c)
      t[c] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '-' || c == '_' || c == '.';
    return t;
  }();
  for (char c : token)
    if (!kAllowed[static_cast<unsigned char>(c)]) return std::nullopt;
  return token;
}

void Later::wake() {
  std::function<void()> waker;
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
    waker = std::move(waker_);
  }
  if (waker) waker();
}

void Later::on_wake(std::function<void()> waker) {
  {
    std::lock_guard lock(mutex_);
    if (!woken_) {
      waker_ = std::move(waker);
      return;
    }
  }
  waker();
}

void Later::wrap(std::function<Response(const std::function<Response()>& inner)> outer) {
  finish_ = [inner = std::move(finish_), outer = std::move(outer)] { return outer(inner); };
}

Response later_response(std::shared_ptr<Later> later) {
  Response r;
  r.later = std::move(later);
  return r;
}

Response error_response(int status, std::string_view code, std::string_view message) {
  nlohmann::json body = {{"error", {{"code", code}, {"message", message}}}};
  return json_response(status, body);
}

Response json_response(int status, const nlohmann::json& body) {
  Response r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

Response json_text_response(int status, std::string json) {
  Response r;
  r.status = status;
  r.body = std::move(json);
  return r;
}

Response html_response(int status, std::string body) {
  Response r;
  r.status = status;
  r.content_type = "text/html; charset=utf-8";
  r.body = std::move(body);
  return r;
}

Response text_response(int status, std::string body, std::string content_type) {
  Response r;
  r.status = status;
  r.content_type = std::move(content_type);
  r.body = std::move(body);
  return r;
}

Response redirect_response(std::string location, int status) {
  Response r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.headers["Location"] = std::move(location);
  return r;
}

namespace {
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

std::optional<std::string> percent_decode(std::string_view in, bool plus_is_space) {
  // Runs of plain bytes are appended whole, not a byte at a time.
  std::string out;
  out.reserve(in.size());
  std::size_t at = 0;
  while (at < in.size()) {
    std::size_t end = at;
    while (end < in.size() && in[end] != '%' && (in[end] != '+' || !plus_is_space)) ++end;
    out.append(in.data() + at, end - at);
    if (end == in.size()) break;
    if (in[end] == '+') {
      out.push_back(' ');
      at = end + 1;
      continue;
    }
    if (end + 2 >= in.size()) return std::nullopt;
    int hi = hex_value(in[end + 1]), lo = hex_value(in[end + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
    at = end + 3;
  }
  return out;
}

std::string percent_encode(std::string_view in) {
  static const char* digits = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : in) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(digits[c >> 4]);
      out.push_back(digits[c & 15]);
    }
  }
  return out;
}

std::optional<std::map<std::string, std::string>> parse_form(std::string_view body) {
  std::map<std::string, std::string> out;
  while (!body.empty()) {
    auto amp = body.find('&');
    auto pair = body.substr(0, amp);
    body = amp == std::string_view::npos ? std::string_view{} : body.substr(amp + 1);
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    auto key = percent_decode(pair.substr(0, eq), true);
    auto value = percent_decode(eq == std::string_view::npos ? "" : pair.substr(eq + 1), true);
    if (!key || !value) return std::nullopt;
    auto [it, inserted] = out.try_emplace(std::move(*key), std::move(*value));
    if (!inserted) {
      it->second += '\n';
      it->second += *value;
    }
  }
  return out;
}

bool parse_target(Request& request) {
  std::string_view target = request.target;
  // origin-form only (RFC 9112 3.2.1): the raw target starts with '/', before any decoding.
  if (target.empty() || target.front() != '/') return false;
  auto q = target.find('?');
  auto path = percent_decode(target.substr(0, q), false);
  if (!path || path->empty() || path->front() != '/') return false;
  request.path = std::move(*path);
  request.query.clear();
  if (q != std::string_view::npos) {
    auto form = parse_form(target.substr(q + 1));
    if (!form) return false;
    request.query = std::move(*form);
  }
  return true;
}

}  // namespace relay::node::http
