#include "support/node_process.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <system_error>
#include <thread>

#include "node/http/client.hpp"
#include "node/http/message.hpp"
#include "support/temp_dir.hpp"
#include "support/vectors.hpp"

extern char** environ;

namespace relay::test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

fs::path relay_node_binary() {
  return relay::test::binary_dir() / "node" / "relay-node";
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// Spawns argv with stdin from /dev/null and stdout/stderr appended to log. Returns the pid.
pid_t spawn(const std::vector<std::string>& args, const fs::path& log) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);

  // The child starts with no blocked signals and default SIGTERM/SIGINT handling, whatever
  // the test runner did to its own.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, argv[0], &actions, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) throw std::system_error(rc, std::generic_category(), "posix_spawn " + args[0]);
  return pid;
}

int wait_blocking(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw std::system_error(errno, std::generic_category(), "waitpid");
  }
  return status;
}

// The value of header `name` (with the colon, e.g. "To:") in an RFC 5322 header block,
// unfolded (continuation lines joined, their CRLF removed).
std::string header_value(std::string_view headers, std::string_view name) {
  std::string value;
  bool in_header = false;
  std::size_t pos = 0;
  while (pos < headers.size()) {
    auto end = headers.find("\r\n", pos);
    if (end == std::string_view::npos) end = headers.size();
    auto line = headers.substr(pos, end - pos);
    pos = end + 2;
    if (in_header && !line.empty() && (line.front() == ' ' || line.front() == '\t')) {
      value += line;
      continue;
    }
    if (in_header) break;
    if (line.substr(0, name.size()) == name) {
      in_header = true;
      line.remove_prefix(name.size());
      while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
      value = std::string(line);
    }
  }
  return value;
}

}  // namespace

nlohmann::json HttpReply::json() const {
  return nlohmann::json::parse(body, nullptr, false);
}

std::string HttpReply::header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? std::string{} : it->second;
}

std::string HttpReply::error_code() const {
  auto j = json();
  if (!j.is_object() || !j.contains("error") || !j["error"].is_object() ||
      !j["error"].contains("code") || !j["error"]["code"].is_string() ||
      !j["error"].contains("message") || !j["error"]["message"].is_string())
    return "(no JSON error body: " + body.substr(0, 200) + ")";
  return j["error"]["code"].get<std::string>();
}

nlohmann::json member_credits(const NodeProcess& node, const TestMember& m) {
  auto reply = node.get("/api/v1/credits", m.api_key);
  if (reply.status != 200) throw std::runtime_error("GET /api/v1/credits: " + reply.body);
  return reply.json();
}

HttpReply open_requisition(const NodeProcess& node, const TestMember& m,
                           const nlohmann::json& fields) {
  nlohmann::json body = {{"title", "backend engineer"}, {"category", "B"},
                         {"required_skills", {"C++"}},  {"prefectures", {"JP-28"}},
                         {"experience_band", "3-5"},    {"headcount", 1},
                         {"employment_type", "regular"}};
  body.merge_patch(fields);
  return node.post_json("/api/v1/requisitions", body, m.api_key);
}

std::uint64_t funnel_stage(const nlohmann::json& kpis, const std::string& stage) {
  for (const auto& s : kpis.at("funnel"))
    if (s.at("stage") == stage) return s.at("count").get<std::uint64_t>();
  throw std::runtime_error("no funnel stage " + stage);
}

nlohmann::json member_referrals(const NodeProcess& node, const TestMember& m) {
  auto reply = node.get("/api/v1/referrals", m.api_key);
  if (reply.status != 200) throw std::runtime_error("GET /api/v1/referrals: " + reply.body);
  return reply.json().at("referrals");
}

int audit_verify(const NodeProcess& node) {
  auto command = (relay::test::binary_dir() / "audit" / "relay-audit").string() + " verify " +
                 node.url() + " --token-file " + (node.data_dir() / "auditor_token").string() +
                 " > /dev/null 2>&1";
  auto status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::vector<std::string> SpooledMail::links() const {
  std::vector<std::string> out;
  std::size_t pos = 0;
  for (;;) {
    auto http = body.find("http://", pos);
    auto https = body.find("https://", pos);
    auto start = std::min(http, https);
    if (start == std::string::npos) break;
    auto end = body.find_first_of(" \t\r\n<>\"'", start);
    if (end == std::string::npos) end = body.size();
    out.push_back(body.substr(start, end - start));
    pos = end;
  }
  return out;
}

std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out;
  for (const auto& [key, value] : fields) {
    if (!out.empty()) out += '&';
    out += node::http::percent_encode(key) + "=" + node::http::percent_encode(value);
  }
  return out;
}

