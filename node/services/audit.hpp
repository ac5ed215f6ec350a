#pragma once
// What an auditor (and a peer witnessing us, and a health check) reads: ledger entries and
// proofs, the signed and the witnessed checkpoint, the node's key, every member's credit
// account, the witnessing status and /healthz. Only reads: each method opens one read txn.
//
// Threads: any.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "node/common/result.hpp"
#include "node/federation/witness.hpp"
#include "node/identity/key_ring.hpp"
#include "node/ledger/ledger.hpp"
#include "node/members/member.hpp"
#include "node/referrals/credit_account.hpp"
#include "node/storage/environment.hpp"

namespace relay::node::services {

// Every member's credit account ({member id: account}) as the txn sees it: what an auditor
// compares with balances recomputed from the ledger (the balances route and the export).
nlohmann::json balances(const storage::Txn& txn, const members::Registry& members,
                        const referrals::CreditAccounts& credits);

enum class AuditError {
  bad_inclusion_range,    // not index < size <= the ledger size
  from_after_to,          // consistency: from > to
  bad_consistency_range,  // not 0 < from <= to <= the ledger size
  not_cosigned,           // no checkpoint of ours has been cosigned yet
};

struct EntriesPage {
  std::uint64_t start = 0;
  std::uint64_t size = 0;  // the ledger's size
  std::vector<std::string> entries;
};

struct Proof {
  std::uint64_t first = 0;   // index (inclusion) or from (consistency)
  std::uint64_t second = 0;  // size (inclusion) or to (consistency)
  std::vector<protocol::Hash> hashes;
};

struct KeyInfo {
  std::string origin;
  std::string vkey;
  std::string public_key;  // base64
  std::string fingerprint;
};

struct Health {
  std::string node;
  std::uint64_t ledger_size = 0;
};

struct Balances {
  std::uint64_t ledger_size = 0;
  nlohmann::json members;
};

class Audit {
 public:
  static constexpr std::uint64_t kMaxEntriesPerPage = 1000;

  Audit(storage::Environment& env, const ledger::Ledger& ledger, const identity::KeyRing& keys,
        const members::Registry& members, const referrals::CreditAccounts& credits,
        const federation::Witness& witness, std::string node_name);

  Health health() const;
  std::string checkpoint_note() const;
  KeyInfo key() const;
  // Entries from `start`, at most min(limit, kMaxEntriesPerPage).
  EntriesPage entries(std::optional<std::uint64_t> start, std::optional<std::uint64_t> limit) const;
  // size: the ledger's size when absent.
  common::Result<Proof, AuditError> inclusion(std::uint64_t index,
                                              std::optional<std::uint64_t> size) const;
  // to: the ledger's size when absent.
  common::Result<Proof, AuditError> consistency(std::uint64_t from,
                                                std::optional<std::uint64_t> to) const;
  Balances balances() const;
  common::Result<std::string, AuditError> witnessed_checkpoint_note() const;
  nlohmann::json witness_status() const;

 private:
  storage::Environment& env_;
  const ledger::Ledger& ledger_;
  const identity::KeyRing& keys_;
  const members::Registry& members_;
  const referrals::CreditAccounts& credits_;
  const federation::Witness& witness_;
  std::string node_name_;
};

}  // namespace relay::node::services
