#include "config/node_config.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <system_error>
#include <vector>

#include "support/temp_dir.hpp"
#include "support/vectors.hpp"

namespace fs = std::filesystem;
using relay::config::ConfigError;
using relay::config::default_config;
using relay::config::default_reference_dir;
using relay::config::load_node_config;
using relay::config::LogLevel;
using relay::config::Mailer;
using relay::config::NodeConfig;
using relay::config::parse_node_config;
using relay::config::StartTls;
using relay::config::to_json_text;

using relay::test::temp_dir_until_exit;

namespace {

constexpr const char* kMinimal = R"({"node": {"name": "kobe.relay", "region": "JP-28"}})";

fs::path write_file(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << text;
  return path;
}

// A fresh directory holding node.json with the given text.
fs::path write_config(const std::string& text) {
  return write_file(temp_dir_until_exit("config") / "node.json", text);
}

// The error about field, or nullptr.
const ConfigError* find_error(const std::vector<ConfigError>& errors, const std::string& field) {
  auto it = std::find_if(errors.begin(), errors.end(),
                         [&](const ConfigError& e) { return e.field == field; });
  return it == errors.end() ? nullptr : &*it;
}

// The text of the one error about field (fails the test if there is none).
std::string error_for(const std::vector<ConfigError>& errors, const std::string& field) {
  const ConfigError* e = find_error(errors, field);
  if (e == nullptr) {
    std::string all;
    for (const auto& x : errors) all += x.text() + "\n";
    FAIL_CHECK("no error for " << field << "; errors:\n" << all);
    return {};
  }
  return e->text();
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// Errors for a config whose node section is valid and whose other members are `rest`.
std::vector<ConfigError> errors_with(const std::string& rest, fs::path* path_out = nullptr) {
  auto path = write_config(R"({"node": {"name": "kobe.relay", "region": "JP-28"}, )" + rest + "}");
  if (path_out) *path_out = path;
  auto r = load_node_config(path);
  REQUIRE_FALSE(r.ok());
  return r.errors();
}

}  // namespace

TEST_CASE("a minimal config takes every default") {
  auto path = write_config(kMinimal);
  auto r = load_node_config(path);
  REQUIRE_MESSAGE(r.ok(), r.error_text());
  const NodeConfig& c = r.value();
  const fs::path dir = path.parent_path();

  CHECK(c.node.name == "kobe.relay");
  CHECK(c.node.region == "JP-28");
  CHECK(c.node.public_url == "http://127.0.0.1:8080");
  CHECK(c.listen.address == "127.0.0.1");
  CHECK(c.listen.port == 8080);
  CHECK(c.data_dir == dir);
  CHECK(c.credits.referrals_per_credit == 10);
  CHECK_FALSE(c.credits.alumni_count_toward_credits);
  CHECK(c.http.max_body_bytes == 65536);
  CHECK(c.http.max_header_bytes == 8192);
  CHECK(c.http.read_timeout_ms == std::chrono::milliseconds(10000));
  CHECK(c.http.idle_timeout_ms == std::chrono::milliseconds(30000));
  CHECK(c.http.threads == 4);
  CHECK(c.storage.map_size_mb == 1024);
  CHECK(c.storage.resident_map_mb == 128);
  CHECK(c.storage.resident_mb == 180);
  CHECK(c.mail.mailer == Mailer::spool);
  CHECK(c.mail.spool_dir == dir / "mail");
  CHECK(c.mail.from == "relay@kobe.relay");
  CHECK(c.consent.text_version == "2026-11-01");
  CHECK(c.federation.timestamp_window_s == std::chrono::seconds(300));
  CHECK(c.federation.retry_initial_ms == std::chrono::milliseconds(500));
  CHECK(c.federation.retry_max_ms == std::chrono::milliseconds(60000));
  CHECK(c.federation.witness_interval_s == std::chrono::seconds(30));
  CHECK(c.federation.key_grace_period_s == std::chrono::seconds(86400));
  CHECK(c.federation.request_timeout_ms == std::chrono::milliseconds(5000));
  CHECK(c.candidates.handoff_expiry_s == std::chrono::seconds(90 * 86400));
  CHECK(c.candidates.erasure_confirm_timeout_s == std::chrono::seconds(86400));
  CHECK(c.candidates.verification_expiry_hours == std::chrono::hours(72));
  CHECK(c.log.level == LogLevel::info);
  CHECK_FALSE(c.log.file.has_value());
  CHECK(c.reference_dir == default_reference_dir());
}

TEST_CASE("default_config holds the documented defaults, with relative paths") {
  NodeConfig c = default_config();
  CHECK(c.node.name.empty());
  CHECK(c.node.region.empty());
  CHECK(c.data_dir == ".");
  CHECK(c.mail.spool_dir == "mail");
  CHECK(c.mail.from.empty());
  CHECK(c.listen.port == 8080);
  CHECK(c.reference_dir == default_reference_dir());
  CHECK(fs::is_directory(default_reference_dir()));
}

TEST_CASE("comments are accepted") {
  auto path = write_config(R"(// relaynode config
{
  /* who we are */
  "node": {
    "name": "kobe.relay",  // the origin line
    "region": "JP-28"
  },
  "listen": {"port": 0}  // ephemeral
}
)");
  auto r = load_node_config(path);
  REQUIRE_MESSAGE(r.ok(), r.error_text());
  CHECK(r.value().listen.port == 0);
}

TEST_CASE("every bad field is reported by name with the file path, all at once") {
  fs::path path;
  auto errors = errors_with(R"(
    "http": {"max_body_bytes": "abc", "threads": 0},
    "listen": {"port": 70000, "address": "localhost"},
    "log": {"level": "loud"},
    "storage": {"map_size_mb": 0, "resident_map_mb": -1, "resident_mb": "lots"},
    "credits": {"referrals_per_credit": 1001}
  )",
                            &path);
  CHECK(errors.size() == 9);
  CHECK(error_for(errors, "http.max_body_bytes") ==
        "config " + path.string() +
            ": http.max_body_bytes: expected a positive integer, got \"abc\"");
  CHECK(error_for(errors, "http.threads") ==
        "config " + path.string() + ": http.threads: expected an integer from 1 to 64, got 0");
  CHECK(
      contains(error_for(errors, "listen.port"), "expected an integer from 0 to 65535, got 70000"));
  CHECK(contains(error_for(errors, "listen.address"), "IPv4 or IPv6"));
  CHECK(contains(error_for(errors, "log.level"), "got \"loud\""));
  CHECK(contains(error_for(errors, "storage.map_size_mb"), "got 0"));
  CHECK(contains(error_for(errors, "storage.resident_map_mb"), "got -1"));
  CHECK(contains(error_for(errors, "storage.resident_mb"), "got \"lots\""));
  CHECK(contains(error_for(errors, "credits.referrals_per_credit"), "from 1 to 1000, got 1001"));
  for (const auto& e : errors) {
    CHECK(e.file == path);
    CHECK(e.source == "config");
    CHECK(contains(e.text(), path.string()));
  }
}

