#include "node/services/alumni.hpp"

#include <algorithm>
#include <set>

#include "node/federation/profile_exchange.hpp"
#include "node/storage/txn.hpp"

namespace relay::node::services {

nlohmann::json AlumnusView::to_json() const {
  return {{"node", node}, {"ref", ref}, {"alumni_since_ms", since_ms}, {"profile", profile}};
}

void mark_alumni(const storage::Txn& txn, const referrals::Referrals& referrals,
                 const RefOf& ref_of, const std::string& member_id, const std::string& self_name,
                 std::vector<matching::AnonymisedProfile>& profiles) {
  // Only this node's profiles can be the member's alumni: with none (an introduction to a
  // peer's candidate), the member's alumni are not read and hashed at all.
  if (std::none_of(profiles.begin(), profiles.end(),
                   [&](const auto& p) { return p.holder == self_name; }))
    return;
  auto refs = alumni_refs(txn, referrals, ref_of, member_id);
  if (refs.empty()) return;
  for (auto& p : profiles)
    if (p.holder == self_name && refs.count(p.ref)) p.alumnus = true;
}

std::set<std::string> alumni_refs(const storage::Txn& txn, const referrals::Referrals& referrals,
                                  const RefOf& ref_of, const std::string& member_id) {
  std::set<std::string> refs;
  for (const auto& alumnus : referrals.alumni_of(txn, member_id))
    refs.insert(ref_of(alumnus.first));
  return refs;
}

Alumni::Alumni(storage::Environment& env, storage::Writer& writer, referrals::Referrals& referrals,
               const candidates::Store& candidates, RefOf ref_of, std::string self_name)
    : env_(env),
      writer_(writer),
      referrals_(referrals),
      candidates_(candidates),
      ref_of_(std::move(ref_of)),
      self_name_(std::move(self_name)) {}

common::Result<AlumniLinkIssued, AlumniError> Alumni::issue_link(const members::Member& member,
                                                                 const std::string& departure_id) {
  auto issued = writer_.submit_wait([&](storage::WriteTxn& txn) {
    return referrals_.issue_alumni_link(txn, member.id, departure_id);
  });
  if (issued.used) return common::fail(AlumniError::link_used);
  return AlumniLinkIssued{issued.token, !departure_id.empty()};
}

AlumniPage Alumni::page(const members::Member& member, std::size_t limit,
                        const std::optional<AlumniPlace>& after) const {
  auto txn = env_.begin_read();
  AlumniPage out;
  // Alumni who confirmed in the same millisecond as the last one shown come before it or
  // after it in key order: those up to it were on the page before.
  bool past_last = !after;
  referrals_.each_alumnus_since(
      txn, member.id, after ? after->since_ms : 0,
      [&](std::string_view candidate_id, std::int64_t since_ms) {
        const std::string candidate(candidate_id);
        if (!past_last) {
          past_last = since_ms > after->since_ms || ref_of_(candidate) == after->ref;
          if (since_ms == after->since_ms) return true;
        }
        auto record = candidates_.find(txn, candidate);
        // Only who is active here and consented to be shown to the region's members.
        if (!record || !record->in_regional_pool()) return true;
        if (out.alumni.size() == limit) {
          out.more = true;
          return false;
        }
        auto opened = candidates_.open(*record);
        if (!opened) return true;
        out.alumni.push_back({self_name_, ref_of_(candidate), since_ms,
                              federation::anonymised_profile(opened->profile)});
        return true;
      });
  return out;
}

}  // namespace relay::node::services
