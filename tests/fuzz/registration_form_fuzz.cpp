// The candidate's registration form (node/http/message.hpp parse_form, then
// node/candidates/registration_form.hpp): any urlencoded body is a registration or per-field
// errors, never an exception; an accepted registration has an address that normalises.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/node_config.hpp"
#include "config/reference.hpp"
#include "node/candidates/registration_form.hpp"
#include "node/http/message.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

const relay::config::Reference& reference() {
  static const relay::config::Reference ref =
      relay::config::load_reference(relay::config::default_reference_dir()).value();
  return ref;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace cand = relay::node::candidates;
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto form = relay::node::http::parse_form(body);
  if (!form) return 0;
  auto result = cand::parse_registration(*form, reference(), "v1", 1'700'000'000'000);
  FUZZ_CHECK(result.registration.has_value() == result.errors.empty());
  if (result.registration) {
    const auto& email = result.registration->personal.email;
    FUZZ_CHECK(cand::normalise_email(email).has_value());
  }
  return 0;
}
