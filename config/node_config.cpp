#include "config/node_config.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <nlohmann/json.hpp>
#include <system_error>
#include <vector>

#include "config/reference.hpp"
#include "config/strict_json.hpp"

namespace relay::config {
namespace {

namespace fs = std::filesystem;
using detail::ErrorSink;
using detail::ObjectReader;
using json = nlohmann::json;

constexpr std::array<std::pair<LogLevel, std::string_view>, 6> kLogLevels{{
    {LogLevel::trace, "trace"},
    {LogLevel::debug, "debug"},
    {LogLevel::info, "info"},
    {LogLevel::warn, "warn"},
    {LogLevel::error, "error"},
    {LogLevel::off, "off"},
}};

constexpr std::string_view kNameExpected =
    "a DNS-like name: 1 to 64 characters from a-z 0-9 . -, starting and ending with a letter "
    "or digit, no \"..\"";
constexpr std::string_view kRegionExpected = "an ISO 3166-2:JP prefecture code such as \"JP-13\"";
constexpr std::string_view kUrlExpected =
    "an http:// or https:// URL with a host, without a trailing slash, query or fragment";
constexpr std::string_view kAddressExpected = "an IPv4 or IPv6 address literal";
constexpr std::string_view kPathExpected = "a non-empty path";
constexpr std::string_view kFromExpected = "an email address such as \"relay@example.jp\"";
constexpr std::string_view kVersionExpected =
    "a version label: 1 to 64 characters from A-Z a-z 0-9 . _ -";

constexpr std::string_view kPrivacyUrlExpected =
    "an http:// or https:// URL with a host, without spaces or control characters";

// Counted in code points (UTF-8 continuation bytes do not count).
bool valid_operator_text(std::string_view s, std::size_t max) {
  std::size_t chars = 0;
  for (char c : s)
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++chars;
  return chars >= 1 && chars <= max && !detail::has_control_chars(s);
}

bool valid_privacy_url(std::string_view s) {
  auto rest = s.starts_with("https://")  ? s.substr(8)
              : s.starts_with("http://") ? s.substr(7)
                                         : std::string_view{};
  if (rest.empty() || rest.front() == '/' || s.size() > 500) return false;
  return std::none_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7f || c == '"' || c == '<' || c == '>';
  });
}

bool is_lower_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// DNS-like, so it can serve as a checkpoint origin and a federation identifier as is.
bool valid_node_name(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  if (!is_lower_alnum(s.front()) || !is_lower_alnum(s.back())) return false;
  if (s.find("..") != std::string_view::npos) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return is_lower_alnum(c) || c == '.' || c == '-'; });
}

bool valid_public_url(std::string_view s) {
  std::string_view rest;
  if (s.starts_with("http://")) {
    rest = s.substr(7);
  } else if (s.starts_with("https://")) {
    rest = s.substr(8);
  } else {
    return false;
  }
  if (rest.empty() || rest.front() == '/' || s.back() == '/') return false;
  return std::none_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7f || c == '?' || c == '#';
  });
}

// The listener binds to a literal address; a host name would fail only at start-up.
bool valid_ip_literal(const std::string& s) {
  std::array<unsigned char, 16> buf{};
  return inet_pton(AF_INET, s.c_str(), buf.data()) == 1 ||
         inet_pton(AF_INET6, s.c_str(), buf.data()) == 1;
}

bool is_loopback_address(const std::string& s) {
  return s.rfind("127.", 0) == 0 || s == "::1";
}

bool valid_path_text(std::string_view s) {
  return !s.empty() && !detail::has_control_chars(s);
}

// A bare address; it goes into a mail header, so no spaces or control characters.
bool valid_mail_from(std::string_view s) {
  if (s.empty() || s.size() > 254) return false;
  const auto at = s.find('@');
  if (at == 0 || at == std::string_view::npos || at + 1 == s.size()) return false;
  if (s.find('@', at + 1) != std::string_view::npos) return false;
  return std::none_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7f || c == '<' || c == '>' || c == ',' || c == ';';
  });
}

