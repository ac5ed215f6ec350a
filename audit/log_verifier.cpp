#include "audit/log_verifier.hpp"

#include <algorithm>
#include <deque>
#include <limits>

#include "audit/key_document.hpp"
#include "audit/key_history.hpp"
#include "audit/parallel.hpp"
#include "crypto/bytes.hpp"
#include "crypto/sign.hpp"
#include "protocol/checkpoint.hpp"
#include "protocol/event.hpp"
#include "protocol/ledger_entry.hpp"
#include "protocol/signed_note.hpp"

namespace relay::audit {

namespace {

std::string short_fingerprint(std::string_view fingerprint) {
  return std::string(fingerprint.substr(0, 16)) + "...";
}

std::string describe(const protocol::EntryError& error) {
  if (error.code == "not_canonical") return "not canonical JSON (" + error.message + ")";
  if (error.code == "bad_signature_encoding") return "signature invalid (" + error.message + ")";
  return "malformed entry (" + error.message + ")";
}

// One entry after the parallel step.
struct Parsed {
  std::optional<protocol::LedgerEntry> entry;
  std::string error;  // when !entry
  protocol::Hash leaf{};
};

enum class Signature : std::uint8_t { unchecked, good, bad };

// The key an entry must be signed by, with its fingerprint (computed once per key, not once
// per entry: an entry whose key field names another key fails without a verification).
struct KeyInForce {
  crypto::Ed25519PublicKey key;
  std::string fingerprint;
};

// The order-dependent state of a verification, fed one batch of entries at a time.
//
// Per batch: parse and hash every entry (parallel); the key pass (serial, cheap: index,
// origin, key history, so the key of every entry is known); then the signatures (parallel)
// while the calling thread runs the balance book and the root over the same batch. Problems
// are merged back into entry order, for each entry those of the key pass, then the balance
// book's, then its signature's: the order of checks in the README.
class EntryChecker {
 public:
  EntryChecker(VerifyReport& report, const std::optional<KeyDocument>& key_document,
               std::optional<std::uint64_t> snapshot_at, unsigned threads)
      : report_(report),
        key_document_(key_document),
        snapshot_at_(snapshot_at),
        threads_(threads) {}

  void add(std::vector<std::string>& batch);
  void finish();
  const std::optional<Balances>& snapshot() const { return snapshot_; }
  const KeyHistory& keys() const { return keys_; }

 private:
  void take_snapshot_at(std::uint64_t position) {
    if (snapshot_at_ && *snapshot_at_ == position && !snapshot_) snapshot_ = book_.balances();
  }
  // The checks that depend on the entries before, but not on balances: index, origin, key
  // history (a rotation's signature is checked here, since the keys after it depend on it).
  void check_in_order(const protocol::LedgerEntry& e, std::uint64_t position,
                      const KeyInForce*& key, Signature& signature, ProblemList& found);
  // The key in force now, its fingerprint cached while the key stays the same.
  const KeyInForce* key_in_force();
  // Root and balances over the batch, in log order.
  void apply_in_order(const std::vector<Parsed>& parsed, ProblemList& found);

  VerifyReport& report_;
  const std::optional<KeyDocument>& key_document_;
  std::optional<std::uint64_t> snapshot_at_;
  unsigned threads_;
  std::uint64_t position_ = 0;
  protocol::RootAccumulator root_;
  KeyHistory keys_;
  // Every key that was in force, with its fingerprint (stable addresses: a deque).
  std::deque<KeyInForce> in_force_;
  BalanceBook book_;
  std::optional<Balances> snapshot_;
};

const KeyInForce* EntryChecker::key_in_force() {
  const auto& current = keys_.current();
  if (!current) return nullptr;
  if (in_force_.empty() || !(in_force_.back().key == *current))
    in_force_.push_back({*current, current->fingerprint()});
  return &in_force_.back();
}

void EntryChecker::check_in_order(const protocol::LedgerEntry& e, std::uint64_t position,
                                  const KeyInForce*& key, Signature& signature,
                                  ProblemList& found) {
  if (e.index != position) found.add_entry(position, "index field is " + std::to_string(e.index));
  if (report_.origin.empty() && position == 0) report_.origin = e.node;
  if (e.node != report_.origin)
    found.add_entry(position, "node field is \"" + e.node + "\", the log's origin is \"" +
                                  report_.origin + "\"");
  if (position == 0) {
    keys_.start(e, found);
    if (key_document_) keys_.assume(key_document_->public_key);
  } else if (e.kind == protocol::event_kind::node_initialised) {
    found.add_entry(position, "node_initialised again (only entry 0 may be)");
  }
  key = key_in_force();
  if (!key) found.add_entry(position, "no key in force to check its signature");
  if (key && e.kind == protocol::event_kind::key_rotated) {
    // A rotation takes effect only if the key it replaces signed it: check it now.
    signature = protocol::verify_entry(e, key->key) ? Signature::good : Signature::bad;
    if (signature == Signature::good) keys_.rotate(e, position, found);
  }
}

void EntryChecker::apply_in_order(const std::vector<Parsed>& parsed, ProblemList& found) {
  for (std::size_t i = 0; i < parsed.size(); ++i) {
    const std::uint64_t position = position_ + i;
    take_snapshot_at(position);
    root_.add(parsed[i].leaf);
    if (parsed[i].entry) book_.apply(*parsed[i].entry, position, found);
  }
}

void EntryChecker::add(std::vector<std::string>& batch) {
  const std::size_t n = batch.size();
  std::vector<Parsed> parsed(n);
  parallel_for(n, threads_, [&](std::size_t begin, std::size_t end) {
    for (std::size_t i = begin; i < end; ++i) {
      parsed[i].leaf = protocol::leaf_hash(crypto::as_bytes(batch[i]));
      auto result = protocol::parse_entry(batch[i]);
      if (auto* entry = std::get_if<protocol::LedgerEntry>(&result))
        parsed[i].entry = std::move(*entry);
      else
        parsed[i].error = describe(std::get<protocol::EntryError>(result));
    }
  });

  constexpr auto kAll = std::numeric_limits<std::size_t>::max();
  ProblemList found(kAll);
  std::vector<const KeyInForce*> keys(n, nullptr);
  std::vector<Signature> signatures(n, Signature::unchecked);
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t position = position_ + i;
    if (parsed[i].entry) {
      check_in_order(*parsed[i].entry, position, keys[i], signatures[i], found);
    } else {
      found.add_entry(position, parsed[i].error);
      if (position == 0 && key_document_) keys_.assume(key_document_->public_key);
    }
  }

