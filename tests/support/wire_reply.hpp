#pragma once
// Replies read off a raw HTTP/1.x byte stream by their framing alone, for tests of what the
// server puts on the wire (node/http/wire.hpp).
#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace relay::test {

// One reply: a status line, "Name: value" fields, a blank line, then exactly Content-Length
// bytes of body (none without the field), or with Transfer-Encoding: chunked, chunks up to
// the last one (the body is their data joined).
struct WireReply {
  std::string status_line;
  std::map<std::string, std::string> fields;  // names lower-cased
  std::string body;
  std::size_t chunks = 0;  // chunks of data before the last one (chunked replies)
};

// Splits `raw` into replies; FAILs the test (and stops) where the bytes are not well framed,
// and fails a check for a field that appears twice in one reply.
std::vector<WireReply> replies_in(const std::string& raw);

}  // namespace relay::test
