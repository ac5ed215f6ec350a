#pragma once
// The node's configuration: one JSON file (node.json), comments allowed, strict otherwise.
// Unknown keys, duplicate keys, wrong types and out-of-range values are all errors, reported
// together, each naming the file and the field path. Every field except node.name and
// node.region has a default (see config/README.md for the table).
//
// Paths: in a loaded NodeConfig every path is absolute (relative ones in the file resolve
// against the config file's directory). In default_config() they are relative, as they would
// be written into a new file.
//
// All functions are pure apart from reading the config file and the reference files; they
// may be called from any thread.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/errors.hpp"

namespace relay::config {

// The built-in location of the reference data: RELAY_REFERENCE_DIR, config/reference in the
// source tree.
std::filesystem::path default_reference_dir();

enum class Mailer {
  spool,  // messages are written as files into mail.spool_dir (development)
  smtp,   // handed to the SMTP server in mail.smtp
};

// mail.smtp.starttls: upgrade the connection when the server offers it, insist on it, or not.
enum class StartTls { required, when_offered, never };

enum class LogLevel { trace, debug, info, warn, error, off };

// "node": who this node is.
struct NodeSection {
  std::string name;    // required; DNS-like [a-z0-9.-], 1..64; checkpoint origin, federation id
  std::string region;  // required; ISO 3166-2:JP code present in the reference data, "JP-13"
  std::string public_url = "http://127.0.0.1:8080";  // http(s)://..., no trailing slash

  bool operator==(const NodeSection&) const = default;
};

// "listen": where the HTTP server binds.
struct ListenSection {
  std::string address = "127.0.0.1";  // an IPv4 or IPv6 literal
  std::uint16_t port = 8080;          // 0 = ephemeral (tests)

  bool operator==(const ListenSection&) const = default;
};

// "credits": the relay rule.
struct CreditsSection {
  std::uint32_t referrals_per_credit = 10;  // verified distinct referrals per credit, 1..1000
  // Whether alumni referrals (people leaving a member, 退職者, registered through its alumni
  // link) count toward its credits. Off by default: the scheme rewards rejection referrals.
  bool alumni_count_toward_credits = false;

  bool operator==(const CreditsSection&) const = default;
};

// "referrals": the holding period and the credit-farming checks (issue 17;
// node/referrals/hold.hpp). A verified referral counts toward a credit only after
// holding_days in which it was not withdrawn or erased; a referral flagged by a check waits
// for the operator (GET /api/v1/review). A maximum of 0 turns its check off; holding_days 0
// counts an unflagged referral at once (tests, or a consortium that wants no hold).
struct ReferralsSection {
  std::uint32_t holding_days = 14;             // 0..365
  bool flag_disposable_domains = true;         // addresses at disposable-mail services
  std::uint32_t velocity_max = 5;              // confirmations through one member's links ...
  std::uint32_t velocity_window_minutes = 60;  // ... within this window (1..10080)
  std::uint32_t same_domain_max = 5;           // addresses of one (non-public) domain ...
  std::uint32_t similar_max = 3;               // ... or with one local-part stem ...
  std::uint32_t cluster_window_days = 7;       // ... within this window (1..365)

  bool operator==(const ReferralsSection&) const = default;
};

// "introductions": how long a candidate may take to answer, and a peer to deliver, before the
// member's credit comes back.
struct IntroductionsSection {
  std::uint32_t answer_within_days = 14;  // 1..365
  std::uint32_t deliver_within_days = 7;  // 1..365

  bool operator==(const IntroductionsSection&) const = default;
};

// "console": the web console's sessions (node/console/sessions.hpp). A session ends after
// session_minutes without a request (idle) and session_max_hours after sign-in (absolute).
struct ConsoleSection {
  std::uint32_t session_minutes = 60;    // 1..1440
  std::uint32_t session_max_hours = 12;  // 1..168

  bool operator==(const ConsoleSection&) const = default;
};

// "matching": the success model (node/matching/success_model.hpp). It shows no probability
// until the node has this many resolved introduction outcomes, and retrains on this period
// (and whenever an outcome is reported).
struct MatchingSection {
  std::uint32_t success_min_outcomes = 30;     // 2..1000000
  std::uint32_t success_retrain_minutes = 60;  // 1..10080

