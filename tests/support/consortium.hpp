#pragma once
// Helpers for tests that run many relay-node processes as one consortium (simulate_test.cpp):
// reading a whole ledger, a node's metrics and its peers' delivery, peering through a relay,
// finding a request on a candidate's management page, exporting a ledger for relay-audit.
//
// Each throws std::runtime_error (failing the test) when the node does not answer as expected,
// as the NodeProcess helpers do. Threads: as NodeProcess (one test thread at a time).
#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "support/node_process.hpp"

namespace relay::test {

// Every entry of the node's ledger, parsed, read 1000 at a time from /audit/v1/entries.
std::vector<nlohmann::json> ledger_entries(const NodeProcess& node);
// How many entries of each kind the ledger holds.
std::map<std::string, std::size_t> ledger_kinds(const NodeProcess& node);

// The sum of the GET /metrics samples whose series (name and labels, as written) starts with
// `series`, e.g. `relay_http_requests_total{method="POST",route="/federation/v1/messages",
// status="200"`.
double metric_sum(const NodeProcess& node, std::string_view series);

// GET /api/v1/peers: each peer's name -> its "delivery" object (queued, at_risk, refused,
// undelivered).
std::map<std::string, nlohmann::json> peer_delivery(const NodeProcess& node);

// POST /api/v1/peers naming `other` at `url` (a relay in front of it) with its fingerprint.
void peer_at(const NodeProcess& node, const NodeProcess& other, const std::string& url);

// On a candidate's management page, the id of the pending introduction request from
// `company` at node `node`, or nullopt if the page shows none.
std::optional<std::string> pending_request(const std::string& page, const std::string& company,
                                           const std::string& node);
// How many pending introduction requests the page shows.
std::size_t pending_requests(const std::string& page);

// `relay-node export DIR --config <node.json>`; `scratch` holds the tool's output files.
void export_ledger(const NodeProcess& node, const std::filesystem::path& dir,
                   const std::filesystem::path& scratch);
// The relay-node and relay-audit binaries of this build.
std::filesystem::path relay_node_bin();
std::filesystem::path relay_audit_bin();

}  // namespace relay::test
