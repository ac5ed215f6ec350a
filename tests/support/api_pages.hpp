#pragma once
// A paged list read over HTTP as a client reads it: ?limit= pages, each reply's `next` sent
// back as &after= until a page has none (alerts, members, introductions); and a whole list or
// download read off the wire, to see it sent as read (chunked).
#include <doctest/doctest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "support/node_process.hpp"
#include "support/wire_reply.hpp"

namespace relay::test {

// Every page of GET `path` (its query names the limit), following `next`: each reply's JSON,
// in the order read. Each must answer 200, and its `next` must be the id of the last item of
// its `key` list.
inline std::vector<nlohmann::json> follow_pages(const NodeProcess& node, const std::string& path,
                                                const std::string& key, std::string_view bearer) {
  std::vector<nlohmann::json> pages;
  std::string after;
  for (int n = 0; n < 1000; ++n) {
    auto reply = node.get(path + (after.empty() ? "" : "&after=" + after), bearer);
    REQUIRE(reply.status == 200);
    pages.push_back(reply.json());
    const auto& page = pages.back();
    if (!page.contains("next")) return pages;
    REQUIRE_FALSE(page.at(key).empty());
    after = page.at("next").get<std::string>();
    CHECK(after == page.at(key).back().at("id").get<std::string>());
  }
  FAIL("the pages never ended");
  return pages;
}

// GET `path` on a connection of its own, as it came off the wire (support/wire_reply.hpp):
// the reply's framing (Content-Length, or chunks) as well as its body.
inline WireReply wire_get(const NodeProcess& node, const std::string& path,
                          std::string_view bearer) {
  auto raw =
      node.send_raw("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " +
                        std::string(bearer) + "\r\nConnection: close\r\n\r\n",
                    std::chrono::milliseconds(10'000));
  auto replies = replies_in(raw);
  REQUIRE(replies.size() == 1);
  return replies.front();
}

}  // namespace relay::test
