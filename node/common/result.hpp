#pragma once
// The one shape of an expected failure in node/: either a value or an error, never both
// (config::LoadResult's shape, with the error type a parameter). Errors are small enums or
// structs of the room that produces them; api/errors.hpp maps each to an HTTP status and a
// message once, per audience. The environment failing still throws.
//
//   Result<Member, AdmitError> r = registry.admit(txn, name);
//   if (!r) return errors::reply(r.error());
//   use(r.value());
#include <cassert>
#include <optional>
#include <utility>
#include <variant>

namespace relay::node::common {

// Tags the error alternative, so Result<std::string, std::string> stays unambiguous.
template <class E>
struct Failure {
  E error;
};
template <class E>
Failure<std::decay_t<E>> fail(E&& e) {
  return {std::forward<E>(e)};
}

template <class T, class E>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  template <class F>
  Result(Failure<F> f) : v_(std::in_place_index<1>, E(std::move(f.error))) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  const T& value() const& {
    assert(ok());
    return std::get<0>(v_);
  }
  T& value() & {
    assert(ok());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(v_));
  }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }
  const T& operator*() const& { return value(); }

  const E& error() const {
    assert(!ok());
    return std::get<1>(v_);
  }

 private:
  std::variant<T, E> v_;
};

// For operations that return nothing on success.
struct Done {};

}  // namespace relay::node::common
