// Witnessing routes: GET /audit/v1/checkpoint/witnessed (public, like /audit/v1/checkpoint:
// our checkpoint at the latest size peers have cosigned, with their cosignature lines, as one
// C2SP signed note) and GET /api/v1/witness (operator: what this node witnessed of each peer
// and what each peer cosigned of ours). Both only read.
// The C2SP tlog-witness protocol (federation/witness.hpp): POST /witness/v1/add-checkpoint
// (public: the checkpoint's signature is the authentication, as the spec says) and
// GET /witness/v1/policy (public: which witnesses this node's checkpoints need, k of n).
#include "node/api/common.hpp"

namespace relay::node::api {

namespace {

Response witnessed_checkpoint(const Services& s) {
  auto note = s.audit.witnessed_checkpoint_note();
  if (!note) return reply(error_for(note.error()));
  return http::text_response(200, *note);
}

Response witness_status(const Services& s) {
  return http::json_response(200, s.audit.witness_status());
}

Response add_checkpoint(const Services& s, const Request& request) {
  auto answer = s.witness.add_checkpoint(request.body);
  return http::text_response(answer.status, std::move(answer.body), answer.content_type);
}

}  // namespace

void add_witness_routes(Routes& routes, const Services& s) {
  routes.add(
      "GET", "/audit/v1/checkpoint/witnessed", Role::everyone,
      [&s](const Request&, const Params&, const Caller&) { return witnessed_checkpoint(s); });
  routes.add("GET", "/api/v1/witness", Role::operator_,
             [&s](const Request&, const Params&, const Caller&) { return witness_status(s); });
  routes.add("POST", "/witness/v1/add-checkpoint", Role::everyone,
             [&s](const Request& r, const Params&, const Caller&) { return add_checkpoint(s, r); });
  routes.add("GET", "/witness/v1/policy", Role::everyone,
             [&s](const Request&, const Params&, const Caller&) {
               return http::json_response(200, s.witness.policy());
             });
}

}  // namespace relay::node::api