TEST_CASE("unknown keys are errors, with a suggestion for a near miss") {
  auto errors = errors_with(R"("http": {"max_body_byte": 10}, "colour": "blue", "Listen": {})");
  CHECK(errors.size() == 3);
  CHECK(contains(error_for(errors, "http.max_body_byte"),
                 "unknown key (did you mean \"max_body_bytes\"?)"));
  CHECK(contains(error_for(errors, "Listen"), "did you mean \"listen\"?"));
  CHECK(contains(error_for(errors, "colour"), "unknown key"));
}

TEST_CASE("duplicate keys are errors, at any depth") {
  auto path = write_config(R"({
    "node": {"name": "kobe.relay", "name": "osaka.relay", "region": "JP-28"},
    "http": {"threads": 2, "threads": 8},
    "log": {"level": "info"}, "log": {"level": "debug"}
  })");
  auto r = load_node_config(path);
  REQUIRE_FALSE(r.ok());
  CHECK(r.errors().size() == 3);
  CHECK(contains(error_for(r.errors(), "node.name"), "duplicate key"));
  CHECK(contains(error_for(r.errors(), "http.threads"), "duplicate key"));
  CHECK(contains(error_for(r.errors(), "log"), "duplicate key"));
}

TEST_CASE("wrong types are errors") {
  auto path = write_config(R"({
    "node": {"name": 5, "region": ["JP-28"], "public_url": null},
    "listen": {"port": "8080"},
    "http": {"threads": 4.0, "read_timeout_ms": true},
    "credits": 10,
    "mail": {"spool_dir": 3},
    "log": {"file": 7},
    "data_dir": {},
    "federation": []
  })");
  auto r = load_node_config(path);
  REQUIRE_FALSE(r.ok());
  const auto& errors = r.errors();
  CHECK(contains(error_for(errors, "node.name"), "got 5"));
  CHECK(contains(error_for(errors, "node.region"), "got [\"JP-28\"]"));
  CHECK(contains(error_for(errors, "node.public_url"), "got null"));
  CHECK(
      contains(error_for(errors, "listen.port"), "expected a non-negative integer, got \"8080\""));
  CHECK(contains(error_for(errors, "http.threads"), "expected a positive integer, got 4.0"));
  CHECK(contains(error_for(errors, "http.read_timeout_ms"), "got true"));
  CHECK(contains(error_for(errors, "credits"), "expected an object, got 10"));
  CHECK(contains(error_for(errors, "mail.spool_dir"), "got 3"));
  CHECK(contains(error_for(errors, "log.file"), "got 7"));
  CHECK(contains(error_for(errors, "data_dir"), "got {}"));
  CHECK(contains(error_for(errors, "federation"), "expected an object, got []"));
  CHECK(errors.size() == 11);
}

