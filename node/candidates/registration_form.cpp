#include "node/candidates/registration_form.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include "node/common/text.hpp"
#include "protocol/canonical_json.hpp"
#include "protocol/json_writer.hpp"

namespace relay::node::candidates {

nlohmann::json Profile::to_json() const {
  return {{"job_category", job_category},       {"skills", skills},
          {"prefecture", prefecture},           {"age_band", age_band},
          {"experience_band", experience_band}, {"desired_roles", desired_roles}};
}

Profile Profile::from_json(const nlohmann::json& j) {
  Profile p;
  p.job_category = j.at("job_category");
  p.skills = j.at("skills").get<std::vector<std::string>>();
  p.prefecture = j.at("prefecture");
  p.age_band = j.at("age_band");
  p.experience_band = j.at("experience_band");
  p.desired_roles = j.at("desired_roles").get<std::vector<std::string>>();
  return p;
}

nlohmann::json PersonalData::to_json() const {
  return {{"name", name}, {"email", email}, {"phone", phone}};
}

PersonalData PersonalData::from_json(const nlohmann::json& j) {
  return PersonalData{j.at("name"), j.at("email"), j.at("phone")};
}

std::string sealed_data_text(const PersonalData& personal, const Profile& profile) {
  // Keys in byte order, as the tree's std::map had them. Building the tree (to_json) and
  // dumping it was a twentieth of a registration's instructions (callgrind).
  auto valid = [](const std::string& text) -> std::string_view {
    if (!protocol::is_valid_utf8(text))
      throw std::invalid_argument("candidate data is not valid UTF-8");
    return text;
  };
  std::string out;
  out.reserve(256 + personal.name.size() + personal.email.size());
  protocol::JsonWriter w(out);
  w.begin_object().key("personal").begin_object();
  w.field("email", valid(personal.email))
      .field("name", valid(personal.name))
      .field("phone", valid(personal.phone));
  w.end_object().key("profile").begin_object();
  w.field("age_band", valid(profile.age_band)).key("desired_roles").begin_array();
  for (const auto& role : profile.desired_roles) w.string(valid(role));
  w.end_array()
      .field("experience_band", valid(profile.experience_band))
      .field("job_category", valid(profile.job_category))
      .field("prefecture", valid(profile.prefecture))
      .key("skills")
      .begin_array();
  for (const auto& skill : profile.skills) w.string(valid(skill));
  w.end_array().end_object().end_object();
  return out;
}

std::optional<std::string> normalise_email(std::string_view email) {
  auto text = common::clean_text(email, 254);
  if (!text) return std::nullopt;
  std::string out;
  out.reserve(text->size());
  for (unsigned char c : *text) {
    if (c >= 0x80 || std::isspace(c) || c == '<' || c == '>' || c == ',' || c == ';' || c == '"' ||
        c == '(' || c == ')' || c == '\\')
      return std::nullopt;
    out.push_back(static_cast<char>(std::tolower(c)));
  }
  auto at = out.find('@');
  if (at == std::string::npos || at == 0 || out.find('@', at + 1) != std::string::npos)
    return std::nullopt;
  auto domain = out.substr(at + 1);
  if (domain.size() < 3 || domain.find('.') == std::string::npos || domain.front() == '.' ||
      domain.back() == '.' || domain.find("..") != std::string::npos)
    return std::nullopt;
  return out;
}

namespace {

std::string get(const std::map<std::string, std::string>& form, const std::string& key) {
  auto it = form.find(key);
  return it == form.end() ? std::string{} : it->second;
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::string current;
  auto flush = [&] {
    auto b = current.find_first_not_of(" \t");
    if (b != std::string::npos)
      out.push_back(current.substr(b, current.find_last_not_of(" \t") - b + 1));
    current.clear();
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    // ASCII comma, Japanese comma (、 U+3001) and full-width comma (， U+FF0C) separate items.
    if (text[i] == ',' || text[i] == '\n') {
      flush();
    } else if (text.compare(i, 3, "\xE3\x80\x81") == 0 || text.compare(i, 3, "\xEF\xBC\x8C") == 0) {
      flush();
      i += 2;
    } else {
      current.push_back(text[i]);
    }
  }
  flush();
  return out;
}

}  // namespace

std::string normalise_phone(std::string_view typed) {
  // Full-width forms a Japanese IME types, and the dashes and long vowel marks people use as
  // separators, become their ASCII equivalents.
  static const std::pair<std::string_view, char> kMap[] = {
      {"\uFF0B", '+'}, {"\uFF08", '('}, {"\uFF09", ')'}, {"\u3000", ' '}, {"\uFF0D", '-'},
      {"\u30FC", '-'}, {"\uFF70", '-'}, {"\u2010", '-'}, {"\u2011", '-'}, {"\u2012", '-'},
      {"\u2013", '-'}, {"\u2014", '-'}, {"\u2015", '-'}, {"\u2212", '-'}, {"\uFE63", '-'}};
  std::string out;
  std::size_t i = 0;
  while (i < typed.size()) {
    // U+FF10..U+FF19 (full-width digits): EF BC 90..99.
    if (typed.compare(i, 2, "\xEF\xBC") == 0 && i + 2 < typed.size()) {
      auto c = static_cast<unsigned char>(typed[i + 2]);
      if (c >= 0x90 && c <= 0x99) {
        out.push_back(static_cast<char>('0' + (c - 0x90)));
        i += 3;
        continue;
      }
    }
    bool mapped = false;
    for (const auto& [from, to] : kMap)
      if (typed.compare(i, from.size(), from) == 0) {
        out.push_back(to);
        i += from.size();
        mapped = true;
        break;
      }
    if (!mapped) out.push_back(typed[i++]);
  }
  return out;
}

FormResult parse_registration(const std::map<std::string, std::string>& form,
                              const config::Reference& reference,
                              const std::string& consent_version, std::int64_t now_ms) {
  FormResult result;
  auto& errors = result.errors;
  Registration r;

  auto name = common::clean_text(get(form, "name"), 100);
  if (!name)
    errors["name"] = {"氏名を入力してください（100文字以内）。",
                      "Please enter your name (up to 100 characters)."};
  else
    r.personal.name = *name;

  auto raw_email = get(form, "email");
  if (!normalise_email(raw_email))
    errors["email"] = {"有効なメールアドレスを入力してください。",
                       "Please enter a valid email address."};
  else
    r.personal.email = *common::clean_text(raw_email, 254);

  auto phone = normalise_phone(get(form, "phone"));
  if (!phone.empty()) {
    auto cleaned = common::clean_text(phone, 20);
    bool ok = cleaned.has_value() && cleaned->size() >= 6;
    if (ok)
      for (char c : *cleaned)
        if (!(std::isdigit(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == ' ' ||
              c == '(' || c == ')'))
          ok = false;
    if (!ok)
      errors["phone"] = {"電話番号は数字と + - ( ) で入力してください。",
                         "Please enter the phone number with digits and + - ( ) only."};
    else
      r.personal.phone = *cleaned;
  }

  auto category = get(form, "job_category");
  if (!reference.find_job_category(category))
    errors["job_category"] = {"希望職種を選んでください。", "Please choose a job category."};
  r.profile.job_category = category;

  auto skills = split_list(get(form, "skills"));
  if (skills.empty() || skills.size() > 20) {
    errors["skills"] = {"スキルを1〜20個、カンマ区切りで入力してください。",
                        "Please enter 1 to 20 skills, separated by commas."};
  } else {
    for (const auto& s : skills) {
      auto tag = config::normalise_skill(s);
      if (!tag) {
        errors["skills"] = {"スキルは1つ64文字以内で入力してください。",
                            "Each skill must be up to 64 characters."};
        break;
      }
      if (std::find(r.profile.skills.begin(), r.profile.skills.end(), *tag) ==
          r.profile.skills.end())
        r.profile.skills.push_back(*tag);
    }
  }

  auto prefecture = get(form, "prefecture");
  if (!reference.find_prefecture(prefecture))
    errors["prefecture"] = {"都道府県を選んでください。", "Please choose a prefecture."};
  r.profile.prefecture = prefecture;

  auto age = get(form, "age_band");
  if (!reference.find_age_band(age))
    errors["age_band"] = {"年齢層を選んでください。", "Please choose an age band."};
  r.profile.age_band = age;

  auto experience = get(form, "experience_band");
  if (!reference.find_experience_band(experience))
    errors["experience_band"] = {"経験年数を選んでください。",
                                 "Please choose your years of experience."};
  r.profile.experience_band = experience;

  auto roles = split_list(get(form, "desired_roles"));
  if (roles.size() > 10) {
    errors["desired_roles"] = {"希望する職務は10個までです。",
                               "Please list at most 10 desired roles."};
  } else {
    for (const auto& role : roles) {
      auto cleaned = common::clean_text(role, 64);
      if (!cleaned) {
        errors["desired_roles"] = {"希望する職務は1つ64文字以内で入力してください。",
                                   "Each desired role must be up to 64 characters."};
        break;
      }
      r.profile.desired_roles.push_back(*cleaned);
    }
  }

  r.consent.region = get(form, "consent_region") == "yes";
  r.consent.peers = get(form, "consent_peers") == "yes";
  r.consent.stats = get(form, "consent_stats") == "yes";
  r.consent.version = consent_version;
  r.consent.at_ms = now_ms;
  if (!r.consent.region)
    errors["consent_region"] = {
        "登録には、この地域の参加企業への紹介への同意が必要です。",
        "Registering needs your consent to introductions to member companies in this region."};

  if (errors.empty()) result.registration = std::move(r);
  return result;
}

}  // namespace relay::node::candidates
