#pragma once
// A paged list read over HTTP as a client reads it: ?limit= pages, each reply's `next` sent
// back as &after= until a page has none (alerts, members, introductions).
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "support/node_process.hpp"

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

}  // namespace relay::test
