// Witnessing routes: GET /audit/v1/checkpoint/witnessed (public, like /audit/v1/checkpoint:
// our checkpoint at the latest size peers have cosigned, with their cosignature lines, as one
// C2SP signed note) and GET /api/v1/witness (operator: what this node witnessed of each peer
// and what each peer cosigned of ours). Both only read.
#include "node/api/common.hpp"
#include "node/storage/txn.hpp"

namespace relay::node::api {

void add_witness_routes(http::Router& router, Node& node) {
  router.add("GET", "/audit/v1/checkpoint/witnessed", [&node](const Request&, const http::Params&) {
    auto txn = node.env().begin_read();
    auto cosigned = node.witness().witnessed_checkpoint(txn);
    if (!cosigned)
      return http::error_response(404, "not_found",
                                  "no checkpoint of this node has been cosigned yet");
    return http::text_response(200, cosigned->note);
  });

  router.add("GET", "/api/v1/witness", [&node](const Request& request, const http::Params&) {
    auto auth = require_admin(node, request);
    if (auto* denied = std::get_if<Response>(&auth)) return *denied;
    auto txn = node.env().begin_read();
    return http::json_response(200, node.witness().status(txn));
  });
}

}  // namespace relay::node::api