bool valid_version_label(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

// "." against "/etc/relay" is "/etc/relay", not "/etc/relay/.".
fs::path resolve(const fs::path& base, const fs::path& p) {
  fs::path out = (p.is_absolute() ? p : base / p).lexically_normal();
  if (!out.has_filename() && out != out.root_path()) out = out.parent_path();
  return out;
}

template <typename T>
void read_int(ObjectReader& r, std::string_view key, T& out, std::int64_t min, std::int64_t max) {
  if (auto v = r.integer(key, min, max)) out = static_cast<T>(*v);
}

template <typename Rep, typename Period>
void read_duration(ObjectReader& r, std::string_view key, std::chrono::duration<Rep, Period>& out,
                   std::int64_t min, std::int64_t max) {
  if (auto v = r.integer(key, min, max)) out = std::chrono::duration<Rep, Period>(*v);
}

void read_bool(ObjectReader& r, std::string_view key, bool& out) {
  const auto* v = r.get(key);
  if (v == nullptr) return;
  if (!v->is_boolean()) {
    r.invalid(key, "true or false");
    return;
  }
  out = v->get<bool>();
}

std::optional<fs::path> read_path(ObjectReader& r, std::string_view key) {
  auto s = r.string(key, false, kPathExpected);
  if (!s) return std::nullopt;
  if (!valid_path_text(*s)) {
    r.invalid(key, kPathExpected);
    return std::nullopt;
  }
  return fs::path(*s);
}

constexpr std::int64_t kSecondsPerDay = 86400;
constexpr std::int64_t kMsPerDay = kSecondsPerDay * 1000;

void read_node(ObjectReader r, NodeConfig& cfg) {
  if (auto s = r.string("name", true, kNameExpected)) {
    if (valid_node_name(*s)) {
      cfg.node.name = *s;
    } else {
      r.invalid("name", kNameExpected);
    }
  }
  // Checked against the reference data once reference_dir is known.
  if (auto s = r.string("region", true, kRegionExpected)) {
    if (s->empty()) {
      r.invalid("region", kRegionExpected);
    } else {
      cfg.node.region = *s;
    }
  }
  if (auto s = r.string("public_url", false, kUrlExpected)) {
    if (valid_public_url(*s)) {
      cfg.node.public_url = *s;
    } else {
      r.invalid("public_url", kUrlExpected);
    }
  }
  r.finish();
}

void read_listen(ObjectReader r, NodeConfig& cfg) {
  if (auto s = r.string("address", false, kAddressExpected)) {
    if (valid_ip_literal(*s)) {
      cfg.listen.address = *s;
    } else {
      r.invalid("address", kAddressExpected);
    }
  }
  read_int(r, "port", cfg.listen.port, 0, 65535);
  r.finish();
}

void read_http(ObjectReader r, NodeConfig& cfg) {
  read_int(r, "max_body_bytes", cfg.http.max_body_bytes, 1, std::int64_t{1} << 30);
  read_int(r, "max_header_bytes", cfg.http.max_header_bytes, 1024, std::int64_t{1} << 20);
  read_duration(r, "read_timeout_ms", cfg.http.read_timeout_ms, 1, 3600 * 1000);
  read_duration(r, "idle_timeout_ms", cfg.http.idle_timeout_ms, 1, kMsPerDay);
  read_int(r, "threads", cfg.http.threads, 1, 64);
  read_int(r, "credential_guesses", cfg.http.credential_guesses, 1, 100000);
  read_bool(r, "behind_proxy", cfg.http.behind_proxy);
  read_int(r, "max_connections", cfg.http.max_connections, 1, 1000000);
  r.finish();
}

void read_rate_rule(ObjectReader r, RateRule& rule) {
  read_int(r, "requests", rule.requests, 0, 1000000);
  read_duration(r, "per_seconds", rule.per_seconds, 1, kSecondsPerDay);
  r.finish();
}

void read_limits(ObjectReader r, NodeConfig& cfg) {
  auto& l = cfg.limits;
  read_rate_rule(r.object("per_ip"), l.per_ip);
  read_rate_rule(r.object("per_member"), l.per_member);
  read_rate_rule(r.object("per_link"), l.per_link);
  read_rate_rule(r.object("per_address"), l.per_address);
  read_int(r, "confirmation_mails_per_day", l.confirmation_mails_per_day, 1, 100);
  read_int(r, "tracked_keys", l.tracked_keys, 100, 10000000);
  r.finish();
}

void read_tls(ObjectReader r, NodeConfig& cfg) {
  cfg.tls.certificate_file = read_path(r, "certificate_file");
  cfg.tls.key_file = read_path(r, "key_file");
  if (cfg.tls.certificate_file && !cfg.tls.key_file)
    r.report("key_file", "required with certificate_file");
  if (cfg.tls.key_file && !cfg.tls.certificate_file)
    r.report("certificate_file", "required with key_file");
  r.finish();
}

// A host name or address for the SMTP server: no spaces, control characters or scheme.
bool valid_host(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' ||
           c == '_';
  });
}

