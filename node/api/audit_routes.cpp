// Auditor API under /audit/v1/. The checkpoint and the node's public key are public (peers
// witness them); entries, proofs and balances need the auditor (or operator) token. Every
// route only reads: the auditor token can change nothing.
#include "crypto/bytes.hpp"
#include "node/api/common.hpp"

namespace relay::node::api {

namespace {

nlohmann::json hashes(const std::vector<protocol::Hash>& proof) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& h : proof) out.push_back(crypto::to_base64(h));
  return out;
}

Response checkpoint(const Services& s) {
  return http::text_response(200, s.audit.checkpoint_note());
}

Response key(const Services& s) {
  auto k = s.audit.key();
  return http::json_response(200, {{"origin", k.origin},
                                   {"vkey", k.vkey},
                                   {"public_key", k.public_key},
                                   {"fingerprint", k.fingerprint}});
}

Response entries(const Services& s, const Request& request) {
  auto start = number_param(request, "start");
  auto limit = number_param(request, "limit");
  if (!start) return reply(start.error());
  if (!limit) return reply(limit.error());
  auto page = s.audit.entries(*start, *limit);
  nlohmann::json entries = nlohmann::json::array();
  for (const auto& e : page.entries) entries.push_back(e);
  return http::json_response(200,
                             {{"start", page.start}, {"size", page.size}, {"entries", entries}});
}

Response inclusion(const Services& s, const Request& request) {
  auto index = number_param(request, "index");
  auto size = number_param(request, "size");
  if (!index) return reply(index.error());
  if (!size) return reply(size.error());
  if (!*index) return reply(bad_request("missing_parameter", "index: required"));
  auto proof = s.audit.inclusion(**index, *size);
  if (!proof) return reply(error_for(proof.error()));
  return http::json_response(
      200, {{"index", proof->first}, {"size", proof->second}, {"proof", hashes(proof->hashes)}});
}

Response consistency(const Services& s, const Request& request) {
  auto from = number_param(request, "from");
  auto to = number_param(request, "to");
  if (!from) return reply(from.error());
  if (!to) return reply(to.error());
  if (!*from) return reply(bad_request("missing_parameter", "from: required"));
  auto proof = s.audit.consistency(**from, *to);
  if (!proof) return reply(error_for(proof.error()));
  return http::json_response(
      200, {{"from", proof->first}, {"to", proof->second}, {"proof", hashes(proof->hashes)}});
}

Response balances(const Services& s) {
  auto b = s.audit.balances();
  return http::json_response(200, {{"ledger_size", b.ledger_size}, {"members", b.members}});
}

}  // namespace

void add_audit_routes(Routes& routes, const Services& s) {
  routes.add("GET", "/audit/v1/checkpoint", Role::everyone,
             [&s](const Request&, const Params&, const Caller&) { return checkpoint(s); });
  routes.add("GET", "/audit/v1/key", Role::everyone,
             [&s](const Request&, const Params&, const Caller&) { return key(s); });
  routes.add(
      "GET", "/audit/v1/entries", Role::auditor,
      [&s](const Request& request, const Params&, const Caller&) { return entries(s, request); });
  routes.add(
      "GET", "/audit/v1/proof/inclusion", Role::auditor,
      [&s](const Request& request, const Params&, const Caller&) { return inclusion(s, request); });
  routes.add("GET", "/audit/v1/proof/consistency", Role::auditor,
             [&s](const Request& request, const Params&, const Caller&) {
               return consistency(s, request);
             });
  routes.add("GET", "/audit/v1/balances", Role::auditor,
             [&s](const Request&, const Params&, const Caller&) { return balances(s); });
}

}  // namespace relay::node::api
