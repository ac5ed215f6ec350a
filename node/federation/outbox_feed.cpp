#include "node/federation/outbox_feed.hpp"

#include <algorithm>
#include <limits>

#include "crypto/random.hpp"
#include "node/common/key_encoding.hpp"
#include "node/federation/outbox.hpp"
#include "node/storage/index_page.hpp"

namespace relay::node::federation {

namespace {
constexpr std::string_view kEntries = "e/";
constexpr std::string_view kSubjects = "s/";
constexpr std::string_view kCursors = "c/";
constexpr std::string_view kLast = "last";

std::string be(std::int64_t v) {
  return common::be64(static_cast<std::uint64_t>(std::max<std::int64_t>(0, v)));
}
std::int64_t from_be(std::string_view bytes) {
  return static_cast<std::int64_t>(common::from_be64(bytes.substr(0, 8)));
}
std::string entry_key(std::int64_t seq) {
  return std::string(kEntries) + be(seq);
}
std::string subject_key(std::string_view subject) {
  return std::string(kSubjects) + std::string(subject);
}
std::string cursor_key(std::string_view peer) {
  return std::string(kCursors) + std::string(peer);
}
}  // namespace

OutboxFeed::OutboxFeed(storage::Environment& env) : feed_(env.database("outbox_feed")) {}

std::int64_t OutboxFeed::last(const storage::Txn& txn) const {
  auto v = txn.get(feed_, kLast);
  return v ? from_be(*v) : 0;
}

OutboxFeed::Cursor OutboxFeed::parse_cursor(std::string_view stored) {
  Cursor c;
  c.acked = from_be(stored);
  c.next_ms = from_be(stored.substr(8));
  auto j = nlohmann::json::parse(stored.substr(16));
  c.attempts = j.value("attempts", 0u);
  c.last_error = j.value("last_error", "");
  c.escalated = j.value("escalated", false);
  c.refused = j.value("refused", std::uint64_t{0});
  return c;
}

std::optional<OutboxFeed::Cursor> OutboxFeed::cursor(const storage::Txn& txn,
                                                     const std::string& peer) const {
  auto v = txn.get(feed_, cursor_key(peer));
  if (!v) return std::nullopt;
  return parse_cursor(*v);
}

void OutboxFeed::save(storage::WriteTxn& txn, const std::string& peer, const Cursor& c) {
  nlohmann::json rest = {{"attempts", c.attempts},
                         {"last_error", c.last_error},
                         {"escalated", c.escalated},
                         {"refused", c.refused}};
  txn.put(feed_, cursor_key(peer), be(c.acked) + be(c.next_ms) + rest.dump());
}

std::string OutboxFeed::publish(storage::WriteTxn& txn, const std::string& type,
                                const std::string& subject, const nlohmann::json& body,
                                std::int64_t now_ms) {
  const auto seq = last(txn) + 1;
  txn.put(feed_, kLast, be(seq));
  if (!subject.empty())
    if (auto old = txn.get(feed_, subject_key(subject))) erase_entry(txn, from_be(*old));
  nlohmann::json record = {
      {"type", type}, {"id", "msg_" + crypto::random_token(16)}, {"body", body}};
  if (!subject.empty()) record["subject"] = subject;
  txn.put(feed_, entry_key(seq), be(now_ms) + record.dump());
  if (!subject.empty()) txn.put(feed_, subject_key(subject), be(seq));
  return record.at("id").get<std::string>();
}

void OutboxFeed::erase_entry(storage::WriteTxn& txn, std::int64_t seq) {
  auto v = txn.get(feed_, entry_key(seq));
  if (!v) return;
  auto record = nlohmann::json::parse(v->substr(8));
  if (auto subject = record.value("subject", ""); !subject.empty()) {
    auto at = txn.get(feed_, subject_key(subject));
    if (at && from_be(*at) == seq) txn.del(feed_, subject_key(subject));
  }
  txn.del(feed_, entry_key(seq));
}

bool OutboxFeed::add_cursor(storage::WriteTxn& txn, const std::string& peer, bool at_end) {
  if (txn.contains(feed_, cursor_key(peer))) return false;
  Cursor c;
  if (at_end) c.acked = last(txn);
  save(txn, peer, c);
  return true;
}

nlohmann::json OutboxFeed::body_of(const storage::Txn& txn, const nlohmann::json& record) const {
  const auto& stored = record.at("body");
  auto hook = complete_.find(record.at("type").get<std::string>());
  if (hook == complete_.end()) return stored;
  auto body = hook->second(txn, stored);
  return body ? std::move(*body) : nlohmann::json(nullptr);
}

void OutboxFeed::entries_after(const storage::Txn& txn, const std::string& peer, const Cursor& c,
                               std::size_t limit, bool bodies,
                               const std::function<bool(OutboxEntry)>& add) const {
  std::size_t n = 0;
  txn.for_each_range(feed_, entry_key(c.acked + 1), storage::past_prefix(kEntries),
                     [&](std::string_view key, std::string_view value) {
                       if (n == limit) return false;
                       ++n;
                       const auto seq = from_be(key.substr(kEntries.size()));
                       auto record = nlohmann::json::parse(value.substr(8));
                       OutboxEntry e;
                       e.feed_seq = seq;
                       e.peer = peer;
                       e.type = record.at("type");
                       e.id = record.at("id");
                       e.subject = record.value("subject", "");
                       e.created_ms = from_be(value);
                       e.attempts = c.attempts;
                       e.next_ms = c.next_ms;
                       e.last_error = c.last_error;
                       e.escalated = c.escalated;
                       if (bodies) e.body = body_of(txn, record);
                       return add(std::move(e));
                     });
}

std::vector<OutboxEntry> OutboxFeed::due_for(const storage::Txn& txn, const std::string& peer,
                                             std::int64_t now_ms, std::size_t limit) const {
  std::vector<OutboxEntry> out;
  auto c = cursor(txn, peer);
  if (!c || c->next_ms > now_ms || limit == 0) return out;
  // A peer that failed last time is tried with one message: the bodies of a pass are not all
  // completed (each reads and opens a profile) only to back off again. At 1,000 unreachable
  // peers, completing a batch's worth at each retry was half the node's CPU (perf). Once one
  // gets through, the backoff is gone and the next pass is a full one.
  if (c->attempts > 0) limit = std::min<std::size_t>(limit, 1);
  entries_after(txn, peer, *c, limit, true, [&](OutboxEntry e) {
    out.push_back(std::move(e));
    return true;
  });
  return out;
}

void OutboxFeed::add_peers_with_due(const storage::Txn& txn, std::int64_t now_ms,
                                    std::set<std::string>& out) const {
  const auto end = last(txn);
  if (end == 0) return;
  // The newest entry is never replaced away, and compact() keeps what a cursor has not read:
  // a cursor behind `end` has at least that entry to send.
  txn.for_each_prefix(feed_, kCursors, [&](std::string_view key, std::string_view value) {
    if (from_be(value) < end && from_be(value.substr(8)) <= now_ms)
      out.insert(std::string(key.substr(kCursors.size())));
  });
}

void OutboxFeed::each_pending(const storage::Txn& txn, bool bodies,
                              const std::function<bool(OutboxEntry)>& add) const {
  std::vector<std::pair<std::string, Cursor>> cursors;
  txn.for_each_prefix(feed_, kCursors, [&](std::string_view key, std::string_view value) {
    cursors.emplace_back(std::string(key.substr(kCursors.size())), parse_cursor(value));
  });
  bool more = true;
  for (const auto& [peer, c] : cursors) {
    if (!more) return;
    entries_after(txn, peer, c, std::numeric_limits<std::size_t>::max(), bodies,
                  [&](OutboxEntry e) { return more = add(std::move(e)); });
  }
}

void OutboxFeed::delivered(storage::WriteTxn& txn, const OutboxEntry& entry) {
  // Cursors come from add_cursor only: an outcome for a peer without one makes none.
  auto found = cursor(txn, entry.peer);
  if (!found || entry.feed_seq <= found->acked) return;
  auto& c = *found;
  // Something before it still outstanding (it failed in the same batch): the cursor stays,
  // and this one goes again with it (the receiver takes it once). A message that can no
  // longer be completed is not outstanding: it is passed over (Sender::pass_over_gone).
  bool outstanding = false;
  txn.for_each_range(feed_, entry_key(c.acked + 1), entry_key(entry.feed_seq),
                     [&](std::string_view, std::string_view value) {
                       outstanding =
                           !body_of(txn, nlohmann::json::parse(value.substr(8))).is_null();
                       return !outstanding;
                     });
  if (outstanding) return;
  c.acked = entry.feed_seq;
  c.attempts = 0;
  c.next_ms = 0;
  c.escalated = false;
  c.last_error.clear();
  if (entry.state == OutboxState::failed) {
    ++c.refused;
    c.last_error = entry.last_error;
  }
  save(txn, entry.peer, c);
}

void OutboxFeed::update(storage::WriteTxn& txn, const OutboxEntry& entry) {
  if (entry.state == OutboxState::failed) return delivered(txn, entry);
  auto found = cursor(txn, entry.peer);
  if (!found || entry.feed_seq <= found->acked) return;
  auto& c = *found;
  c.attempts = entry.attempts;
  c.next_ms = entry.next_ms;
  c.last_error = entry.last_error;
  c.escalated = entry.escalated;
  save(txn, entry.peer, c);
}

std::size_t OutboxFeed::due_now(storage::WriteTxn& txn, const std::string& peer,
                                std::int64_t now_ms) {
  auto c = cursor(txn, peer);
  if (!c || c->next_ms <= now_ms) return 0;
  c->next_ms = now_ms;
  save(txn, peer, *c);
  return 1;
}

void OutboxFeed::add_delivery(const storage::Txn& txn, std::int64_t risky_before_ms,
                              std::map<std::string, PeerDelivery>& out) const {
  // Every entry's seq and time once; each cursor finds its place in them.
  std::vector<std::pair<std::int64_t, std::int64_t>> entries;
  txn.for_each_prefix(feed_, kEntries, [&](std::string_view key, std::string_view value) {
    entries.emplace_back(from_be(key.substr(kEntries.size())), from_be(value));
  });
  txn.for_each_prefix(feed_, kCursors, [&](std::string_view key, std::string_view value) {
    const auto c = parse_cursor(value);
    auto first =
        std::upper_bound(entries.begin(), entries.end(),
                         std::make_pair(c.acked, std::numeric_limits<std::int64_t>::max()));
    if (first == entries.end() && c.refused == 0) return;
    auto& d = out[std::string(key.substr(kCursors.size()))];
    d.refused += c.refused;
    if (first == entries.end()) return;
    d.queued += static_cast<std::size_t>(entries.end() - first);
    d.oldest_queued_ms = std::min(d.oldest_queued_ms.value_or(first->second), first->second);
    d.at_risk += static_cast<std::size_t>(std::count_if(
        first, entries.end(), [&](const auto& e) { return e.second < risky_before_ms; }));
  });
}

std::size_t OutboxFeed::compact(storage::WriteTxn& txn, const std::vector<std::string>& peers) {
  std::int64_t floor = last(txn);
  for (const auto& peer : peers) {
    auto c = cursor(txn, peer);
    floor = std::min(floor, c ? c->acked : 0);
  }
  std::vector<std::int64_t> read_by_all;
  txn.for_each_range(feed_, entry_key(0), entry_key(floor + 1),
                     [&](std::string_view key, std::string_view) {
                       read_by_all.push_back(from_be(key.substr(kEntries.size())));
                     });
  for (auto seq : read_by_all) erase_entry(txn, seq);
  return read_by_all.size();
}

}  // namespace relay::node::federation
