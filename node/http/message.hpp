#pragma once
// Transport-neutral HTTP request and response. Route handlers and domain-facing code see
// only these types; Beast stays inside server.cpp and client.cpp.
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace relay::node::http {

struct Request {
  std::string method;                          // "GET", "POST", ...
  std::string target;                          // raw request target, e.g. /api/v1/x?y=1
  std::string path;                            // percent-decoded path without the query
  std::map<std::string, std::string> query;    // decoded query parameters (last one wins)
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string remote_address;

  // Header value by lower-case name, if present.
  std::optional<std::string_view> header(std::string_view name) const;
  // The token of "Authorization: Bearer <token>", if present and well-formed.
  std::optional<std::string_view> bearer_token() const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::map<std::string, std::string> headers;  // extra headers (Location, Cache-Control...)
};

// {"error": {"code": code, "message": message}} with the given status.
Response error_response(int status, std::string_view code, std::string_view message);
Response json_response(int status, const nlohmann::json& body);
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

// Splits a target into path and query; nullopt if the path is not valid percent-encoding.
bool parse_target(Request& request);

}  // namespace relay::node::http