  bool operator==(const MatchingSection&) const = default;
};

// "statistics": the seeds' KPIs and the federated statistics (node/statistics/README.md).
struct StatisticsSection {
  std::uint32_t reemployment_days = 90;  // re-employed within this many days of registering
  std::uint64_t agency_fee_yen = 0;      // an agency's fee per hire; 0 = unknown (no cost KPI)
  std::uint32_t min_persons = 10;        // a released cell counts at least this many persons
  std::uint32_t min_companies = 3;       // ... and this many distinct member companies
  std::uint32_t publish_minutes = 60;    // the statistics.table to peers, every this many minutes

  bool operator==(const StatisticsSection&) const = default;
};

// "settlement": statements of the introductions nodes owe each other (node/settlement/README.md).
// Periods are calendar months (or days) in Japan Standard Time.
enum class SettlementPeriod { monthly, daily, off };
struct SettlementSection {
  // false: this node proposes no statement and refuses peers' (403 settlement_disabled).
  bool enabled = true;
  SettlementPeriod period = SettlementPeriod::monthly;  // "monthly" | "daily" | "off"
  std::uint32_t countersign_within_s = 259200;  // 60..2592000: unsigned this long is reported
  std::uint64_t yen_per_introduction = 0;       // 0..10000000: the invoicing CSV's price; 0 none

  bool operator==(const SettlementSection&) const = default;
};

// "http": server limits.
struct HttpSection {
  std::size_t max_body_bytes = 65536;
  std::size_t max_header_bytes = 8192;
  std::chrono::milliseconds read_timeout_ms{10000};
  std::chrono::milliseconds idle_timeout_ms{30000};
  unsigned threads = 4;  // 1..64
  // Credentials this node never issued that one address may present in 5 minutes before it
  // is refused for 15 (node/services/credential_guard.hpp), 1..100000.
  std::uint32_t credential_guesses = 10;
  // Plain HTTP on a non-loopback address only when a reverse proxy terminates TLS in front.
  // Then the client's address (for every limit) is X-Forwarded-For's last hop.
  bool behind_proxy = false;
  // Open connections at once; past it a new connection is closed at once (1..1000000). Keep
  // it under the process's descriptor limit (the systemd unit sets LimitNOFILE=65536).
  std::uint32_t max_connections = 4096;

  bool operator==(const HttpSection&) const = default;
};

// One rate limit: a bucket of `requests` that refills `requests` every `per_seconds`.
// requests 0 turns the limit off.
struct RateRule {
  std::uint32_t requests = 0;            // 0..1000000
  std::chrono::seconds per_seconds{60};  // 1..86400

  bool operator==(const RateRule&) const = default;
};

// "limits": what one party may ask of the node (node/services/rate_limit.hpp). Past a limit
// the API answers 429 with Retry-After, the candidate pages a 429 page in the visitor's
// language. Defaults suit a municipal node: generous for people and ATSs, hard on scripts.
struct LimitsSection {
  RateRule per_ip{600, std::chrono::seconds(60)};      // every request from one address
  RateRule per_member{600, std::chrono::seconds(60)};  // API requests with one member's key
  RateRule per_link{30, std::chrono::seconds(60)};     // registrations through one relay link
  // Registrations for one mailbox: its canonical address (no +tag; Gmail's dots ignored).
  RateRule per_address{5, std::chrono::seconds(3600)};
  // Confirmation (and "already registered") mails to one address per day (1..100); past it a
  // registration still replaces the pending data but mails nothing more that day.
  std::uint32_t confirmation_mails_per_day = 5;
  // Keys each limit remembers (least recently seen forgotten first), 100..10000000.
  std::uint32_t tracked_keys = 100000;

  bool operator==(const LimitsSection&) const = default;
};

// "storage": LMDB.
struct StorageSection {
  std::uint64_t map_size_mb = 1024;  // LMDB map size in MiB, at least 1
  // Mapped file pages (data.mdb's, the binary's) the node keeps resident, in MiB, before it
  // releases the map's pages to the page cache (storage::MapBudget); 0: never. 128 keeps
  // VmRSS under 200 MiB at scale (issue 19); random reads then fault pages in again.
  std::uint64_t resident_map_mb = 128;
  // VmRSS in MiB past which the map's pages are released as well, while more than 32 MiB of
  // mapped file pages are resident; 0: no such limit. The node's own memory grows with its
  // data (the pool index of 1M candidates is 128 MiB), and resident_map_mb on top of it
  // passed 200 MiB at 10M entries (issue 19).
  std::uint64_t resident_mb = 180;