TEST_CASE("out-of-range values are errors") {
  auto errors = errors_with(R"(
    "listen": {"port": -1},
    "http": {"threads": 65, "max_body_bytes": 18446744073709551615, "max_header_bytes": 100,
             "read_timeout_ms": 0},
    "federation": {"retry_initial_ms": 5000, "retry_max_ms": 1000, "key_grace_period_s": -5},
    "candidates": {"handoff_expiry_s": 0, "verification_expiry_hours": 100000}
  )");
  CHECK(contains(error_for(errors, "listen.port"), "got -1"));
  CHECK(contains(error_for(errors, "http.threads"), "got 65"));
  CHECK(contains(error_for(errors, "http.max_body_bytes"), "got 18446744073709551615"));
  CHECK(contains(error_for(errors, "http.max_header_bytes"), "from 1024 to 1048576, got 100"));
  CHECK(contains(error_for(errors, "http.read_timeout_ms"), "got 0"));
  CHECK(contains(error_for(errors, "federation.retry_max_ms"),
                 "must be at least retry_initial_ms (5000), got 1000"));
  CHECK(contains(error_for(errors, "federation.key_grace_period_s"), "got -5"));
  CHECK(contains(error_for(errors, "candidates.handoff_expiry_s"), "got 0"));
  CHECK(contains(error_for(errors, "candidates.verification_expiry_hours"), "got 100000"));
  CHECK(errors.size() == 9);
}

TEST_CASE("boundary values are accepted") {
  auto path = write_config(R"({
    "node": {"name": "a", "region": "JP-01", "public_url": "https://relay.example.jp/kobe"},
    "listen": {"port": 65535, "address": "::1"},
    "http": {"threads": 64, "max_header_bytes": 1024},
    "federation": {"retry_initial_ms": 1000, "retry_max_ms": 1000, "key_grace_period_s": 0},
    "credits": {"referrals_per_credit": 1}
  })");
  auto r = load_node_config(path);
  REQUIRE_MESSAGE(r.ok(), r.error_text());
  CHECK(r.value().listen.port == 65535);
  CHECK(r.value().listen.address == "::1");
  CHECK(r.value().node.public_url == "https://relay.example.jp/kobe");
  CHECK(r.value().federation.key_grace_period_s == std::chrono::seconds(0));
}

TEST_CASE("credits.alumni_count_toward_credits: a boolean, false unless set") {
  auto path = write_config(R"({
    "node": {"name": "kobe.relay", "region": "JP-28"},
    "credits": {"alumni_count_toward_credits": true}
  })");
  auto r = load_node_config(path);
  REQUIRE_MESSAGE(r.ok(), r.error_text());
  CHECK(r.value().credits.alumni_count_toward_credits);
  CHECK(r.value().credits.referrals_per_credit == 10);
  CHECK(contains(to_json_text(r.value()), "\"alumni_count_toward_credits\": true"));

  for (const char* bad : {R"("yes")", "1", "null"}) {
    auto errors =
        errors_with(std::string(R"("credits": {"alumni_count_toward_credits": )") + bad + "}");
    CHECK(errors.size() == 1);
    CHECK(contains(error_for(errors, "credits.alumni_count_toward_credits"),
                   "expected true or false, got " + std::string(bad)));
  }
  auto typo = errors_with(R"("credits": {"alumni_count_towards_credits": true})");
  CHECK(contains(error_for(typo, "credits.alumni_count_towards_credits"), "unknown"));
}

TEST_CASE("referrals: the holding period and farming checks, defaults on, each bounded") {
  auto path = write_config(R"({"node": {"name": "kobe.relay", "region": "JP-28"}})");
  auto r = load_node_config(path);
  REQUIRE_MESSAGE(r.ok(), r.error_text());
  const auto& d = r.value().referrals;
  CHECK(d.holding_days == 14);
  CHECK(d.flag_disposable_domains);
  CHECK(d.velocity_max == 5);
  CHECK(d.velocity_window_minutes == 60);
  CHECK(d.same_domain_max == 5);
  CHECK(d.similar_max == 3);
  CHECK(d.cluster_window_days == 7);
  CHECK(contains(to_json_text(r.value()), "\"holding_days\": 14"));

  path = write_config(R"({"node": {"name": "kobe.relay", "region": "JP-28"},
    "referrals": {"holding_days": 0, "velocity_max": 0, "flag_disposable_domains": false}})");
  r = load_node_config(path);
  REQUIRE_MESSAGE(r.ok(), r.error_text());
  CHECK(r.value().referrals.holding_days == 0);
  CHECK(r.value().referrals.velocity_max == 0);
  CHECK_FALSE(r.value().referrals.flag_disposable_domains);

  auto errors = errors_with(
      R"("referrals": {"holding_days": 366, "velocity_window_minutes": 0, "cluster_window_days": 0,
                        "similar_max": -1, "holding_dayz": 1})");
  CHECK(errors.size() == 5);
  for (const char* field :
       {"referrals.holding_days", "referrals.velocity_window_minutes",
        "referrals.cluster_window_days", "referrals.similar_max", "referrals.holding_dayz"})
    CHECK_MESSAGE(!error_for(errors, field).empty(), field);
}

