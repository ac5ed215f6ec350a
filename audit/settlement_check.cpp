#include "audit/settlement_check.hpp"

#include <algorithm>
#include <set>
#include <sstream>
#include <utility>
#include <variant>

#include "audit/key_history.hpp"
#include "audit/log_verifier.hpp"
#include "protocol/canonical_json.hpp"
#include "protocol/event.hpp"
#include "protocol/ledger_entry.hpp"
#include "protocol/netting.hpp"
#include "protocol/settlement.hpp"

namespace relay::audit {

namespace {

namespace kind = protocol::event_kind;
namespace ps = protocol::settlement;
namespace pn = protocol::netting;

// One settlement_agreed entry, as recorded.
struct Agreed {
  std::uint64_t entry = 0;
  bool proposer = false;
  std::string peer;
  ps::Statement statement;
  std::vector<ps::Dispute> disputed;
  std::int64_t net = 0;
  std::string statement_signature;
  std::string countersignature;

  std::string agreement() const { return ps::agreement_bytes(statement, disputed); }
};

// One netting_agreed entry.
struct Netted {
  std::uint64_t entry = 0;
  pn::Netting netting;
  std::map<std::string, std::string> signatures;
};

struct SettlementLog {
  bool usable = false;
  std::string name;  // the source, for problems
  std::string origin;
  std::vector<crypto::Ed25519PublicKey> keys;  // every key the log put in force
  std::map<std::string, Agreed> agreed;        // by statement id
  std::map<std::string, Netted> nettings;      // by netting id
};

bool signed_by_any(const std::vector<crypto::Ed25519PublicKey>& keys, const std::string& bytes,
                   const std::string& signature) {
  return std::any_of(keys.begin(), keys.end(),
                     [&](const auto& k) { return ps::verify(k, bytes, signature); });
}

std::string text(const nlohmann::json& data, const char* name) {
  auto it = data.find(name);
  return it != data.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

std::string where(const SettlementLog& log, std::uint64_t entry) {
  return log.name + " entry " + std::to_string(entry);
}

// Parses one settlement_agreed; nullopt (and a problem) if malformed.
std::optional<Agreed> parse_agreed(const protocol::LedgerEntry& e, const SettlementLog& log,
                                   ProblemList& problems) {
  const auto& d = e.data;
  Agreed a;
  a.entry = e.index;
  a.peer = text(d, "peer");
  auto role = text(d, "role");
  a.proposer = role == "proposer";
  a.statement.id = text(d, "statement");
  a.statement.period = text(d, "period");
  a.statement.proposer = a.proposer ? log.origin : a.peer;
  a.statement.counterparty = a.proposer ? a.peer : log.origin;
  a.statement_signature = text(d, "statement_signature");
  a.countersignature = text(d, "countersignature");
  auto items = d.contains("items") ? ps::parse_items(d["items"]) : std::nullopt;
  bool ok = items && ps::valid_id(a.statement.id) && !a.peer.empty() &&
            (role == "proposer" || role == "counterparty") && d.contains("until_ms") &&
            d["until_ms"].is_number_integer() && d.contains("net") &&
            d["net"].is_number_integer() && d.contains("disputed");
  if (ok) {
    a.statement.items = std::move(*items);
    a.statement.until_ms = d["until_ms"].get<std::int64_t>();
    a.net = d["net"].get<std::int64_t>();
    auto disputed = ps::parse_disputes(d["disputed"], a.statement);
    ok = disputed.has_value();
    if (ok) a.disputed = std::move(*disputed);
  }
  if (!ok) {
    problems.add(where(log, e.index), "malformed settlement_agreed");
    return std::nullopt;
  }
  return a;
}

// A netting_agreed: well formed, positions and transfers as recomputed, signed by this node,
// and each edge this node is party to one of its agreed statements, netted once.
void read_netting(const protocol::LedgerEntry& e, SettlementLog& log,
                  std::map<std::string, std::string>& netted, ProblemList& found) {
  auto n = pn::parse(e.data);
  auto sigs = e.data.find("signatures");
  if (!n || sigs == e.data.end() || !sigs->is_object()) {
    found.add(where(log, e.index), "malformed netting_agreed");
    return;
  }
  Netted x{e.index, std::move(*n), {}};
  for (const auto& [node, sig] : sigs->items())
    if (sig.is_string()) x.signatures[node] = sig.get<std::string>();
  const auto& id = x.netting.id;
  auto fields = e.data;
  fields.erase("signatures");
  fields["type"] = pn::kDocumentType;
  const auto bytes = pn::document_bytes(x.netting);
  if (protocol::canonical_dump(fields) != bytes)
    found.add(where(log, e.index), "netting " + id + ": positions or transfers are not right");
  auto own = x.signatures.find(log.origin);
  if (own == x.signatures.end() || !signed_by_any(log.keys, bytes, own->second))
    found.add(where(log, e.index), "netting " + id + ": this node's signature does not verify");
  for (const auto& edge : x.netting.statements) {
    if (edge.debtor != log.origin && edge.creditor != log.origin) continue;
    auto a = log.agreed.find(edge.statement);
    auto other = edge.debtor == log.origin ? edge.creditor : edge.debtor;
    auto net = edge.creditor == log.origin ? edge.amount : -edge.amount;
    if (a == log.agreed.end() || a->second.peer != other || a->second.net != net)
      found.add(where(log, e.index), "netting " + id + " nets statement " + edge.statement +
                                         ", not an agreed statement with that net");
    else if (auto [it, fresh] = netted.emplace(edge.statement, id); !fresh)
      found.add(where(log, e.index), "netting " + id + " nets statement " + edge.statement +
                                         ", already netted in " + it->second);
  }
  if (!log.nettings.emplace(id, std::move(x)).second)
    found.add(where(log, e.index), "netting " + id + " recorded twice");
}

SettlementLog read_log(LogSource& source, const SettlementCheckOptions& options,
                       ProblemList& problems) {
  SettlementLog log;
  log.name = source.name();
  auto report = verify_log(source, {std::nullopt, 20, options.threads});
  if (!report.ok()) {
    for (const auto& p : report.problems.kept())
      problems.add(source.name(), "does not verify: " + p.text());
    return log;
  }
  log.origin = report.origin;
  // (peer, handoff) -> owed by this node; and the statement that settled it.
  std::map<std::pair<std::string, std::string>, bool> obligations;
  std::map<std::pair<std::string, std::string>, std::string> settled;
  std::map<std::string, std::string> netted;  // statement -> netting
  ProblemList found;
  source.read_entries(
      report.checkpoint_size.value_or(report.entries),
      [&](std::vector<std::string>& batch) {
        for (const auto& bytes : batch) {
          auto parsed = protocol::parse_entry(bytes);
          auto* e = std::get_if<protocol::LedgerEntry>(&parsed);
          if (!e) continue;  // verify_log has judged the log sound
          if (e->kind == kind::node_initialised || e->kind == kind::key_rotated) {
            auto key = key_field(*e, e->kind == kind::node_initialised ? "signing_key" : "new_key");
            if (key) log.keys.push_back(*key);
          } else if (e->kind == kind::obligation_recorded) {
            std::pair key{text(e->data, "peer"), text(e->data, "handoff")};
            if (!obligations.emplace(key, text(e->data, "owed_by") == "self").second)
              found.add(where(log, e->index), "obligation " + key.second + " recorded twice");
          } else if (e->kind == pn::kNettingAgreed) {
            read_netting(*e, log, netted, found);
          } else if (e->kind == kind::settlement_agreed) {
            auto a = parse_agreed(*e, log, found);
            if (!a) continue;
            const auto& s = a->statement;
            auto own = a->proposer ? ps::statement_bytes(s) : a->agreement();
            if (!signed_by_any(log.keys, own,
                               a->proposer ? a->statement_signature : a->countersignature))
              found.add(where(log, e->index),
                        "statement " + s.id + ": this node's signature does not verify");
            auto net = ps::net_for_proposer(s, a->disputed);
            if (a->net != (a->proposer ? net : -net))
              found.add(where(log, e->index), "statement " + s.id + ": net is " +
                                                  std::to_string(a->net) + ", items give " +
                                                  std::to_string(a->proposer ? net : -net));
            for (const auto& item : ps::agreed_items(s, a->disputed)) {
              std::pair key{a->peer, item.handoff};
              auto o = obligations.find(key);
              bool owed_by_self = item.owed_by_proposer == a->proposer;
              if (o == obligations.end())
                found.add(where(log, e->index), "statement " + s.id + " settles " + item.handoff +
                                                    ", never recorded as owed");
              else if (o->second != owed_by_self)
                found.add(where(log, e->index),
                          "statement " + s.id + " settles " + item.handoff + " the wrong way");
              else if (auto [it, fresh] = settled.emplace(key, s.id); !fresh)
                found.add(where(log, e->index), "statement " + s.id + " settles " + item.handoff +
                                                    ", already settled by " + it->second);
            }
            if (!log.agreed.emplace(s.id, std::move(*a)).second)
              found.add(where(log, e->index), "statement " + s.id + " recorded twice");
          }
        }
      },
      found);
  for (const auto& p : found.kept()) problems.add(p);
  log.usable = found.empty();
  return log;
}

// x's statement a, against the same statement in y's log (the other side).
void compare(const SettlementLog& x, const Agreed& a, const SettlementLog& y, const Agreed& b,
             ProblemList& problems) {
  const auto id = a.statement.id;
  auto at = where(x, a.entry) + " / " + where(y, b.entry);
  if (b.peer != x.origin || b.proposer == a.proposer)
    problems.add(at, "statement " + id + ": the two logs do not name each other in opposite roles");
  else if (ps::statement_bytes(a.statement) != ps::statement_bytes(b.statement) ||
           a.agreement() != b.agreement())
    problems.add(at, "statement " + id + ": the two logs record different items or disputes");
  else if (a.statement_signature != b.statement_signature ||
           a.countersignature != b.countersignature)
    problems.add(at, "statement " + id + ": the two logs record different signatures");
  else if (a.net != -b.net)
    problems.add(at, "statement " + id + ": nets " + std::to_string(a.net) + " and " +
                         std::to_string(b.net) + " do not cancel");
  // The other side's signature, under the other log's keys.
  const auto& theirs = a.proposer ? a.countersignature : a.statement_signature;
  auto bytes = a.proposer ? a.agreement() : ps::statement_bytes(a.statement);
  if (!signed_by_any(y.keys, bytes, theirs))
    problems.add(at, "statement " + id + ": " + y.origin + "'s signature does not verify");
}

SettlementReport run(const std::vector<LogSource*>& sources, bool consortium,
                     const SettlementCheckOptions& options) {
  SettlementReport report;
  std::vector<SettlementLog> logs;
  for (auto* source : sources) {
    report.sources.push_back(source->name());
    auto log = read_log(*source, options, report.problems);
    if (!log.usable) continue;
    auto dup = std::find_if(logs.begin(), logs.end(),
                            [&](const auto& l) { return l.origin == log.origin; });
    if (dup != logs.end()) {
      report.problems.add(source->name(), "is a second log of " + log.origin);
      continue;
    }
    report.origins.push_back(log.origin);
    logs.push_back(std::move(log));
  }
  if (logs.size() != sources.size()) return report;
  auto log_of = [&](const std::string& origin) -> const SettlementLog* {
    for (const auto& l : logs)
      if (l.origin == origin) return &l;
    return nullptr;
  };
  for (const auto& x : logs) {
    for (const auto& [id, a] : x.agreed) {
      const auto* y = log_of(a.peer);
      if (!y) {
        if (consortium) {
          report.problems.add(where(x, a.entry), "statement " + id + " with " + a.peer +
                                                     ": no log of " + a.peer + " given");
          report.positions[x.origin] += a.net;
        }
        continue;
      }
      report.positions[x.origin] += a.net;
      auto b = y->agreed.find(id);
      if (b == y->agreed.end()) {
        ++report.statements;
        report.problems.add(where(x, a.entry),
                            "statement " + id + " is not in " + y->origin + "'s log");
        continue;
      }
      if (!(x.origin < y->origin)) continue;  // each pair once
      ++report.statements;
      report.agreed_items += ps::agreed_items(a.statement, a.disputed).size();
      report.disputed_items += a.disputed.size();
      compare(x, a, *y, b->second, report.problems);
    }
  }
  // Nettings: every participant whose log is given recorded the same document and signatures,
  // and each signature verifies under its signer's log keys.
  for (const auto& x : logs) {
    for (const auto& [id, a] : x.nettings) {
      ++report.nettings;
      for (const auto& p : a.netting.participants) {
        if (p == x.origin) continue;
        const auto* y = log_of(p);
        if (!y) {
          if (consortium)
            report.problems.add(where(x, a.entry),
                                "netting " + id + " with " + p + ": no log of " + p + " given");
          continue;
        }
        auto b = y->nettings.find(id);
        auto sig = a.signatures.find(p);
        if (b == y->nettings.end())
          report.problems.add(where(x, a.entry), "netting " + id + " is not in " + p + "'s log");
        else if (pn::document_bytes(b->second.netting) != pn::document_bytes(a.netting) ||
                 b->second.signatures != a.signatures)
          report.problems.add(where(x, a.entry) + " / " + where(*y, b->second.entry),
                              "netting " + id + ": the two logs record it differently");
        else if (sig == a.signatures.end() ||
                 !signed_by_any(y->keys, pn::document_bytes(a.netting), sig->second))
          report.problems.add(where(x, a.entry),
                              "netting " + id + ": " + p + "'s signature does not verify");
      }
      if (a.signatures.size() != a.netting.participants.size())
        report.problems.add(where(x, a.entry),
                            "netting " + id + ": not signed by every participant");
    }
  }
  for (const auto& [node, net] : report.positions) report.sum += net;
  if (report.sum != 0)
    report.problems.add("positions",
                        "net positions sum to " + std::to_string(report.sum) + ", not 0");
  return report;
}

}  // namespace

SettlementReport check_settlement(LogSource& a, LogSource& b,
                                  const SettlementCheckOptions& options) {
  return run({&a, &b}, false, options);
}

SettlementReport check_consortium(const std::vector<LogSource*>& logs,
                                  const SettlementCheckOptions& options) {
  return run(logs, true, options);
}

nlohmann::json to_json(const SettlementReport& report) {
  return {{"ok", report.ok()},
          {"sources", report.sources},
          {"origins", report.origins},
          {"statements", report.statements},
          {"agreed_items", report.agreed_items},
          {"disputed_items", report.disputed_items},
          {"nettings", report.nettings},
          {"positions", report.positions},
          {"sum", report.sum},
          {"problems", to_json(report.problems)},
          {"problems_total", report.problems.total()}};
}

std::string to_text(const SettlementReport& report, bool consortium) {
  std::ostringstream out;
  for (std::size_t i = 0; i < report.sources.size(); ++i)
    out << "log: " << report.sources[i]
        << (i < report.origins.size() ? " (" + report.origins[i] + ")" : std::string{}) << "\n";
  out << "statements: " << report.statements << ", agreed items: " << report.agreed_items
      << ", disputed items: " << report.disputed_items << ", netting records: " << report.nettings
      << "\n";
  for (const auto& [node, net] : report.positions)
    out << "net position of " << node << ": " << (net > 0 ? "+" : "") << net
        << " introduction(s)\n";
  if (consortium) out << "sum of positions: " << report.sum << "\n";
  for (const auto& p : report.problems.kept()) out << "problem: " << p.text() << "\n";
  out << (report.ok() ? (consortium ? "OK: every settlement is signed by both sides, and the "
                                      "positions sum to zero\n"
                                    : "OK: every settlement between them is signed by both "
                                      "sides and recorded alike on both\n")
                      : "FAILED\n");
  return out.str();
}

}  // namespace relay::audit
