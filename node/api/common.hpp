#pragma once
// What every API handler shares: strict parsing of JSON bodies, fields and query parameters
// into Result<T, ApiError> (the failure is the 400/415 reply, from errors.hpp), the services
// handlers call, and the registration of each part of the API. Handlers stay thin: parse,
// call ONE service method, format the reply. They never open a transaction.
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "config/reference.hpp"
#include "node/api/errors.hpp"
#include "node/api/routes.hpp"
#include "node/candidates/pages.hpp"
#include "node/common/result.hpp"
#include "node/http/router.hpp"
#include "node/services/access.hpp"
#include "node/services/alumni.hpp"
#include "node/services/audit.hpp"
#include "node/services/candidate_rights.hpp"
#include "node/services/handoff_requests.hpp"
#include "node/services/intake.hpp"
#include "node/services/introducing.hpp"
#include "node/services/membership.hpp"
#include "node/services/operations.hpp"
#include "node/services/peering.hpp"
#include "node/services/review.hpp"
#include "node/services/secondment.hpp"
#include "node/services/statistics.hpp"
#include "node/settlement/netting.hpp"
#include "node/settlement/settlements.hpp"

namespace relay::node::api {

template <class T>
using Parsed = common::Result<T, ApiError>;

// A JSON object body: Content-Type application/json, strict parse (no duplicate keys,
// integers only), an object at the top.
Parsed<nlohmann::json> json_object_body(const Request& request);

// A string field, cleaned (clean_text) to at most max_chars: absent or null -> nullopt (an
// error if required); wrong type or not text -> an error naming it.
Parsed<std::optional<std::string>> string_field(const nlohmann::json& body, const std::string& name,
                                                bool required, std::size_t max_chars);

// Refuses fields not in `allowed` (a typo should not pass silently).
Parsed<common::Done> only_fields(const nlohmann::json& body,
                                 std::initializer_list<const char*> allowed);

// An unsigned integer query parameter; nullopt if absent.
Parsed<std::optional<std::uint64_t>> number_param(const Request& request, const std::string& name);
// The "limit" query parameter: 1..max when given (otherwise a 400 naming it), `absent` when not.
Parsed<std::uint64_t> limit_param(const Request& request, std::uint64_t absent, std::uint64_t max);
// ?limit=N&after=ID of a member's list that pages in the order made (referrals, handoffs).
// Without either: every entry (limit unbounded, after ""), as before paging existed; `after`
// alone: a page of 100; limit 1..1000 (otherwise a 400 naming it).
struct PageParams {
  std::size_t limit = 0;
  std::string after;
  // Neither was given: the whole list, which the lists that grow send as read
  // (list_download.hpp).
  bool whole() const { return limit == std::numeric_limits<std::size_t>::max(); }
};
Parsed<PageParams> page_params(const Request& request);
// What a member's list (referrals, introductions, requisitions) is asked for: its page
// (page_params); ?order= "oldest" (or none: the order made) or "newest" (the last made
// first, a page going on with older ones); ?format=csv (csv.hpp). Anything else is a 400
// naming the parameter.
struct ListParams {
  PageParams page;
  bool newest_first = false;
  bool csv = false;
};
Parsed<ListParams> list_params(const Request& request);

// What the pages and replies show about this node.
struct NodeFacts {
  std::string name;
  std::string public_url;                  // no trailing slash
  std::string consent_version;             // of the consent text on the registration page
  std::string region;                      // the node's prefecture code
  candidates::OperatorInfo operator_info;  // config operator.*: every candidate page's footer
  bool secure_cookies = false;             // the console's cookie gets Secure (TLS, https URL)
};

// The services the handlers call (owned by the composition root, node.hpp).
struct Services {
  const services::Access& access;
  services::CredentialGuard& credential_guard;
  services::RequestLimits& limits;
  services::CandidateRights& candidate_rights;
  services::Intake& intake;
  services::Membership& membership;
  services::Peering& peering;
  services::HandoffRequests& handoff_requests;
  services::Audit& audit;
  services::Introducing& introducing;
  services::Alumni& alumni;
  const services::Secondment& secondment;
  const config::Reference& reference;
  NodeFacts facts;
  const services::Operations& operations;
  services::Review& review;
  console::Sessions& console_sessions;
  services::Statistics& statistics;
  settlement::Settlements& settlements;
  settlement::Nettings& nettings;
  federation::Witness& witness;  // the C2SP tlog-witness routes (witness_routes.cpp)
};

// PUT of a member's contact email ({"contact_email": text | null}), by the operator
// (operator_view: the operator's member view) or the member itself (operator_routes.cpp).
Response set_contact_email(const Services& s, const Request& request, const std::string& id,
                           bool operator_view);
// POST of a new API key for a member (shown once in the reply; the key before it dies), by the
// operator or the member itself, as set_contact_email (operator_routes.cpp).
Response replace_api_key(const Services& s, const std::string& id, bool operator_view);

// The 429 page of the candidate pages (registration_pages.cpp), in the visitor's language.
Response limited_page(const Services& s, const Request& request, std::chrono::seconds wait);

// Registers the routes of each part of the API.
void add_operator_routes(Routes& routes, const Services& s);
void add_member_routes(Routes& routes, const Services& s);
void add_registration_pages(Routes& routes, const Services& s);
void add_management_pages(Routes& routes, const Services& s);
// HTML 404 pages for any other path under /r/: registered after every /r/ route.
void add_unknown_candidate_pages(Routes& routes, const Services& s);
void add_audit_routes(Routes& routes, const Services& s);
// GET /metrics (operations_routes.cpp): Prometheus text of `metrics` and the node's vitals.
void add_metrics_route(Routes& routes, const Services& s, const http::RouteMetrics& metrics);
void add_federation_routes(Routes& routes, const Services& s);
void add_witness_routes(Routes& routes, const Services& s);
void add_handoff_routes(Routes& routes, const Services& s);
void add_introduction_routes(Routes& routes, const Services& s);
// Alumni links and alumni, secondment pairing (circulation_routes.cpp).
void add_circulation_routes(Routes& routes, const Services& s);

// The web console (console_routes.cpp): GET / and /console/assets/{name}, sign-in and
// sign-out (POST, GET, DELETE /console/session).
void add_console_routes(Routes& routes, const Services& s);
// The seeds' KPIs, rejection insight, federated statistics, recruiting spend
// (statistics_routes.cpp).
void add_statistics_routes(Routes& routes, const Services& s);

// Settlement statements between nodes, and multilateral netting (settlement_routes.cpp).
void add_settlement_routes(Routes& routes, const Services& s);

// The operator's review of flagged referrals (review_routes.cpp).
void add_review_routes(Routes& routes, const Services& s);

// All of the above plus /healthz. `services` must outlive the router.
http::Router build_router(const Services& services);

}  // namespace relay::node::api