std::string path_of(std::string_view url) {
  auto scheme = url.find("://");
  if (scheme == std::string_view::npos) return std::string(url);
  auto slash = url.find('/', scheme + 3);
  return slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
}

std::vector<std::pair<std::string, std::string>> TestCandidate::form() const {
  std::vector<std::pair<std::string, std::string>> fields = {
      {"name", name},
      {"email", email},
      {"phone", "078-555-0100"},
      {"job_category", "B"},
      {"skills", "C++, LMDB、組込み"},
      {"prefecture", "JP-28"},
      {"age_band", "25-34"},
      {"experience_band", "3-5"},
      {"desired_roles", "backend engineer"},
      {"consent_region", "yes"},
      {"consent_peers", "yes"},
  };
  for (const auto& [key, value] : extra) {
    auto it =
        std::find_if(fields.begin(), fields.end(), [&](const auto& f) { return f.first == key; });
    if (it != fields.end())
      it->second = value;
    else
      fields.emplace_back(key, value);
  }
  return fields;
}

NodeProcess::NodeProcess() : NodeProcess(Options{}) {}

namespace {
// Thrown by wait_healthy() when serve could not bind its port (another process took the free
// port between free_loopback_port() and serve): the constructor then tries another port.
struct PortTaken : std::runtime_error {
  using std::runtime_error::runtime_error;
};
}  // namespace

NodeProcess::NodeProcess(Options options) : options_(std::move(options)) {
  root_ = make_temp_dir("node-" + options_.name);
  for (int attempt = 1;; ++attempt) {
    data_dir_ = root_ / ("node" + (attempt > 1 ? std::to_string(attempt) : std::string()));
    try {
      init();
      start();
      return;
    } catch (const PortTaken&) {
      if (options_.port == 0 && attempt < 5) continue;  // a fresh directory and port
      cleanup_after_failure();
      throw;
    } catch (...) {
      cleanup_after_failure();
      throw;
    }
  }
}

