#pragma once
// A paged list read over HTTP as a client reads it: ?limit= pages, each reply's `next` sent
// back as &after= until a page has none (alerts, members, introductions); and a whole list or
// download read off the wire, to see it sent as read (chunked).
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <thread>
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

// The first column of each CSV row after the header: the ids, in the order sent.
inline std::vector<std::string> csv_ids(const std::string& body) {
  std::vector<std::string> out;
  auto at = body.find("\r\n");
  REQUIRE(at != std::string::npos);
  for (at += 2; at < body.size();) {
    auto end = body.find("\r\n", at);
    REQUIRE(end != std::string::npos);
    out.push_back(body.substr(at, body.find(',', at) - at));
    at = end + 2;
  }
  return out;
}

// Runs each(i) for i in [0, n) on 8 client threads, for the hundreds of items a list must
// have before it is sent in pieces; how many returned false.
template <class Each>
std::size_t on_eight_clients(std::size_t n, Each each) {
  std::atomic<std::size_t> next{0};
  std::atomic<std::size_t> failed{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 8; ++t)
    clients.emplace_back([&] {
      for (auto i = next++; i < n; i = next++)
        if (!each(i)) ++failed;
    });
  for (auto& c : clients) c.join();
  return failed.load();
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
