#include "protocol/tlog_witness.hpp"

#include <charconv>

#include "crypto/bytes.hpp"

namespace relay::protocol::tlog_witness {

namespace {

// A decimal without leading zeroes ("0" alone for zero).
std::optional<std::uint64_t> decimal(std::string_view s) {
  if (s.empty() || s.size() > 20 || (s.size() > 1 && s[0] == '0')) return std::nullopt;
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

std::optional<AddCheckpoint> parse_add_checkpoint(std::string_view body) {
  AddCheckpoint out;
  auto next_line = [&](std::string_view& line) {
    auto nl = body.find('\n');
    if (nl == std::string_view::npos) return false;
    line = body.substr(0, nl);
    body.remove_prefix(nl + 1);
    return true;
  };
  std::string_view line;
  if (!next_line(line) || !line.starts_with("old ")) return std::nullopt;
  auto old = decimal(line.substr(4));
  if (!old) return std::nullopt;
  out.old_size = *old;
  for (;;) {
    if (!next_line(line)) return std::nullopt;
    if (line.empty()) break;
    if (out.proof.size() == kMaxProofLines || line.size() != 44) return std::nullopt;
    auto raw = crypto::from_base64(line);
    if (!raw || raw->size() != 32) return std::nullopt;
    Hash h{};
    std::copy(raw->begin(), raw->end(), h.begin());
    out.proof.push_back(h);
  }
  if (body.empty() || (out.old_size == 0 && !out.proof.empty())) return std::nullopt;
  out.checkpoint = std::string(body);
  return out;
}

std::string format_add_checkpoint(const AddCheckpoint& request) {
  std::string out = "old " + std::to_string(request.old_size) + "\n";
  for (const auto& h : request.proof) out += crypto::to_base64(h) + "\n";
  return out + "\n" + request.checkpoint;
}

std::string format_size(std::uint64_t size) {
  return std::to_string(size) + "\n";
}

std::optional<std::uint64_t> parse_size(std::string_view body) {
  if (!body.ends_with('\n')) return std::nullopt;
  return decimal(body.substr(0, body.size() - 1));
}

}  // namespace relay::protocol::tlog_witness
