// The HTTP request path up to a handler: Beast's parser with the server's limits, the
// transport-neutral Request (node/http/message.hpp: target, query, bearer token, form body) and
// the Router's matching. Every input is a request, a refusal or a 4xx answer; never an exception.
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstddef>
#include <cstdint>
#include <string>

#include "node/http/message.hpp"
#include "node/http/router.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

namespace bhttp = boost::beast::http;
using relay::node::http::Params;
using relay::node::http::Request;
using relay::node::http::Response;

const relay::node::http::Router& router() {
  static const relay::node::http::Router r = [] {
    relay::node::http::Router built;
    auto ok = [](const Request& req, const Params& params) {
      // Touch what handlers read.
      (void)req.bearer_token();
      (void)req.header("content-type");
      if (!req.body.empty()) (void)relay::node::http::parse_form(req.body);
      FUZZ_CHECK(params.size() <= 2);
      return relay::node::http::text_response(200, "ok");
    };
    built.add("GET", "/healthz", ok);
    built.add("GET", "/api/v1/members/{id}", ok);
    built.add("POST", "/api/v1/members/{id}/credits", ok);
    built.add("GET", "/r/{token}", ok);
    built.add("POST", "/r/m/{token}/requests/{id}", ok);
    return built;
  }();
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  bhttp::request_parser<bhttp::string_body> parser;
  parser.header_limit(8 * 1024);  // the server's defaults (http/server.hpp)
  parser.body_limit(64 * 1024);
  parser.eager(true);
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(data, size), ec);
  if (ec || !parser.is_done()) return 0;
  auto& req = parser.get();

  Request request;
  request.method = std::string(req.method_string());
  request.target = std::string(req.target());
  for (const auto& field : req)
    request.headers[relay::node::http::field_name(field.name_string())] =
        std::string(field.value());
  request.body = req.body();
  if (!relay::node::http::parse_target(request)) return 0;
  if (!request.target.empty() && request.target.front() == '/')
    FUZZ_CHECK(!request.path.empty() && request.path.front() == '/');
  Response response = router().handle(request);
  FUZZ_CHECK(response.status == 200 || (response.status >= 400 && response.status < 500));
  return 0;
}