  ProblemList book_found(kAll);
  parallel_for(
      n, threads_,
      [&](std::size_t begin, std::size_t end) {
        for (std::size_t i = begin; i < end; ++i) {
          if (!parsed[i].entry || !keys[i] || signatures[i] != Signature::unchecked) continue;
          // protocol::verify_entry, with the fingerprint computed once per key and the signed
          // bytes cut from the entry's own (canonical) bytes rather than serialised again.
          const auto& e = *parsed[i].entry;
          const bool good =
              e.key == keys[i]->fingerprint &&
              crypto::verify(keys[i]->key, crypto::as_bytes(protocol::signed_bytes_of(batch[i])),
                             e.sig);
          signatures[i] = good ? Signature::good : Signature::bad;
        }
      },
      [&] { apply_in_order(parsed, book_found); });
  ProblemList signature_found(kAll);
  for (std::size_t i = 0; i < n; ++i) {
    if (signatures[i] != Signature::bad) continue;
    const auto& e = *parsed[i].entry;
    const auto& in_force = keys[i]->fingerprint;
    signature_found.add_entry(position_ + i,
                              e.key == in_force
                                  ? "signature invalid"
                                  : "signature invalid: signed by key " + short_fingerprint(e.key) +
                                        ", the key in force is " + short_fingerprint(in_force));
  }

  // Report the batch's problems in entry order; for one entry, in the order checked.
  std::vector<Problem> problems;
  for (const auto* list : {&found, &book_found, &signature_found})
    problems.insert(problems.end(), list->kept().begin(), list->kept().end());
  std::stable_sort(problems.begin(), problems.end(),
                   [](const Problem& a, const Problem& b) { return a.entry < b.entry; });
  for (auto& p : problems) report_.problems.add(std::move(p));
  position_ += n;
}

void EntryChecker::finish() {
  take_snapshot_at(position_);
  report_.entries = position_;
  report_.root = root_.root();
  book_.finish(report_.problems);
  report_.balances = book_.balances();
  report_.key = keys_.current();
  report_.keys = keys_.keys();
  report_.key_rotations = keys_.rotations();
}

// Note signature, size and root of the checkpoint against the log just read.
void check_checkpoint(VerifyReport& report, std::string_view note_text,
                      const std::optional<protocol::Checkpoint>& checkpoint) {
  if (checkpoint) {
    if (report.entries != checkpoint->size) {
      report.problems.add("checkpoint", "root mismatch (log has " + std::to_string(report.entries) +
                                            " entries, checkpoint says " +
                                            std::to_string(checkpoint->size) + ")");
    } else if (report.root != checkpoint->root) {
      report.problems.add("checkpoint", "root mismatch (recomputed " +
                                            crypto::to_base64(report.root) + ", checkpoint says " +
                                            crypto::to_base64(checkpoint->root) + ")");
    }
  }
  if (!report.key) {
    report.problems.add("checkpoint", "signature not checked: no key in force");
    return;
  }
  auto vkey =
      protocol::make_verifier_key(report.origin, protocol::NoteKeyType::ed25519, *report.key);
  if (!vkey) {
    report.problems.add("checkpoint", "signature not checked: origin \"" + report.origin +
                                          "\" is not a valid key name");
    return;
  }
  const std::vector<protocol::NoteVerifierKey> keys{*vkey};
  auto verified = protocol::verify_note(note_text, keys);
  if (!verified && verified.error != protocol::NoteError::malformed &&
      verified.error != protocol::NoteError::too_many_signatures) {
    report.problems.add("checkpoint", "signature invalid (" +
                                          std::string(protocol::to_string(verified.error)) +
                                          " for key " + protocol::make_vkey(*vkey) + ")");
  }
}

void compare_balances(VerifyReport& report, const NodeBalances& node, const Balances& recomputed,
                      const std::string& where) {
  if (node.ledger_size > report.entries) {
    report.problems.add(where, "the node's balances are as of " + std::to_string(node.ledger_size) +
                                   " entries, the log has " + std::to_string(report.entries));
    return;
  }
  auto field = [&](const std::string& id, const char* name, auto in_node, auto ours) {
    if (in_node != ours)
      report.problems.add_member(id, std::string(name) + " " + std::to_string(in_node) +
                                         " in node, " + std::to_string(ours) + " recomputed");
  };
  for (const auto& [id, theirs] : node.members) {
    auto found = recomputed.find(id);
    if (found == recomputed.end()) {
      report.problems.add_member(id, "in the node's balances, never admitted in the log");
      continue;
    }
    const auto& ours = found->second;
    field(id, "verified_referrals", theirs.verified_referrals, ours.verified_referrals);
    field(id, "credits_minted", theirs.credits_minted, ours.credits_minted);
    field(id, "credits_spent", theirs.credits_spent, ours.credits_spent);
    field(id, "balance", theirs.balance, ours.balance);
    field(id, "credits_granted", theirs.credits_granted, ours.credits_granted);
    field(id, "credits_refunded", theirs.credits_refunded, ours.credits_refunded);
  }
  for (const auto& [id, ours] : recomputed)
    if (!node.members.contains(id))
      report.problems.add_member(id, "admitted in the log, missing from the node's balances");
}

}  // namespace

