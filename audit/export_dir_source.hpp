#pragma once
// An export directory as a LogSource (the files are listed in export_format.hpp). Entries are
// streamed from entries.jsonl in batches, never held all at once; proofs are computed from a
// HashTree built on first use (one pass over the file).
#include <filesystem>
#include <optional>

#include "audit/hash_tree.hpp"
#include "audit/log_source.hpp"

namespace relay::audit {

class ExportDirSource final : public LogSource {
 public:
  // Throws SourceError if dir is not a directory.
  explicit ExportDirSource(std::filesystem::path dir);

  const std::string& name() const override { return name_; }
  bool is_export() const override { return true; }
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
  // Reads a whole file of the export; throws SourceError naming it.
  std::string read_file(std::string_view file) const;
  // Calls line(index, bytes) for each line of entries.jsonl until it returns false. Returns
  // whether the file ended with a partial line (no final "\n"), which is passed on too.
  bool for_each_line(const std::function<bool(std::uint64_t, std::string&&)>& line) const;
  const HashTree& tree();

  std::filesystem::path dir_;
  std::string name_;
  std::optional<HashTree> tree_;
};

}  // namespace relay::audit
