#pragma once
// Who an email address stands for, for the one-referral-per-person rule and the farming checks
// (issue 17). From the normalised address (candidates::normalise_email: trimmed, lower-cased):
//   - a "+tag" (subaddress) is removed from the local part for every domain: "taro+1@x.jp"
//     and "taro@x.jp" are one person (Gmail, Outlook, iCloud, Fastmail, Proton, Yahoo! JAPAN
//     and most servers deliver both to one mailbox);
//   - provider dot rules: for gmail.com and googlemail.com dots in the local part are ignored
//     and googlemail.com is gmail.com (Google delivers "t.a.r.o@" to "taro@"). No other
//     provider in the list: elsewhere a dot is part of the name;
//   - the domain is case-folded (already, by the normalisation) and loses a trailing dot.
// `canonical` is what the candidate pseudonym is computed from for registrations after this
// rule (existing candidates keep theirs: referrals::Intake looks up both forms, see README).
//
// Also the farming signals: whether the domain is a disposable-mail service (the seed list in
// disposable_domains.cpp; a subdomain of a listed domain counts), whether it is a large public
// mail provider (many addresses of it through one member say nothing), and the local part's
// stem (digits, '.', '_', '-' removed: "taro1", "taro.2" and "taro_3" share "taro").
#include <string>
#include <string_view>

namespace relay::node::referrals {

struct AddressIdentity {
  std::string canonical;  // local "@" domain after the rules above
  std::string local;      // canonical local part
  std::string domain;     // canonical domain
  std::string stem;       // local part without digits and separators ("" if nothing is left)
  bool disposable = false;
  bool public_provider = false;
};

// normalised: candidates::normalise_email's output (it has exactly one '@').
AddressIdentity identify_address(std::string_view normalised);

// The domain, or a parent of it, is on the disposable-mail list.
bool is_disposable_domain(std::string_view domain);
// One of the large public mail providers (gmail.com, yahoo.co.jp, docomo.ne.jp, ...).
bool is_public_mail_provider(std::string_view domain);

}  // namespace relay::node::referrals