  bool operator==(const StorageSection&) const = default;
};

// "tls": native HTTPS for the node's server (both files or neither). The key file must not be
// readable by group or others (checked when the node starts); both are reloaded on SIGHUP.
struct TlsSection {
  std::optional<std::filesystem::path> certificate_file;  // PEM chain, leaf first
  std::optional<std::filesystem::path> key_file;          // PEM private key

  bool enabled() const { return certificate_file.has_value(); }
  bool operator==(const TlsSection&) const = default;
};

// "mail.smtp": the SMTP server mail is handed to when mail.mailer is "smtp".
struct SmtpSection {
  std::string host;  // required with mailer "smtp": a host name or address
  std::uint16_t port = 587;
  StartTls starttls = StartTls::when_offered;
  std::string username;                                // empty: no AUTH
  std::optional<std::filesystem::path> password_file;  // required with username; mode 0600
  std::optional<std::filesystem::path> ca_file;        // trusted besides the system CA store
  std::chrono::milliseconds timeout_ms{30000};         // per step of a session
  unsigned connections = 8;  // sessions at once while mail is queued (each a connection)

  bool operator==(const SmtpSection&) const = default;
};

// "mail": how messages to candidates leave the node.
struct MailSection {
  Mailer mailer = Mailer::spool;
  std::filesystem::path spool_dir = "mail";
  std::string from;  // empty in default_config() = "relay@<node.name>"; always set after load
  SmtpSection smtp;
  std::chrono::milliseconds retry_initial_ms{60000};  // first backoff of a deferred message
  std::chrono::milliseconds retry_max_ms{3600000};    // backoff cap, >= retry_initial_ms
  std::chrono::hours give_up_after_hours{72};         // undelivered this long: given up

  bool operator==(const MailSection&) const = default;
};

// "consent": the consent text shown to candidates.
struct ConsentSection {
  std::string text_version = "2026-11-01";  // recorded with every consent

  bool operator==(const ConsentSection&) const = default;
};

// "operator": who runs the node, in the footer of every candidate page (empty: left out).
struct OperatorSection {
  std::string name;         // 1-100 characters of text
  std::string contact;      // 1-200 characters: an email address, phone or postal address
  std::string privacy_url;  // an http:// or https:// URL

  bool operator==(const OperatorSection&) const = default;
};

// "federation": talking to peer nodes.
// One witness of this node's policy: a peer by name, or an outside witness by its URL prefix
// (add-checkpoint is POSTed to <url>/add-checkpoint) and its C2SP note verifier key.
struct WitnessPolicyEntry {
  std::string peer;  // a configured peer (its URL + /witness/v1), or "" for an outside witness
  std::string url;   // outside witness: the submission prefix, http(s)://...
  std::string vkey;  // outside witness: name+keyid+base64 (cosignature/v1 or Ed25519 key)

