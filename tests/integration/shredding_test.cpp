// Crypto-shredding that holds (issue 17, findings 1 and 7), with real relay-node processes:
//   alpha.example (JP-27) holds the candidate; beta.example (JP-28) and gamma.example (JP-26)
//   receive them through handoffs. After the erasure and both receipts, the nodes stop and every
//   data directory is read as an attacker holding it would: every file's bytes scanned for the
//   candidate's name, email, phone and profile skill (plain and base64), and every sealed blob
//   (every base64 run of plausible length in any file) tried with every key the directory
//   holds (keys/*, every candidate key slot, and what the data key unwraps) under every owner
//   the directory names (candidate ids, received profiles, outbox entries). A candidate who is
//   not erased is found by the same procedure (it can see). A backup taken before the erasure,
//   restored afterwards with the erasure journal, does not bring the candidate back.
// Finding 7: a node killed between spooling a mail and recording it sends it once, and erasure
// leaves no spooled file with the address.
#include <doctest/doctest.h>
#include <stdlib.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "crypto/aead.hpp"
#include "crypto/bytes.hpp"
#include "crypto/keys.hpp"
#include "support/names.hpp"
#include "support/node_process.hpp"
#include "support/temp_dir.hpp"
#include "support/tool_run.hpp"
#include "support/vectors.hpp"

using relay::test::contains;
using relay::test::eventually;
using relay::test::NodeProcess;
using relay::test::options;
using relay::test::path_of;
using relay::test::TestCandidate;
using relay::test::TestMember;
using relay::test::unique;
namespace fs = std::filesystem;
namespace crypto = relay::crypto;

namespace {

const fs::path kRelayNode = relay::test::binary_dir() / "node" / "relay-node";

std::string read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Every regular file under dir, by path.
std::map<fs::path, std::string> files_of(const fs::path& dir) {
  std::map<fs::path, std::string> out;
  for (const auto& entry : fs::recursive_directory_iterator(dir))
    if (entry.is_regular_file()) out[entry.path()] = read_all(entry.path());
  return out;
}

// The text and its base64 at each of the three alignments (the stable middle of each).
std::vector<std::string> encodings(const std::string& text) {
  std::vector<std::string> out{text};
  for (std::size_t pad = 0; pad < 3; ++pad) {
    auto shifted = std::string(pad, 'x') + text;
    auto b64 = crypto::to_base64(crypto::as_bytes(shifted));
    // Drop the characters that depend on the padding before and the end after.
    auto from = (pad * 4 + 2) / 3 + 1;
    if (b64.size() > from + 6) out.push_back(b64.substr(from, b64.size() - from - 4));
  }
  return out;
}

struct Person {
  std::string name;
  std::string email;
  std::string phone;
  std::string skill;
  std::vector<std::string> secrets() const {
    std::string digits;
    for (char c : phone)
      if (c >= '0' && c <= '9') digits.push_back(c);
    return {name, email, phone, digits, skill};
  }
};

Person person(const std::string& stem, const std::string& phone) {
  auto tag = unique(stem);
  for (auto& c : tag)
    if (c == '-') c = 'x';
  return {"Shred " + tag, tag + "@example.org", phone, "skill" + tag};
}

TestCandidate as_candidate(const Person& p) {
  return {p.name,
          p.email,
          {{"phone", p.phone}, {"skills", p.skill + ", C++"}, {"consent_peers", "yes"}}};
}

bool id_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
}
bool hex_char(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}
bool base64_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/';
}

// Every `prefix` followed by exactly n characters of the class (candidate ids, refs).
std::set<std::string> names(const std::string& bytes, const std::string& prefix, std::size_t n,
                            bool (*ok)(char)) {
  std::set<std::string> out;
  for (auto at = bytes.find(prefix); at != std::string::npos; at = bytes.find(prefix, at + 1)) {
    auto from = at + prefix.size();
    std::size_t len = 0;
    while (from + len < bytes.size() && len <= n && ok(bytes[from + len])) ++len;
    if (len == n) out.insert(bytes.substr(at, prefix.size() + n));
  }
  return out;
}

