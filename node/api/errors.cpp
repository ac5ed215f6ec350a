#include "node/api/errors.hpp"

namespace relay::node::api {

http::Response reply(const ApiError& error) {
  return http::error_response(error.status, error.code, error.message);
}

ApiError bad_request(std::string code, std::string message) {
  return {400, std::move(code), std::move(message)};
}

ApiError error_for(services::AccessError e) {
  using E = services::AccessError;
  switch (e) {
    case E::operator_token_missing:
      return {401, "unauthorised", "an operator token is required"};
    case E::not_operator:
      return {403, "forbidden", "not an operator token"};
    case E::auditor_token_missing:
      return {401, "unauthorised", "an auditor token is required"};
    case E::not_auditor:
      return {403, "forbidden", "not an auditor token"};
    case E::member_key_missing:
      return {401, "unauthorised", "a member API key is required"};
    case E::unknown_member_key:
      return {401, "unauthorised", "unknown API key"};
    case E::member_suspended:
      return {403, "member_suspended", "this member is suspended"};
  }
  return {403, "forbidden", "forbidden"};
}

ApiError error_for(console::SessionError e) {
  using E = console::SessionError;
  switch (e) {
    case E::no_session:
      return {401, "no_session", "not signed in, or the session has ended; sign in again"};
    case E::csrf_missing:
      return {403, "csrf_token_required",
              "a request with the session cookie must carry its CSRF token (X-CSRF-Token)"};
    case E::unknown_credential:
      return {401, "unauthorised", "unknown API key or token"};
    case E::cross_site:
      return {403, "cross_site", "sign in from the console of this node"};
  }
  return {403, "forbidden", "forbidden"};
}

ApiError error_for(members::AdmitError e) {
  switch (e) {
    case members::AdmitError::duplicate_name:
      return {409, "duplicate_name", "name: a member with this name exists"};
    case members::AdmitError::bad_contact_email:
      return {400, "bad_field", "contact_email: not an acceptable email address"};
    case members::AdmitError::bad_name:
      break;
  }
  return {400, "bad_field", "name: not acceptable"};
}

ApiError error_for(services::MembershipError e) {
  using E = services::MembershipError;
  switch (e) {
    case E::member_not_found:
      return {404, "not_found", "no such member"};
    case E::unknown_job_category:
      return {400, "bad_field", "job_category: not a known category code (A..K)"};
    case E::link_used:
      return {409, "link_used", "application_id: its single-use link has been used"};
    case E::referral_not_found:
      return {404, "not_found", "no such referral"};
    case E::bad_contact_email:
      return {400, "bad_field", "contact_email: not an acceptable email address"};
  }
  return {404, "not_found", "no such resource"};
}

ApiError error_for(federation::AddError e) {
  using E = federation::AddError;
  switch (e) {
    case E::bad_name:
      return {400, "bad_field", "name: lower-case letters, digits, '.' and '-' only, 1..64"};
    case E::bad_url:
      return {400, "bad_field", "url: must be https://host[:port] without a path"};
    case E::plain_http:
      return {400, "bad_field",
              "url: http:// only to a loopback host; use https:// (or "
              "federation.allow_plain_http on a private network)"};
    case E::bad_fingerprint:
      return {400, "bad_field",
              "fingerprint: 64 lower-case hex digits (SHA-256 of the peer's key)"};
    case E::is_self:
      return {400, "bad_field", "name: that is this node"};
    case E::duplicate:
      return {409, "duplicate", "name: a peer with this name exists"};
    case E::none:
      break;
  }
  return {400, "bad_field", ""};
}

ApiError error_for(services::PeeringError e) {
  switch (e) {
    case services::PeeringError::peer_not_found:
      break;
  }
  return {404, "not_found", "no such peer"};
}

ApiError error_for(services::HandoffError e) {
  using E = services::HandoffError;
  switch (e) {
    case E::own_node:
      return {400, "bad_field", "node: handoffs are from peer nodes, not this one"};
    case E::not_a_peer:
      return {404, "not_found", "node: not an active peer of this node"};
    case E::not_in_pool:
      return {404, "not_found", "ref: no such profile from that node in the pool"};
    case E::not_found:
      return {404, "not_found", "no such handoff"};
    case E::not_delivered:
      return {404, "not_found", "no such delivered handoff"};
  }
  return {404, "not_found", "no such handoff"};
}

ApiError error_for(services::AuditError e) {
  using E = services::AuditError;
  switch (e) {
    case E::bad_inclusion_range:
      return {400, "bad_range", "index must be < size <= the ledger size"};
    case E::from_after_to:
      return {400, "bad_range", "from must be <= to"};
    case E::bad_consistency_range:
      return {400, "bad_range", "need 0 < from <= to <= the ledger size"};
    case E::not_cosigned:
      return {404, "not_found", "no checkpoint of this node has been cosigned yet"};
  }
  return {400, "bad_range", ""};
}

ApiError error_for(services::ManageError e) {
  switch (e) {
    case services::ManageError::not_found:
      break;
  }
  return {404, "not_found", "not a valid link"};
}

ApiError error_for(services::IntroduceError e) {
  using E = services::IntroduceError;
  switch (e) {
    case E::requisition_not_found:
      return {404, "not_found", "requisition: no such requisition of this member"};
    case E::requisition_closed:
      return {409, "requisition_closed", "requisition: it is closed"};
    case E::no_credit:
      return {402, "no_credit", "no introduction credit left"};
    case E::not_in_pool:
      return {404, "not_in_pool", "ref: no such circulating candidate at that node"};
    case E::not_a_peer:
      return {404, "not_a_peer", "node: not this node nor an active peer"};
    case E::already_introduced:
      return {409, "already_introduced",
              "ref: this member already has a live introduction to them"};
  }
  return {400, "bad_request", "bad request"};
}

ApiError error_for(const introductions::IntroductionError& e) {
  using C = introductions::IntroductionError::Code;
  switch (e.code) {
    case C::no_credit:
      return {402, "no_credit", e.message};
    case C::not_found:
      return {404, "not_found", e.message};
    case C::conflict:
      return {409, "conflict", e.message};
    case C::invalid:
      return {400, "bad_field", e.message};
    case C::duplicate:
      return {409, "already_introduced", e.message};
  }
  return {400, "bad_request", e.message};
}

ApiError error_for(const introductions::RequisitionError& e) {
  using C = introductions::RequisitionError::Code;
  switch (e.code) {
    case C::invalid:
      return {400, "bad_field", e.field.empty() ? e.message : e.field + ": " + e.message};
    case C::not_found:
      return {404, "not_found", "no such requisition"};
    case C::closed:
      return {409, "requisition_closed", "the requisition is closed"};
  }
  return {400, "bad_request", e.message};
}

ApiError error_for(services::GrantError e) {
  switch (e) {
    case services::GrantError::member_not_found:
      return {404, "not_found", "no such member"};
    case services::GrantError::invalid:
      return {400, "bad_field", "credits 1..1000 and a reason of 1..200 characters"};
  }
  return {400, "bad_request", "bad request"};
}

ApiError error_for(services::AlumniError e) {
  switch (e) {
    case services::AlumniError::link_used:
      return {409, "link_used", "departure_id: its single-use alumni link has been used"};
  }
  return {409, "link_used", "link used"};
}

ApiError error_for(referrals::ReviewError e) {
  switch (e) {
    case referrals::ReviewError::not_found:
      return {404, "not_found", "no such referral"};
    case referrals::ReviewError::not_in_review:
      return {409, "not_in_review", "this referral is not flagged and waiting for a decision"};
  }
  return {404, "not_found", "no such referral"};
}

ApiError error_for(services::StatisticsError e, bool all_allowed) {
  switch (e) {
    case services::StatisticsError::bad_period:
      return {
          400, "bad_parameter",
          all_allowed ? "period: YYYY-MM (a month, JST) or all" : "period: YYYY-MM (a month, JST)"};
  }
  return {400, "bad_parameter", "period"};
}

ApiError error_for(settlement::SettlementError e) {
  using E = settlement::SettlementError;
  switch (e) {
    case E::disabled:
      return {409, "settlement_disabled", "settlement.enabled is false on this node"};
    case E::unknown_peer:
      return {404, "unknown_peer", "no such peer"};
    case E::peer_inactive:
      return {409, "peer_suspended", "the peer is suspended"};
    case E::statement_pending:
      return {409, "statement_pending",
              "a statement to this peer awaits its countersignature (see GET /api/v1/settlements)"};
  }
  return {404, "unknown_peer", "no such peer"};
}

ApiError error_for(const settlement::NettingFailure& f) {
  using E = settlement::NettingError;
  switch (f.error) {
    case E::disabled:
      return {409, "settlement_disabled", "settlement.enabled is false on this node"};
    case E::too_few:
      return {400, "bad_field", "participants: at least two other nodes, this node's peers"};
    case E::unknown_peer:
      return {404, "unknown_peer", "participant " + f.peer + " is not an active peer"};
    case E::unreachable:
      return {502, "peer_unreachable", "participant " + f.peer + " did not answer"};
    case E::nothing_to_net:
      return {409, "nothing_to_net",
              "no agreed statement among these nodes with a net to cancel (or one was taken by "
              "another netting)"};
    case E::pending:
      return {409, "netting_pending",
              "a netting this node proposed awaits its participants' signatures"};
  }
  return {400, "bad_field", "participants"};
}

ApiError error_for(services::SecondmentError e) {
  using E = services::SecondmentError;
  switch (e) {
    case E::offer_not_found:
      return {404, "not_found", "no such secondment offer"};
    case E::requisition_not_found:
      return {404, "not_found", "no such requisition"};
    case E::not_pairable:
      return {409, "not_pairable",
              "requisition: only secondment or transfer requisitions pair with secondment offers"};
  }
  return {404, "not_found", "no such resource"};
}

}  // namespace relay::node::api
