#include "audit/report.hpp"

#include <sstream>

#include "crypto/bytes.hpp"

namespace relay::audit {

namespace {

void add_problems(nlohmann::json& out, const ProblemList& problems) {
  out["ok"] = problems.empty();
  out["problems"] = to_json(problems);
  out["problems_total"] = problems.total();
  out["problems_omitted"] = problems.omitted();
}

void print_problems(std::ostream& out, const ProblemList& problems) {
  if (problems.empty()) return;
  out << "problems (" << problems.total() << "):\n";
  for (const auto& p : problems.kept()) out << "  " << p.text() << "\n";
  if (problems.omitted() > 0) out << "  ... and " << problems.omitted() << " more\n";
}

void print_result(std::ostream& out, const ProblemList& problems, const char* good) {
  if (problems.empty())
    out << "result:       " << good << "\n";
  else
    out << "result:       FAILED (" << problems.total() << " problems)\n";
}

nlohmann::json checkpoint_json(const std::string& location,
                               const std::optional<protocol::Checkpoint>& checkpoint) {
  nlohmann::json out = {{"location", location}};
  if (checkpoint) {
    out["origin"] = checkpoint->origin;
    out["size"] = checkpoint->size;
    out["root"] = crypto::to_base64(checkpoint->root);
  }
  return out;
}

}  // namespace

nlohmann::json to_json(const VerifyReport& report) {
  nlohmann::json out = {{"source", report.source},
                        {"origin", report.origin},
                        {"fingerprint", report.key ? report.key->fingerprint() : ""},
                        {"entries", report.entries},
                        {"size", nullptr},
                        {"root", crypto::to_base64(report.root)},
                        {"checkpoint_root", nullptr},
                        {"key_rotations", report.key_rotations},
                        {"node_balances_at", nullptr}};
  if (report.checkpoint_size) out["size"] = *report.checkpoint_size;
  if (report.checkpoint_root) out["checkpoint_root"] = crypto::to_base64(*report.checkpoint_root);
  if (report.node_balances_at) out["node_balances_at"] = *report.node_balances_at;
  nlohmann::json balances = nlohmann::json::object();
  for (const auto& [id, b] : report.balances) balances[id] = b.to_json();
  out["balances"] = std::move(balances);
  add_problems(out, report.problems);
  return out;
}

std::string to_text(const VerifyReport& report) {
  std::ostringstream out;
  out << "source:       " << report.source << "\n"
      << "origin:       " << report.origin << "\n"
      << "signing key:  " << (report.key ? report.key->fingerprint() : "(none)")
      << "   <- compare this fingerprint out of band\n";
  if (report.key_rotations > 0) out << "rotations:    " << report.key_rotations << "\n";
  out << "entries:      " << report.entries << "\n"
      << "root:         " << crypto::to_base64(report.root) << "\n"
      << "checkpoint:   ";
  if (report.checkpoint_size) {
    out << "size " << *report.checkpoint_size << ", root "
        << crypto::to_base64(*report.checkpoint_root) << "\n";
  } else {
    out << "(unreadable)\n";
  }
  out << "members:      " << report.balances.size() << " recomputed";
  if (report.node_balances_at)
    out << ", compared with the node's balances at " << *report.node_balances_at << " entries";
  out << "\n";
  print_problems(out, report.problems);
  print_result(out, report.problems, "VERIFIED");
  return out.str();
}

nlohmann::json to_json(const ConsistencyReport& report) {
  nlohmann::json out = {{"old", checkpoint_json(report.old_location, report.old_checkpoint)},
                        {"new", checkpoint_json(report.new_location, report.new_checkpoint)},
                        {"proof_source", report.proof_source},
                        {"proof_length", report.proof_length}};
  add_problems(out, report.problems);
  return out;
}

std::string to_text(const ConsistencyReport& report) {
  std::ostringstream out;
  auto side = [&](const char* label, const std::string& location,
                  const std::optional<protocol::Checkpoint>& cp) {
    out << label << location;
    if (cp) out << " (size " << cp->size << ", root " << crypto::to_base64(cp->root) << ")";
    out << "\n";
  };
  side("old:          ", report.old_location, report.old_checkpoint);
  side("new:          ", report.new_location, report.new_checkpoint);
  if (!report.proof_source.empty())
    out << "proof:        " << report.proof_length << " hashes from " << report.proof_source
        << "\n";
  print_problems(out, report.problems);
  print_result(out, report.problems, "CONSISTENT");
  return out.str();
}

nlohmann::json to_json(const InclusionReport& report) {
  nlohmann::json out = {{"source", report.source},
                        {"index", report.index},
                        {"size", nullptr},
                        {"root", nullptr},
                        {"entry", nullptr},
                        {"kind", nullptr},
                        {"signature", "not checked"},
                        {"proof_length", report.proof_length}};
  if (report.checkpoint) {
    out["size"] = report.checkpoint->size;
    out["root"] = crypto::to_base64(report.checkpoint->root);
  }
  if (report.entry) out["entry"] = *report.entry;
  if (report.parsed) out["kind"] = report.parsed->kind;
  if (report.signature_valid) out["signature"] = *report.signature_valid ? "valid" : "invalid";
  add_problems(out, report.problems);
  return out;
}

std::string to_text(const InclusionReport& report) {
  std::ostringstream out;
  out << "source:       " << report.source << "\n";
  if (report.checkpoint)
    out << "checkpoint:   size " << report.checkpoint->size << ", root "
        << crypto::to_base64(report.checkpoint->root) << "\n";
  out << "index:        " << report.index << "\n";
  if (report.parsed) out << "kind:         " << report.parsed->kind << "\n";
  if (report.signature_valid)
    out << "signature:    " << (*report.signature_valid ? "valid" : "INVALID") << "\n";
  else if (report.parsed)
    out << "signature:    not checked (signed by an earlier key; `verify` follows the key "
           "history)\n";
  if (report.proof_length > 0 || report.ok())
    out << "proof:        " << report.proof_length << " hashes\n";
  if (report.entry) out << "entry:        " << *report.entry << "\n";
  print_problems(out, report.problems);
  print_result(out, report.problems, "INCLUDED");
  return out.str();
}

}  // namespace relay::audit
