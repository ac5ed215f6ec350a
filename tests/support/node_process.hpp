#pragma once
// NodeProcess: a real `relay-node` on loopback for integration tests.
//
// The constructor picks a free loopback port (bind port 0, read it, close), runs
// `relay-node init --data-dir <temp> --name <name> --region <region> --listen 127.0.0.1:<port>`
// and then `relay-node serve --config <dir>/node.json` with posix_spawn (stdout and stderr go
// to <data_dir>/node.log), and waits until that process has printed its "listening" line and
// GET /healthz answers 200 (start_timeout). If another process took the port meanwhile, it
// starts over with a new port and directory (a few times). Failures throw std::runtime_error
// carrying the tail of the log.
//
// stop() sends SIGTERM and waits (SIGKILL after stop_timeout); kill9() sends SIGKILL and
// waits; restart() serves again from the same data directory on the same port. The destructor
// kills a node still running and removes the data directory (kept when the environment
// variable RELAY_KEEP_TEST_DATA is set, for post-mortems).
//
// The HTTP helpers wrap node/http/client.hpp: they never throw for an HTTP error status; a
// transport failure (no response at all) gives status 0 with the reason in `error`.
//
// Mail: the node spools candidate mail as <data_dir>/mail/*.eml (RFC 5322, UTF-8 body with
// CRLF). The mail helpers read that directory; mail is spooled by a background thread after
// the commit, so use the wait_* helpers right after an action that sends mail.
//
// Threads: one NodeProcess is used by one test thread at a time.
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "support/loopback.hpp"
#include "support/tls_files.hpp"

namespace relay::test {

// Polls until f() is true (every 50 ms, at most `timeout` times slowdown()).
bool eventually(const std::function<bool()>& f,
                std::chrono::milliseconds timeout = std::chrono::seconds(20));
bool contains(const std::string& haystack, const std::string& needle);

// The reply to one HTTP request. status 0: no response arrived (see error).
struct HttpReply {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string error;
  // A POST answered 303 See Other is followed with a GET, as a browser does: this is the
  // Location followed ("" if none), and status/body/headers are the GET's.
  std::string redirected_to;

  // The body parsed as JSON; a discarded value (is_discarded()) if it is not JSON.
  nlohmann::json json() const;
  // The value of a header by lower-case name, or "".
  std::string header(const std::string& name) const;
  // The code of the JSON error body every API error carries ({"error": {"code", "message"}},
  // both strings), or "(no JSON error body: ...)" with the start of the body.
  std::string error_code() const;
};

// One spooled message.
struct SpooledMail {
  std::filesystem::path path;
  std::string to;       // the To: header
  std::string subject;  // the Subject: header, unfolded, still RFC 2047 encoded
  std::string body;     // everything after the blank line, CRLF line ends
  std::filesystem::file_time_type written;
  // Every http(s) URL in the body, in order of appearance.
  std::vector<std::string> links() const;
};

// application/x-www-form-urlencoded body of the pairs, in order.
std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields);

// The path and query of an absolute URL ("http://h:p/r/v/x?y" -> "/r/v/x?y"), or the text
// itself if it has no scheme.
std::string path_of(std::string_view url);

// A member as POST /api/v1/members answered it.
struct TestMember {
  std::string id;
  std::string name;
  std::string api_key;
  std::string relay_link;  // absolute URL of the static relay link
};

class NodeProcess;
// The member's GET /api/v1/credits and the "referrals" of GET /api/v1/referrals; throw
// std::runtime_error (failing the test) unless they answer 200.
nlohmann::json member_credits(const NodeProcess& node, const TestMember& m);
// POST /api/v1/requisitions as `m`: a valid requisition (backend engineer, B, C++, JP-28,
// 3-5 years, 1 regular post) with `fields` merged over it.
HttpReply open_requisition(const NodeProcess& node, const TestMember& m,
                           const nlohmann::json& fields = nlohmann::json::object());
nlohmann::json member_referrals(const NodeProcess& node, const TestMember& m);
// The count of one stage ("registrations", "introduced", ...) in a GET /api/v1/kpis reply's
// funnel; throws std::runtime_error (failing the test) if the stage is missing.
std::uint64_t funnel_stage(const nlohmann::json& kpis, const std::string& stage);
// `relay-audit verify` against the running node with its auditor token: the exit code
// (0 verified, 1 problems, 2 usage or I/O), output discarded.
int audit_verify(const NodeProcess& node);

