#include "node/settlement/netting.hpp"

#include <algorithm>
#include <cstdlib>
#include <set>

#include "crypto/bytes.hpp"
#include "crypto/random.hpp"

namespace relay::node::settlement {

namespace pn = protocol::netting;
namespace ps = protocol::settlement;
using federation::HandlerResult;

namespace {
bool contains(const std::vector<std::string>& sorted, const std::string& name) {
  return std::binary_search(sorted.begin(), sorted.end(), name);
}
}  // namespace

nlohmann::json Nettings::Record::to_json() const {
  auto j = pn::to_json(netting);
  j["state"] = state;
  j["signatures"] = signatures;
  j["created_ms"] = created_ms;
  j["ended_ms"] = ended_ms;
  return j;
}

std::optional<Nettings::Record> Nettings::Record::from_json(const nlohmann::json& j) {
  auto n = pn::parse(j);
  if (!n) return std::nullopt;
  try {
    return Record{std::move(*n), j.at("state"), j.at("signatures"), j.at("created_ms"),
                  j.at("ended_ms")};
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

Nettings::Nettings(federation::Federation& federation, Settlements& settlements, bool enabled)
    : federation_(federation),
      settlements_(settlements),
      enabled_(enabled),
      nettings_(federation.env().database("nettings")) {
  federation_.on<pn::PositionsRequest>(
      [this](storage::WriteTxn& txn, const pn::PositionsRequest& m, const protocol::Envelope&,
             const federation::Peer& peer) { return on_positions(txn, m, peer); });
  federation_.on<pn::Proposal>(
      [this](storage::WriteTxn& txn, const pn::Proposal& m, const protocol::Envelope&,
             const federation::Peer& peer) { return on_proposal(txn, m, peer); });
  federation_.on<pn::Complete>(
      [this](storage::WriteTxn& txn, const pn::Complete& m, const protocol::Envelope&,
             const federation::Peer& peer) { return on_complete(txn, m, peer); });
  federation_.on_reply_to<pn::Proposal>(
      [this](storage::WriteTxn& txn, const federation::SentMessage& sent,
             const protocol::Envelope& reply,
             const federation::Peer& peer) { on_proposal_reply(txn, sent, reply, peer); });
  federation_.on_give_up_of<pn::Proposal>(
      [this](storage::WriteTxn& txn, const federation::SentMessage& sent) {
        if (auto r = find(txn, sent.body.value("netting", "")); r && r->state == "proposed")
          fail(txn, *r, "the proposal to " + sent.peer + " was given up undelivered");
      });
}

std::optional<Nettings::Record> Nettings::find(const storage::Txn& txn,
                                               const std::string& id) const {
  auto value = txn.get(nettings_, id);
  if (!value) return std::nullopt;
  return Record::from_json(nlohmann::json::parse(*value));
}

bool Nettings::proposing(const storage::Txn& txn) const {
  bool open = false;
  txn.for_each_prefix(nettings_, "", [&](std::string_view, std::string_view value) {
    auto r = Record::from_json(nlohmann::json::parse(value));
    open = open || (r && r->state == "proposed");
  });
  return open;
}

void Nettings::save(storage::WriteTxn& txn, const Record& r) {
  txn.put(nettings_, r.netting.id, r.to_json().dump());
}

std::vector<std::string> Nettings::own_statements(const pn::Netting& n) const {
  std::vector<std::string> out;
  for (const auto& e : n.statements)
    if (e.debtor == federation_.self() || e.creditor == federation_.self())
      out.push_back(e.statement);
  return out;
}

bool Nettings::signed_by(const storage::Txn& txn, const std::string& node, const std::string& bytes,
                         const std::string& signature) const {
  if (node == federation_.self())
    return ps::verify(federation_.keys().current()->signing.public_key, bytes, signature);
  auto peer = federation_.peers().find(txn, node);
  return peer && settlement::signed_by(*peer, bytes, signature);
}

common::Result<nlohmann::json, NettingFailure> Nettings::propose(std::vector<std::string> others) {
  const auto& self = federation_.self();
  if (!enabled_) return common::fail(NettingFailure{NettingError::disabled, ""});
  std::sort(others.begin(), others.end());
  others.erase(std::unique(others.begin(), others.end()), others.end());
  others.erase(std::remove(others.begin(), others.end(), self), others.end());
  if (others.size() < 2 || others.size() + 1 > pn::kMaxParticipants)
    return common::fail(NettingFailure{NettingError::too_few, ""});
  {
    auto txn = federation_.env().begin_read();
    if (proposing(txn)) return common::fail(NettingFailure{NettingError::pending, ""});
    for (const auto& o : others) {
      auto peer = federation_.peers().find(txn, o);
      if (!peer || !peer->active || !peer->signing_key)
        return common::fail(NettingFailure{NettingError::unknown_peer, o});
    }
  }
  auto participants = others;
  participants.insert(std::upper_bound(participants.begin(), participants.end(), self), self);

  // Every agreed statement among the participants, as each of its two parties reports it.
  std::map<std::string, std::vector<StatementRecord>> reported;
  {
    auto txn = federation_.env().begin_read();
    for (auto& r : settlements_.agreed_unnetted(txn, others))
      reported[r.statement.id].push_back(std::move(r));
  }
  for (const auto& o : others) {
    auto answer = federation_.call(o, pn::PositionsRequest{participants});
    if (!answer || !answer.reply->body.contains("statements") ||
        !answer.reply->body["statements"].is_array())
      return common::fail(NettingFailure{NettingError::unreachable, o});
    for (const auto& item : answer.reply->body["statements"]) {
      auto r = StatementRecord::from_json(item);
      // A party reports only its own side of a statement.
      if (r && (r->proposer ? r->statement.proposer : r->statement.counterparty) == o)
        reported[r->statement.id].push_back(std::move(*r));
    }
  }
  pn::Netting n{"n_" + crypto::to_hex(crypto::random_bytes(12)), self, participants, {}};
  {
    auto txn = federation_.env().begin_read();
    for (const auto& [id, reports] : reported) {
      if (reports.size() != 2 || reports[0].proposer == reports[1].proposer) continue;
      const auto& a = reports[0];
      const auto& b = reports[1];
      const auto& s = a.statement;
      const auto statement = ps::statement_bytes(s);
      const auto agreement = ps::agreement_bytes(s, a.disputed);
      if (!contains(participants, s.proposer) || !contains(participants, s.counterparty) ||
          statement != ps::statement_bytes(b.statement) ||
          agreement != ps::agreement_bytes(b.statement, b.disputed) ||
          a.statement_signature != b.statement_signature ||
          a.countersignature != b.countersignature ||
          !signed_by(txn, s.proposer, statement, a.statement_signature) ||
          !signed_by(txn, s.counterparty, agreement, a.countersignature))
        continue;
      auto net = ps::net_for_proposer(s, a.disputed);
      if (net == 0) continue;
      n.statements.push_back({id, net > 0 ? s.counterparty : s.proposer,
                              net > 0 ? s.proposer : s.counterparty, std::abs(net)});
    }
  }
  if (n.statements.empty()) return common::fail(NettingFailure{NettingError::nothing_to_net, ""});
  auto signature = settlements_.sign(pn::document_bytes(n));
  auto own = own_statements(n);
  auto record =
      federation_.writer().submit_wait([&](storage::WriteTxn& txn) -> std::optional<Record> {
        // Still unnetted, and still the only open netting (two operators may have asked at once).
        for (const auto& id : own)
          if (auto s = settlements_.find(txn, id); !s || !s->netting.empty()) return std::nullopt;
        if (proposing(txn)) return std::nullopt;
        settlements_.set_netting(txn, own, n.id);
        Record r{n, "proposed", {{self, signature}}, federation_.clock().now_ms(), 0};
        save(txn, r);
        for (const auto& o : others) federation_.enqueue(txn, o, pn::Proposal{n, signature});
        return r;
      });
  if (!record) return common::fail(NettingFailure{NettingError::nothing_to_net, ""});
  return record->to_json();
}

HandlerResult Nettings::on_positions(storage::WriteTxn& txn, const pn::PositionsRequest& m,
                                     const federation::Peer& peer) {
  if (!enabled_)
    return HandlerResult::refuse(403, "settlement_disabled",
                                 "this node does not take part in settlement");
  if (!contains(m.participants, federation_.self()) || !contains(m.participants, peer.name))
    return HandlerResult::refuse(400, "bad_netting", "participants must include both nodes");
  std::vector<std::string> others;
  for (const auto& p : m.participants)
    if (p != federation_.self()) others.push_back(p);
  auto statements = nlohmann::json::array();
  for (const auto& r : settlements_.agreed_unnetted(txn, others)) statements.push_back(r.to_json());
  return HandlerResult::accept({{"statements", statements}});
}

HandlerResult Nettings::on_proposal(storage::WriteTxn& txn, const pn::Proposal& m,
                                    const federation::Peer& peer) {
  const auto& self = federation_.self();
  const auto& n = m.netting;
  if (!enabled_)
    return HandlerResult::refuse(403, "settlement_disabled",
                                 "this node does not take part in settlement");
  if (n.proposer != peer.name)
    return HandlerResult::refuse(403, "not_proposer", "a netting is proposed by its sender");
  if (!contains(n.participants, self))
    return HandlerResult::refuse(400, "bad_netting", "this node is not a participant");
  if (txn.contains(nettings_, n.id))
    return HandlerResult::refuse(409, "netting_known", "a netting with this id was answered");
  for (const auto& p : n.participants) {
    auto known = p == self ? std::nullopt : federation_.peers().find(txn, p);
    if (p != self && (!known || !known->active || !known->signing_key))
      return HandlerResult::refuse(409, "not_peered", "participant " + p + " is not a peer here");
  }
  const auto bytes = pn::document_bytes(n);
  if (!signed_by(txn, n.proposer, bytes, m.signature))
    return HandlerResult::refuse(
        400, "bad_netting_signature",
        "the netting's signature does not verify under the proposer's key");
  for (const auto& e : n.statements) {
    if (e.debtor != self && e.creditor != self) continue;
    auto other = e.debtor == self ? e.creditor : e.debtor;
    auto s = settlements_.find(txn, e.statement);
    auto net = s ? s->net() : 0;
    bool ok = s && s->state == "agreed" && s->netting.empty() && s->peer == other &&
              (e.creditor == self ? net == e.amount : net == -e.amount);
    if (!ok)
      return HandlerResult::refuse(
          409, "netting_mismatch",
          "statement " + e.statement + " is not an agreed, unnetted statement owed that way here");
  }
  auto mine = settlements_.sign(bytes);
  settlements_.set_netting(txn, own_statements(n), n.id);
  save(
      txn,
      Record{
          n, "signed", {{n.proposer, m.signature}, {self, mine}}, federation_.clock().now_ms(), 0});
  return HandlerResult::accept({{"netting", n.id}, {"signature", mine}});
}

void Nettings::on_proposal_reply(storage::WriteTxn& txn, const federation::SentMessage& sent,
                                 const protocol::Envelope& reply, const federation::Peer& peer) {
  auto r = find(txn, sent.body.value("netting", ""));
  if (!r || r->state != "proposed") return;
  auto signature = reply.body.value("signature", "");
  if (reply.body.value("netting", "") != r->netting.id ||
      !signed_by(txn, peer.name, pn::document_bytes(r->netting), signature)) {
    fail(txn, *r, peer.name + "'s signature does not verify");
    return;
  }
  r->signatures[peer.name] = signature;
  if (r->signatures.size() == r->netting.participants.size()) {
    federation_.ledger().append(txn, pn::netting_agreed(r->netting, r->signatures));
    r->state = "agreed";
    r->ended_ms = federation_.clock().now_ms();
    for (const auto& p : r->netting.participants)
      if (p != federation_.self())
        federation_.enqueue(txn, p, pn::Complete{r->netting.id, r->signatures});
  }
  save(txn, *r);
}

HandlerResult Nettings::on_complete(storage::WriteTxn& txn, const pn::Complete& m,
                                    const federation::Peer& peer) {
  auto r = find(txn, m.netting);
  if (!r) return HandlerResult::refuse(404, "unknown_netting", "no such netting signed here");
  if (r->netting.proposer != peer.name)
    return HandlerResult::refuse(403, "not_proposer", "a netting is completed by its proposer");
  if (r->state != "signed")
    return HandlerResult::refuse(409, "not_signed", "the netting is " + r->state + " here");
  const auto bytes = pn::document_bytes(r->netting);
  bool all = m.signatures.size() == r->netting.participants.size();
  for (const auto& p : r->netting.participants) {
    auto it = m.signatures.find(p);
    all = all && it != m.signatures.end() && signed_by(txn, p, bytes, it->second);
  }
  if (!all)
    return HandlerResult::refuse(400, "bad_netting_signature",
                                 "every participant's signature must verify");
  federation_.ledger().append(txn, pn::netting_agreed(r->netting, m.signatures));
  r->signatures = m.signatures;
  r->state = "agreed";
  r->ended_ms = federation_.clock().now_ms();
  save(txn, *r);
  return HandlerResult::accept({{"netting", r->netting.id}, {"recorded", true}});
}

void Nettings::fail(storage::WriteTxn& txn, Record& r, const std::string& why) {
  r.state = "failed";
  r.ended_ms = federation_.clock().now_ms();
  settlements_.set_netting(txn, own_statements(r.netting), "");
  save(txn, r);
  federation_.raise_alert(txn, "netting_failed", "", "netting " + r.netting.id + ": " + why);
}

nlohmann::json Nettings::list() const {
  auto txn = federation_.env().begin_read();
  std::vector<Record> all;
  txn.for_each_prefix(nettings_, "", [&](std::string_view, std::string_view value) {
    if (auto r = Record::from_json(nlohmann::json::parse(value))) all.push_back(std::move(*r));
  });
  std::sort(all.begin(), all.end(),
            [](const auto& a, const auto& b) { return a.created_ms > b.created_ms; });
  auto out = nlohmann::json::array();
  for (const auto& r : all) {
    auto j = r.to_json();
    j.erase("signatures");
    auto signed_by_nodes = nlohmann::json::array();
    for (const auto& [node, sig] : r.signatures) signed_by_nodes.push_back(node);
    j["signed_by"] = signed_by_nodes;
    j["positions"] = pn::positions(r.netting);
    auto transfers = nlohmann::json::array();
    for (const auto& t : pn::transfers(r.netting))
      transfers.push_back({{"debtor", t.debtor}, {"creditor", t.creditor}, {"amount", t.amount}});
    j["transfers"] = transfers;
    out.push_back(std::move(j));
  }
  return {{"nettings", out}};
}

}  // namespace relay::node::settlement