  bool operator==(const WitnessPolicyEntry&) const = default;
};

struct FederationSection {
  std::chrono::seconds timestamp_window_s{300};     // accepted clock skew of a signed envelope
  std::chrono::milliseconds retry_initial_ms{500};  // outbox backoff, first delay
  std::chrono::milliseconds retry_max_ms{60000};    // outbox backoff cap, >= retry_initial_ms
  std::chrono::seconds witness_interval_s{30};      // how often peers' checkpoints are cosigned
  std::chrono::seconds key_grace_period_s{86400};   // old key still accepted after a rotation
  std::chrono::milliseconds request_timeout_ms{5000};
  std::chrono::seconds identity_refresh_min_s{
      60};  // at most one background identity fetch per peer
  // Trusted for peers' HTTPS certificates besides the system CA store (a private CA).
  std::optional<std::filesystem::path> ca_file;
  // Profiles one peer may circulate to this node at once (1..10000000); past it the peer's
  // new profiles are refused until it withdraws some.
  std::uint32_t max_profiles_per_peer = 20000;
  // A profile sync a peer started and did not finish within this long is dropped (1..604800).
  std::chrono::seconds sync_timeout_s{3600};
  // Peers at http:// URLs off loopback are refused unless this is set (a private network or a
  // TLS-terminating proxy in front of every peer): envelopes are signed and sealed, but the
  // identity documents and checkpoints fetched over plain HTTP would be open to tampering.
  bool allow_plain_http = false;
  // An ordinary message not delivered this long after it was queued is given up: recorded as
  // undelivered, the operator alerted, a credit it carried refunded. Erasure and withdrawal
  // messages never give up; past this they raise an alert once and keep trying (60..31536000).
  std::chrono::seconds give_up_after_s{7 * 86400};
  // The witness policy (C2SP tlog-witness): every witness_interval_s this node submits its
  // checkpoint to each of these witnesses (add-checkpoint); its checkpoint counts as witnessed
  // once witness_quorum of them have cosigned it. Empty: no policy (peers witness by pulling).
  std::vector<WitnessPolicyEntry> witnesses;
  std::uint32_t witness_quorum = 1;  // 1..number of witnesses
  // false: this node no longer fetches and cosigns every peer's checkpoint; it cosigns only
  // what logs submit to POST /witness/v1/add-checkpoint (which it always serves).
  bool witness_pull = true;

  bool operator==(const FederationSection&) const = default;
};

// "candidates": time limits on candidate flows.
struct CandidatesSection {
  std::chrono::seconds handoff_expiry_s{90 *
                                        86400};  // a peer must delete a handed-off profile after
  std::chrono::seconds erasure_confirm_timeout_s{86400};  // wait for a peer's erasure receipt
  std::chrono::hours verification_expiry_hours{72};       // a registration link stays valid

  bool operator==(const CandidatesSection&) const = default;
};

// "log".
enum class LogFormat { json, text };

struct LogSection {
  LogLevel level = LogLevel::info;
  // json: one JSON object per line {"time","level","message",...}; text: spdlog's pattern.
  LogFormat format = LogFormat::json;
  std::optional<std::filesystem::path> file;  // none = stderr

  bool operator==(const LogSection&) const = default;
};

// The whole file. Member names are the JSON keys (operator_: "operator").
struct NodeConfig {
  NodeSection node;
  ListenSection listen;
  std::filesystem::path data_dir = ".";  // "." = the config file's directory
  CreditsSection credits;
  ReferralsSection referrals;
  IntroductionsSection introductions;
  ConsoleSection console;
  MatchingSection matching;
  StatisticsSection statistics;
  SettlementSection settlement;
  HttpSection http;
  LimitsSection limits;
  TlsSection tls;
  StorageSection storage;
  MailSection mail;
  ConsentSection consent;
  OperatorSection operator_;  // JSON key "operator"
  FederationSection federation;
  CandidatesSection candidates;
  LogSection log;
  std::filesystem::path reference_dir = default_reference_dir();

  bool operator==(const NodeConfig&) const = default;
};

// Reads and validates the config file at path. Validating node.region also loads the
// reference data (from reference_dir); its errors, if any, are returned too.
LoadResult<NodeConfig> load_node_config(const std::filesystem::path& path);

// As load_node_config, for text already in memory; path is used in messages and to resolve
// relative paths (it need not exist). Lets `relay-node init` check what it will write.
LoadResult<NodeConfig> parse_node_config(std::string_view text, const std::filesystem::path& path);

// All defaults; node.name and node.region are empty (required: the caller fills them in).
NodeConfig default_config();

// The config as a pretty-printed JSON document (keys in file order, trailing newline), as
// `relay-node init` writes it. Omitted: mail.from when it is empty or "relay@<node.name>",
// log.file when none, reference_dir when it is default_reference_dir(). Loading the text
// back (from a file in the same directory) gives an equal config.
std::string to_json_text(const NodeConfig& config);

// "spool", "smtp"; "required", "when_offered", "never"; "trace" ... "off".
std::string_view to_string(Mailer mailer);
std::string_view to_string(SettlementPeriod period);
std::string_view to_string(StartTls starttls);
std::string_view to_string(LogLevel level);

}  // namespace relay::config
