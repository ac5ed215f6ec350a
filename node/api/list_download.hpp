#pragma once
// Whole lists and downloads sent as they are read (http::Response::stream). A list that grows
// for as long as the node runs (a member's referrals, requisitions, introductions and handoffs;
// the alerts, one for every address a mail server refused; the members) or under a farming
// flood (the review queue) is read a piece at a time, each piece in a read txn of its own, so
// that a reply takes memory for one piece, not for the whole list.
//
// Threads: a reply's stream runs on its connection's server thread, between writes.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "node/api/csv.hpp"
#include "node/http/message.hpp"

namespace relay::node::api {

// The most items a piece reads.
inline constexpr std::size_t kPieceItems = 500;

// Where a list read a piece at a time goes on from: after the item read last (its id; "" from
// the start), with at most `left` more to read (a page's limit, or no end).
struct ListPlace {
  std::string after;
  std::size_t left = 0;
  bool more = false;  // more follow the last piece read

  std::size_t next_limit() const { return std::min(left, kPieceItems); }
  void read(std::string_view id) {
    after.assign(id);
    --left;
  }
  // The piece read ended; `follow`: the list has more after it.
  void ended(bool follow) { more = follow && left > 0; }
};

// A piece's items as JSON texts joined by commas, and whether more follow them.
struct JsonPiece {
  std::string items;
  bool more = false;

  void add(std::string_view json) {
    if (!items.empty()) items += ',';
    items += json;
  }
};

// {"<key>": [...], "<total_key>": total}: `first`'s items, then each next() piece's, sent as
// they are read; nullopt from next() (where it was to go on from is gone) cuts the reply. If
// `first` has no `more`, an ordinary reply. The keys are plain names ("alerts", "total").
http::Response json_list_stream(const std::string& key, std::uint64_t total, JsonPiece first,
                                std::function<std::optional<JsonPiece>()> next,
                                const std::string& total_key = "total");

// A list whose items are read as JSON objects (the alerts, the members, a member's
// requisitions, introductions and handoffs), sent as read: a CSV download named `name` with
// `columns`, or {"<name>": [...], "total"}. The reader's next(items) adds the next piece's items
// and gives how many there are in all, or nullopt where it cannot go on; its more() says whether
// more follow the last piece. The first piece is read here: if it cannot be, the reply is
// `refused`.
template <class Reading>
http::Response objects_as_read(std::shared_ptr<Reading> reading, bool csv, const std::string& name,
                               const std::vector<std::string>& columns, http::Response refused) {
  std::vector<nlohmann::json> first;
  auto total = reading->next(first);
  if (!total) return refused;
  if (csv) {
    return csv_stream(name, columns, CsvRows{std::move(first), reading->more()},
                      [reading]() -> std::optional<CsvRows> {
                        std::vector<nlohmann::json> items;
                        if (!reading->next(items)) return std::nullopt;
                        return CsvRows{std::move(items), reading->more()};
                      });
  }
  auto piece_of = [reading](const std::vector<nlohmann::json>& items) {
    JsonPiece piece{{}, reading->more()};
    for (const auto& item : items) piece.add(item.dump());
    return piece;
  };
  return json_list_stream(name, *total, piece_of(first),
                          [reading, piece_of]() -> std::optional<JsonPiece> {
                            std::vector<nlohmann::json> items;
                            if (!reading->next(items)) return std::nullopt;
                            return piece_of(items);
                          });
}

// json_list_stream's next() for a reader whose next(JsonPiece&) adds the next piece and is
// false where it cannot go on (a member's referrals, the review queue).
template <class Reading>
std::function<std::optional<JsonPiece>()> pieces_from(std::shared_ptr<Reading> reading) {
  return [reading = std::move(reading)]() -> std::optional<JsonPiece> {
    JsonPiece piece;
    if (!reading->next(piece)) return std::nullopt;
    return piece;
  };
}

}  // namespace relay::node::api
