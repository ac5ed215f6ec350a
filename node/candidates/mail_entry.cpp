#include "node/candidates/mail_entry.hpp"

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "node/common/key_encoding.hpp"

namespace relay::node::candidates {

namespace {

constexpr char kVersion = 0x01;

std::optional<MailEntry> decode_json(std::string_view stored) {
  auto j = nlohmann::json::parse(stored, nullptr, false);
  if (!j.is_object() || !j.contains("candidate") || !j.at("candidate").is_string() ||
      !j.contains("mail") || !j.at("mail").is_string())
    return std::nullopt;
  auto sealed = crypto::from_base64(j.at("mail").get<std::string>());
  if (!sealed) return std::nullopt;
  MailEntry e;
  e.candidate = j.at("candidate");
  e.attempts = j.value("attempts", std::uint32_t{0});
  e.next_try_ms = j.value("next_try_ms", std::int64_t{0});
  e.sealed = std::move(*sealed);
  return e;
}

}  // namespace

std::string encode_mail_entry(const MailEntry& entry) {
  if (entry.candidate.size() > 255)
    throw std::invalid_argument("mail entry: candidate id too long");
  std::string out;
  out.reserve(2 + entry.candidate.size() + 16 + entry.sealed.size());
  out.push_back(kVersion);
  out.push_back(static_cast<char>(entry.candidate.size()));
  out += entry.candidate;
  out += common::be64(entry.attempts);
  out += common::be64(static_cast<std::uint64_t>(entry.next_try_ms));
  out.append(reinterpret_cast<const char*>(entry.sealed.data()), entry.sealed.size());
  return out;
}

std::optional<MailEntry> decode_mail_entry(std::string_view stored) {
  if (stored.empty()) return std::nullopt;
  if (stored.front() == '{') return decode_json(stored);
  if (stored.front() != kVersion || stored.size() < 2) return std::nullopt;
  const std::size_t id_size = static_cast<unsigned char>(stored[1]);
  if (stored.size() < 2 + id_size + 16) return std::nullopt;
  MailEntry e;
  e.candidate = std::string(stored.substr(2, id_size));
  auto rest = stored.substr(2 + id_size);
  e.attempts = static_cast<std::uint32_t>(common::from_be64(rest.substr(0, 8)));
  e.next_try_ms = static_cast<std::int64_t>(common::from_be64(rest.substr(8, 8)));
  auto sealed = rest.substr(16);
  e.sealed.assign(sealed.begin(), sealed.end());
  return e;
}

}  // namespace relay::node::candidates
