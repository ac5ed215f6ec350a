#pragma once
// Member companies: admitted, listed and suspended by the operator; each authenticates with
// an API key that is shown once and stored only as a keyed digest. Each member has a static
// relay link token (public by design: it goes into every rejection email).
//
// A member may have a contact email (for reminders of due outcomes): set by the operator at
// admission or later, or by the member itself. It is stored only in the member's record, never
// in the ledger, logs or error messages.
//
// The API key can be replaced (a leaked key, a departed ATS vendor): the old one stops working
// at once, and console sessions signed in with it end with it (console/sessions.hpp).
//
// Databases: members (id -> JSON record, with "key_digest": its current key's member_keys
// entry, which only replace_api_key reads, so Member, copied on every request, stays lean),
// member_keys (API key digest -> id), member_names (SHA-256 hex of the company name -> id;
// names are unique), member_links (static link token -> id), members_by_time (be64 created_ms
// + id -> "": the operator's list pages in the order admitted).
// Mutations run inside Writer requests and append their ledger events in the same txn.
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "node/common/result.hpp"
#include "node/identity/key_ring.hpp"
#include "node/ledger/ledger.hpp"
#include "node/storage/environment.hpp"
#include "node/storage/index_page.hpp"
#include "node/storage/parse_cache.hpp"

namespace relay::node::members {

struct Member {
  std::string id;
  std::string name;
  bool active = true;
  std::int64_t created_ms = 0;
  std::string link_token;     // the static relay link: /r/<link_token>
  std::string contact_email;  // "" = none on file

  // What the API shows (never the API key); contact_email only to the operator and the
  // member itself (the only callers).
  nlohmann::json to_json() const;
};

struct Admitted {
  Member member;
  std::string api_key;  // shown once
};

enum class AdmitError { bad_name, duplicate_name, bad_contact_email };

// A contact email, trimmed, with its domain lower-cased: one '@', a non-empty local part, a
// domain with a dot, at most 254 bytes, no spaces, control characters or <>,;:"()[]\.
// nullopt if it is not acceptable.
std::optional<std::string> normalise_contact_email(std::string_view text);

enum class StatusChange { changed, unchanged, not_found };

class Registry {
 public:
  Registry(storage::Environment& env, ledger::Ledger& ledger, const identity::KeyRing& keys);

  // Validates the company name (1..200 characters of UTF-8 text) and admits the member.
  // contact_email: "" for none, else already normalised (normalise_contact_email).
  common::Result<Admitted, AdmitError> admit(storage::WriteTxn& txn, const std::string& name,
                                             const std::string& contact_email = "");
  StatusChange set_active(storage::WriteTxn& txn, const std::string& id, bool active);
  // A new API key for member `id` (shown once); the one before stops working. nullopt if
  // there is no such member. No ledger event: a credential, not a change of standing.
  std::optional<std::string> replace_api_key(storage::WriteTxn& txn, const std::string& id);
  // Replaces the contact email ("" removes it; else already normalised). No ledger event: the
  // address is personal data of the member's staff and stays out of the ledger.
  StatusChange set_contact_email(storage::WriteTxn& txn, const std::string& id,
                                 const std::string& contact_email);

  std::optional<Member> find(const storage::Txn& txn, const std::string& id) const;
  // As find(), shared with the parse cache rather than copied.
  std::shared_ptr<const Member> shared(const storage::Txn& txn, std::string_view id) const;
  std::vector<Member> list(const storage::Txn& txn) const;
  // Members in the order admitted, or (newest_first) the last admitted first: the first `limit`
  // after the member `after` ("": from the first), and how many there are (suspended ones
  // included). nullopt if `after` is no member.
  std::optional<storage::RecordPage<Member>> page(const storage::Txn& txn, std::size_t limit,
                                                  const std::string& after,
                                                  bool newest_first) const;
  // Builds members_by_time over the members of a directory from before it, and writes each
  // member's key_digest from member_keys, once each (storage/index_marks.hpp); returns how
  // many records it indexed or completed.
  std::size_t index_existing(storage::WriteTxn& txn);
  // The member an API key belongs to (active or not: callers decide), shared with the parse
  // cache: every member request asks, and a copy of a Member is five strings.
  std::shared_ptr<const Member> authenticate(const storage::Txn& txn,
                                             std::string_view api_key) const;
  // The member whose static relay link token this is.
  std::optional<Member> by_link_token(const storage::Txn& txn, std::string_view token) const;

 private:
  // key_digest: nullopt keeps the one the stored record has.
  void store(storage::WriteTxn& txn, const Member& m,
             std::optional<std::string> key_digest = std::nullopt);
  // The stored record's key_digest ("" for none, or no such member).
  std::string stored_key_digest(const storage::Txn& txn, const std::string& id) const;
  // Draws an API key for member id and lists its digest (set) in member_keys; the caller
  // stores the record with it.
  std::string new_api_key(storage::WriteTxn& txn, const std::string& id, std::string& digest);
  ledger::Ledger& ledger_;
  const identity::KeyRing& keys_;
  storage::Database members_;
  storage::Database keys_db_;
  storage::Database names_;
  storage::Database links_;
  storage::Database by_time_;
  storage::Database index_marks_;
  // Every member request authenticates, which read and parsed the member's record: a fifth
  // of a GET /api/v1/credits (callgrind).
  mutable storage::ParseCache<Member> parsed_;
};

}  // namespace relay::node::members
