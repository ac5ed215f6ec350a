// GET /metrics: Prometheus text format (0.0.4) for the operator's monitoring. It needs the
// auditor or the operator token (Prometheus sends it with `authorization: {credentials_file:
// .../auditor_token}`): route names and counts say little, but they are the operator's
// business, and the auditor token can change nothing. Route labels are patterns, never paths
// (capability tokens are in paths); nothing here holds personal data.
#include "node/api/common.hpp"
#include "node/http/client.hpp"
#include "node/http/route_metrics.hpp"

namespace relay::node::api {

namespace {

void family(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

template <class N>
void sample(std::string& out, std::string_view name, const std::string& labels, N value) {
  out += name;
  if (!labels.empty()) out += "{" + labels + "}";
  out += ' ' + std::to_string(value) + '\n';
}

Response metrics_text(const Services& s, const http::RouteMetrics& routes) {
  const auto v = s.operations.vitals();
  std::string out;
  routes.write_prometheus(out);
  family(out, "relay_ledger_entries", "gauge", "Entries in this node's signed ledger.");
  sample(out, "relay_ledger_entries", "", v.ledger_size);
  family(out, "relay_witness_cosigned_entries", "gauge",
         "Ledger size of the newest checkpoint peers cosigned (0: none yet).");
  sample(out, "relay_witness_cosigned_entries", "", v.cosigned_size.value_or(0));
  family(out, "relay_witness_cosigners", "gauge", "Peers that cosigned that checkpoint.");
  sample(out, "relay_witness_cosigners", "", v.cosigners);
  if (v.witness_age_s) {
    family(out, "relay_witness_age_seconds", "gauge",
           "Seconds since the newest cosignature of our newest cosigned checkpoint.");
    sample(out, "relay_witness_age_seconds", "", *v.witness_age_s);
  }
  family(out, "relay_peer_active", "gauge", "1 for an active peer, 0 for a suspended one.");
  for (const auto& [peer, q] : v.peers)
    sample(out, "relay_peer_active", "peer=\"" + http::prometheus_label(peer) + "\"",
           q.active ? 1 : 0);
  family(out, "relay_federation_outbox_messages", "gauge",
         "Messages in the federation outbox per peer: pending (waiting or retrying), failed "
         "(refused by the peer) or undelivered (given up at federation.give_up_after_s).");
  for (const auto& [peer, q] : v.peers) {
    const auto label = "peer=\"" + http::prometheus_label(peer) + "\"";
    sample(out, "relay_federation_outbox_messages", label + ",state=\"pending\"",
           q.delivery.queued);
    sample(out, "relay_federation_outbox_messages", label + ",state=\"failed\"",
           q.delivery.refused);
    sample(out, "relay_federation_outbox_messages", label + ",state=\"undelivered\"",
           q.delivery.undelivered);
  }
  family(out, "relay_federation_outbox_at_risk", "gauge",
         "Pending messages per peer queued for more than half of federation.give_up_after_s.");
  for (const auto& [peer, q] : v.peers)
    sample(out, "relay_federation_outbox_at_risk", "peer=\"" + http::prometheus_label(peer) + "\"",
           q.delivery.at_risk);
  family(out, "relay_mail_queue_messages", "gauge", "Candidate mail queued, not yet handed on.");
  sample(out, "relay_mail_queue_messages", "", v.mail_queue);
  family(out, "relay_alerts", "gauge", "Operator alerts (GET /api/v1/alerts).");
  sample(out, "relay_alerts", "", v.alerts);
  family(out, "relay_writer_commits_total", "counter",
         "Durable group commits of the LMDB writer (one fsync each).");
  sample(out, "relay_writer_commits_total", "", v.writer.batches_committed);
  family(out, "relay_writer_requests_total", "counter",
         "Write requests committed; divided by the commits, how many share an fsync.");
  sample(out, "relay_writer_requests_total", "", v.writer.requests_committed);
  family(out, "relay_writer_batches_rerun_total", "counter",
         "Batches run again with a child transaction per request, after a request failed.");
  sample(out, "relay_writer_batches_rerun_total", "", v.writer.batches_rerun);
  family(out, "relay_writer_queued_requests", "gauge",
         "Write requests waiting for the next commit.");
  sample(out, "relay_writer_queued_requests", "", v.writer_queued);
  // Peers and witnesses that close idle connections early show as few "kept".
  const auto client = http::client_counts();
  family(out, "relay_outbound_requests_total", "counter",
         "Requests this node sent (to peers and witnesses) that were answered, by connection: a "
         "new one, or one kept open from an earlier request.");
  sample(out, "relay_outbound_requests_total", "connection=\"new\"", client.answered_new);
  sample(out, "relay_outbound_requests_total", "connection=\"kept\"", client.answered_kept);
  family(
      out, "relay_outbound_second_attempts_total", "counter",
      "Requests sent again on a new connection: the server closed the kept one as they went out.");
  sample(out, "relay_outbound_second_attempts_total", "", client.second_attempts);
  return http::text_response(200, std::move(out), "text/plain; version=0.0.4; charset=utf-8");
}

}  // namespace

void add_metrics_route(Routes& routes, const Services& s, const http::RouteMetrics& metrics) {
  routes.add("GET", "/metrics", Role::auditor,
             [&s, &metrics](const Request&, const Params&, const Caller&) {
               return metrics_text(s, metrics);
             });
}

}  // namespace relay::node::api
