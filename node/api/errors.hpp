#pragma once
// The error table of the JSON API's audience: every expected failure a route can answer maps
// here, once, to (HTTP status, code, message). Handlers never write an error body by hand:
// they return reply(error_for(e)). Codes and messages are part of the public API (clients
// and the process tests read them): change them only with the API's version.
//
// The candidate pages (HTML, two languages) are another audience; their notices live in
// candidate_page_kit.hpp.
#include <string>

#include "node/console/sessions.hpp"
#include "node/federation/peer.hpp"
#include "node/http/message.hpp"
#include "node/members/member.hpp"
#include "node/referrals/hold.hpp"
#include "node/services/access.hpp"
#include "node/services/alumni.hpp"
#include "node/services/audit.hpp"
#include "node/services/candidate_rights.hpp"
#include "node/services/handoff_requests.hpp"
#include "node/services/introducing.hpp"
#include "node/services/membership.hpp"
#include "node/services/peering.hpp"
#include "node/services/secondment.hpp"
#include "node/services/statistics.hpp"
#include "node/settlement/netting.hpp"
#include "node/settlement/settlements.hpp"

namespace relay::node::api {

struct ApiError {
  int status = 400;
  std::string code;
  std::string message;
};

// The JSON error body {"error": {"code", "message"}} with the status.
http::Response reply(const ApiError& error);

// Request-shape errors found while parsing (common.hpp builds them).
ApiError bad_request(std::string code, std::string message);

ApiError error_for(services::AccessError e);
ApiError error_for(members::AdmitError e);
ApiError error_for(services::MembershipError e);
ApiError error_for(federation::AddError e);
ApiError error_for(services::PeeringError e);
ApiError error_for(services::HandoffError e);
ApiError error_for(services::AuditError e);
ApiError error_for(services::ManageError e);
ApiError error_for(services::IntroduceError e);
ApiError error_for(const introductions::IntroductionError& e);
ApiError error_for(const introductions::RequisitionError& e);
ApiError error_for(services::GrantError e);
ApiError error_for(services::AlumniError e);
ApiError error_for(services::SecondmentError e);
ApiError error_for(referrals::ReviewError e);
ApiError error_for(console::SessionError e);
// all_allowed: the route also takes period=all.
ApiError error_for(services::StatisticsError e, bool all_allowed);
ApiError error_for(settlement::SettlementError e);
ApiError error_for(const settlement::NettingFailure& f);

}  // namespace relay::node::api