void NodeProcess::cleanup_after_failure() {
  if (pid_ > 0) kill9();
  if (!std::getenv("RELAY_KEEP_TEST_DATA")) {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
}

NodeProcess::~NodeProcess() {
  try {
    if (pid_ > 0) kill9();
  } catch (...) {  // nothing sensible to do in a destructor
  }
  if (!std::getenv("RELAY_KEEP_TEST_DATA")) {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
}

const TlsFiles& shared_test_ca() {
  static const TlsFiles ca = make_test_ca(temp_dir_until_exit("test-ca")).files;
  return ca;
}

void NodeProcess::sighup() const {
  if (pid_ > 0) ::kill(pid_, SIGHUP);
}

void NodeProcess::init() {
  port_ = options_.port ? options_.port : free_loopback_port();
  url_ = std::string(options_.tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_);
  fs::create_directories(data_dir_);
  if (!options_.restore_from.empty()) {
    std::vector<std::string> args = {relay_node_binary().string(), "restore",
                                     options_.restore_from.string(), "--data-dir",
                                     data_dir_.string()};
    args.insert(args.end(), options_.restore_args.begin(), options_.restore_args.end());
    int status = wait_blocking(spawn(args, root_ / "restore.log"));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
      throw std::runtime_error("relay-node restore failed:\n" + read_file(root_ / "restore.log"));
    admin_token_ = trim(read_file(data_dir_ / "admin_token"));
    auditor_token_ = trim(read_file(data_dir_ / "auditor_token"));
    return;
  }
  std::vector<std::string> args = {relay_node_binary().string(),
                                   "init",
                                   "--data-dir",
                                   data_dir_.string(),
                                   "--name",
                                   options_.name,
                                   "--region",
                                   options_.region,
                                   "--listen",
                                   "127.0.0.1:" + std::to_string(port_)};
  args.insert(args.end(), options_.init_args.begin(), options_.init_args.end());
  int status = wait_blocking(spawn(args, log_path()));
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw std::runtime_error("relay-node init failed (status " + std::to_string(status) + "):\n" +
                             log_tail());
  admin_token_ = trim(read_file(data_dir_ / "admin_token"));
  auditor_token_ = trim(read_file(data_dir_ / "auditor_token"));
  auto config = nlohmann::json::parse(read_file(config_path()));
  // Tests of other flows count a referral at once and flag nothing (issue 17: the holding
  // period and the farming checks are tested in attack_farming_test.cpp, which sets them).
  config["referrals"]["holding_days"] = 0;
  config["referrals"]["flag_disposable_domains"] = false;
  config["referrals"]["velocity_max"] = 0;
  config["referrals"]["same_domain_max"] = 0;
  config["referrals"]["similar_max"] = 0;
  if (options_.tls) {
    const auto& ca = shared_test_ca();
    auto files = TestCa{ca}.issue(tls_dir(), "node");
    config["tls"] = {{"certificate_file", files.certificate.string()},
                     {"key_file", files.key.string()}};
    config["node"]["public_url"] = url_;
    config["federation"]["ca_file"] = ca.certificate.string();
    node::http::set_trusted_ca_file(ca.certificate);
  }
  if (options_.configure) options_.configure(config);
  std::ofstream(config_path(), std::ios::trunc) << config.dump(2) << "\n";
}

void NodeProcess::start() {
  if (pid_ > 0) return;
  spawn_serve();
  wait_healthy();
}

void NodeProcess::spawn_serve() {
  {
    std::ofstream log(log_path(), std::ios::app);
    log << "--- test harness: relay-node serve on port " << port_ << " ---\n";
  }
  std::error_code ec;
  log_offset_ = fs::file_size(log_path(), ec);
  if (ec) log_offset_ = 0;
  pid_ = spawn({relay_node_binary().string(), "serve", "--config", config_path().string()},
               log_path());
}

// Ready means: this serve process printed its "listening" line (so the port is its own, not
// another test's node that took a port we thought free) and /healthz answers 200.
void NodeProcess::wait_healthy() {
  auto deadline = std::chrono::steady_clock::now() + options_.start_timeout * slowdown();
  bool listening = false;
  while (std::chrono::steady_clock::now() < deadline) {
    reap(false);
    if (pid_ <= 0) {
      auto tail = log_tail();
      if (tail.find("Address already in use") != std::string::npos)
        throw PortTaken("relay-node serve: port " + std::to_string(port_) + " is taken");
      throw std::runtime_error("relay-node serve exited during start-up (status " +
                               std::to_string(last_status_) + "):\n" + tail);
    }
    if (!listening) {
      std::string log;
      try {
        log = read_file(log_path());
      } catch (const std::exception&) {
      }
      listening = log.size() > log_offset_ && log.find("relay-node listening on " + url_ + "\n",
                                                       log_offset_) != std::string::npos;
    }
    if (listening) {
      auto reply = node::http::http_request("GET", url_ + "/healthz", {}, {}, 500ms);
      if (reply && reply.response->status == 200) return;
    }
    std::this_thread::sleep_for(20ms);
  }
  kill9();
  throw std::runtime_error("relay-node serve did not answer /healthz in time:\n" + log_tail());
}

void NodeProcess::reap(bool block) {
  if (pid_ <= 0) return;
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == pid_ || (r < 0 && errno == ECHILD)) {
    last_status_ = r == pid_ ? status : -1;
    pid_ = -1;
  }
}

bool NodeProcess::exited_cleanly() const {
  return last_status_ >= 0 && WIFEXITED(last_status_) && WEXITSTATUS(last_status_) == 0;
}

void NodeProcess::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + options_.stop_timeout * slowdown();
  while (pid_ > 0 && std::chrono::steady_clock::now() < deadline) {
    reap(false);
    if (pid_ > 0) std::this_thread::sleep_for(10ms);
  }
  if (pid_ > 0) kill9();
}

void NodeProcess::kill9() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  reap(true);
}

void NodeProcess::restart() {
  stop();
  start();
}

std::string NodeProcess::log_tail(std::size_t max_bytes) const {
  std::string text;
  try {
    text = read_file(log_path());
  } catch (const std::exception&) {
    return "(no log)";
  }
  if (text.size() > max_bytes) text = "..." + text.substr(text.size() - max_bytes);
  return text;
}

