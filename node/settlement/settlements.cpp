#include "node/settlement/settlements.hpp"

#include <algorithm>
#include <set>

#include "crypto/bytes.hpp"
#include "crypto/random.hpp"
#include "crypto/sign.hpp"
#include "node/settlement/period.hpp"
#include "protocol/event.hpp"

namespace relay::node::settlement {

namespace ps = protocol::settlement;
using federation::HandlerResult;
using Message = protocol::SettlementStatementMessage;

namespace {

constexpr std::size_t kListed = 200;

std::string open_key(const std::string& peer, const std::string& id) {
  return peer + "/" + id;
}

// The keys a peer may have signed with: its current one, then those it retired.
std::vector<crypto::Ed25519PublicKey> keys_of(const federation::Peer& peer) {
  std::vector<crypto::Ed25519PublicKey> keys;
  if (peer.signing_key) keys.push_back(*peer.signing_key);
  for (const auto& r : peer.retired) keys.push_back(r.key);
  return keys;
}

// The handoffs named by these statements (items that must wait for their answer).
std::set<std::string> items_of(const std::vector<StatementRecord>& statements) {
  std::set<std::string> items;
  for (const auto& r : statements)
    for (const auto& i : r.statement.items) items.insert(i.handoff);
  return items;
}

}  // namespace

bool signed_by(const federation::Peer& peer, const std::string& bytes,
               const std::string& signature) {
  auto keys = keys_of(peer);
  return std::any_of(keys.begin(), keys.end(),
                     [&](const auto& k) { return ps::verify(k, bytes, signature); });
}

std::int64_t StatementRecord::net() const {
  auto net = ps::net_for_proposer(statement, disputed);
  return proposer ? net : -net;
}

nlohmann::json StatementRecord::to_json() const {
  return {{"statement", statement.id},
          {"proposer", statement.proposer},
          {"counterparty", statement.counterparty},
          {"period", statement.period},
          {"until_ms", statement.until_ms},
          {"items", ps::to_json(statement.items)},
          {"peer", peer},
          {"role", proposer ? "proposer" : "counterparty"},
          {"state", state},
          {"disputed", ps::to_json(disputed)},
          {"statement_signature", statement_signature},
          {"countersignature", countersignature},
          {"net", net()},
          {"created_ms", created_ms},
          {"ended_ms", ended_ms},
          {"netting", netting}};
}

std::optional<StatementRecord> StatementRecord::from_json(const nlohmann::json& j) {
  try {
    StatementRecord r;
    r.statement = {j.at("statement"), j.at("proposer"), j.at("counterparty"),
                   j.at("period"),    j.at("until_ms"), {}};
    auto items = ps::parse_items(j.at("items"));
    if (!items) return std::nullopt;
    r.statement.items = std::move(*items);
    auto disputed = ps::parse_disputes(j.at("disputed"), r.statement);
    if (!disputed) return std::nullopt;
    r.disputed = std::move(*disputed);
    r.peer = j.at("peer");
    r.proposer = j.at("role") == "proposer";
    r.state = j.at("state");
    r.statement_signature = j.at("statement_signature");
    r.countersignature = j.at("countersignature");
    r.created_ms = j.at("created_ms");
    r.ended_ms = j.at("ended_ms");
    r.netting = j.value("netting", "");
    return r;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

Settlements::Settlements(federation::Federation& federation, Obligations& obligations,
                         storage::Writer& writer, SettlementSettings settings)
    : federation_(federation),
      obligations_(obligations),
      writer_(writer),
      settings_(settings),
      statements_(federation.env().database("settlements")),
      open_(federation.env().database("settlements_open")),
      schedule_(federation.env().database("settlement_schedule")) {
  federation_.on<Message>(
      [this](storage::WriteTxn& txn, const Message& m, const protocol::Envelope&,
             const federation::Peer& peer) { return on_statement(txn, m, peer); });
  federation_.on_reply_to<Message>(
      [this](storage::WriteTxn& txn, const federation::SentMessage& sent,
             const protocol::Envelope& reply,
             const federation::Peer& peer) { on_reply(txn, sent, reply, peer); });
  federation_.on_give_up_of<Message>(
      [this](storage::WriteTxn& txn, const federation::SentMessage& sent) {
        on_given_up(txn, sent);
      });
}

std::string Settlements::sign(const std::string& bytes) const {
  auto keys = federation_.keys().current();
  return crypto::to_base64(crypto::sign(keys->signing.secret_key, crypto::as_bytes(bytes)));
}

std::optional<StatementRecord> Settlements::find(const storage::Txn& txn,
                                                 const std::string& id) const {
  auto value = txn.get(statements_, id);
  if (!value) return std::nullopt;
  return StatementRecord::from_json(nlohmann::json::parse(*value));
}

void Settlements::save(storage::WriteTxn& txn, const StatementRecord& r) {
  txn.put(statements_, r.statement.id, r.to_json().dump());
}

void Settlements::close(storage::WriteTxn& txn, StatementRecord& r, const std::string& state) {
  r.state = state;
  r.ended_ms = federation_.clock().now_ms();
  txn.del(open_, open_key(r.peer, r.statement.id));
  save(txn, r);
}

std::vector<StatementRecord> Settlements::open_statements(const storage::Txn& txn,
                                                          const std::string& peer) const {
  std::vector<StatementRecord> out;
  txn.for_each_prefix(open_, peer + "/", [&](std::string_view key, std::string_view) {
    if (auto r = find(txn, std::string(key.substr(peer.size() + 1)))) out.push_back(*r);
  });
  return out;
}

std::optional<StatementRecord> Settlements::propose_in(storage::WriteTxn& txn,
                                                       const federation::Peer& peer,
                                                       const std::string& period,
                                                       std::int64_t until_ms) {
  auto open = open_statements(txn, peer.name);
  if (std::any_of(open.begin(), open.end(), [](const auto& r) { return r.state == "pending"; }))
    return std::nullopt;
  // Items still in a statement that may yet be countersigned wait for its answer.
  const auto in_flight = items_of(open);
  StatementRecord r;
  r.statement.id = "s_" + crypto::to_hex(crypto::random_bytes(12));
  r.statement.proposer = federation_.self();
  r.statement.counterparty = peer.name;
  r.statement.period = period;
  r.statement.until_ms = until_ms;
  for (auto& o : obligations_.open_with(txn, peer.name, until_ms, ps::kMaxItems))
    if (!in_flight.count(o.handoff)) r.statement.items.push_back({o.handoff, o.owed_by_self});
  r.peer = peer.name;
  r.proposer = true;
  r.state = "pending";
  r.statement_signature = sign(ps::statement_bytes(r.statement));
  r.created_ms = federation_.clock().now_ms();
  save(txn, r);
  txn.put(open_, open_key(peer.name, r.statement.id), "");
  federation_.enqueue(
      txn, peer.name,
      Message{r.statement.id, period, until_ms, r.statement.items, r.statement_signature});
  return r;
}

common::Result<nlohmann::json, SettlementError> Settlements::propose(const std::string& peer_name) {
  if (!settings_.enabled) return common::fail(SettlementError::disabled);
  return writer_.submit_wait(
      [&](storage::WriteTxn& txn) -> common::Result<nlohmann::json, SettlementError> {
        auto peer = federation_.peers().find(txn, peer_name);
        if (!peer) return common::fail(SettlementError::unknown_peer);
        if (!peer->active) return common::fail(SettlementError::peer_inactive);
        auto now = federation_.clock().now_ms();
        auto period = period_containing(now, settings_.period).label;
        auto r = propose_in(txn, *peer, period, now + 1);  // what is recorded up to now
        if (!r) return common::fail(SettlementError::statement_pending);
        return r->to_json();
      });
}

std::size_t Settlements::sweep() {
  return writer_.submit_wait([&](storage::WriteTxn& txn) {
    auto now = federation_.clock().now_ms();
    auto window =
        std::chrono::duration_cast<std::chrono::milliseconds>(settings_.countersign_within).count();
    std::size_t proposed = 0;
    for (const auto& peer : federation_.peers().list(txn)) {
      for (auto& r : open_statements(txn, peer.name)) {
        if (r.state != "pending" || now - r.created_ms < window) continue;
        r.state = "unsigned";  // stays open: a late countersignature still agrees it
        save(txn, r);
        federation_.raise_alert(txn, "settlement_unsigned", peer.name,
                                "statement " + r.statement.id + " (" + r.statement.period +
                                    ") has not been countersigned; its items roll over");
      }
      if (!settings_.enabled || settings_.period == config::SettlementPeriod::off || !peer.active ||
          !(federation_.self() < peer.name))
        continue;
      auto period = last_complete_period(now, settings_.period);
      if (txn.get(schedule_, peer.name).value_or("") >= period.label) continue;
      if (obligations_.open_with(txn, peer.name, period.end_ms, 1).empty()) continue;
      if (!propose_in(txn, peer, period.label, period.end_ms)) continue;
      txn.put(schedule_, peer.name, period.label);
      ++proposed;
    }
    return proposed;
  });
}

HandlerResult Settlements::on_statement(storage::WriteTxn& txn, const Message& m,
                                        const federation::Peer& peer) {
  if (!settings_.enabled)
    return HandlerResult::refuse(403, "settlement_disabled",
                                 "this node does not take part in settlement");
  StatementRecord r;
  r.statement = {m.statement, peer.name, federation_.self(), m.period, m.until_ms, m.items};
  if (!signed_by(peer, ps::statement_bytes(r.statement), m.signature))
    return HandlerResult::refuse(
        400, "bad_statement_signature",
        "the statement's signature does not verify under the sender's key");
  if (txn.contains(statements_, m.statement))
    return HandlerResult::refuse(409, "statement_known", "a statement with this id was answered");
  const auto in_flight = items_of(open_statements(txn, peer.name));
  for (const auto& item : m.items) {
    auto o = obligations_.find(txn, peer.name, item.handoff);
    std::string_view reason;
    // The proposer owing (owed_by proposer) is, seen from here, the peer owing us.
    if (!o)
      reason = ps::dispute_reason::unknown_obligation;
    else if (o->owed_by_self == item.owed_by_proposer)
      reason = ps::dispute_reason::wrong_direction;
    else if (!o->statement.empty())
      reason = ps::dispute_reason::already_settled;
    else if (in_flight.count(item.handoff))
      reason = ps::dispute_reason::in_open_statement;
    if (!reason.empty()) r.disputed.push_back({item, std::string(reason)});
  }
  r.peer = peer.name;
  r.proposer = false;
  r.statement_signature = m.signature;
  r.countersignature = sign(ps::agreement_bytes(r.statement, r.disputed));
  r.created_ms = federation_.clock().now_ms();
  agree(txn, r);
  return HandlerResult::accept({{"statement", r.statement.id},
                                {"disputed", ps::to_json(r.disputed)},
                                {"countersignature", r.countersignature}});
}

void Settlements::agree(storage::WriteTxn& txn, StatementRecord& r) {
  federation_.ledger().append(
      txn, protocol::settlement_agreed(r.statement, r.peer, r.proposer, r.disputed,
                                       r.statement_signature, r.countersignature));
  for (const auto& item : ps::agreed_items(r.statement, r.disputed))
    if (auto o = obligations_.find(txn, r.peer, item.handoff); o && o->statement.empty())
      obligations_.settle(txn, *o, r.statement.id);
  close(txn, r, "agreed");
  if (!r.disputed.empty())
    federation_.raise_alert(txn, "settlement_disputed", r.peer,
                            "statement " + r.statement.id + ": " +
                                std::to_string(r.disputed.size()) +
                                " item(s) disputed; they roll into the next statement");
}

void Settlements::on_reply(storage::WriteTxn& txn, const federation::SentMessage& sent,
                           const protocol::Envelope& reply, const federation::Peer& peer) {
  auto id = sent.body.value("statement", "");
  auto r = find(txn, id);
  if (!r || !r->proposer || (r->state != "pending" && r->state != "unsigned")) return;
  const auto& body = reply.body;
  auto countersignature = body.value("countersignature", "");
  auto disputed =
      body.contains("disputed") ? ps::parse_disputes(body["disputed"], r->statement) : std::nullopt;
  if (body.value("statement", "") != id || !disputed ||
      !signed_by(peer, ps::agreement_bytes(r->statement, *disputed), countersignature)) {
    close(txn, *r, "bad_countersignature");
    federation_.raise_alert(txn, "settlement_bad_countersignature", peer.name,
                            "statement " + id + ": the countersignature does not verify");
    return;
  }
  r->disputed = std::move(*disputed);
  r->countersignature = countersignature;
  agree(txn, *r);
}

void Settlements::on_given_up(storage::WriteTxn& txn, const federation::SentMessage& sent) {
  auto r = find(txn, sent.body.value("statement", ""));
  if (r && r->proposer && (r->state == "pending" || r->state == "unsigned"))
    close(txn, *r, "undelivered");
}

std::vector<StatementRecord> Settlements::agreed_unnetted(
    const storage::Txn& txn, const std::vector<std::string>& peers) const {
  std::vector<StatementRecord> out;
  txn.for_each_prefix(statements_, "", [&](std::string_view, std::string_view value) {
    auto r = StatementRecord::from_json(nlohmann::json::parse(value));
    if (r && r->state == "agreed" && r->netting.empty() &&
        std::find(peers.begin(), peers.end(), r->peer) != peers.end())
      out.push_back(std::move(*r));
  });
  return out;
}

void Settlements::set_netting(storage::WriteTxn& txn, const std::vector<std::string>& statements,
                              const std::string& netting) {
  for (const auto& id : statements)
    if (auto r = find(txn, id)) {
      r->netting = netting;
      save(txn, *r);
    }
}

nlohmann::json Settlements::list() const {
  auto txn = federation_.env().begin_read();
  std::vector<StatementRecord> all;
  txn.for_each_prefix(statements_, "", [&](std::string_view, std::string_view value) {
    if (auto r = StatementRecord::from_json(nlohmann::json::parse(value)))
      all.push_back(std::move(*r));
  });
  std::sort(all.begin(), all.end(),
            [](const auto& a, const auto& b) { return a.created_ms > b.created_ms; });
  auto statements = nlohmann::json::array();
  for (std::size_t i = 0; i < all.size() && i < kListed; ++i)
    statements.push_back(all[i].to_json());
  auto peers = nlohmann::json::array();
  for (const auto& peer : federation_.peers().list(txn)) {
    auto open = obligations_.open_position(txn, peer.name);
    std::int64_t settled = 0;
    for (const auto& r : all)
      if (r.peer == peer.name && r.state == "agreed") settled += r.net();
    peers.push_back({{"peer", peer.name},
                     {"open_owed_to_us", open.owed_to_us},
                     {"open_owed_by_us", open.owed_by_us},
                     {"settled_net", settled}});
  }
  return {{"statements", statements},
          {"peers", peers},
          {"yen_per_introduction", settings_.yen_per_introduction}};
}

nlohmann::json Settlements::invoice_rows(const std::string& period) const {
  auto txn = federation_.env().begin_read();
  auto rows = nlohmann::json::array();
  txn.for_each_prefix(statements_, "", [&](std::string_view, std::string_view value) {
    auto r = StatementRecord::from_json(nlohmann::json::parse(value));
    if (!r || r->state != "agreed" || (!period.empty() && r->statement.period != period)) return;
    std::int64_t to_us = 0, by_us = 0;
    for (const auto& i : ps::agreed_items(r->statement, r->disputed))
      ++(i.owed_by_proposer == r->proposer ? by_us : to_us);
    auto net = r->net();
    nlohmann::json yen = nullptr;
    if (settings_.yen_per_introduction > 0)
      yen = net * static_cast<std::int64_t>(settings_.yen_per_introduction);
    rows.push_back({{"statement", r->statement.id},
                    {"period", r->statement.period},
                    {"peer", r->peer},
                    {"role", r->proposer ? "proposer" : "counterparty"},
                    {"agreed", to_us + by_us},
                    {"owed_to_us", to_us},
                    {"owed_by_us", by_us},
                    {"net", net},
                    {"yen", yen}});
  });
  return rows;
}

}  // namespace relay::node::settlement
