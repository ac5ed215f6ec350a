#pragma once
// Reference data the operator can edit, shipped as JSON files in config/reference/:
//   job_categories.json    the 11 major groups (大分類) of the MHLW occupational classification
//   prefectures.json       ISO 3166-2:JP prefecture codes JP-01..JP-47
//   age_bands.json         coarse age bands ("-24", "25-34", ..., "65-"): never exact ages
//   experience_bands.json  years of experience bands ("0", "1-2", ..., "21-")
//   skills.json            a seed list of skill tags, each in normalise_skill() form
// Each file is {"source": "...", "note": "...", "entries": [...]} ("source" and "note" are
// optional); comments are allowed, everything else is checked as strictly as node.json.
// A loaded Reference is immutable: share it freely between threads.
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/errors.hpp"

namespace relay::config {

// A coded entry with its Japanese and English labels.
struct CodedLabel {
  std::string code;  // "A", "JP-13", "25-34", "1-2"
  std::string ja;    // "管理的職業", "東京都", "25〜34歳"
  std::string en;    // "Administrative and managerial occupations", "Tokyo", "25-34"

  bool operator==(const CodedLabel&) const = default;
};

using JobCategory = CodedLabel;
using Prefecture = CodedLabel;
using AgeBand = CodedLabel;
using ExperienceBand = CodedLabel;

// All reference data, each list in file order, codes unique within a list.
struct Reference {
  std::filesystem::path dir;  // where it was loaded from
  std::vector<JobCategory> job_categories;
  std::vector<Prefecture> prefectures;
  std::vector<AgeBand> age_bands;
  std::vector<ExperienceBand> experience_bands;
  std::vector<std::string> skills;  // seed tags, normalised

  // Lookups by exact code; nullptr if absent. The pointer lives as long as this Reference
  // (a pointer rather than std::optional so that a lookup copies nothing).
  const JobCategory* find_job_category(std::string_view code) const;
  const Prefecture* find_prefecture(std::string_view code) const;
  const AgeBand* find_age_band(std::string_view code) const;
  const ExperienceBand* find_experience_band(std::string_view code) const;
};

// Reads the five files from dir. Errors name the file and the entry ("entries[3].ja").
LoadResult<Reference> load_reference(const std::filesystem::path& dir);

// Longest normalised skill tag, in Unicode code points.
inline constexpr std::size_t kMaxSkillChars = 64;
// Longer inputs are refused before normalising (a tag is short; this bounds the work).
inline constexpr std::size_t kMaxSkillInputBytes = 4096;

// The normal form of a skill tag: Unicode NFKC_Casefold (ICU), surrounding whitespace
// trimmed, inner whitespace runs collapsed to one space ("ＰＹＴＨＯＮ" -> "python",
// "  Project   Management " -> "project management"). nullopt for invalid UTF-8, an empty
// result, a result longer than kMaxSkillChars code points, an input longer than
// kMaxSkillInputBytes, or control characters other than whitespace.
std::optional<std::string> normalise_skill(std::string_view text);

}  // namespace relay::config
