#include "node/candidates/mail_entry.hpp"

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "crypto/bytes.hpp"
#include "node/common/key_encoding.hpp"

namespace relay::node::candidates {

namespace {

constexpr char kVersion = 0x01;
constexpr char kTextVersion = 0x02;

void put_field(std::string& out, std::string_view field) {
  const auto n = static_cast<std::uint32_t>(field.size());
  const char length[4] = {static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                          static_cast<char>(n >> 8), static_cast<char>(n)};
  out.append(length, 4);
  out.append(field);
}

// The next field of `rest`, which moves past it; nullopt if it is cut short.
std::optional<std::string> take_field(std::string_view& rest) {
  if (rest.size() < 4) return std::nullopt;
  std::uint32_t n = 0;
  for (int i = 0; i < 4; ++i) n = (n << 8) | static_cast<unsigned char>(rest[i]);
  rest.remove_prefix(4);
  if (rest.size() < n) return std::nullopt;
  std::string field(rest.substr(0, n));
  rest.remove_prefix(n);
  return field;
}

std::optional<mail::Mail> decode_text_json(std::string_view plain) {
  auto j = nlohmann::json::parse(plain, nullptr, false);
  mail::Mail m;
  for (auto [name, field] : {std::pair{"from", &m.from}, std::pair{"to", &m.to},
                             std::pair{"subject", &m.subject}, std::pair{"body", &m.body}}) {
    auto it = j.is_object() ? j.find(name) : j.end();
    if (it == j.end() || !it->is_string()) return std::nullopt;
    *field = it->get<std::string>();
  }
  return m;
}

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
  // Copied as bytes, not char by char: from char iterators the copy is a converting loop that
  // cost 7k instructions a mail (decoded when due, and again when removed).
  const auto sealed = crypto::as_bytes(rest.substr(16));
  e.sealed.assign(sealed.begin(), sealed.end());
  return e;
}

std::string encode_mail_text(const mail::Mail& mail) {
  std::string out;
  out.reserve(1 + 16 + mail.from.size() + mail.to.size() + mail.subject.size() + mail.body.size());
  out.push_back(kTextVersion);
  for (const auto* field : {&mail.from, &mail.to, &mail.subject, &mail.body})
    put_field(out, *field);
  return out;
}

std::optional<mail::Mail> decode_mail_text(std::string_view plain) {
  if (plain.empty()) return std::nullopt;
  if (plain.front() == '{') return decode_text_json(plain);
  if (plain.front() != kTextVersion) return std::nullopt;
  plain.remove_prefix(1);
  mail::Mail m;
  for (auto* field : {&m.from, &m.to, &m.subject, &m.body}) {
    auto value = take_field(plain);
    if (!value) return std::nullopt;
    *field = std::move(*value);
  }
  if (!plain.empty()) return std::nullopt;
  return m;
}

}  // namespace relay::node::candidates
