#include "audit/live_node_source.hpp"

#include "crypto/bytes.hpp"
#include "protocol/canonical_json.hpp"

namespace relay::audit {

namespace {
constexpr std::uint64_t kPage = 1000;  // the node's maximum page
}  // namespace

LiveNodeSource::LiveNodeSource(HttpUrl url, std::string name, std::optional<std::string> token)
    : url_(std::move(url)), name_(std::move(name)), token_(std::move(token)) {}

std::optional<std::string> LiveNodeSource::get(const std::string& target, bool authorised,
                                               bool allow_400) {
  std::map<std::string, std::string> headers;
  if (authorised) {
    if (!token_)
      throw SourceError(name_ + target + " needs the auditor token (--token or --token-file)");
    headers["Authorization"] = "Bearer " + *token_;
  }
  auto result = http_get(url_, target, headers);
  if (!result) throw SourceError(name_ + target + ": " + result.error);
  const auto& r = *result.response;
  if (r.status == 200) return r.body;
  if (r.status == 400 && allow_400) return std::nullopt;
  if (r.status == 401 || r.status == 403)
    throw SourceError(name_ + target + ": the node refused the auditor token (HTTP " +
                      std::to_string(r.status) + ")");
  throw SourceError(name_ + target + ": HTTP " + std::to_string(r.status));
}

nlohmann::json LiveNodeSource::get_json(const std::string& target) {
  auto body = get(target, true);
  auto parsed = protocol::parse_strict(*body);
  if (!parsed || !parsed.value->is_object())
    throw SourceError(name_ + target + ": the answer is not a JSON object");
  return std::move(*parsed.value);
}

std::string LiveNodeSource::key_document() {
  return *get("/audit/v1/key", false);
}

std::string LiveNodeSource::checkpoint_note() {
  return *get("/audit/v1/checkpoint", false);
}

std::string LiveNodeSource::balances_document() {
  return *get("/audit/v1/balances", true);
}

std::vector<std::string> LiveNodeSource::page(std::uint64_t start, std::uint64_t count) {
  const auto target =
      "/audit/v1/entries?start=" + std::to_string(start) + "&limit=" + std::to_string(count);
  auto answer = get_json(target);
  auto first = answer.find("start");
  auto entries = answer.find("entries");
  if (first == answer.end() || !first->is_number_unsigned() ||
      first->get<std::uint64_t>() != start || entries == answer.end() || !entries->is_array())
    throw SourceError(name_ + target + ": the answer is not {start, size, entries}");
  std::vector<std::string> out;
  out.reserve(entries->size());
  for (auto& e : *entries) {
    if (!e.is_string()) throw SourceError(name_ + target + ": an entry is not a string");
    out.push_back(std::move(e.get_ref<std::string&>()));
  }
  if (out.size() > count) throw SourceError(name_ + target + ": more entries than asked for");
  return out;
}

void LiveNodeSource::read_entries(std::uint64_t wanted, const EntrySink& sink, ProblemList&) {
  for (std::uint64_t start = 0; start < wanted;) {
    auto batch = page(start, std::min(kPage, wanted - start));
    if (batch.empty()) return;  // the node has fewer entries than its checkpoint says
    start += batch.size();
    sink(batch);
  }
}

std::optional<std::string> LiveNodeSource::entry(std::uint64_t index) {
  auto batch = page(index, 1);
  if (batch.empty()) return std::nullopt;
  return std::move(batch.front());
}

std::optional<std::vector<protocol::Hash>> LiveNodeSource::get_proof(const std::string& target) {
  auto body = get(target, true, true);
  if (!body) return std::nullopt;
  auto parsed = protocol::parse_strict(*body);
  const nlohmann::json* proof = nullptr;
  if (parsed && parsed.value->is_object()) {
    auto it = parsed.value->find("proof");
    if (it != parsed.value->end() && it->is_array()) proof = &*it;
  }
  if (proof == nullptr) throw SourceError(name_ + target + ": the answer has no proof array");
  std::vector<protocol::Hash> hashes;
  for (const auto& h : *proof) {
    auto bytes = h.is_string() ? crypto::from_base64(h.get<std::string>()) : std::nullopt;
    if (!bytes || bytes->size() != 32)
      throw SourceError(name_ + target + ": a proof hash is not base64 of 32 bytes");
    protocol::Hash hash{};
    std::copy(bytes->begin(), bytes->end(), hash.begin());
    hashes.push_back(hash);
  }
  return hashes;
}

std::optional<std::vector<protocol::Hash>> LiveNodeSource::inclusion_proof(std::uint64_t index,
                                                                           std::uint64_t size) {
  return get_proof("/audit/v1/proof/inclusion?index=" + std::to_string(index) +
                   "&size=" + std::to_string(size));
}

std::optional<std::vector<protocol::Hash>> LiveNodeSource::consistency_proof(std::uint64_t m,
                                                                             std::uint64_t n) {
  return get_proof("/audit/v1/proof/consistency?from=" + std::to_string(m) +
                   "&to=" + std::to_string(n));
}

}  // namespace relay::audit
