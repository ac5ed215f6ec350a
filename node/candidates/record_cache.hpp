#pragma once
// Parsed candidate records (Store::find and Store::save; storage/parse_cache.hpp). Records
// hold no plaintext personal data (it is sealed, vault.hpp).
#include "node/candidates/candidate_record.hpp"
#include "node/storage/parse_cache.hpp"

namespace relay::node::candidates {

using RecordCache = storage::ParseCache<CandidateRecord>;

}  // namespace relay::node::candidates
