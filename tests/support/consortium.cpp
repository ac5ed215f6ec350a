#include "support/consortium.hpp"

#include <sstream>
#include <stdexcept>

#include "support/tool_run.hpp"
#include "support/vectors.hpp"

namespace relay::test {

namespace {

[[noreturn]] void refused(const NodeProcess& node, const std::string& what, const HttpReply& r) {
  throw std::runtime_error(node.options().name + ": " + what + " answered " +
                           std::to_string(r.status) + " " + r.error + " " + r.body.substr(0, 300));
}

}  // namespace

std::vector<nlohmann::json> ledger_entries(const NodeProcess& node) {
  std::vector<nlohmann::json> out;
  for (;;) {
    auto path = "/audit/v1/entries?start=" + std::to_string(out.size()) + "&limit=1000";
    auto reply = node.get(path, node.auditor_token());
    if (reply.status != 200) refused(node, path, reply);
    auto page = reply.json();  // kept: a range-for over a temporary's member would dangle
    const auto& entries = page.at("entries");
    for (const auto& e : entries) out.push_back(nlohmann::json::parse(e.get<std::string>()));
    if (entries.empty() || out.size() >= page.at("size").get<std::size_t>()) return out;
  }
}

std::map<std::string, std::size_t> ledger_kinds(const NodeProcess& node) {
  std::map<std::string, std::size_t> kinds;
  for (const auto& e : ledger_entries(node)) ++kinds[e.at("kind").get<std::string>()];
  return kinds;
}

double metric_sum(const NodeProcess& node, std::string_view series) {
  auto reply = node.get("/metrics", node.auditor_token());
  if (reply.status != 200) refused(node, "/metrics", reply);
  double total = 0;
  std::istringstream lines(reply.body);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#' || line.rfind(series, 0) != 0) continue;
    auto space = line.rfind(' ');
    if (space != std::string::npos) total += std::stod(line.substr(space + 1));
  }
  return total;
}

std::map<std::string, nlohmann::json> peer_delivery(const NodeProcess& node) {
  auto reply = node.get("/api/v1/peers", node.admin_token());
  if (reply.status != 200) refused(node, "/api/v1/peers", reply);
  auto peers = reply.json();
  std::map<std::string, nlohmann::json> out;
  for (const auto& p : peers.at("peers")) out[p.at("name")] = p.at("delivery");
  return out;
}

void peer_at(const NodeProcess& node, const NodeProcess& other, const std::string& url) {
  auto reply = node.post_json(
      "/api/v1/peers",
      {{"name", other.options().name}, {"url", url}, {"fingerprint", fingerprint(other)}},
      node.admin_token());
  if (reply.status != 201) refused(node, "POST /api/v1/peers " + other.options().name, reply);
}

// The page lists each request as <div class="box"><p>COMPANY (NODE, REGION) — ...</p> ... and
// its form posts to .../requests/<id>[?lang=..] (node/candidates/management_page.cpp).
std::optional<std::string> pending_request(const std::string& page, const std::string& company,
                                           const std::string& node) {
  auto at = page.find("<div class=\"box\"><p>" + company + " (" + node + ", ");
  if (at == std::string::npos) return std::nullopt;
  const std::string marker = "/requests/";
  auto id = page.find(marker, at);
  if (id == std::string::npos) return std::nullopt;
  id += marker.size();
  return page.substr(id, page.find_first_of("\"?", id) - id);
}

std::size_t pending_requests(const std::string& page) {
  std::size_t n = 0;
  for (auto at = page.find("/requests/"); at != std::string::npos;
       at = page.find("/requests/", at + 1))
    ++n;
  return n;
}

void export_ledger(const NodeProcess& node, const std::filesystem::path& dir,
                   const std::filesystem::path& scratch) {
  auto run = run_tool(
      {relay_node_bin().string(), "export", dir.string(), "--config", node.config_path().string()},
      scratch);
  if (run.exit_code != 0)
    throw std::runtime_error(node.options().name + ": relay-node export failed: " + run.err);
}

std::filesystem::path relay_node_bin() {
  return binary_dir() / "node" / "relay-node";
}

std::filesystem::path relay_audit_bin() {
  return binary_dir() / "audit" / "relay-audit";
}

}  // namespace relay::test
