#pragma once
// Member companies: admitted, listed and suspended by the operator; each authenticates with
// an API key that is shown once and stored only as a keyed digest. Each member has a static
// relay link token (public by design: it goes into every rejection email).
//
// Databases: members (id -> JSON record), member_keys (API key digest -> id),
// member_names (SHA-256 hex of the company name -> id; names are unique), member_links
// (static link token -> id).
// Mutations run inside Writer requests and append their ledger events in the same txn.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "node/common/result.hpp"
#include "node/identity/key_ring.hpp"
#include "node/ledger/ledger.hpp"
#include "node/storage/environment.hpp"

namespace relay::node::members {

struct Member {
  std::string id;
  std::string name;
  bool active = true;
  std::int64_t created_ms = 0;
  std::string link_token;  // the static relay link: /r/<link_token>

  nlohmann::json to_json() const;  // what the API shows (never the API key)
};

struct Admitted {
  Member member;
  std::string api_key;  // shown once
};

enum class AdmitError { bad_name, duplicate_name };

enum class StatusChange { changed, unchanged, not_found };

class Registry {
 public:
  Registry(storage::Environment& env, ledger::Ledger& ledger, const identity::KeyRing& keys);

  // Validates the company name (1..200 characters of UTF-8 text) and admits the member.
  common::Result<Admitted, AdmitError> admit(storage::WriteTxn& txn, const std::string& name);
  StatusChange set_active(storage::WriteTxn& txn, const std::string& id, bool active);

  std::optional<Member> find(const storage::Txn& txn, const std::string& id) const;
  std::vector<Member> list(const storage::Txn& txn) const;
  // The member an API key belongs to (active or not: callers decide).
  std::optional<Member> authenticate(const storage::Txn& txn, std::string_view api_key) const;
  // The member whose static relay link token this is.
  std::optional<Member> by_link_token(const storage::Txn& txn, std::string_view token) const;

 private:
  void store(storage::WriteTxn& txn, const Member& m);
  ledger::Ledger& ledger_;
  const identity::KeyRing& keys_;
  storage::Database members_;
  storage::Database keys_db_;
  storage::Database names_;
  storage::Database links_;
};

}  // namespace relay::node::members
