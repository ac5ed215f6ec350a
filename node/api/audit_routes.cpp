// Auditor API under /audit/v1/. The checkpoint and the node's public key are public (peers
// witness them); entries, proofs and balances need the auditor (or operator) token. Every
// route only reads: the auditor token can change nothing.
#include "crypto/bytes.hpp"
#include "node/api/common.hpp"
#include "node/storage/txn.hpp"

namespace relay::node::api {

namespace {
nlohmann::json hashes(const std::vector<protocol::Hash>& proof) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& h : proof) out.push_back(crypto::to_base64(h));
  return out;
}
constexpr std::uint64_t kMaxEntriesPerPage = 1000;
}  // namespace

void add_audit_routes(http::Router& router, Node& node) {
  router.add("GET", "/audit/v1/checkpoint", [&node](const Request&, const http::Params&) {
    auto txn = node.env().begin_read();
    auto cp = node.ledger().checkpoint(txn);
    return http::text_response(200, cp.note);
  });

  router.add("GET", "/audit/v1/key", [&node](const Request&, const http::Params&) {
    auto keys = node.keys().current();
    return http::json_response(200, {{"origin", node.ledger().origin()},
                                     {"vkey", node.ledger().verifier_key()},
                                     {"public_key", crypto::to_base64(keys->signing.public_key.bytes)},
                                     {"fingerprint", keys->signing.public_key.fingerprint()}});
  });

  router.add("GET", "/audit/v1/entries", [&node](const Request& request, const http::Params&) {
    auto auth = require_auditor(node, request);
    if (auto* denied = std::get_if<Response>(&auth)) return *denied;
    auto start = number_param(request, "start");
    auto limit = number_param(request, "limit");
    if (start.error) return *start.error;
    if (limit.error) return *limit.error;
    auto txn = node.env().begin_read();
    auto size = node.ledger().size(txn);
    auto first = start.value.value_or(0);
    auto count = std::min(limit.value.value_or(kMaxEntriesPerPage), kMaxEntriesPerPage);
    nlohmann::json entries = nlohmann::json::array();
    for (auto i = first; i < size && i < first + count; ++i) entries.push_back(*node.ledger().entry(txn, i));
    return http::json_response(200, {{"start", first}, {"size", size}, {"entries", entries}});
  });

  router.add("GET", "/audit/v1/proof/inclusion", [&node](const Request& request, const http::Params&) {
    auto auth = require_auditor(node, request);
    if (auto* denied = std::get_if<Response>(&auth)) return *denied;
    auto index = number_param(request, "index");
    auto size = number_param(request, "size");
    if (index.error) return *index.error;
    if (size.error) return *size.error;
    if (!index.value) return http::error_response(400, "missing_parameter", "index: required");
    auto txn = node.env().begin_read();
    auto n = size.value.value_or(node.ledger().size(txn));
    auto proof = node.ledger().inclusion_proof(txn, *index.value, n);
    if (!proof) return http::error_response(400, "bad_range", "index must be < size <= the ledger size");
    return http::json_response(200, {{"index", *index.value}, {"size", n}, {"proof", hashes(*proof)}});
  });

  router.add("GET", "/audit/v1/proof/consistency", [&node](const Request& request, const http::Params&) {
    auto auth = require_auditor(node, request);
    if (auto* denied = std::get_if<Response>(&auth)) return *denied;
    auto from = number_param(request, "from");
    auto to = number_param(request, "to");
    if (from.error) return *from.error;
    if (to.error) return *to.error;
    if (!from.value) return http::error_response(400, "missing_parameter", "from: required");
    auto txn = node.env().begin_read();
    auto n = to.value.value_or(node.ledger().size(txn));
    if (*from.value > n) return http::error_response(400, "bad_range", "from must be <= to");
    auto proof = node.ledger().consistency_proof(txn, *from.value, n);
    if (!proof) return http::error_response(400, "bad_range", "need 0 < from <= to <= the ledger size");
    return http::json_response(200, {{"from", *from.value}, {"to", n}, {"proof", hashes(*proof)}});
  });

  router.add("GET", "/audit/v1/balances", [&node](const Request& request, const http::Params&) {
    auto auth = require_auditor(node, request);
    if (auto* denied = std::get_if<Response>(&auth)) return *denied;
    auto txn = node.env().begin_read();
    return http::json_response(200, {{"ledger_size", node.ledger().size(txn)}, {"members", node.balances(txn)}});
  });
}

}  // namespace relay::node::api