// A candidate's registration form fields: valid unless a test changes them.
struct TestCandidate {
  std::string name;
  std::string email;
  std::vector<std::pair<std::string, std::string>> extra;  // appended to (or overriding) form()

  std::vector<std::pair<std::string, std::string>> form() const;
};

// The CA that issues NodeProcess certificates (Options::tls), made once per test process.
const TlsFiles& shared_test_ca();

class NodeProcess {
 public:
  struct Options {
    std::string name = "test.relaynode";  // node name (checkpoint origin)
    std::string region = "JP-28";
    std::uint16_t port = 0;              // 0: free_loopback_port()
    std::vector<std::string> init_args;  // extra arguments for `relay-node init`
    // A backup directory: the node is laid out with `relay-node restore` instead of init
    // (port must then be the backed-up node's port, which its node.json names).
    std::filesystem::path restore_from;
    std::vector<std::string> restore_args;  // extra arguments for `relay-node restore`
    // HTTPS: a certificate for 127.0.0.1 and localhost issued by shared_test_ca() goes into
    // <data_dir>/tls, node.json gets tls.*, an https:// public_url and federation.ca_file (so
    // peers that are NodeProcesses too are trusted), url() is https://, and this process's
    // client trusts the CA (http::set_trusted_ca_file).
    bool tls = false;
    // Edits node.json after init (and after the TLS edits and the test defaults: referrals
    // counted at once, no farming checks), before the first serve.
    std::function<void(nlohmann::json&)> configure;
    // Both are multiplied by slowdown() (support/vectors.hpp) when waited for.
    std::chrono::milliseconds start_timeout{10'000};
    std::chrono::milliseconds stop_timeout{10'000};
  };

  NodeProcess();
  explicit NodeProcess(Options options);
  ~NodeProcess();
  NodeProcess(const NodeProcess&) = delete;
  NodeProcess& operator=(const NodeProcess&) = delete;

  // "http://127.0.0.1:<port>" (https:// with Options::tls), no trailing slash.
  const std::string& url() const { return url_; }
  std::uint16_t port() const { return port_; }
  const std::filesystem::path& data_dir() const { return data_dir_; }
  std::filesystem::path config_path() const { return data_dir_ / "node.json"; }
  std::filesystem::path log_path() const { return data_dir_ / "node.log"; }
  std::filesystem::path spool_dir() const { return data_dir_ / "mail"; }
  std::filesystem::path lmdb_dir() const { return data_dir_ / "lmdb"; }
  // With Options::tls: the certificate and key the node serves (replace them, then sighup()).
  std::filesystem::path tls_dir() const { return data_dir_ / "tls"; }
  const std::string& admin_token() const { return admin_token_; }
  const std::string& auditor_token() const { return auditor_token_; }
  const Options& options() const { return options_; }

  // The serve process id, or -1 when not running.
  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }
  // The wait status of the last serve process that ended (see waitpid), or -1.
  int last_wait_status() const { return last_status_; }
  // True if the last serve process exited normally with code 0 (after stop()).
  bool exited_cleanly() const;

  // Serves again (if not running); waits for /healthz. Throws on failure.
  void start();
  // SIGTERM, then waits (SIGKILL after stop_timeout). No-op if not running.
  void stop();
  // SIGKILL, then waits. No-op if not running.
  void kill9();
  // stop() then start(): same data directory, same port.
  void restart();
  // SIGHUP (the node reloads its TLS certificate and key).
  void sighup() const;

  // The last `max_bytes` of the log, for failure messages.
  std::string log_tail(std::size_t max_bytes = 4000) const;