void read_smtp(ObjectReader r, NodeConfig& cfg) {
  auto& m = cfg.mail.smtp;
  constexpr std::string_view kHostExpected =
      "a host name or IP address such as \"mail.example.jp\"";
  constexpr std::string_view kStartTlsExpected = "one of \"required\", \"when_offered\", \"never\"";
  constexpr std::string_view kUserExpected = "a user name without spaces or control characters";
  if (auto s = r.string("host", false, kHostExpected)) {
    if (valid_host(*s)) {
      m.host = *s;
    } else {
      r.invalid("host", kHostExpected);
    }
  }
  read_int(r, "port", m.port, 1, 65535);
  if (auto s = r.string("starttls", false, kStartTlsExpected)) {
    if (*s == "required") {
      m.starttls = StartTls::required;
    } else if (*s == "when_offered") {
      m.starttls = StartTls::when_offered;
    } else if (*s == "never") {
      m.starttls = StartTls::never;
    } else {
      r.invalid("starttls", kStartTlsExpected);
    }
  }
  if (auto s = r.string("username", false, kUserExpected)) {
    if (!s->empty() && s->size() <= 256 && !detail::has_control_chars(*s) &&
        s->find(' ') == std::string::npos) {
      m.username = *s;
    } else {
      r.invalid("username", kUserExpected);
    }
  }
  m.password_file = read_path(r, "password_file");
  m.ca_file = read_path(r, "ca_file");
  read_duration(r, "timeout_ms", m.timeout_ms, 100, 600 * 1000);
  read_int(r, "connections", m.connections, 1, 32);
  if (!m.username.empty() && !m.password_file) r.report("password_file", "required with username");
  if (m.username.empty() && m.password_file) r.report("username", "required with password_file");
  r.finish();
}

void read_mail(ObjectReader r, NodeConfig& cfg) {
  constexpr std::string_view kMailerExpected = "\"spool\" or \"smtp\"";
  if (auto s = r.string("mailer", false, kMailerExpected)) {
    if (*s == "spool") {
      cfg.mail.mailer = Mailer::spool;
    } else if (*s == "smtp") {
      cfg.mail.mailer = Mailer::smtp;
    } else {
      r.invalid("mailer", kMailerExpected);
    }
  }
  if (auto p = read_path(r, "spool_dir")) cfg.mail.spool_dir = *p;
  if (auto s = r.string("from", false, kFromExpected)) {
    if (valid_mail_from(*s)) {
      cfg.mail.from = *s;
    } else {
      r.invalid("from", kFromExpected);
    }
  }
  read_smtp(r.object("smtp"), cfg);
  read_duration(r, "retry_initial_ms", cfg.mail.retry_initial_ms, 1, kMsPerDay);
  read_duration(r, "retry_max_ms", cfg.mail.retry_max_ms, 1, 7 * kMsPerDay);
  read_duration(r, "give_up_after_hours", cfg.mail.give_up_after_hours, 1, 30 * 24);
  if (cfg.mail.retry_max_ms < cfg.mail.retry_initial_ms)
    r.report("retry_max_ms", "must be at least retry_initial_ms (" +
                                 std::to_string(cfg.mail.retry_initial_ms.count()) + "), got " +
                                 std::to_string(cfg.mail.retry_max_ms.count()));
  if (cfg.mail.mailer == Mailer::smtp && cfg.mail.smtp.host.empty())
    r.report("smtp.host", "required when mailer is \"smtp\"");
  r.finish();
}

