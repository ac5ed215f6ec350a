#pragma once
// Multilateral netting (issue 15, item 3; protocol/netting.hpp): among three or more nodes that
// are all peers of one another, agreed bilateral statements not netted before are replaced by
// each node's position and the fewest transfers, once every participant has signed.
//
//   propose(others)   the operator (POST /api/v1/nettings): asks each participant for its
//                     agreed statements with the others (netting.positions, one signed call
//                     each, on the calling thread: never from a Writer request), keeps the
//                     statements both sides report alike with both signatures valid, signs
//                     the document and sends netting.proposal to each (outbox)
//   participant       checks the proposer's signature, that every participant is its peer,
//                     and that each edge it is party to is one of its own agreed statements
//                     not yet netted, owed that way and that much (else 409 netting_mismatch);
//                     reserves those statements and replies with its signature
//   proposer          collects the signatures; with all of them it records netting_agreed,
//                     and sends netting.complete with every signature; each participant checks
//                     them all and records the same netting_agreed
//
// A statement belongs to at most one netting: reserved when signed, netted when agreed; a node
// proposes one netting at a time (the next waits until the open one is agreed or failed). A
// proposal that fails (a bad signature back, or given up) releases the proposer's reservations;
// a participant's stay until the netting completes.
//
// Database: nettings (netting id -> {document, state, signatures, created_ms, ended_ms}).
// Threads: propose() from an HTTP thread (it blocks for the calls); list() reads; the
// handlers run in the Writer.
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "node/common/result.hpp"
#include "node/federation/federation.hpp"
#include "node/settlement/settlements.hpp"
#include "protocol/netting.hpp"

namespace relay::node::settlement {

enum class NettingError {
  disabled,        // 409 settlement_disabled
  too_few,         // 400: at least two other participants
  unknown_peer,    // 404: a participant is not an active peer with known keys
  unreachable,     // 502: a participant did not answer netting.positions
  nothing_to_net,  // 409: no agreed statement among them with a non-zero net
  pending,         // 409: a netting this node proposed awaits its participants' signatures
};

struct NettingFailure {
  NettingError error;
  std::string peer;  // the participant concerned, if any
};

class Nettings {
 public:
  Nettings(federation::Federation& federation, Settlements& settlements, bool enabled);

  // others: the other participants (this node proposes). Returns the netting's record.
  common::Result<nlohmann::json, NettingFailure> propose(std::vector<std::string> others);
  // {nettings: [newest first: {netting, proposer, participants, statements, positions,
  // transfers, state, signed_by, created_ms, ended_ms}]}.
  nlohmann::json list() const;

 private:
  struct Record {
    protocol::netting::Netting netting;
    std::string state;  // proposed | signed | agreed | failed
    std::map<std::string, std::string> signatures;
    std::int64_t created_ms = 0;
    std::int64_t ended_ms = 0;
    nlohmann::json to_json() const;
    static std::optional<Record> from_json(const nlohmann::json& j);
  };

  federation::HandlerResult on_positions(storage::WriteTxn& txn,
                                         const protocol::netting::PositionsRequest& m,
                                         const federation::Peer& peer);
  federation::HandlerResult on_proposal(storage::WriteTxn& txn,
                                        const protocol::netting::Proposal& m,
                                        const federation::Peer& peer);
  federation::HandlerResult on_complete(storage::WriteTxn& txn,
                                        const protocol::netting::Complete& m,
                                        const federation::Peer& peer);
  void on_proposal_reply(storage::WriteTxn& txn, const federation::SentMessage& sent,
                         const protocol::Envelope& reply, const federation::Peer& peer);
  void fail(storage::WriteTxn& txn, Record& r, const std::string& why);
  std::optional<Record> find(const storage::Txn& txn, const std::string& id) const;
  // True while a netting this node proposed awaits its participants' signatures.
  bool proposing(const storage::Txn& txn) const;
  void save(storage::WriteTxn& txn, const Record& r);
  // The statement ids of the netting's edges this node is party to.
  std::vector<std::string> own_statements(const protocol::netting::Netting& n) const;
  // True if signature is node's (this node's own key, or a peer's known keys) over bytes.
  bool signed_by(const storage::Txn& txn, const std::string& node, const std::string& bytes,
                 const std::string& signature) const;

  federation::Federation& federation_;
  Settlements& settlements_;
  bool enabled_;
  storage::Database nettings_;
};

}  // namespace relay::node::settlement
