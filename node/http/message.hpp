#pragma once
// Transport-neutral HTTP request and response. Route handlers and domain-facing code see
// only these types; Beast stays inside server.cpp and client.cpp.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace relay::node::http {

// Transparent comparison: header("authorization") finds its entry without building a string.
using HeaderMap = std::map<std::string, std::string, std::less<>>;

struct Request {
  std::string method;                        // "GET", "POST", ...
  std::string target;                        // raw request target, e.g. /api/v1/x?y=1
  std::string path;                          // percent-decoded path without the query
  std::map<std::string, std::string> query;  // decoded query parameters (last one wins)
  HeaderMap headers;                         // lower-case names
  std::string body;
  std::string remote_address;

  // Header value by lower-case name, if present.
  std::optional<std::string_view> header(std::string_view name) const;
  // The token of "Authorization: Bearer <token>", if present and well-formed.
  std::optional<std::string_view> bearer_token() const;
};

class Later;

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::map<std::string, std::string> headers;  // extra headers (Location, Cache-Control...)
  // Set: the reply is not ready yet (see Later); the fields above are then unused.
  std::shared_ptr<Later> later;
  // Set: the body is made a piece at a time, for a download too long to hold whole (`body`
  // is then unused). Each call appends the next piece to `out` and returns true while more
  // follow. It runs on a server thread between writes to the socket, so it must not block
  // (no Writer wait) nor keep a read txn from one call to the next. It is sent chunked
  // (HTTP/1.0: up to the connection's close). If it throws, the connection ends without the
  // last chunk, so a client sees a cut transfer, never a complete-looking short one.
  std::function<bool(std::string& out)> stream;
};

// A reply that waits for work queued elsewhere (a write waiting for its group commit) without
// holding a server thread: the handler queues the work, arranges for wake() to be called when
// it is done, and returns later_response(). The server goes on serving other connections; once
// woken it calls finish() on one of its threads (it must not block: the work is done) and
// sends what that returns. So every request in flight can share one fsync, not only as many
// as there are server threads.
class Later {
 public:
  explicit Later(std::function<Response()> finish = {}) : finish_(std::move(finish)) {}
  // Producer side, from any thread, once: finish() will not block now.
  void wake();
  // Server side: `waker` is called once woken (here and now if it already was).
  void on_wake(std::function<void()> waker);
  // Sets what builds the reply; before the handler returns.
  void set_finish(std::function<Response()> finish) { finish_ = std::move(finish); }
  // Wraps finish(): `outer` gets the previous finish() to call (the router counts the
  // reply's status and latency this way).
  void wrap(std::function<Response(const std::function<Response()>& inner)> outer);
  Response finish() const { return finish_(); }

 private:
  std::function<Response()> finish_;
  std::mutex mutex_;  // guards woken_ and waker_
  bool woken_ = false;
  std::function<void()> waker_;
};

Response later_response(std::shared_ptr<Later> later);

// {"error": {"code": code, "message": message}} with the given status.
Response error_response(int status, std::string_view code, std::string_view message);
Response json_response(int status, const nlohmann::json& body);
// JSON already written as text (protocol::JsonWriter), sent as it is.
Response json_text_response(int status, std::string json);
Response html_response(int status, std::string body);
Response text_response(int status, std::string body,
                       std::string content_type = "text/plain; charset=utf-8");
Response redirect_response(std::string location, int status = 303);

// Percent-decoding for paths and x-www-form-urlencoded bodies ('+' is a space only in forms).
std::optional<std::string> percent_decode(std::string_view in, bool plus_is_space);
std::string percent_encode(std::string_view in);
// Parses an application/x-www-form-urlencoded body or query string; nullopt if malformed.
// Repeated keys are joined with '\n' in order (multi-select and checkbox groups).
std::optional<std::map<std::string, std::string>> parse_form(std::string_view body);

// A header field name as Request and ClientResponse key it: lower case. Names are RFC 9110
// tokens, so only A-Z fold (by hand: std::tolower consults the locale for every character).
std::string field_name(std::string_view name);

// Splits a target into path and query; nullopt if the path is not valid percent-encoding.
bool parse_target(Request& request);

}  // namespace relay::node::http