TEST_CASE("matching: the success model's minimum of outcomes and retraining period, bounded") {
  auto r = load_node_config(write_config(kMinimal));
  REQUIRE_MESSAGE(r.ok(), r.error_text());
  CHECK(r.value().matching.success_min_outcomes == 30);
  CHECK(r.value().matching.success_retrain_minutes == 60);
  CHECK(contains(to_json_text(r.value()), "\"success_min_outcomes\": 30"));

  r = load_node_config(write_config(R"({"node": {"name": "kobe.relay", "region": "JP-28"},
    "matching": {"success_min_outcomes": 2, "success_retrain_minutes": 10080}})"));
  REQUIRE_MESSAGE(r.ok(), r.error_text());
  CHECK(r.value().matching.success_min_outcomes == 2);
  CHECK(r.value().matching.success_retrain_minutes == 10080);

  auto errors =
      errors_with(R"("matching": {"success_min_outcomes": 1, "success_retrain_minutes": 0})");
  CHECK(errors.size() == 2);
  CHECK_FALSE(error_for(errors, "matching.success_min_outcomes").empty());
  CHECK_FALSE(error_for(errors, "matching.success_retrain_minutes").empty());
}

TEST_CASE("missing required fields are named") {
  SUBCASE("empty object") {
    auto path = write_config("{}");
    auto r = load_node_config(path);
    REQUIRE_FALSE(r.ok());
    CHECK(r.errors().size() == 2);
    CHECK(contains(error_for(r.errors(), "node.name"), "required field is missing"));
    CHECK(contains(error_for(r.errors(), "node.region"), "required field is missing"));
  }
  SUBCASE("node without region") {
    auto path = write_config(R"({"node": {"name": "kobe.relay"}})");
    auto r = load_node_config(path);
    REQUIRE_FALSE(r.ok());
    CHECK(r.errors().size() == 1);
    CHECK(r.errors()[0].text() == "config " + path.string() +
                                      ": node.region: required field is missing (expected an "
                                      "ISO 3166-2:JP prefecture code such as \"JP-13\")");
  }
}

TEST_CASE("node.name must be DNS-like") {
  for (const char* bad : {"Kobe", "-kobe", "kobe-", "kobe..relay", "kobe_relay", "kobe relay", "",
                          "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}) {
    CAPTURE(bad);
    auto path = write_config(std::string(R"({"node": {"region": "JP-13", "name": )") +
                             nlohmann::json(bad).dump() + "}}");
    auto r = load_node_config(path);
    REQUIRE_FALSE(r.ok());
    CHECK(contains(error_for(r.errors(), "node.name"), "expected a DNS-like name"));
  }
  auto ok = write_config(
      R"({"node": {"region": "JP-13", "name": "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx4"}})");
  CHECK(load_node_config(ok).ok());
}

TEST_CASE("node.region is checked against the reference data") {
  for (const char* bad : {"JP-48", "JP-00", "Tokyo", "jp-13", "US-CA"}) {
    CAPTURE(bad);
    auto path = write_config(std::string(R"({"node": {"name": "x", "region": ")") + bad + "\"}}");
    auto r = load_node_config(path);
    REQUIRE_FALSE(r.ok());
    CHECK(r.errors().size() == 1);
    CHECK(contains(error_for(r.errors(), "node.region"), "prefectures.json"));
  }
}

TEST_CASE("node.public_url must be http(s) without a trailing slash") {
  for (const char* bad : {"http://relay.example.jp/", "ftp://relay.example.jp", "relay.example.jp",
                          "http://", "https://a b", "https://x.jp/?q=1", "http:///path"}) {
    CAPTURE(bad);
    auto path = write_config(std::string(R"({"node": {"name": "x", "region": "JP-13",)") +
                             R"("public_url": ")" + bad + "\"}}");
    auto r = load_node_config(path);
    REQUIRE_FALSE(r.ok());
    CHECK(contains(error_for(r.errors(), "node.public_url"), "trailing slash"));
  }
}

TEST_CASE("mail: spool or smtp, and a plain from address") {
  auto errors = errors_with(R"("mail": {"mailer": "smtp", "from": "Relay <relay@x.jp>"})");
  CHECK(errors.size() == 2);
  CHECK(contains(error_for(errors, "mail.smtp.host"), "required when mailer is \"smtp\""));
  CHECK(contains(error_for(errors, "mail.from"), "expected an email address"));

  auto errors2 = errors_with(R"("mail": {"mailer": "carrier-pigeon", "from": "a@b@c"})");
  CHECK(contains(error_for(errors2, "mail.mailer"), "got \"carrier-pigeon\""));
  CHECK(contains(error_for(errors2, "mail.from"), "got \"a@b@c\""));

  auto path = write_config(
      R"({"node": {"name": "x", "region": "JP-13"}, "mail": {"from": "noreply@kobe.example.jp"}})");
  auto r = load_node_config(path);
  REQUIRE_MESSAGE(r.ok(), r.error_text());
  CHECK(r.value().mail.from == "noreply@kobe.example.jp");
}

