#include "config/reference.hpp"

#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/utf8.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "config/strict_json.hpp"

namespace relay::config {
namespace {

namespace fs = std::filesystem;
using detail::ErrorSink;
using detail::ObjectReader;
using json = nlohmann::json;

using CodeCheck = bool (*)(std::string_view);

bool generic_code(std::string_view s) {
  if (s.empty() || s.size() > 32) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

// "JP-" and two digits: node.region and profiles carry these codes.
bool prefecture_code(std::string_view s) {
  return s.size() == 5 && s.starts_with("JP-") && s[3] >= '0' && s[3] <= '9' && s[4] >= '0' &&
         s[4] <= '9';
}

bool valid_label(std::string_view s) {
  return !s.empty() && !detail::has_control_chars(s);
}

// Reads the common wrapper {"source", "note", "entries": [...]}; returns the entries array
// (nullptr if missing or not a non-empty array, which is reported).
const json* read_wrapper(ObjectReader& root) {
  constexpr std::string_view kText = "a string";
  root.string("source", false, kText);
  root.string("note", false, kText);
  const json* entries = root.get("entries");
  if (!root.present()) return nullptr;
  if (entries == nullptr) {
    root.report("entries", "required field is missing (expected a non-empty array)");
    return nullptr;
  }
  if (!entries->is_array() || entries->empty()) {
    root.invalid("entries", "a non-empty array");
    return nullptr;
  }
  return entries;
}

std::vector<CodedLabel> read_labels(const fs::path& dir, std::string_view file_name,
                                    CodeCheck valid_code, std::string_view code_expected,
                                    std::vector<ConfigError>& errors) {
  std::vector<CodedLabel> out;
  ErrorSink sink("reference", dir / file_name);
  auto doc = detail::read_strict(sink);
  if (doc) {
    ObjectReader root(&*doc, "", sink);
    if (const json* entries = read_wrapper(root)) {
      std::map<std::string, std::size_t> seen;  // code -> index of first entry
      for (std::size_t i = 0; i < entries->size(); ++i) {
        ObjectReader e(&(*entries)[i], "entries[" + std::to_string(i) + "]", sink);
        CodedLabel label;
        bool ok = e.present();
        if (auto s = e.string("code", true, code_expected)) {
          if (!valid_code(*s)) {
            e.invalid("code", code_expected);
            ok = false;
          } else if (auto [it, inserted] = seen.emplace(*s, i); !inserted) {
            e.report("code", "duplicate code \"" + *s + "\" (first in entries[" +
                                 std::to_string(it->second) + "])");
            ok = false;
          }
          label.code = *s;
        } else {
          ok = false;
        }
        for (auto [key, member] : {std::pair{"ja", &label.ja}, std::pair{"en", &label.en}}) {
          constexpr std::string_view kLabelExpected = "a non-empty label";
          if (auto s = e.string(key, true, kLabelExpected)) {
            if (valid_label(*s)) {
              *member = *s;
              continue;
            }
            e.invalid(key, kLabelExpected);
          }
          ok = false;
        }
        e.finish();
        if (ok) out.push_back(std::move(label));
      }
    }
    root.finish();
  }
  sink.move_into(errors);
  return out;
}

std::vector<std::string> read_skills(const fs::path& dir, std::vector<ConfigError>& errors) {
  std::vector<std::string> out;
  ErrorSink sink("reference", dir / "skills.json");
  auto doc = detail::read_strict(sink);
  if (doc) {
    ObjectReader root(&*doc, "", sink);
    if (const json* entries = read_wrapper(root)) {
      std::map<std::string, std::size_t> seen;
      for (std::size_t i = 0; i < entries->size(); ++i) {
        const auto field = "entries[" + std::to_string(i) + "]";
        const json& v = (*entries)[i];
        if (!v.is_string()) {
          sink.add(field, "expected a skill tag (a string), got " + detail::describe(v));
          continue;
        }
        const auto& tag = v.get_ref<const std::string&>();
        auto normal = normalise_skill(tag);
        if (!normal) {
          sink.add(field, "expected a skill tag of 1 to " + std::to_string(kMaxSkillChars) +
                              " characters, got " + detail::describe(v));
        } else if (*normal != tag) {
          sink.add(field, "expected the normalised form " + detail::describe(json(*normal)) +
                              ", got " + detail::describe(v));
        } else if (auto [it, inserted] = seen.emplace(tag, i); !inserted) {
          sink.add(field, "duplicate skill " + detail::describe(v) + " (first in entries[" +
                              std::to_string(it->second) + "])");
        } else {
          out.push_back(tag);
        }
      }
    }
    root.finish();
  }
  sink.move_into(errors);
  return out;
}

const CodedLabel* find_code(const std::vector<CodedLabel>& list, std::string_view code) {
  auto it = std::find_if(list.begin(), list.end(), [&](const auto& l) { return l.code == code; });
  return it == list.end() ? nullptr : &*it;
}

}  // namespace

const JobCategory* Reference::find_job_category(std::string_view code) const {
  return find_code(job_categories, code);
}
const Prefecture* Reference::find_prefecture(std::string_view code) const {
  return find_code(prefectures, code);
}
const AgeBand* Reference::find_age_band(std::string_view code) const {
  return find_code(age_bands, code);
}
const ExperienceBand* Reference::find_experience_band(std::string_view code) const {
  return find_code(experience_bands, code);
}

LoadResult<Reference> load_reference(const fs::path& dir) {
  std::vector<ConfigError> errors;
  Reference ref;
  ref.dir = dir;
  constexpr std::string_view kCode = "a code of 1 to 32 characters from A-Z a-z 0-9 . _ -";
  ref.job_categories = read_labels(dir, "job_categories.json", generic_code, kCode, errors);
  ref.prefectures = read_labels(dir, "prefectures.json", prefecture_code,
                                "an ISO 3166-2:JP code \"JP-\" and two digits", errors);
  ref.age_bands = read_labels(dir, "age_bands.json", generic_code, kCode, errors);
  ref.experience_bands = read_labels(dir, "experience_bands.json", generic_code, kCode, errors);
  ref.skills = read_skills(dir, errors);
  if (!errors.empty()) return errors;
  return ref;
}

std::optional<std::string> normalise_skill(std::string_view text) {
  if (text.size() > kMaxSkillInputBytes) return std::nullopt;
  const auto length = static_cast<int32_t>(text.size());
  // Validate first: fromUTF8 would silently turn ill-formed bytes into U+FFFD. U8_NEXT also
  // refuses overlong forms and encoded surrogates.
  for (int32_t i = 0; i < length;) {
    UChar32 c;
    U8_NEXT(text.data(), i, length, c);
    if (c < 0) return std::nullopt;
  }

  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* nfkc_cf = icu::Normalizer2::getNFKCCasefoldInstance(status);
  if (U_FAILURE(status)) return std::nullopt;
  const auto source = icu::UnicodeString::fromUTF8(icu::StringPiece(text.data(), length));
  const icu::UnicodeString folded = nfkc_cf->normalize(source, status);
  if (U_FAILURE(status)) return std::nullopt;

  // Trim and collapse whitespace (after folding, so U+3000 and friends count).
  icu::UnicodeString out;
  bool pending_space = false;
  for (int32_t i = 0; i < folded.length();) {
    const UChar32 c = folded.char32At(i);
    i = folded.moveIndex32(i, 1);
    if (u_isUWhiteSpace(c)) {
      pending_space = !out.isEmpty();
      continue;
    }
    if (u_charType(c) == U_CONTROL_CHAR) return std::nullopt;
    if (pending_space) out.append(static_cast<UChar32>(0x20));
    pending_space = false;
    out.append(c);
  }
  if (out.isEmpty() || static_cast<std::size_t>(out.countChar32()) > kMaxSkillChars) {
    return std::nullopt;
  }
  std::string result;
  out.toUTF8String(result);
  return result;
}

}  // namespace relay::config
