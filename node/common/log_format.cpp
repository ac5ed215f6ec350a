#include "node/common/log_format.hpp"

#include <ctime>
#include <nlohmann/json.hpp>
#include <string>

namespace relay::node::common {

void JsonLogFormatter::format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) {
  using namespace std::chrono;
  const auto since_epoch = msg.time.time_since_epoch();
  const auto secs = duration_cast<seconds>(since_epoch);
  const auto ms = duration_cast<milliseconds>(since_epoch - secs).count();
  std::time_t t = static_cast<std::time_t>(secs.count());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char time_text[40];
  auto n = std::strftime(time_text, sizeof time_text, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(time_text + n, sizeof time_text - n, ".%03dZ", static_cast<int>(ms));

  nlohmann::ordered_json line;
  line["time"] = time_text;
  const auto level = spdlog::level::to_string_view(msg.level);
  line["level"] = std::string(level.data(), level.size());
  line["message"] = std::string(msg.payload.data(), msg.payload.size());
  line["thread"] = msg.thread_id;
  if (!msg.source.empty() && msg.source.filename != nullptr)
    line["source"] = std::string(msg.source.filename) + ":" + std::to_string(msg.source.line);
  auto text = line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  text.push_back('\n');
  dest.append(text.data(), text.data() + text.size());
}

std::unique_ptr<spdlog::formatter> JsonLogFormatter::clone() const {
  return std::make_unique<JsonLogFormatter>();
}

}  // namespace relay::node::common