TEST_CASE("mail.smtp: every field checked and named") {
  auto errors = errors_with(R"("mail": {"mailer": "smtp", "smtp": {"host": "mail example",
      "port": 0, "starttls": "sometimes", "username": "relay", "connections": 0},
      "retry_initial_ms": 5000,
      "retry_max_ms": 10, "give_up_after_hours": 0})");
  CHECK(contains(error_for(errors, "mail.smtp.host"), "host name"));
  CHECK(contains(error_for(errors, "mail.smtp.port"), "0"));
  CHECK(contains(error_for(errors, "mail.smtp.starttls"), "when_offered"));
  CHECK(contains(error_for(errors, "mail.smtp.connections"), "got 0"));
  CHECK(contains(error_for(errors, "mail.smtp.password_file"), "required with username"));
  CHECK(contains(error_for(errors, "mail.retry_max_ms"), "at least retry_initial_ms"));
  CHECK(contains(error_for(errors, "mail.give_up_after_hours"), "0"));

  auto path = write_config(R"({"node": {"name": "x", "region": "JP-13"}, "mail": {"mailer": "smtp",
      "smtp": {"host": "127.0.0.1", "port": 2525, "starttls": "never", "username": "u",
               "password_file": "pw"}}})");
  auto r = load_node_config(path);
  REQUIRE_MESSAGE(r.ok(), r.error_text());
  const auto& m = r.value().mail;
  CHECK(m.mailer == Mailer::smtp);
  CHECK(m.smtp.port == 2525);
  CHECK(m.smtp.starttls == StartTls::never);
  CHECK(m.smtp.connections == 8);
  CHECK(m.smtp.password_file == path.parent_path() / "pw");
  CHECK(m.give_up_after_hours == std::chrono::hours(72));
}

TEST_CASE("tls: both files or neither; plain HTTP leaves loopback only behind a proxy") {
  auto errors = errors_with(R"("tls": {"certificate_file": "cert.pem"})");
  CHECK(contains(error_for(errors, "tls.key_file"), "required with certificate_file"));

  auto public_plain = errors_with(R"("listen": {"address": "0.0.0.0"})");
  CHECK(contains(error_for(public_plain, "http.behind_proxy"), "is not loopback"));

  for (const char* ok : {R"("listen": {"address": "0.0.0.0"}, "http": {"behind_proxy": true})",
                         R"("listen": {"address": "::"}, "tls": {"certificate_file": "c.pem",
                              "key_file": "k.pem"})",
                         R"("listen": {"address": "::1"})"}) {
    CAPTURE(ok);
    auto path =
        write_config(std::string(R"({"node": {"name": "x", "region": "JP-13"}, )") + ok + "}");
    auto r = load_node_config(path);
    CHECK_MESSAGE(r.ok(), r.error_text());
  }
}

TEST_CASE("every log level is accepted; log.file null means stderr") {
  for (auto [name, level] : {std::pair{"trace", LogLevel::trace},
                             {"debug", LogLevel::debug},
                             {"info", LogLevel::info},
                             {"warn", LogLevel::warn},
                             {"error", LogLevel::error},
                             {"off", LogLevel::off}}) {
    CAPTURE(name);
    auto path = write_config(std::string(R"({"node": {"name": "x", "region": "JP-13"},)") +
                             R"("log": {"file": null, "level": ")" + name + "\"}}");
    auto r = load_node_config(path);
    REQUIRE_MESSAGE(r.ok(), r.error_text());
    CHECK(r.value().log.level == level);
    CHECK_FALSE(r.value().log.file.has_value());
    CHECK(relay::config::to_string(level) == name);
  }
}

TEST_CASE("relative paths resolve against the config file's directory") {
  const fs::path root = temp_dir_until_exit("config-paths");
  const fs::path dir = root / "etc";
  fs::create_directories(root / "ref");
  for (const auto& entry : fs::directory_iterator(default_reference_dir())) {
    fs::copy_file(entry.path(), root / "ref" / entry.path().filename());
  }
  auto path = write_file(dir / "node.json", R"({
    "node": {"name": "x", "region": "JP-13"},
    "data_dir": "data",
    "mail": {"spool_dir": "../spool/"},
    "log": {"file": "logs/node.log"},
    "reference_dir": "../ref"
  })");
  auto r = load_node_config(path);
  REQUIRE_MESSAGE(r.ok(), r.error_text());
  CHECK(r.value().data_dir == dir / "data");
  CHECK(r.value().mail.spool_dir == root / "spool");
  REQUIRE(r.value().log.file.has_value());
  CHECK(*r.value().log.file == dir / "logs" / "node.log");
  CHECK(r.value().reference_dir == root / "ref");

  SUBCASE("absolute paths are kept") {
    auto abs = write_file(dir / "abs.json", R"({"node": {"name": "x", "region": "JP-13"},
      "data_dir": "/var/lib/relay", "mail": {"spool_dir": "/var/spool/relay"}})");
    auto r2 = load_node_config(abs);
    REQUIRE_MESSAGE(r2.ok(), r2.error_text());
    CHECK(r2.value().data_dir == "/var/lib/relay");
    CHECK(r2.value().mail.spool_dir == "/var/spool/relay");
  }
  SUBCASE("a path given relative to the working directory works too") {
    const fs::path old = fs::current_path();
    fs::current_path(root);
    auto r3 = load_node_config("etc/node.json");
    fs::current_path(old);
    REQUIRE_MESSAGE(r3.ok(), r3.error_text());
    CHECK(r3.value().data_dir == dir / "data");
  }
}