HttpReply NodeProcess::request(std::string_view method, std::string_view path,
                               std::string_view body,
                               std::map<std::string, std::string> headers) const {
  std::string target =
      path.substr(0, 7) == "http://" ? std::string(path) : url_ + std::string(path);
  auto result = node::http::http_request(method, target, body, headers, 10'000ms);
  HttpReply reply;
  if (!result) {
    reply.error = result.error;
    return reply;
  }
  reply.status = result.response->status;
  reply.body = std::move(result.response->body);
  reply.headers = std::move(result.response->headers);
  // As a browser does: a POST answered with 303 See Other is followed by a GET of Location.
  auto location = reply.header("location");
  if (method == "POST" && reply.status == 303 && !location.empty()) {
    auto followed = request("GET", location);
    followed.redirected_to = location;
    return followed;
  }
  return reply;
}

HttpReply NodeProcess::get(std::string_view path, std::string_view bearer) const {
  std::map<std::string, std::string> headers;
  if (!bearer.empty()) headers["Authorization"] = "Bearer " + std::string(bearer);
  return request("GET", path, {}, std::move(headers));
}

HttpReply NodeProcess::post_json(std::string_view path, const nlohmann::json& body,
                                 std::string_view bearer) const {
  return post_raw(path, body.dump(), "application/json", bearer);
}

HttpReply NodeProcess::post_raw(std::string_view path, std::string_view body,
                                std::string_view content_type, std::string_view bearer) const {
  std::map<std::string, std::string> headers;
  headers["Content-Type"] = std::string(content_type);
  if (!bearer.empty()) headers["Authorization"] = "Bearer " + std::string(bearer);
  return request("POST", path, body, std::move(headers));
}

HttpReply NodeProcess::post_form(
    std::string_view path, const std::vector<std::pair<std::string, std::string>>& fields) const {
  return post_raw(path, form_encode(fields), "application/x-www-form-urlencoded");
}

std::string NodeProcess::send_raw(std::string_view bytes, std::chrono::milliseconds timeout) const {
  return node::http::send_raw("127.0.0.1", port_, bytes, timeout);
}

std::uint64_t NodeProcess::ledger_size() const {
  auto reply = get("/healthz");
  auto j = reply.json();
  if (reply.status != 200 || !j.is_object() || !j.contains("ledger_size"))
    throw std::runtime_error("/healthz did not answer: " + reply.error + reply.body);
  return j.at("ledger_size").get<std::uint64_t>();
}

TestMember NodeProcess::admit_member(const std::string& name) const {
  auto reply = post_json("/api/v1/members", {{"name", name}}, admin_token_);
  auto j = reply.json();
  if (reply.status != 201 || !j.is_object())
    throw std::runtime_error("POST /api/v1/members " + name + ": " + std::to_string(reply.status) +
                             " " + reply.error + reply.body);
  return TestMember{j.at("id"), j.at("name"), j.at("api_key"), j.at("relay_link")};
}

HttpReply NodeProcess::submit_registration(std::string_view link,
                                           const TestCandidate& candidate) const {
  return post_form(link, candidate.form());
}

std::string NodeProcess::register_and_confirm(std::string_view link,
                                              const TestCandidate& candidate) const {
  auto before = mail_links(candidate.email, "/r/v/").size();
  auto submitted = submit_registration(link, candidate);
  if (submitted.status != 200 || submitted.redirected_to.rfind("/r/sent", 0) != 0)
    throw std::runtime_error("registration at " + std::string(link) + ": " +
                             std::to_string(submitted.status) + " " + submitted.error);
  auto links = wait_mail_links(candidate.email, "/r/v/", before + 1);
  if (links.size() <= before)
    throw std::runtime_error("no verification mail to " + candidate.email);
  auto verify = path_of(links.back());
  auto page = get(verify);
  if (page.status != 200)
    throw std::runtime_error("GET " + verify + ": " + std::to_string(page.status));
  // The confirmation redirects to the management page (its path is the management link).
  auto confirmed = request("POST", verify);
  const auto& location = confirmed.redirected_to;
  if (confirmed.status != 200 || location.rfind("/r/m/", 0) != 0)
    throw std::runtime_error("POST " + verify + ": " + std::to_string(confirmed.status) + " " +
                             confirmed.body);
  return url_ + location.substr(0, location.find('?'));
}

std::vector<SpooledMail> NodeProcess::mails() const {
  std::vector<SpooledMail> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(spool_dir(), ec)) {
    auto name = entry.path().filename().string();
    if (name.empty() || name.front() == '.' || entry.path().extension() != ".eml") continue;
    SpooledMail mail;
    mail.path = entry.path();
    std::string text;
    try {
      text = read_file(entry.path());
      mail.written = fs::last_write_time(entry.path());
    } catch (const std::exception&) {
      continue;  // discarded between listing and reading
    }
    auto split = text.find("\r\n\r\n");
    std::string_view headers(text.data(), split == std::string::npos ? text.size() : split);
    mail.to = header_value(headers, "To:");
    mail.subject = header_value(headers, "Subject:");
    mail.body = split == std::string::npos ? std::string{} : text.substr(split + 4);
    out.push_back(std::move(mail));
  }
  std::sort(out.begin(), out.end(), [](const SpooledMail& a, const SpooledMail& b) {
    if (a.written != b.written) return a.written > b.written;
    return a.path.filename() > b.path.filename();
  });
  return out;
}