void read_federation(ObjectReader r, NodeConfig& cfg) {
  auto& f = cfg.federation;
  read_duration(r, "timestamp_window_s", f.timestamp_window_s, 1, kSecondsPerDay);
  read_duration(r, "retry_initial_ms", f.retry_initial_ms, 1, 3600 * 1000);
  read_duration(r, "retry_max_ms", f.retry_max_ms, 1, kMsPerDay);
  read_duration(r, "witness_interval_s", f.witness_interval_s, 1, kSecondsPerDay);
  read_duration(r, "key_grace_period_s", f.key_grace_period_s, 0, 365 * kSecondsPerDay);
  read_duration(r, "request_timeout_ms", f.request_timeout_ms, 1, 600 * 1000);
  read_duration(r, "identity_refresh_min_s", f.identity_refresh_min_s, 0, kSecondsPerDay);
  f.ca_file = read_path(r, "ca_file");
  read_int(r, "max_profiles_per_peer", f.max_profiles_per_peer, 1, 10000000);
  read_duration(r, "sync_timeout_s", f.sync_timeout_s, 1, 7 * kSecondsPerDay);
  read_bool(r, "allow_plain_http", f.allow_plain_http);
  read_duration(r, "give_up_after_s", f.give_up_after_s, 60, 365 * kSecondsPerDay);
  if (const auto* w = r.get("witnesses")) {
    constexpr std::string_view kWitnessExpected =
        "an array of peer names or {\"url\": \"http(s)://...\", \"vkey\": \"name+id+key\"}";
    bool ok = w->is_array() && w->size() <= 64;
    for (const auto& e : ok ? *w : nlohmann::json::array()) {
      if (e.is_string() && !e.get<std::string>().empty() && e.get<std::string>().size() <= 64) {
        f.witnesses.push_back({e.get<std::string>(), "", ""});
      } else if (e.is_object() && e.size() == 2 && e.contains("url") && e.contains("vkey") &&
                 e["url"].is_string() && e["vkey"].is_string() &&
                 (e["url"].get<std::string>().starts_with("http://") ||
                  e["url"].get<std::string>().starts_with("https://")) &&
                 !e["vkey"].get<std::string>().empty()) {
        f.witnesses.push_back({"", e["url"].get<std::string>(), e["vkey"].get<std::string>()});
      } else {
        ok = false;
      }
    }
    if (!ok) {
      f.witnesses.clear();
      r.invalid("witnesses", kWitnessExpected);
    }
  }
  read_int(r, "witness_quorum", f.witness_quorum, 1, 64);
  read_bool(r, "witness_pull", f.witness_pull);
  if (!f.witnesses.empty() && f.witness_quorum > f.witnesses.size())
    r.report("witness_quorum", "must be at most the number of witnesses (" +
                                   std::to_string(f.witnesses.size()) + ")");
  if (f.retry_max_ms < f.retry_initial_ms) {
    r.report("retry_max_ms", "must be at least retry_initial_ms (" +
                                 std::to_string(f.retry_initial_ms.count()) + "), got " +
                                 std::to_string(f.retry_max_ms.count()));
  }
  r.finish();
}

void read_candidates(ObjectReader r, NodeConfig& cfg) {
  auto& c = cfg.candidates;
  read_duration(r, "handoff_expiry_s", c.handoff_expiry_s, 1, 3650 * kSecondsPerDay);
  read_duration(r, "erasure_confirm_timeout_s", c.erasure_confirm_timeout_s, 1,
                365 * kSecondsPerDay);
  read_duration(r, "verification_expiry_hours", c.verification_expiry_hours, 1, 365 * 24);
  r.finish();
}

void read_log(ObjectReader r, NodeConfig& cfg) {
  constexpr std::string_view kLevelExpected =
      "one of \"trace\", \"debug\", \"info\", \"warn\", \"error\", \"off\"";
  if (auto s = r.string("level", false, kLevelExpected)) {
    auto it = std::find_if(kLogLevels.begin(), kLogLevels.end(),
                           [&](const auto& entry) { return entry.second == *s; });
    if (it != kLogLevels.end()) {
      cfg.log.level = it->first;
    } else {
      r.invalid("level", kLevelExpected);
    }
  }
  if (auto s = r.string("format", false, "\"json\" or \"text\"")) {
    if (*s == "json") {
      cfg.log.format = LogFormat::json;
    } else if (*s == "text") {
      cfg.log.format = LogFormat::text;
    } else {
      r.invalid("format", "\"json\" or \"text\"");
    }
  }
  // null is accepted as "no file" (stderr), like leaving the key out.
  if (const json* v = r.get("file"); v != nullptr && !v->is_null()) {
    if (v->is_string() && valid_path_text(v->get_ref<const std::string&>())) {
      cfg.log.file = fs::path(v->get<std::string>());
    } else {
      r.invalid("file", "a file path, or null for stderr");
    }
  }
  r.finish();
}