// Maximal runs of base64 characters (56 or more, with their padding).
std::vector<std::string> base64_runs(const std::string& bytes) {
  std::vector<std::string> out;
  for (std::size_t at = 0; at < bytes.size();) {
    if (!base64_char(bytes[at])) {
      ++at;
      continue;
    }
    auto end = at;
    while (end < bytes.size() && base64_char(bytes[end])) ++end;
    auto run_end = end;
    while (run_end < bytes.size() && run_end - end < 2 && bytes[run_end] == '=') ++run_end;
    if (end - at >= 56) out.push_back(bytes.substr(at, run_end - at));
    at = end;
  }
  return out;
}

// What an attacker holding the directory can open: every 32-byte key the directory holds, and
// every sealed blob tried with each, under every owner named anywhere in it.
struct Opener {
  std::vector<crypto::AeadKey> keys;
  std::set<std::string> owners;
  std::set<std::string> blobs;  // decoded bytes

  explicit Opener(const std::map<fs::path, std::string>& files) {
    std::set<std::string> refs;
    for (const auto& [path, bytes] : files) {
      auto name = path.filename().string();
      bool key_file =
          path.parent_path().filename() == "keys" || path.parent_path().filename() == "retired";
      if (key_file && bytes.size() == 32) add_key(bytes);
      if (name == "candidate_keys")
        for (std::size_t at = 0; at + 32 <= bytes.size(); at += 64) add_key(bytes.substr(at, 32));
      // Candidate ids: 23 characters after "c_" (time and random), 16 before ids were ordered.
      for (std::size_t n : {16, 23})
        for (const auto& id : names(bytes, "c_", n, id_char)) owners.insert(id);
      for (const auto& r : names(bytes, "p_", 24, hex_char)) refs.insert(r);
      for (const auto& run : base64_runs(bytes))
        if (auto decoded = crypto::from_base64(run); decoded && decoded->size() >= 40)
          blobs.insert(crypto::to_string(*decoded));
      // Outbox entries are keyed by 14 bytes stored just before their value in LMDB's pages.
      for (auto at = bytes.find("{\"attempts\":"); at != std::string::npos;
           at = bytes.find("{\"attempts\":", at + 1))
        if (at >= 14)
          owners.insert("outbox/" + crypto::to_hex(crypto::as_bytes(bytes.substr(at - 14, 14))));
    }
    for (const auto& peer : {"alpha.example", "beta.example", "gamma.example"})
      for (const auto& r : refs) owners.insert(std::string("pool/") + peer + "/" + r);
    // Keys wrapped by another key (the data key, before key slots): unwrapped too.
    std::vector<crypto::AeadKey> unwrapped;
    for (const auto& blob : blobs) {
      if (blob.size() != 24 + 32 + 16) continue;  // nonce || wrapped key || tag
      for (const auto& key : keys)
        for (const auto& owner : owners) {
          auto plain = crypto::aead_decrypt(key, crypto::as_bytes(blob),
                                            crypto::as_bytes("relaynode/candidate-key/" + owner));
          if (plain && plain->size() == 32)
            unwrapped.emplace_back(std::span<const std::uint8_t, 32>(plain->data(), 32));
        }
    }
    for (auto& k : unwrapped) keys.push_back(std::move(k));
  }

  void add_key(const std::string& bytes) {
    if (std::all_of(bytes.begin(), bytes.end(), [](char c) { return c == 0; })) return;
    keys.emplace_back(
        std::span<const std::uint8_t, 32>(reinterpret_cast<const std::uint8_t*>(bytes.data()), 32));
  }

