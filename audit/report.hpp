#pragma once
// How relay-audit prints its findings: for people (default) and as JSON (--json). The JSON
// is one object per run:
//   verify:      {"ok","source","origin","fingerprint","entries","size","root",
//                 "checkpoint_root","key_rotations","node_balances_at",
//                 "problems":[{"where","what"[,"entry"]}],"problems_total",
//                 "problems_omitted","balances":{member:{verified_referrals,credits_minted,
//                 credits_spent,balance}}}
//   consistency: {"ok","old":{location,size,root},"new":{...},"proof_source","proof_length",
//                 "problems",...}
//   inclusion:   {"ok","source","index","size","root","entry","kind","signature",
//                 "proof_length","problems",...}
// Hashes are base64 (as in checkpoints); fingerprints hex.
#include <nlohmann/json.hpp>
#include <string>

#include "audit/consistency_check.hpp"
#include "audit/inclusion_check.hpp"
#include "audit/log_verifier.hpp"

namespace relay::audit {

nlohmann::json to_json(const VerifyReport& report);
nlohmann::json to_json(const ConsistencyReport& report);
nlohmann::json to_json(const InclusionReport& report);

std::string to_text(const VerifyReport& report);
std::string to_text(const ConsistencyReport& report);
std::string to_text(const InclusionReport& report);

}  // namespace relay::audit