std::optional<std::string> NodeProcess::latest_mail_link(std::string_view prefix) const {
  for (const auto& mail : mails()) {
    for (const auto& link : mail.links()) {
      bool match = prefix.empty() ? (link.find("/r/v/") != std::string::npos ||
                                     link.find("/r/m/") != std::string::npos)
                                  : link.find(prefix) != std::string::npos;
      if (match) return link;
    }
  }
  return std::nullopt;
}

std::vector<std::string> NodeProcess::mail_links(std::string_view to,
                                                 std::string_view prefix) const {
  std::vector<std::string> out;
  auto all = mails();
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    if (it->to != to) continue;
    for (const auto& link : it->links())
      if (link.find(prefix) != std::string::npos) {
        out.push_back(link);
        break;  // a message repeats its link in each language: count it once
      }
  }
  return out;
}

std::vector<std::string> NodeProcess::wait_mail_links(std::string_view to, std::string_view prefix,
                                                      std::size_t count,
                                                      std::chrono::milliseconds timeout) const {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto links = mail_links(to, prefix);
    if (links.size() >= count || std::chrono::steady_clock::now() >= deadline) return links;
    std::this_thread::sleep_for(10ms);
  }
}

std::string NodeProcess::wait_mail_link(std::string_view to, std::string_view prefix,
                                        std::chrono::milliseconds timeout) const {
  auto links = wait_mail_links(to, prefix, 1, timeout);
  if (links.empty())
    throw std::runtime_error("no mail to " + std::string(to) + " with a " + std::string(prefix) +
                             " link arrived");
  return links.back();
}

bool eventually(const std::function<bool()>& f, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout * slowdown();
  while (std::chrono::steady_clock::now() < deadline) {
    if (f()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return f();
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

void patch_config(const NodeProcess& node, const nlohmann::json& patch) {
  auto config = nlohmann::json::parse(read_file(node.config_path()));
  config.merge_patch(patch);
  std::ofstream(node.config_path(), std::ios::trunc) << config.dump(2) << "\n";
}

std::string fingerprint(const NodeProcess& node) {
  auto key = node.get("/audit/v1/key");
  if (key.status != 200)
    throw std::runtime_error("GET /audit/v1/key answered " + std::to_string(key.status));
  return key.json().at("fingerprint");
}

NodeProcess::Options options(const std::string& name, const std::string& region) {
  NodeProcess::Options o;
  o.name = name;
  o.region = region;
  return o;
}

void peer_by_api(const NodeProcess& node, const NodeProcess& other) {
  peer_by_api(node, other, other.options().name);
}

void peer_by_api(const NodeProcess& node, const NodeProcess& other, const std::string& other_name) {
  auto reply = node.post_json(
      "/api/v1/peers",
      {{"name", other_name}, {"url", other.url()}, {"fingerprint", fingerprint(other)}},
      node.admin_token());
  if (reply.status != 201) {
    throw std::runtime_error(node.options().name + " refused peer " + other_name + ": " +
                             std::to_string(reply.status) + " " + reply.body);
  }
}

namespace {

// Runs a shell command and returns its standard output; throws if it exits non-zero.
std::string run_command(const std::string& command) {
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(command.c_str(), "r"), ::pclose);
  if (!pipe) throw std::runtime_error("cannot run: " + command);
  std::string out;
  std::array<char, 256> buf{};
  while (std::fgets(buf.data(), buf.size(), pipe.get())) out += buf.data();
  const int status = ::pclose(pipe.release());
  if (status != 0)
    throw std::runtime_error("command failed (" + std::to_string(status) + "): " + command);
  return out;
}

}  // namespace

std::string cli_fingerprint(const NodeProcess& node) {
  auto out = run_command(relay_node_binary().string() + " identity --config " +
                         node.config_path().string());
  auto at = out.find("fingerprint: ");
  if (at == std::string::npos) throw std::runtime_error("no fingerprint in: " + out);
  return out.substr(at + 13, 64);
}

void peer_by_cli(const NodeProcess& node, const NodeProcess& other) {
  peer_by_cli(node, other, other.options().name);
}

void peer_by_cli(const NodeProcess& node, const NodeProcess& other, const std::string& other_name) {
  (void)run_command(relay_node_binary().string() + " peer add " + other_name + " " + other.url() +
                    " " + cli_fingerprint(other) + " --config " + node.config_path().string());
}

}  // namespace relay::test
