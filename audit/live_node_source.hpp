#pragma once
// A running node as a LogSource, over its auditor API (node/api/audit_routes.cpp):
//   GET /audit/v1/key                                  public
//   GET /audit/v1/checkpoint                           public
//   GET /audit/v1/balances                             auditor token
//   GET /audit/v1/entries?start=S&limit=1000           auditor token, pages of <= 1000
//   GET /audit/v1/proof/inclusion?index=I&size=N       auditor token
//   GET /audit/v1/proof/consistency?from=M&to=N        auditor token
// The token is sent as "Authorization: Bearer <token>". Any answer other than 200 (or 400
// for a proof the node cannot give) is a SourceError naming the route and status, as is an
// answer that is not the JSON the route documents.
#include <nlohmann/json.hpp>
#include <optional>

#include "audit/http_get.hpp"
#include "audit/log_source.hpp"

namespace relay::audit {

class LiveNodeSource final : public LogSource {
 public:
  LiveNodeSource(HttpUrl url, std::string name, std::optional<std::string> token);

  const std::string& name() const override { return name_; }
  bool is_export() const override { return false; }
  std::string key_document() override;
  std::string checkpoint_note() override;
  std::string balances_document() override;
  void read_entries(std::uint64_t wanted, const EntrySink& sink, ProblemList& problems) override;
  std::optional<std::string> entry(std::uint64_t index) override;
  std::optional<std::vector<protocol::Hash>> inclusion_proof(std::uint64_t index,
                                                             std::uint64_t size) override;
  std::optional<std::vector<protocol::Hash>> consistency_proof(std::uint64_t m,
                                                               std::uint64_t n) override;

 private:
  // The body of a 200 answer; nullopt for a 400 when allow_400; SourceError otherwise.
  std::optional<std::string> get(const std::string& target, bool authorised,
                                 bool allow_400 = false);
  nlohmann::json get_json(const std::string& target);
  std::optional<std::vector<protocol::Hash>> get_proof(const std::string& target);
  // Entries [start, start + count) from one page; fewer if the log ends.
  std::vector<std::string> page(std::uint64_t start, std::uint64_t count);

  HttpUrl url_;
  std::string name_;
  std::optional<std::string> token_;
};

}  // namespace relay::audit
