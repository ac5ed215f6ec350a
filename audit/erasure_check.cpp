#include "audit/erasure_check.hpp"

#include <map>
#include <set>
#include <sstream>
#include <utility>
#include <variant>

#include "audit/log_verifier.hpp"
#include "protocol/event.hpp"
#include "protocol/ledger_entry.hpp"

namespace relay::audit {

namespace {

namespace kind = protocol::event_kind;

std::string text_field(const nlohmann::json& data, const char* name) {
  auto it = data.find(name);
  return it != data.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

// One verified log: its origin and the events that matter here.
struct ReadLog {
  bool usable = false;
  std::string origin;
  std::vector<ErasureRequest> requests;                    // erasure_requested
  std::set<std::pair<std::string, std::string>> receipts;  // erasure_receipt {handoff, peer}
  std::set<std::pair<std::string, std::string>> done;      // erasure_completed/handoff_expired
  std::set<std::pair<std::string, std::string>> hired;     // hire_reported {handoff, peer}
  std::set<std::pair<std::string, std::string>> kept;      // erasure_kept after a hire
};

ReadLog read_log(LogSource& source, const ErasureCheckOptions& options, ProblemList& problems) {
  ReadLog log;
  auto report = verify_log(source, {std::nullopt, 20, options.threads});
  if (!report.ok()) {
    for (const auto& p : report.problems.kept())
      problems.add(source.name(), "does not verify: " + p.text());
    if (report.problems.omitted() > 0)
      problems.add(source.name(), "does not verify: " + std::to_string(report.problems.omitted()) +
                                      " more problem(s)");
    return log;
  }
  log.origin = report.origin;
  ProblemList framing;
  source.read_entries(
      report.checkpoint_size.value_or(report.entries),
      [&](std::vector<std::string>& batch) {
        for (const auto& bytes : batch) {
          auto parsed = protocol::parse_entry(bytes);
          auto* e = std::get_if<protocol::LedgerEntry>(&parsed);
          if (!e) continue;  // verify_log has judged the log sound
          auto handoff = text_field(e->data, "handoff");
          auto peer = text_field(e->data, "peer");
          if (e->kind == kind::erasure_requested)
            log.requests.push_back({e->index, text_field(e->data, "candidate"), peer, handoff,
                                    text_field(e->data, "reason")});
          else if (e->kind == kind::erasure_receipt)
            log.receipts.emplace(handoff, peer);
          else if (e->kind == kind::erasure_completed || e->kind == kind::handoff_expired)
            log.done.emplace(handoff, peer);
          else if (e->kind == kind::hire_reported)
            log.hired.emplace(handoff, peer);
          else if (e->kind == kind::erasure_kept) {
            // Keeping data a candidate withdrew is allowed only for a hire reported before.
            if (text_field(e->data, "reason") == "hired" && log.hired.count({handoff, peer}))
              log.kept.emplace(handoff, peer);
            else
              framing.add_entry(e->index,
                                "erasure_kept for handoff " + handoff + " without a hire reported");
          }
        }
      },
      framing);
  log.usable = framing.empty();
  for (const auto& p : framing.kept()) problems.add(source.name(), p.text());
  return log;
}

}  // namespace

std::string MissingErasure::text() const {
  std::string out = "entry " + std::to_string(request.entry) + ": erasure_requested handoff " +
                    request.handoff + " to " + request.peer + ":";
  if (receipt_missing) out += " no erasure_receipt in the holder's log;";
  if (completion_missing)
    out += recipient_log_given
               ? " no erasure_completed or handoff_expired in " + request.peer + "'s log;"
               : " no log of " + request.peer + " given, so its erasure_completed is not shown;";
  out.pop_back();
  return out;
}

ErasureReport check_erasures(LogSource& holder, const std::vector<LogSource*>& recipients,
                             const ErasureCheckOptions& options) {
  ErasureReport report;
  report.sources.push_back(holder.name());
  auto held = read_log(holder, options, report.problems);
  report.holder = held.origin;
  std::map<std::string, ReadLog> by_origin;
  for (auto* source : recipients) {
    report.sources.push_back(source->name());
    auto log = read_log(*source, options, report.problems);
    if (!log.usable) continue;
    report.recipients.push_back(log.origin);
    if (log.origin == held.origin) {
      report.problems.add(source->name(), "is a log of the holder (" + log.origin + ")");
      continue;
    }
    auto& merged = by_origin[log.origin];
    merged.usable = true;
    merged.origin = log.origin;
    merged.done.insert(log.done.begin(), log.done.end());
    merged.kept.insert(log.kept.begin(), log.kept.end());
  }
  if (!held.usable) return report;
  report.requests = held.requests.size();
  for (const auto& r : held.requests) {
    MissingErasure m;
    m.request = r;
    m.receipt_missing = held.receipts.count({r.handoff, r.peer}) == 0;
    if (!m.receipt_missing) ++report.receipts;
    auto recipient = by_origin.find(r.peer);
    m.recipient_log_given = recipient != by_origin.end();
    auto answered = [&](const ReadLog& log) {
      if (log.done.count({r.handoff, held.origin})) return true;
      return r.reason == "withdrawn" && log.kept.count({r.handoff, held.origin}) > 0;
    };
    m.completion_missing = !m.recipient_log_given || !answered(recipient->second);
    if (m.receipt_missing || m.completion_missing) report.missing.push_back(std::move(m));
  }
  return report;
}

nlohmann::json to_json(const ErasureReport& report) {
  nlohmann::json missing = nlohmann::json::array();
  for (const auto& m : report.missing)
    missing.push_back({{"entry", m.request.entry},
                       {"reason", m.request.reason},
                       {"candidate", m.request.candidate},
                       {"peer", m.request.peer},
                       {"handoff", m.request.handoff},
                       {"receipt_missing", m.receipt_missing},
                       {"completion_missing", m.completion_missing},
                       {"recipient_log_given", m.recipient_log_given}});
  return {{"ok", report.ok()},
          {"holder", report.holder},
          {"sources", report.sources},
          {"recipients", report.recipients},
          {"requests", report.requests},
          {"receipts", report.receipts},
          {"missing", missing},
          {"problems", to_json(report.problems)},
          {"problems_total", report.problems.total()}};
}

std::string to_text(const ErasureReport& report) {
  std::ostringstream out;
  out << "holder: " << (report.holder.empty() ? "?" : report.holder) << " ("
      << report.sources.front() << ")\n";
  for (std::size_t i = 1; i < report.sources.size(); ++i)
    out << "log given: " << report.sources[i] << "\n";
  out << "erasure requests: " << report.requests << ", receipts: " << report.receipts
      << ", missing a receipt or completion: " << report.missing.size() << "\n";
  for (const auto& p : report.problems.kept()) out << "problem: " << p.text() << "\n";
  for (const auto& m : report.missing) out << "missing: " << m.text() << "\n";
  out << (report.ok() ? "OK: every erasure request was answered and carried out\n" : "FAILED\n");
  return out.str();
}

}  // namespace relay::audit