void check_region(const NodeConfig& cfg, bool reference_dir_in_file, ErrorSink& sink,
                  std::vector<ConfigError>& reference_errors) {
  std::error_code ec;
  if (!fs::is_directory(cfg.reference_dir, ec)) {
    sink.add("reference_dir", "expected a directory holding the reference data, but " +
                                  cfg.reference_dir.string() + " is not one" +
                                  (reference_dir_in_file ? "" : " (the built-in default)"));
    return;
  }
  auto reference = load_reference(cfg.reference_dir);
  if (!reference) {
    sink.add("reference_dir", "the reference data in " + cfg.reference_dir.string() +
                                  " has errors (listed with it)");
    reference_errors = reference.errors();
    return;
  }
  if (cfg.node.region.empty()) return;  // missing or mistyped: already reported
  if (reference.value().find_prefecture(cfg.node.region) == nullptr) {
    sink.add("node.region", "expected " + std::string(kRegionExpected) + " listed in " +
                                (cfg.reference_dir / "prefectures.json").string() + ", got " +
                                detail::describe(json(cfg.node.region)));
  }
}

}  // namespace

fs::path default_reference_dir() {
  // An installed binary (<prefix>/bin/relay-node, e.g. from the .deb) reads the reference data
  // installed beside it; a binary in a build tree reads the sources' copy.
  std::error_code ec;
  const auto exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    auto installed = exe.parent_path().parent_path() / "share" / "relaynode" / "reference";
    if (fs::is_regular_file(installed / "prefectures.json", ec)) return installed;
  }
  return fs::path(RELAY_REFERENCE_DIR);
}

std::string_view to_string(SettlementPeriod period) {
  switch (period) {
    case SettlementPeriod::monthly:
      return "monthly";
    case SettlementPeriod::daily:
      return "daily";
    case SettlementPeriod::off:
      return "off";
  }
  return "monthly";
}

std::string_view to_string(Mailer mailer) {
  switch (mailer) {
    case Mailer::spool:
      return "spool";
    case Mailer::smtp:
      return "smtp";
  }
  return "spool";
}

std::string_view to_string(StartTls starttls) {
  switch (starttls) {
    case StartTls::required:
      return "required";
    case StartTls::when_offered:
      return "when_offered";
    case StartTls::never:
      return "never";
  }
  return "when_offered";
}

std::string_view to_string(LogLevel level) {
  for (const auto& [value, name] : kLogLevels) {
    if (value == level) return name;
  }
  return "info";
}

LoadResult<NodeConfig> load_node_config(const fs::path& path) {
  ErrorSink sink("config", path);
  auto text = detail::read_text(sink);
  if (!text) {
    std::vector<ConfigError> errors;
    sink.move_into(errors);
    return errors;
  }
  return parse_node_config(*text, path);
}

