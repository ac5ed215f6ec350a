#pragma once
// The paths of the links the node hands out, each spelled once: a member's relay link (pasted
// into rejection mails), a candidate's confirmation link and management link (mailed). Callers
// put the node's public URL in front for a mail, or use the path alone for a redirect. The
// routes that answer them are api/registration_pages.cpp and api/management_pages.cpp.
#include <string>
#include <string_view>

namespace relay::node::common {

// "/r/{token}": the registration form behind a member's relay link.
inline std::string relay_path(std::string_view token) {
  return "/r/" + std::string(token);
}

// "/r/v/{token}": the page that confirms a registration.
inline std::string confirmation_path(std::string_view token) {
  return "/r/v/" + std::string(token);
}

// "/r/m/{token}": the candidate's own page (data, consent, requests, erasure).
inline std::string management_path(std::string_view token) {
  return "/r/m/" + std::string(token);
}

}  // namespace relay::node::common