TEST_CASE("a reference_dir that is not a directory is reported") {
  auto errors = errors_with(R"("reference_dir": "no-such-dir")");
  CHECK(errors.size() == 1);
  CHECK(contains(error_for(errors, "reference_dir"), "no-such-dir is not one"));
}

TEST_CASE("a broken reference directory is reported with its files") {
  const fs::path root = temp_dir_until_exit("config-badref");
  fs::create_directories(root / "ref");
  write_file(root / "node.json",
             R"({"node": {"name": "x", "region": "JP-13"}, "reference_dir": "ref"})");
  auto r = load_node_config(root / "node.json");
  REQUIRE_FALSE(r.ok());
  CHECK(find_error(r.errors(), "reference_dir") != nullptr);
  const auto n = std::count_if(r.errors().begin(), r.errors().end(), [](const ConfigError& e) {
    return e.source == "reference" && contains(e.text(), "cannot read the file");
  });
  CHECK(n == 5);
}

TEST_CASE("files that are not a config object") {
  SUBCASE("missing file") {
    auto path = temp_dir_until_exit("config") / "nope.json";
    auto r = load_node_config(path);
    REQUIRE_FALSE(r.ok());
    CHECK(r.errors().size() == 1);
    CHECK(r.error_text() == "config " + path.string() + ": cannot read the file: no such file");
  }
  SUBCASE("syntax error names the line") {
    auto path = write_config("{\n  \"node\": {\"name\": \"x\",}\n}");
    auto r = load_node_config(path);
    REQUIRE_FALSE(r.ok());
    CHECK(r.errors().size() == 1);
    CHECK(contains(r.error_text(), "config " + path.string() + ": invalid JSON: "));
    CHECK(contains(r.error_text(), "line 2"));
  }
  SUBCASE("a number too large for a double") {
    auto r = parse_node_config(
        R"({"node": {"name": "x", "region": "JP-13"}, "http": {"threads": 1e400}})",
        "/tmp/x/node.json");
    REQUIRE_FALSE(r.ok());
    CHECK(contains(r.error_text(), "invalid JSON"));
  }
  SUBCASE("not an object") {
    auto r = parse_node_config("[1, 2]", "/tmp/x/node.json");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error_text() == "config /tmp/x/node.json: expected an object, got [1,2]");
  }
}

TEST_CASE("to_json_text round-trips through load") {
  const fs::path dir = temp_dir_until_exit("config-rt");
  auto path = write_file(dir / "node.json", R"({
    "node": {"name": "osaka.relay", "region": "JP-27", "public_url": "https://relay.example.jp"},
    "listen": {"address": "0.0.0.0", "port": 9443},
    "data_dir": "state",
    "tls": {"certificate_file": "tls/cert.pem", "key_file": "tls/key.pem"},
    "credits": {"referrals_per_credit": 12},
    "http": {"max_body_bytes": 1000000, "max_header_bytes": 16384, "read_timeout_ms": 2000,
             "idle_timeout_ms": 4000, "threads": 8},
    "storage": {"map_size_mb": 4096, "resident_map_mb": 64, "resident_mb": 500},
    "mail": {"mailer": "smtp", "spool_dir": "/var/spool/relay", "from": "noreply@example.jp",
             "smtp": {"host": "mail.example.jp", "port": 25, "starttls": "required",
                      "username": "relay", "password_file": "smtp_password", "ca_file": "ca.pem",
                      "timeout_ms": 5000},
             "retry_initial_ms": 1000, "retry_max_ms": 60000, "give_up_after_hours": 24},
    "consent": {"text_version": "2027-04-01"},
    "federation": {"timestamp_window_s": 120, "retry_initial_ms": 250, "retry_max_ms": 30000,
                   "witness_interval_s": 10, "key_grace_period_s": 3600, "request_timeout_ms": 2500,
                   "ca_file": "/etc/relay/peers-ca.pem"},
    "candidates": {"handoff_expiry_s": 2592000, "erasure_confirm_timeout_s": 3600,
                   "verification_expiry_hours": 24},
    "log": {"level": "debug", "file": "relay.log"}
  })");
  auto first = load_node_config(path);
  REQUIRE_MESSAGE(first.ok(), first.error_text());
  CHECK(first.value().storage.resident_map_mb == 64);
  CHECK(first.value().storage.resident_mb == 500);
  const std::string text = to_json_text(first.value());
  CHECK(text.back() == '\n');
  CHECK(nlohmann::json::accept(text));  // plain JSON, no comments
  CHECK(text.find("\"reference_dir\"") == std::string::npos);

  auto again = write_file(dir / "again.json", text);
  auto second = load_node_config(again);
  REQUIRE_MESSAGE(second.ok(), second.error_text());
  CHECK(second.value() == first.value());
  CHECK(to_json_text(second.value()) == text);
}