VerifyReport verify_log(LogSource& source, const VerifyOptions& options) {
  VerifyReport report;
  report.problems = ProblemList(options.max_problems);
  report.source = source.name();
  const bool exact = source.is_export();
  const std::string key_where = exact ? "key.json" : "/audit/v1/key";
  const std::string balances_where = exact ? "balances.json" : "/audit/v1/balances";

  auto key_result = parse_key_document(source.key_document(), exact);
  for (auto& p : key_result.problems) report.problems.add(key_where, std::move(p));
  const std::optional<KeyDocument>& key_document = key_result.key;

  auto node_balances = parse_node_balances(source.balances_document(), exact);
  if (!node_balances.balances)
    report.problems.add(balances_where, node_balances.error);
  else
    report.node_balances_at = node_balances.balances->ledger_size;

  const std::string note_text = source.checkpoint_note();
  std::optional<protocol::Checkpoint> checkpoint;
  if (auto note = protocol::parse_note(note_text); !note) {
    report.problems.add("checkpoint", "not a signed note (" + note.message + ")");
  } else if (auto parsed = protocol::parse_checkpoint(note.note->text); !parsed) {
    report.problems.add("checkpoint", "not a checkpoint (" + parsed.error + ")");
  } else {
    checkpoint = std::move(parsed.checkpoint);
    report.checkpoint_size = checkpoint->size;
    report.checkpoint_root = checkpoint->root;
    report.origin = checkpoint->origin;
  }
  if (key_document) {
    if (report.origin.empty())
      report.origin = key_document->origin;
    else if (key_document->origin != report.origin)
      report.problems.add(key_where, "origin \"" + key_document->origin +
                                         "\", the checkpoint's is \"" + report.origin + "\"");
  }

  EntryChecker checker(report, key_document, report.node_balances_at,
                       options.threads == 0 ? default_threads() : options.threads);
  const auto wanted = checkpoint ? checkpoint->size : std::numeric_limits<std::uint64_t>::max();
  source.read_entries(
      wanted, [&](std::vector<std::string>& batch) { checker.add(batch); }, report.problems);
  checker.finish();

  check_checkpoint(report, note_text, checkpoint);
  if (key_document && report.key && !(key_document->public_key == *report.key))
    report.problems.add(key_where, "public_key " + short_fingerprint(key_document->fingerprint) +
                                       " is not the key in force at the end of the log (" +
                                       short_fingerprint(report.key->fingerprint()) + ")");
  if (options.pinned_vkey) {
    auto pinned = protocol::parse_vkey(*options.pinned_vkey);
    if (!pinned) {
      report.problems.add("--vkey", "not a valid note verifier key");
    } else {
      if (key_document && key_document->vkey_text != *options.pinned_vkey)
        report.problems.add(key_where, "vkey is not the pinned --vkey");
      if (!report.key || !(pinned->public_key == *report.key) || pinned->name != report.origin)
        report.problems.add("key", "the log's key in force is not the pinned --vkey");
    }
  }
  if (node_balances.balances)
    compare_balances(report, *node_balances.balances, checker.snapshot().value_or(Balances{}),
                     balances_where);
  return report;
}

}  // namespace relay::audit
