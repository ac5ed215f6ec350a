#pragma once
// Fixed-size secret bytes: move-only, zeroed with sodium_memzero on destruction and move,
// compared in constant time, never printable (no operator<<, no to_string).
// The Tag names the use (crypto/keys.hpp): Secret<32, AeadKeyTag> and Secret<32, MacKeyTag> are
// different types, so passing a data key where a MAC key is expected does not compile.
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace relay::crypto {

void secure_zero(void* data, std::size_t size);
bool constant_time_equal(const void* a, const void* b, std::size_t size);

// The tag of a secret that has no named use (test vectors, scratch buffers).
struct UntaggedSecret;

template <std::size_t N, class Tag = UntaggedSecret>
class Secret {
 public:
  static constexpr std::size_t size_bytes = N;
  using tag_type = Tag;
  Secret() { bytes_.fill(0); }
  explicit Secret(std::span<const std::uint8_t, N> from) {
    for (std::size_t i = 0; i < N; ++i) bytes_[i] = from[i];
  }
  ~Secret() { secure_zero(bytes_.data(), N); }
  Secret(const Secret&) = delete;
  Secret& operator=(const Secret&) = delete;
  Secret(Secret&& other) noexcept : bytes_(other.bytes_) { secure_zero(other.bytes_.data(), N); }
  Secret& operator=(Secret&& other) noexcept {
    if (this != &other) {
      bytes_ = other.bytes_;
      secure_zero(other.bytes_.data(), N);
    }
    return *this;
  }
  // Explicit copy, so that every duplication of a secret is visible in the code.
  Secret clone() const { return Secret(std::span<const std::uint8_t, N>(bytes_)); }

  const std::uint8_t* data() const { return bytes_.data(); }
  std::uint8_t* data() { return bytes_.data(); }
  std::span<const std::uint8_t, N> view() const { return bytes_; }
  static constexpr std::size_t size() { return N; }
  bool operator==(const Secret& other) const {
    return constant_time_equal(bytes_.data(), other.bytes_.data(), N);
  }

 private:
  std::array<std::uint8_t, N> bytes_;
};

}  // namespace relay::crypto