TEST_CASE("default_config with a name and region is a loadable file") {
  NodeConfig c = default_config();
  c.node.name = "sapporo.relay";
  c.node.region = "JP-01";
  const std::string text = to_json_text(c);
  CHECK(text.find("\"from\"") == std::string::npos);  // derived from the name
  const fs::path dir = temp_dir_until_exit("config-init");
  auto r = load_node_config(write_file(dir / "node.json", text));
  REQUIRE_MESSAGE(r.ok(), r.error_text());
  NodeConfig expected = c;
  expected.data_dir = dir;
  expected.mail.spool_dir = dir / "mail";
  expected.mail.from = "relay@sapporo.relay";
  CHECK(r.value() == expected);

  // Without a name and region the written file is refused, naming both.
  auto bad = parse_node_config(to_json_text(default_config()), dir / "blank.json");
  REQUIRE_FALSE(bad.ok());
  CHECK(find_error(bad.errors(), "node.name") != nullptr);
  CHECK(find_error(bad.errors(), "node.region") != nullptr);
}

TEST_CASE("the shipped example config loads") {
  const fs::path example = relay::test::source_dir() / "config/examples/node.example.jsonc";
  auto r = load_node_config(example);
  REQUIRE_MESSAGE(r.ok(), r.error_text());
  CHECK(r.value().node.region == "JP-28");
}

// Every field a config can hold (to_json_text of the defaults) is in the example, with its
// default value: a new field cannot be added without documenting it there.
TEST_CASE("the example config documents every field with its default") {
  const fs::path example = relay::test::source_dir() / "config/examples/node.example.jsonc";
  auto shown = nlohmann::json::parse(relay::test::read_file(example), nullptr, true, true);
  auto defaults = default_config();
  defaults.node.name = "kobe.relay.example";
  defaults.node.region = "JP-28";
  auto expected = nlohmann::json::parse(to_json_text(defaults)).flatten();
  auto flat = shown.flatten();
  for (const auto& [pointer, value] : expected.items()) {
    CAPTURE(pointer);
    REQUIRE(flat.contains(pointer));
    if (pointer != "/mail/from") CHECK(flat[pointer] == value);
  }
  // Beyond the defaults the example shows only optional fields written out when set (mail.from,
  // mail.smtp, the operator's footer); the test above loads it strictly, so none is unknown.
  for (const auto& [pointer, value] : flat.items()) {
    CAPTURE(pointer);
    if (!expected.contains(pointer))
      CHECK((pointer == "/mail/from" || pointer.rfind("/mail/smtp/", 0) == 0 ||
             pointer.rfind("/operator/", 0) == 0));
  }
}

TEST_CASE("log.format is json by default, text on request, and nothing else") {
  auto path = write_config(R"({"node": {"name": "x", "region": "JP-13"}})");
  auto r = load_node_config(path);
  REQUIRE_MESSAGE(r.ok(), r.error_text());
  CHECK(r.value().log.format == relay::config::LogFormat::json);
  path = write_config(R"({"node": {"name": "x", "region": "JP-13"}, "log": {"format": "text"}})");
  r = load_node_config(path);
  REQUIRE_MESSAGE(r.ok(), r.error_text());
  CHECK(r.value().log.format == relay::config::LogFormat::text);
  path = write_config(R"({"node": {"name": "x", "region": "JP-13"}, "log": {"format": "xml"}})");
  r = load_node_config(path);
  REQUIRE_FALSE(r.ok());
  CHECK(contains(error_for(r.errors(), "log.format"), "got \"xml\""));
}

TEST_CASE("operator: name, contact and privacy URL for the candidate pages' footer") {
  auto path = write_config(
      R"({"node": {"name": "x", "region": "JP-13"}, "operator": {"name": "神戸市しごと支援課",)"
      R"( "contact": "relay@kobe.example.jp / 078-000-0000",)"
      R"( "privacy_url": "https://kobe.example.jp/privacy"}})");
  auto r = load_node_config(path);
  REQUIRE_MESSAGE(r.ok(), r.error_text());
  CHECK(r.value().operator_.name == "神戸市しごと支援課");
  CHECK(r.value().operator_.contact == "relay@kobe.example.jp / 078-000-0000");
  CHECK(r.value().operator_.privacy_url == "https://kobe.example.jp/privacy");
  // Written out and read back unchanged; left out when empty.
  auto again = parse_node_config(to_json_text(r.value()), path);
  REQUIRE_MESSAGE(again.ok(), again.error_text());
  CHECK(again.value().operator_ == r.value().operator_);
  CHECK(to_json_text(default_config()).find("\"operator\"") == std::string::npos);

  auto errors = errors_with(R"x("operator": {"name": "", "contact": "a\u0007b",)x"
                            R"x( "privacy_url": "javascript:alert(1)", "phone": "1"})x");
  CHECK(contains(error_for(errors, "operator.name"), "1 to 100 characters"));
  CHECK(contains(error_for(errors, "operator.contact"), "1 to 200 characters"));
  CHECK(contains(error_for(errors, "operator.privacy_url"), "http:// or https://"));
  CHECK(find_error(errors, "operator.phone") != nullptr);
  auto long_name = errors_with(R"("operator": {"name": ")" + std::string(101, 'a') + "\"}");
  CHECK(find_error(long_name, "operator.name") != nullptr);
  auto longest = load_node_config(
      write_config(R"({"node": {"name": "x", "region": "JP-13"}, "operator": {"name": ")" +
                   std::string(100, 'a') + "\"}}"));
  CHECK_MESSAGE(longest.ok(), longest.error_text());
}