  // Every plaintext that opens.
  std::vector<std::string> opened() const {
    std::vector<std::string> out;
    for (const auto& blob : blobs)
      for (const auto& key : keys)
        for (const auto& owner : owners)
          for (const char* purpose : {"data", "evidence", "mail", "profile", "body"}) {
            auto ad = std::string("relaynode/candidate/") + purpose + "/" + owner;
            if (auto plain =
                    crypto::aead_decrypt(key, crypto::as_bytes(blob), crypto::as_bytes(ad)))
              out.push_back(crypto::to_string(*plain));
          }
    return out;
  }
};

struct Findings {
  std::vector<std::string> plain;   // "file holds secret"
  std::vector<std::string> sealed;  // "a blob opens to secret"
  std::size_t files = 0, keys = 0, owners = 0, blobs = 0, opened = 0;
};

Findings search(const fs::path& dir, const std::vector<std::string>& secrets) {
  Findings f;
  auto files = files_of(dir);
  f.files = files.size();
  for (const auto& [path, bytes] : files)
    for (const auto& secret : secrets)
      for (const auto& form : encodings(secret))
        if (contains(bytes, form)) f.plain.push_back(path.string() + " holds " + secret);
  Opener opener(files);
  f.keys = opener.keys.size();
  f.owners = opener.owners.size();
  f.blobs = opener.blobs.size();
  auto opened = opener.opened();
  f.opened = opened.size();
  for (const auto& text : opened)
    for (const auto& secret : secrets)
      if (contains(text, secret)) f.sealed.push_back("a sealed blob opens to " + secret);
  return f;
}

nlohmann::json handoff(const NodeProcess& node, const TestMember& m, const std::string& id) {
  auto reply = node.get("/api/v1/handoffs/" + id, m.api_key);
  REQUIRE_MESSAGE(reply.status == 200, reply.body);
  return reply.json();
}

std::size_t count_events(const NodeProcess& node, const std::string& kind,
                         const std::string& handoff_id) {
  auto reply = node.get("/audit/v1/entries?start=0&limit=1000", node.auditor_token());
  REQUIRE(reply.status == 200);
  std::size_t n = 0;
  auto page = reply.json();
  for (const auto& e : page.at("entries")) {
    auto entry = nlohmann::json::parse(e.get<std::string>());
    n += entry["kind"] == kind && entry["data"].value("handoff", "") == handoff_id;
  }
  return n;
}

// A member of `node` asks alpha for the candidate with `skill`; returns the handoff id.
std::string ask(const NodeProcess& node, const TestMember& member, const std::string& skill) {
  std::string ref;
  std::string last;
  bool found = eventually([&] {
    auto reply = node.get("/api/v1/pool?skill=" + skill, member.api_key);
    last = std::to_string(reply.status) + " " + reply.body;
    if (reply.status != 200) return false;
    auto page = reply.json();  // kept: a range over a temporary's member would dangle
    for (const auto& p : page.at("profiles"))
      if (p["node"] == "alpha.example") ref = p["ref"].get<std::string>();
    return !ref.empty();
  });
  REQUIRE_MESSAGE(found, "pool search for " << skill << ": " << last);
  auto created =
      node.post_json("/api/v1/handoffs", {{"node", "alpha.example"}, {"ref", ref}}, member.api_key);
  REQUIRE_MESSAGE(created.status == 201, created.body);
  std::string id = created.json()["id"];
  REQUIRE(eventually([&] { return handoff(node, member, id)["state"] == "awaiting_consent"; }));
  return id;
}

void accept_all(const NodeProcess& alpha, const std::string& manage, std::size_t expected) {
  std::size_t accepted = 0;
  for (;;) {
    auto page = alpha.get(manage).body;
    auto at = page.find("/requests/");
    if (at == std::string::npos) break;
    at += 10;
    auto rid = page.substr(at, page.find_first_of("\"?", at) - at);
    REQUIRE(alpha.post_form(manage + "/requests/" + rid, {{"decision", "accept"}}).status == 200);
    ++accepted;
  }
  REQUIRE(accepted == expected);
}

