#pragma once
// How the node's log lines look (config log.format).
//
// JsonLogFormatter writes one JSON object per line, for journald, Loki or any collector:
//   {"time":"2026-12-02T11:30:00.123Z","level":"info","message":"...","thread":1234}
// time is UTC with milliseconds; level is spdlog's name (trace, debug, info, warning, error,
// critical); "source" ("file:line") is added when the call site is known. Every string is
// escaped by nlohmann::json (invalid UTF-8 replaced), so a message can never break a line.
// Messages never hold personal data (node/README.md); this formatter adds none.
//
// Threads: spdlog calls format() under its sink's lock; the formatter holds no state.
#include <spdlog/formatter.h>

#include <memory>

namespace relay::node::common {

class JsonLogFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override;
  std::unique_ptr<spdlog::formatter> clone() const override;
};

}  // namespace relay::node::common
