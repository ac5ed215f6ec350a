#pragma once
// How numbers become LMDB keys: 8-byte big-endian, so the byte order LMDB sorts by is the
// numeric order (ledger indexes, time-ordered queues, per-member sequences).
#include <cstdint>
#include <string>
#include <string_view>

namespace relay::node::common {

std::string be64(std::uint64_t value);
// Throws std::runtime_error unless bytes is exactly 8 bytes (a corrupt key).
std::uint64_t from_be64(std::string_view bytes);

}  // namespace relay::node::common
