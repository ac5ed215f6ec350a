#include "node/referrals/address_identity.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace relay::node::referrals {

namespace {

// Disposable-mail domains: a seed list of the most used services, taken from the public
// disposable-email-domains project (github.com/disposable-email-domains, CC0), plus the
// Japanese throwaway services seen in the field. Neither Debian nor npm ships a list the
// node could depend on without fetching at run time; extend this list as abuse is seen.
constexpr std::array<std::string_view, 64> kDisposable = {
    "10minutemail.com",   "20minutemail.com",   "33mail.com",        "burnermail.io",
    "discard.email",      "disposablemail.com", "dispostable.com",   "dropmail.me",
    "emailondeck.com",    "fakeinbox.com",      "fakemail.net",      "getairmail.com",
    "getnada.com",        "guerrillamail.biz",  "guerrillamail.com", "guerrillamail.de",
    "guerrillamail.info", "guerrillamail.net",  "guerrillamail.org", "guerrillamailblock.com",
    "harakirimail.com",   "inboxbear.com",      "inboxkitten.com",   "incognitomail.org",
    "jetable.org",        "m.kuku.lu",          "mail-temp.com",     "mail.tm",
    "mailcatch.com",      "maildrop.cc",        "mailinator.com",    "mailinator.net",
    "mailnesia.com",      "mailpoof.com",       "mailsac.com",       "mintemail.com",
    "moakt.com",          "mohmal.com",         "mvrht.com",         "mytemp.email",
    "nada.email",         "sharklasers.com",    "spam4.me",          "spambox.us",
    "spamgourmet.com",    "temp-mail.io",       "temp-mail.org",     "tempail.com",
    "tempinbox.com",      "tempmail.dev",       "tempmail.net",      "tempmailo.com",
    "tempr.email",        "throwawaymail.com",  "tmail.ws",          "tmpmail.net",
    "tmpmail.org",        "trashmail.com",      "trashmail.de",      "trashmail.net",
    "wegwerfmail.de",     "yopmail.com",        "yopmail.fr",        "yopmail.net",
};

// Large public providers: many of their addresses through one member are normal.
constexpr std::array<std::string_view, 24> kPublic = {
    "au.com",         "docomo.ne.jp",  "excite.co.jp",   "ezweb.ne.jp",    "gmail.com",
    "googlemail.com", "hotmail.co.jp", "hotmail.com",    "i.softbank.jp",  "icloud.com",
    "live.jp",        "me.com",        "nifty.com",      "ocn.ne.jp",      "outlook.com",
    "outlook.jp",     "proton.me",     "protonmail.com", "softbank.ne.jp", "yahoo.co.jp",
    "yahoo.com",      "ybb.ne.jp",     "ymail.ne.jp",    "zoho.com",
};

template <std::size_t N>
bool listed(const std::array<std::string_view, N>& list, std::string_view domain) {
  // The domain itself or any parent ("x.mailinator.com").
  for (;;) {
    if (std::find(list.begin(), list.end(), domain) != list.end()) return true;
    auto dot = domain.find('.');
    if (dot == std::string_view::npos) return false;
    domain.remove_prefix(dot + 1);
    if (domain.find('.') == std::string_view::npos) return false;  // never a bare TLD
  }
}

}  // namespace

bool is_disposable_domain(std::string_view domain) {
  return listed(kDisposable, domain);
}

bool is_public_mail_provider(std::string_view domain) {
  return std::find(kPublic.begin(), kPublic.end(), domain) != kPublic.end();
}

AddressIdentity identify_address(std::string_view normalised) {
  AddressIdentity id;
  auto at = normalised.rfind('@');
  std::string local(normalised.substr(0, at == std::string_view::npos ? 0 : at));
  std::string domain(at == std::string_view::npos ? normalised : normalised.substr(at + 1));
  for (auto& c : domain) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  while (!domain.empty() && domain.back() == '.') domain.pop_back();
  if (auto plus = local.find('+'); plus != std::string::npos && plus > 0) local.resize(plus);
  if (domain == "googlemail.com") domain = "gmail.com";
  if (domain == "gmail.com") std::erase(local, '.');
  for (char c : local)
    if (!std::isdigit(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-')
      id.stem.push_back(c);
  id.canonical = local + "@" + domain;
  id.local = std::move(local);
  id.disposable = is_disposable_domain(domain);
  id.public_provider = is_public_mail_provider(domain);
  id.domain = std::move(domain);
  return id;
}

}  // namespace relay::node::referrals