  // --- HTTP (paths are relative to url(); a full http:// URL is used as is) ---
  HttpReply request(std::string_view method, std::string_view path, std::string_view body = {},
                    std::map<std::string, std::string> headers = {}) const;
  HttpReply get(std::string_view path, std::string_view bearer = {}) const;
  HttpReply post_json(std::string_view path, const nlohmann::json& body,
                      std::string_view bearer = {}) const;
  // A POST with the given body and Content-Type (e.g. malformed JSON).
  HttpReply post_raw(std::string_view path, std::string_view body, std::string_view content_type,
                     std::string_view bearer = {}) const;
  HttpReply post_form(std::string_view path,
                      const std::vector<std::pair<std::string, std::string>>& fields) const;
  // Raw bytes to the node's port; returns everything received until it closed or timed out.
  std::string send_raw(std::string_view bytes,
                       std::chrono::milliseconds timeout = std::chrono::milliseconds(3000)) const;

  // /healthz ledger_size; throws std::runtime_error if /healthz does not answer.
  std::uint64_t ledger_size() const;

  // --- the referral flow, for tests that need it as a step (each throws std::runtime_error
  // naming the step that did not answer as expected) ---
  // POST /api/v1/members with the admin token; expects 201.
  TestMember admit_member(const std::string& name) const;
  // POSTs candidate.form() to a relay link (URL or path); returns the reply as is.
  HttpReply submit_registration(std::string_view link, const TestCandidate& candidate) const;
  // Submits (expects a redirect to /r/sent), waits for the verification mail, GETs its link
  // (expects 200) and POSTs it (expects a redirect to the management page); returns the
  // management link (absolute URL).
  std::string register_and_confirm(std::string_view link, const TestCandidate& candidate) const;

  // --- mail spool ---
  // Every spooled message, newest first (by modification time, then file name).
  std::vector<SpooledMail> mails() const;
  // The first link containing `prefix` ("/r/v/", "/r/m/") in the newest message that has
  // one; an empty prefix matches either. nullopt if none.
  std::optional<std::string> latest_mail_link(std::string_view prefix = {}) const;
  // From each message to `to`, the first link containing `prefix` (a message repeats its link
  // in both languages), oldest message first.
  std::vector<std::string> mail_links(std::string_view to, std::string_view prefix) const;
  // Waits until at least `count` such links exist; returns them (possibly fewer on timeout).
  std::vector<std::string> wait_mail_links(
      std::string_view to, std::string_view prefix, std::size_t count = 1,
      std::chrono::milliseconds timeout = std::chrono::milliseconds(10'000)) const;
  // The newest link containing `prefix` in messages to `to`, waiting for it; throws
  // std::runtime_error on timeout.
  std::string wait_mail_link(
      std::string_view to, std::string_view prefix,
      std::chrono::milliseconds timeout = std::chrono::milliseconds(10'000)) const;

 private:
  void init();
  void spawn_serve();
  void wait_healthy();
  void reap(bool block);
  void cleanup_after_failure();

  Options options_;
  std::filesystem::path root_;  // temp dir; data_dir_ lives inside
  std::filesystem::path data_dir_;
  std::uint16_t port_ = 0;
  std::string url_;
  std::string admin_token_;
  std::string auditor_token_;
  pid_t pid_ = -1;
  int last_status_ = -1;
  std::uintmax_t log_offset_ = 0;  // log size when the current serve was spawned
};

// The node's signing-key fingerprint from GET /audit/v1/key; throws if it cannot be read.
std::string fingerprint(const NodeProcess& node);
// Merges `patch` (RFC 7386) into the node's node.json; the node must be stopped.
void patch_config(const NodeProcess& node, const nlohmann::json& patch);

// Options for a node called `name` in `region`; every other field keeps its default.
NodeProcess::Options options(const std::string& name, const std::string& region);

// Peering set-up, as an operator does it. Each throws std::runtime_error (failing the test) if
// the node refuses. other_name defaults to other.options().name.
// By the admin API: POST /api/v1/peers with other's URL and fingerprint (GET /audit/v1/key).
void peer_by_api(const NodeProcess& node, const NodeProcess& other);
void peer_by_api(const NodeProcess& node, const NodeProcess& other, const std::string& other_name);
// By the command line: `relay-node peer add` with the fingerprint `relay-node identity` prints.
void peer_by_cli(const NodeProcess& node, const NodeProcess& other);
void peer_by_cli(const NodeProcess& node, const NodeProcess& other, const std::string& other_name);
// The fingerprint as `relay-node identity --config` prints it (the operator's way).
std::string cli_fingerprint(const NodeProcess& node);

}  // namespace relay::test