void check_nothing_of(const fs::path& dir, const Person& who, const std::string& label) {
  auto f = search(dir, who.secrets());
  MESSAGE(label << ": " << f.files << " files, " << f.keys << " keys, " << f.owners << " owners, "
                << f.blobs << " sealed blobs, " << f.opened << " opened");
  CHECK(f.files > 5);
  CHECK(f.keys >= 5);
  for (const auto& hit : f.plain) CHECK_MESSAGE(false, label << ": " << hit);
  for (const auto& hit : f.sealed) CHECK_MESSAGE(false, label << ": " << hit);
}

}  // namespace

TEST_SUITE_BEGIN("shredding");

TEST_CASE(
    "shredding: after erasure no file of any node, opened with every key in its "
    "directory, yields the candidate; a backup restored afterwards does not bring them "
    "back") {
  relay::test::TempDir scratch("shredding");
  NodeProcess alpha{options("alpha.example", "JP-27")};
  NodeProcess beta{options("beta.example", "JP-28")};
  NodeProcess gamma{options("gamma.example", "JP-26")};
  for (auto* a : {&alpha, &beta, &gamma})
    for (auto* b : {&alpha, &beta, &gamma})
      if (a != b) relay::test::peer_by_api(*a, *b);
  auto referrer = alpha.admit_member("Alpha Referrer KK");
  auto beta_member = beta.admit_member("Beta Hiring KK");
  auto gamma_member = gamma.admit_member("Gamma Works KK");

  auto erased = person("shred", "090-7311-4421");
  auto keeper = person("keeper", "080-2266-9913");
  auto keeper_manage =
      alpha.register_and_confirm(path_of(referrer.relay_link), as_candidate(keeper));
  auto manage =
      path_of(alpha.register_and_confirm(path_of(referrer.relay_link), as_candidate(erased)));
  auto hb = ask(beta, beta_member, erased.skill);
  auto hc = ask(gamma, gamma_member, erased.skill);
  accept_all(alpha, manage, 2);
  REQUIRE(eventually([&] {
    return handoff(beta, beta_member, hb).contains("personal") &&
           handoff(gamma, gamma_member, hc).contains("personal") &&
           count_events(alpha, "handoff_receipt", hb) == 1 &&
           count_events(alpha, "handoff_receipt", hc) == 1;
  }));
  CHECK(handoff(beta, beta_member, hb)["personal"]["email"] == erased.email);
  // beta holds the keeper's circulating profile too (the control for received profiles).
  REQUIRE(eventually([&] {
    auto reply = beta.get("/api/v1/pool?skill=" + keeper.skill, beta_member.api_key);
    return reply.status == 200 && !reply.json().at("profiles").empty();
  }));

  // A backup while the candidate is held everywhere.
  const auto backup = scratch.path / "alpha-backup";
  auto run = relay::test::run_tool(
      {kRelayNode.string(), "backup", backup.string(), "--config", alpha.config_path().string()},
      scratch.path);
  REQUIRE_MESSAGE(run.exit_code == 0, run.err);

  REQUIRE(alpha.post_form(manage + "/erase", {{"confirm", "yes"}}).status == 200);
  REQUIRE(eventually([&] {
    return count_events(alpha, "erasure_receipt", hb) == 1 &&
           count_events(alpha, "erasure_receipt", hc) == 1;
  }));
  // Spooled mail is discarded after the commit.
  REQUIRE(eventually([&] {
    for (const auto& m : alpha.mails())
      if (contains(m.to, erased.email)) return false;
    return true;
  }));
  alpha.stop();
  beta.stop();
  gamma.stop();

  check_nothing_of(alpha.data_dir(), erased, "alpha");
  check_nothing_of(beta.data_dir(), erased, "beta");
  check_nothing_of(gamma.data_dir(), erased, "gamma");

  // The same procedure finds what is not erased: the keeper at alpha (record and mail) and
  // the keeper's circulating profile, sealed at beta under a received-profile key.
  auto at_alpha = search(alpha.data_dir(), keeper.secrets());
  CHECK(at_alpha.sealed.size() >= 2);
  bool keeper_email = false;
  for (const auto& hit : at_alpha.sealed)
    keeper_email = keeper_email || contains(hit, keeper.email);
  CHECK(keeper_email);
  auto at_beta = search(beta.data_dir(), {keeper.skill});
  CHECK(at_beta.plain.empty());  // profiles are sealed at rest
  CHECK_FALSE(at_beta.sealed.empty());

  // The backup from before the erasure, restored with the old node's erasure journal: the
  // candidate's key is destroyed at restore, the record erased at the first start.
  REQUIRE(fs::exists(alpha.data_dir() / "erasures"));
  auto restore_options = options("alpha.example", "JP-27");
  restore_options.port = alpha.port();
  restore_options.restore_from = backup;
  restore_options.restore_args = {"--erasures", (alpha.data_dir() / "erasures").string()};
  NodeProcess restored(restore_options);
  auto page = restored.get(manage).body;
  CHECK_FALSE(contains(page, erased.name));
  CHECK_FALSE(contains(page, erased.email));
  CHECK(contains(restored.get(path_of(keeper_manage)).body, keeper.name));
  restored.stop();
  check_nothing_of(restored.data_dir(), erased, "restored alpha");
}

