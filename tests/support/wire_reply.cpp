#include "support/wire_reply.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>

namespace relay::test {

std::vector<WireReply> replies_in(const std::string& raw) {
  std::vector<WireReply> out;
  std::size_t at = 0;
  while (at < raw.size()) {
    auto head_end = raw.find("\r\n\r\n", at);
    REQUIRE_MESSAGE(head_end != std::string::npos,
                    "a reply without the blank line: ", raw.substr(at, 80));
    WireReply reply;
    auto line_end = raw.find("\r\n", at);
    reply.status_line = raw.substr(at, line_end - at);
    for (auto line = line_end + 2; line < head_end + 2;) {
      auto end = raw.find("\r\n", line);
      auto text = raw.substr(line, end - line);
      auto colon = text.find(": ");
      REQUIRE_MESSAGE(colon != std::string::npos, "a field line that is not Name: value: ", text);
      auto name = text.substr(0, colon);
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      CHECK_MESSAGE(reply.fields.count(name) == 0, "a repeated field: ", name);
      reply.fields[name] = text.substr(colon + 2);
      line = end + 2;
    }
    at = head_end + 4;
    if (auto te = reply.fields.find("transfer-encoding"); te != reply.fields.end()) {
      REQUIRE_MESSAGE(te->second == "chunked", "a transfer coding other than chunked");
      CHECK_MESSAGE(reply.fields.count("content-length") == 0, "chunked and a Content-Length");
      for (;;) {  // size in hex CRLF, data CRLF; the last chunk is "0" CRLF CRLF
        auto size_end = raw.find("\r\n", at);
        REQUIRE_MESSAGE(size_end != std::string::npos, "a chunk without its size line");
        std::size_t used = 0;
        auto size = std::stoul(raw.substr(at, size_end - at), &used, 16);
        REQUIRE_MESSAGE(used == size_end - at, "a chunk size that is not hex");
        at = size_end + 2;
        REQUIRE_MESSAGE(raw.size() - at >= size + 2, "a chunk cut short");
        REQUIRE_MESSAGE(raw.compare(at + size, 2, "\r\n") == 0, "a chunk not ended by CRLF");
        if (size == 0) break;
        reply.body += raw.substr(at, size);
        ++reply.chunks;
        at += size + 2;
      }
      at += 2;
      out.push_back(std::move(reply));
      continue;
    }
    std::size_t length = 0;
    if (auto it = reply.fields.find("content-length"); it != reply.fields.end())
      length = std::stoul(it->second);
    REQUIRE_MESSAGE(raw.size() - at >= length, "a body shorter than its Content-Length");
    reply.body = raw.substr(at, length);
    at += length;
    out.push_back(std::move(reply));
  }
  return out;
}

}  // namespace relay::test
