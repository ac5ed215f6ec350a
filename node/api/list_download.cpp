#include "node/api/list_download.hpp"

#include <memory>
#include <stdexcept>
#include <utility>

namespace relay::node::api {

http::Response json_list_stream(const std::string& key, std::uint64_t total, JsonPiece first,
                                std::function<std::optional<JsonPiece>()> next,
                                const std::string& total_key) {
  std::string head = "{\"" + key + "\":[";
  std::string end = "],\"" + total_key + "\":" + std::to_string(total) + "}";
  if (!first.more) {  // one read held it all
    head.reserve(head.size() + first.items.size() + end.size());
    return http::json_text_response(200, std::move(head += first.items) += end);
  }
  struct Sending {
    std::optional<JsonPiece> first;
    std::function<std::optional<JsonPiece>()> next;
    std::string head, end;
    bool any = false;  // an item sent: the next piece's after a comma
  };
  auto sending = std::make_shared<Sending>(
      Sending{std::move(first), std::move(next), std::move(head), std::move(end)});
  auto r = http::json_text_response(200, "");
  r.stream = [sending](std::string& out) {
    std::optional<JsonPiece> piece;
    if (sending->first) {
      out += sending->head;
      piece = std::exchange(sending->first, std::nullopt);
    } else if (!(piece = sending->next())) {
      throw std::runtime_error("list: the list changed where the reply went on");
    }
    if (!piece->items.empty()) {
      if (std::exchange(sending->any, true)) out += ',';
      out += piece->items;
    }
    if (piece->more) return true;
    out += sending->end;
    return false;
  };
  return r;
}

}  // namespace relay::node::api