LoadResult<NodeConfig> parse_node_config(std::string_view text, const fs::path& path) {
  ErrorSink sink("config", path);
  std::vector<ConfigError> errors;
  auto doc = detail::parse_strict(text, sink);
  if (!doc) {
    sink.move_into(errors);
    return errors;
  }

  NodeConfig cfg;
  ObjectReader root(&*doc, "", sink);
  if (!root.present()) {
    sink.move_into(errors);
    return errors;
  }
  read_node(root.object("node"), cfg);
  read_listen(root.object("listen"), cfg);
  auto data_dir = read_path(root, "data_dir");
  {
    auto r = root.object("credits");
    read_int(r, "referrals_per_credit", cfg.credits.referrals_per_credit, 1, 1000);
    read_bool(r, "alumni_count_toward_credits", cfg.credits.alumni_count_toward_credits);
    r.finish();
  }
  {
    auto r = root.object("referrals");
    auto& f = cfg.referrals;
    read_int(r, "holding_days", f.holding_days, 0, 365);
    read_bool(r, "flag_disposable_domains", f.flag_disposable_domains);
    read_int(r, "velocity_max", f.velocity_max, 0, 100000);
    read_int(r, "velocity_window_minutes", f.velocity_window_minutes, 1, 10080);
    read_int(r, "same_domain_max", f.same_domain_max, 0, 100000);
    read_int(r, "similar_max", f.similar_max, 0, 100000);
    read_int(r, "cluster_window_days", f.cluster_window_days, 1, 365);
    r.finish();
  }
  {
    auto r = root.object("introductions");
    read_int(r, "answer_within_days", cfg.introductions.answer_within_days, 1, 365);
    read_int(r, "deliver_within_days", cfg.introductions.deliver_within_days, 1, 365);
    r.finish();
  }
  {
    auto r = root.object("console");
    read_int(r, "session_minutes", cfg.console.session_minutes, 1, 1440);
    read_int(r, "session_max_hours", cfg.console.session_max_hours, 1, 168);
    r.finish();
  }
  {
    auto r = root.object("matching");
    read_int(r, "success_min_outcomes", cfg.matching.success_min_outcomes, 2, 1000000);
    read_int(r, "success_retrain_minutes", cfg.matching.success_retrain_minutes, 1, 10080);
    r.finish();
  }
  {
    auto r = root.object("statistics");
    auto& f = cfg.statistics;
    read_int(r, "reemployment_days", f.reemployment_days, 1, 3650);
    read_int(r, "agency_fee_yen", f.agency_fee_yen, 0, 1'000'000'000);
    read_int(r, "min_persons", f.min_persons, 1, 100000);
    read_int(r, "min_companies", f.min_companies, 1, 100000);
    read_int(r, "publish_minutes", f.publish_minutes, 1, 10080);
    r.finish();
  }
  {
    auto r = root.object("settlement");
    auto& f = cfg.settlement;
    read_bool(r, "enabled", f.enabled);
    constexpr std::string_view kPeriodExpected = "\"monthly\", \"daily\" or \"off\"";
    if (auto s = r.string("period", false, kPeriodExpected)) {
      if (*s == "monthly")
        f.period = SettlementPeriod::monthly;
      else if (*s == "daily")
        f.period = SettlementPeriod::daily;
      else if (*s == "off")
        f.period = SettlementPeriod::off;
      else
        r.invalid("period", kPeriodExpected);
    }
    read_int(r, "countersign_within_s", f.countersign_within_s, 60, 2592000);
    read_int(r, "yen_per_introduction", f.yen_per_introduction, 0, 10'000'000);
    r.finish();
  }
  read_http(root.object("http"), cfg);
  read_limits(root.object("limits"), cfg);
  read_tls(root.object("tls"), cfg);
  {
    auto r = root.object("storage");
    read_int(r, "map_size_mb", cfg.storage.map_size_mb, 1, std::int64_t{1} << 24);
    read_int(r, "resident_map_mb", cfg.storage.resident_map_mb, 0, std::int64_t{1} << 24);
    read_int(r, "resident_mb", cfg.storage.resident_mb, 0, std::int64_t{1} << 24);
    r.finish();
  }
  read_mail(root.object("mail"), cfg);
  {
    auto r = root.object("consent");
    if (auto s = r.string("text_version", false, kVersionExpected)) {
      if (valid_version_label(*s)) {
        cfg.consent.text_version = *s;
      } else {
        r.invalid("text_version", kVersionExpected);
      }
    }
    r.finish();
  }
  {
    auto r = root.object("operator");
    auto text = [&](const char* key, std::size_t max, std::string& into) {
      const std::string expected =
          "1 to " + std::to_string(max) + " characters of text without control characters";
      if (auto s = r.string(key, false, expected)) {
        if (valid_operator_text(*s, max))
          into = *s;
        else
          r.invalid(key, expected);
      }
    };
    text("name", 100, cfg.operator_.name);
    text("contact", 200, cfg.operator_.contact);
    if (auto s = r.string("privacy_url", false, kPrivacyUrlExpected)) {
      if (valid_privacy_url(*s))
        cfg.operator_.privacy_url = *s;
      else
        r.invalid("privacy_url", kPrivacyUrlExpected);
    }
    r.finish();
  }
  read_federation(root.object("federation"), cfg);
  read_candidates(root.object("candidates"), cfg);
  read_log(root.object("log"), cfg);
  auto reference_dir = read_path(root, "reference_dir");
  root.finish();

  // Relative paths are relative to the file, not to wherever the daemon was started.
  std::error_code ec;
  fs::path base = fs::absolute(path, ec).lexically_normal().parent_path();
  if (ec) base = path.parent_path();
  cfg.data_dir = resolve(base, data_dir.value_or(cfg.data_dir));
  cfg.mail.spool_dir = resolve(base, cfg.mail.spool_dir);
  if (cfg.log.file) cfg.log.file = resolve(base, *cfg.log.file);
  for (auto* p : {&cfg.tls.certificate_file, &cfg.tls.key_file, &cfg.mail.smtp.password_file,
                  &cfg.mail.smtp.ca_file, &cfg.federation.ca_file})
    if (*p) *p = resolve(base, **p);
  // Plain HTTP leaves the loopback interface only behind a proxy that terminates TLS.
  if (!cfg.tls.enabled() && !cfg.http.behind_proxy && !is_loopback_address(cfg.listen.address))
    sink.add("http.behind_proxy",
             "listen.address " + cfg.listen.address +
                 " is not loopback: set tls.certificate_file and tls.key_file for HTTPS, or "
                 "http.behind_proxy: true if a reverse proxy terminates TLS in front of the node");
  cfg.reference_dir = resolve(base, reference_dir.value_or(default_reference_dir()));
  if (cfg.mail.from.empty() && !cfg.node.name.empty()) cfg.mail.from = "relay@" + cfg.node.name;

  std::vector<ConfigError> reference_errors;
  check_region(cfg, reference_dir.has_value(), sink, reference_errors);

  sink.move_into(errors);
  std::move(reference_errors.begin(), reference_errors.end(), std::back_inserter(errors));
  if (!errors.empty()) return errors;
  return cfg;
}

NodeConfig default_config() {
  return NodeConfig{};
}

std::string to_json_text(const NodeConfig& c) {
  using ojson = nlohmann::ordered_json;
  ojson j = ojson::object();
  j["node"]["name"] = c.node.name;
  j["node"]["region"] = c.node.region;
  j["node"]["public_url"] = c.node.public_url;
  j["listen"]["address"] = c.listen.address;
  j["listen"]["port"] = c.listen.port;
  j["data_dir"] = c.data_dir.string();
  j["credits"]["referrals_per_credit"] = c.credits.referrals_per_credit;
  j["credits"]["alumni_count_toward_credits"] = c.credits.alumni_count_toward_credits;
  j["referrals"]["holding_days"] = c.referrals.holding_days;
  j["referrals"]["flag_disposable_domains"] = c.referrals.flag_disposable_domains;
  j["referrals"]["velocity_max"] = c.referrals.velocity_max;
  j["referrals"]["velocity_window_minutes"] = c.referrals.velocity_window_minutes;
  j["referrals"]["same_domain_max"] = c.referrals.same_domain_max;
  j["referrals"]["similar_max"] = c.referrals.similar_max;
  j["referrals"]["cluster_window_days"] = c.referrals.cluster_window_days;
  j["introductions"]["answer_within_days"] = c.introductions.answer_within_days;
  j["introductions"]["deliver_within_days"] = c.introductions.deliver_within_days;
  j["console"]["session_minutes"] = c.console.session_minutes;
  j["console"]["session_max_hours"] = c.console.session_max_hours;
  j["matching"]["success_min_outcomes"] = c.matching.success_min_outcomes;
  j["matching"]["success_retrain_minutes"] = c.matching.success_retrain_minutes;
  j["statistics"]["reemployment_days"] = c.statistics.reemployment_days;
  j["statistics"]["agency_fee_yen"] = c.statistics.agency_fee_yen;
  j["statistics"]["min_persons"] = c.statistics.min_persons;
  j["statistics"]["min_companies"] = c.statistics.min_companies;
  j["statistics"]["publish_minutes"] = c.statistics.publish_minutes;
  j["settlement"]["enabled"] = c.settlement.enabled;
  j["settlement"]["period"] = to_string(c.settlement.period);
  j["settlement"]["countersign_within_s"] = c.settlement.countersign_within_s;
  j["settlement"]["yen_per_introduction"] = c.settlement.yen_per_introduction;
  j["http"]["max_body_bytes"] = c.http.max_body_bytes;
  j["http"]["max_header_bytes"] = c.http.max_header_bytes;
  j["http"]["read_timeout_ms"] = c.http.read_timeout_ms.count();
  j["http"]["idle_timeout_ms"] = c.http.idle_timeout_ms.count();
  j["http"]["threads"] = c.http.threads;
  j["http"]["credential_guesses"] = c.http.credential_guesses;
  j["http"]["behind_proxy"] = c.http.behind_proxy;
  j["http"]["max_connections"] = c.http.max_connections;
  auto rule = [](const RateRule& r) {
    return ojson{{"requests", r.requests}, {"per_seconds", r.per_seconds.count()}};
  };
  j["limits"]["per_ip"] = rule(c.limits.per_ip);
  j["limits"]["per_member"] = rule(c.limits.per_member);
  j["limits"]["per_link"] = rule(c.limits.per_link);
  j["limits"]["per_address"] = rule(c.limits.per_address);
  j["limits"]["confirmation_mails_per_day"] = c.limits.confirmation_mails_per_day;
  j["limits"]["tracked_keys"] = c.limits.tracked_keys;
  if (c.tls.enabled()) {
    j["tls"]["certificate_file"] = c.tls.certificate_file->string();
    j["tls"]["key_file"] = c.tls.key_file->string();
  }
  j["storage"]["map_size_mb"] = c.storage.map_size_mb;
  j["storage"]["resident_map_mb"] = c.storage.resident_map_mb;
  j["storage"]["resident_mb"] = c.storage.resident_mb;
  j["mail"]["mailer"] = to_string(c.mail.mailer);
  j["mail"]["spool_dir"] = c.mail.spool_dir.string();
  // Left out when derived from the name, so that renaming the node keeps them in step.
  if (!c.mail.from.empty() && c.mail.from != "relay@" + c.node.name) {
    j["mail"]["from"] = c.mail.from;
  }
  const auto& m = c.mail.smtp;
  if (!m.host.empty()) j["mail"]["smtp"]["host"] = m.host;
  j["mail"]["smtp"]["port"] = m.port;
  j["mail"]["smtp"]["starttls"] = to_string(m.starttls);
  if (!m.username.empty()) j["mail"]["smtp"]["username"] = m.username;
  if (m.password_file) j["mail"]["smtp"]["password_file"] = m.password_file->string();
  if (m.ca_file) j["mail"]["smtp"]["ca_file"] = m.ca_file->string();
  j["mail"]["smtp"]["timeout_ms"] = m.timeout_ms.count();
  j["mail"]["smtp"]["connections"] = m.connections;
  j["mail"]["retry_initial_ms"] = c.mail.retry_initial_ms.count();
  j["mail"]["retry_max_ms"] = c.mail.retry_max_ms.count();
  j["mail"]["give_up_after_hours"] = c.mail.give_up_after_hours.count();
  j["consent"]["text_version"] = c.consent.text_version;
  if (!c.operator_.name.empty()) j["operator"]["name"] = c.operator_.name;
  if (!c.operator_.contact.empty()) j["operator"]["contact"] = c.operator_.contact;
  if (!c.operator_.privacy_url.empty()) j["operator"]["privacy_url"] = c.operator_.privacy_url;
  const auto& f = c.federation;
  j["federation"]["timestamp_window_s"] = f.timestamp_window_s.count();
  j["federation"]["retry_initial_ms"] = f.retry_initial_ms.count();
  j["federation"]["retry_max_ms"] = f.retry_max_ms.count();
  j["federation"]["witness_interval_s"] = f.witness_interval_s.count();
  auto witnesses = nlohmann::json::array();
  for (const auto& w : f.witnesses)
    witnesses.push_back(w.peer.empty() ? nlohmann::json{{"url", w.url}, {"vkey", w.vkey}}
                                       : nlohmann::json(w.peer));
  j["federation"]["witnesses"] = witnesses;
  j["federation"]["witness_quorum"] = f.witness_quorum;
  j["federation"]["witness_pull"] = f.witness_pull;
  j["federation"]["key_grace_period_s"] = f.key_grace_period_s.count();
  j["federation"]["request_timeout_ms"] = f.request_timeout_ms.count();
  j["federation"]["identity_refresh_min_s"] = f.identity_refresh_min_s.count();
  if (f.ca_file) j["federation"]["ca_file"] = f.ca_file->string();
  j["federation"]["max_profiles_per_peer"] = f.max_profiles_per_peer;
  j["federation"]["sync_timeout_s"] = f.sync_timeout_s.count();
  j["federation"]["allow_plain_http"] = f.allow_plain_http;
  j["federation"]["give_up_after_s"] = f.give_up_after_s.count();
  j["candidates"]["handoff_expiry_s"] = c.candidates.handoff_expiry_s.count();
  j["candidates"]["erasure_confirm_timeout_s"] = c.candidates.erasure_confirm_timeout_s.count();
  j["candidates"]["verification_expiry_hours"] = c.candidates.verification_expiry_hours.count();
  j["log"]["level"] = to_string(c.log.level);
  j["log"]["format"] = c.log.format == LogFormat::json ? "json" : "text";
  if (c.log.file) j["log"]["file"] = c.log.file->string();
  if (c.reference_dir != default_reference_dir()) j["reference_dir"] = c.reference_dir.string();
  return j.dump(2, ' ', false, ojson::error_handler_t::replace) + "\n";
}

}  // namespace relay::config