TEST_CASE(
    "shredding: killed between spooling a mail and recording it, the node sends it once, "
    "and erasure leaves no spooled file with the address (finding 7)") {
  NodeProcess node{options("spool.example", "JP-13")};
  auto member = node.admit_member("Spool Referrer KK");
  auto who = person("spool", "090-5511-2233");
  ::setenv("RELAY_TEST_KILL_AFTER_SPOOL", "1", 1);
  node.restart();  // serves with the crash hook
  ::unsetenv("RELAY_TEST_KILL_AFTER_SPOOL");
  auto submitted = node.submit_registration(path_of(member.relay_link), as_candidate(who));
  // The mail loop spools right after the commit and kills the node, which may be before the
  // reply (or the page it redirects to) is written: 0 (no reply) is as expected as 200.
  CHECK((submitted.status == 200 || submitted.status == 0));
  // The verification mail is spooled, then the node dies before recording it.
  REQUIRE(eventually([&] { return node.get("/healthz").status == 0; }));
  node.kill9();
  std::size_t spooled = 0;
  for (const auto& m : node.mails()) spooled += contains(m.to, who.email) ? 1 : 0;
  CHECK(spooled == 1);
  node.start();
  // After the restart the queue entry is delivered again: the same file, not a second mail.
  REQUIRE(eventually([&] {
    auto status = node.get("/metrics", node.auditor_token()).body;
    return contains(status, "relay_mail_queue_messages 0");
  }));
  std::vector<std::string> links;
  spooled = 0;
  for (const auto& m : node.mails())
    if (contains(m.to, who.email)) {
      ++spooled;
      for (const auto& l : m.links()) links.push_back(l);
    }
  CHECK(spooled == 1);
  REQUIRE_FALSE(links.empty());
  auto verify = path_of(links.front());
  REQUIRE(node.get(verify).status == 200);
  auto confirmed = node.request("POST", verify);
  REQUIRE(confirmed.redirected_to.rfind("/r/m/", 0) == 0);
  auto manage = confirmed.redirected_to.substr(0, confirmed.redirected_to.find('?'));
  REQUIRE(node.post_form(manage + "/erase", {{"confirm", "yes"}}).status == 200);
  REQUIRE(eventually([&] {
    for (const auto& entry : fs::directory_iterator(node.spool_dir()))
      if (contains(read_all(entry.path()), who.email)) return false;
    return true;
  }));
}

TEST_SUITE_END();
