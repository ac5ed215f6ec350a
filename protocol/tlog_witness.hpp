#pragma once
// The C2SP tlog-witness protocol (https://c2sp.org/tlog-witness), the request and size bodies
// of add-checkpoint. Pure formats: the node serves POST /witness/v1/add-checkpoint as a
// witness and submits its own checkpoints to the witnesses of its policy as a log
// (node/federation/witness.hpp), so a standard witness can take part.
//
//   request   "old <size>\n" + up to 63 lines of one base64 hash each + "\n" + a checkpoint
//             (a signed note); the size in decimal without leading zeroes; no proof lines
//             when old is 0
//   200       one or more cosignature lines ("— <name> <base64>\n")
//   409       the witness's latest cosigned size: "<size>\n", Content-Type text/x.tlog.size
//             (also when old equals the checkpoint's size and the roots differ)
//   400 / 403 / 404 / 422   malformed, no trusted signature, unknown origin, bad proof
//
// Thread safety: pure functions.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/merkle.hpp"

namespace relay::protocol::tlog_witness {

inline constexpr std::string_view kSizeContentType = "text/x.tlog.size";
inline constexpr std::size_t kMaxProofLines = 63;

struct AddCheckpoint {
  std::uint64_t old_size = 0;
  std::vector<Hash> proof;
  std::string checkpoint;  // the signed note, as sent
};

// nullopt for anything the spec does not allow (the witness answers 400).
std::optional<AddCheckpoint> parse_add_checkpoint(std::string_view body);
std::string format_add_checkpoint(const AddCheckpoint& request);

// "<size>\n" both ways; nullopt unless exactly a decimal size without leading zeroes and "\n".
std::string format_size(std::uint64_t size);
std::optional<std::uint64_t> parse_size(std::string_view body);

}  // namespace relay::protocol::tlog_witness