TEST_CASE("limits: rate rules, the mail cap, the connection cap and profile quotas") {
  auto path = write_config(R"({"node": {"name": "kobe.relay", "region": "JP-28"},
    "http": {"max_connections": 100},
    "limits": {"per_ip": {"requests": 0}, "per_link": {"requests": 3, "per_seconds": 10},
               "confirmation_mails_per_day": 2},
    "federation": {"max_profiles_per_peer": 7, "sync_timeout_s": 1}})");
  auto r = load_node_config(path);
  REQUIRE(r.ok());
  const auto& c = r.value();
  CHECK(c.http.max_connections == 100);
  CHECK(c.limits.per_ip.requests == 0);
  CHECK(c.limits.per_link.requests == 3);
  CHECK(c.limits.per_link.per_seconds == std::chrono::seconds(10));
  CHECK(c.limits.per_member == relay::config::RateRule{600, std::chrono::seconds(60)});
  CHECK(c.limits.per_address == relay::config::RateRule{5, std::chrono::seconds(3600)});
  CHECK(c.limits.confirmation_mails_per_day == 2);
  CHECK(c.federation.max_profiles_per_peer == 7);
  CHECK(c.federation.sync_timeout_s == std::chrono::seconds(1));

  auto errors = errors_with(R"(
    "http": {"max_connections": 0},
    "limits": {"per_ip": {"requests": -1, "per_seconds": 0}, "per_member": {"burst": 5},
               "confirmation_mails_per_day": 0, "tracked_keys": 10},
    "federation": {"max_profiles_per_peer": 0, "sync_timeout_s": 0}
  )");
  CHECK(contains(error_for(errors, "http.max_connections"), "got 0"));
  CHECK(contains(error_for(errors, "limits.per_ip.requests"), "got -1"));
  CHECK(contains(error_for(errors, "limits.per_ip.per_seconds"), "got 0"));
  CHECK(find_error(errors, "limits.per_member.burst") != nullptr);
  CHECK(contains(error_for(errors, "limits.confirmation_mails_per_day"), "got 0"));
  CHECK(contains(error_for(errors, "limits.tracked_keys"), "got 10"));
  CHECK(contains(error_for(errors, "federation.max_profiles_per_peer"), "got 0"));
  CHECK(contains(error_for(errors, "federation.sync_timeout_s"), "got 0"));
}

TEST_CASE("settlement and the witness policy: read, and every bad value named") {
  auto path = write_config(R"({"node": {"name": "kobe.relay", "region": "JP-28"},
    "settlement": {"enabled": false, "period": "daily", "countersign_within_s": 600,
                   "yen_per_introduction": 30000},
    "federation": {"witnesses": ["osaka.relay", {"url": "https://w.example/p",
                   "vkey": "w.example+01020304+AQ"}], "witness_quorum": 2,
                   "witness_pull": false}})");
  auto loaded = relay::config::load_node_config(path);
  REQUIRE(loaded);
  const auto& c = loaded.value();
  CHECK_FALSE(c.settlement.enabled);
  CHECK(c.settlement.period == relay::config::SettlementPeriod::daily);
  CHECK(c.settlement.countersign_within_s == 600);
  CHECK(c.settlement.yen_per_introduction == 30000);
  REQUIRE(c.federation.witnesses.size() == 2);
  CHECK(c.federation.witnesses[0].peer == "osaka.relay");
  CHECK(c.federation.witnesses[1].url == "https://w.example/p");
  CHECK(c.federation.witness_quorum == 2);
  CHECK_FALSE(c.federation.witness_pull);

  auto errors = errors_with(R"(
    "settlement": {"period": "weekly", "countersign_within_s": 1, "enabled": "yes"},
    "federation": {"witnesses": ["osaka.relay", {"url": "ftp://w", "vkey": "x"}],
                   "witness_quorum": 0}
  )");
  CHECK(contains(error_for(errors, "settlement.period"), "\"monthly\", \"daily\" or \"off\""));
  CHECK(contains(error_for(errors, "settlement.countersign_within_s"), "from 60 to 2592000"));
  CHECK(contains(error_for(errors, "settlement.enabled"), "true or false"));
  CHECK(contains(error_for(errors, "federation.witnesses"), "peer names"));
  CHECK(contains(error_for(errors, "federation.witness_quorum"), "got 0"));
  auto too_many =
      errors_with(R"("federation": {"witnesses": ["osaka.relay"], "witness_quorum": 2})");
  CHECK(contains(error_for(too_many, "federation.witness_quorum"),
                 "at most the number of witnesses"));
}
