#pragma once
// A member's own list that pages, orders and downloads the same way for every kind of record
// the member makes (requisitions, introductions, handoffs): ?limit=N&after=ID gives one page
// with `next` while more follow, ?order=newest lists the last first, `total` counts them all,
// ?format=csv downloads; the whole list and the download are sent as they are read
// (list_download.hpp).
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "node/api/common.hpp"
#include "node/api/list_download.hpp"

namespace relay::node::api {

// A member's records read a piece at a time (objects_as_read): read and to_json as
// member_list's, from where the request asked.
template <class Read, class ToJson>
class RecordReading {
 public:
  RecordReading(Read read, ToJson to_json, const ListParams& asked)
      : read_(std::move(read)),
        to_json_(std::move(to_json)),
        place_{asked.page.after, asked.page.limit},
        newest_(asked.newest_first) {}

  // The next piece's items added to `items`, and how many the member has; nullopt if where it
  // goes on from is not the member's.
  std::optional<std::uint64_t> next(std::vector<nlohmann::json>& items) {
    auto page = read_(place_.next_limit(), place_.after, newest_);
    if (!page) return std::nullopt;
    for (const auto& record : page->records) {
      items.push_back(to_json_(record));
      place_.read(record.id);
    }
    place_.ended(page->more);
    return page->total;
  }
  bool more() const { return place_.more; }

 private:
  Read read_;
  ToJson to_json_;
  ListPlace place_;
  bool newest_;
};

// A member's list that pages (?limit=&after=, `next` while more follow; ?order=newest: last
// first; `total`: how many in all) and downloads (?format=csv, `columns`): read(limit, after,
// newest_first) gives the page (storage::RecordPage), or nullopt when `after` is not `what` of
// this member; to_json makes each item. The whole list and the download are sent as they are
// read, so read must hold what it needs by value: it runs after the handler has returned.
template <class Read, class ToJson>
Response member_list(const Request& request, const std::string& name,
                     const std::vector<std::string>& columns, const std::string& what, Read read,
                     ToJson to_json) {
  auto asked = list_params(request);
  if (!asked) return reply(asked.error());
  auto refused = reply(bad_request("bad_parameter", "after: not " + what + " of this member"));
  if (asked->csv || asked->page.whole())
    return objects_as_read(
        std::make_shared<RecordReading<Read, ToJson>>(std::move(read), std::move(to_json), *asked),
        asked->csv, name, columns, std::move(refused));
  auto page = read(asked->page.limit, asked->page.after, asked->newest_first);
  if (!page) return refused;
  nlohmann::json list = nlohmann::json::array();
  for (const auto& item : page->records) list.push_back(to_json(item));
  nlohmann::json body{{name, list}, {"total", page->total}};
  if (page->more && !page->records.empty()) body["next"] = page->records.back().id;
  return http::json_response(200, body);
}

}  // namespace relay::node::api
