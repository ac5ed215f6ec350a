#include "node/services/statistics.hpp"

#include <map>

#include "node/statistics/kpis.hpp"
#include "node/statistics/period.hpp"

namespace relay::node::services {

using nlohmann::json;
namespace st = relay::node::statistics;

namespace {

json cells_json(const std::vector<st::TableCell>& cells) {
  auto out = json::array();
  for (const auto& c : cells) out.push_back(protocol::StatisticsTable::cell_json(c));
  return out;
}

json retention(std::uint64_t hired, std::uint64_t retained) {
  return {{"hired", hired},
          {"retained_6m", retained},
          {"rate", hired == 0 ? json(nullptr)
                              : json(static_cast<double>(retained) / static_cast<double>(hired))}};
}

}  // namespace

Statistics::Statistics(storage::Environment& env, storage::Writer& writer,
                       federation::Federation& federation, ledger::Ledger& ledger,
                       members::Registry& members, referrals::Referrals& referrals,
                       referrals::CreditAccounts& credits, st::Tally& tally,
                       const common::Clock& clock, StatisticsSettings settings)
    : env_(env),
      writer_(writer),
      federation_(federation),
      members_(members),
      credits_(credits),
      tally_(tally),
      tables_(env),
      attribution_(env, ledger, members, referrals),
      clock_(clock),
      settings_(settings) {
  federation_.on<protocol::StatisticsTable>(
      [this](storage::WriteTxn& txn, const protocol::StatisticsTable& m, const protocol::Envelope&,
             const federation::Peer& p) { return on_table(txn, m, p); });
}

common::Result<json, StatisticsError> Statistics::kpis(const members::Member* member,
                                                       const std::string& period) const {
  if (period != st::kAll && !st::is_period(period))
    return common::fail(StatisticsError::bad_period);
  auto txn = env_.begin_read();
  const auto scope = member ? st::Tally::member_scope(member->id) : st::Tally::node_scope();
  st::KpiInputs in;
  in.counters = tally_.counters(txn, scope, period);
  in.agency_fee_yen = settings_.agency_fee_yen;
  in.reemployment_days = settings_.reemployment_days;
  // The social hiring impact: a member's is HireAttribution's own figure; the node's counts
  // each person once (hired by someone other than a member who referred them).
  if (member) {
    auto impact = period == st::kAll ? attribution_.impact(txn, member->id)
                                     : attribution_.impact_in(txn, member->id, period);
    in.impact_hired = impact.referred_hired;
    in.impact_retained_6m = impact.referred_retained_6m;
  } else {
    in.impact_hired = in.counters.hired_elsewhere;
    in.impact_retained_6m = in.counters.retained_elsewhere;
  }
  const auto spend_key = member ? member->id : std::string("*node");
  in.spend_yen = tally_.spend(txn, spend_key, period);

  auto trend = json::array();
  const auto last = period == st::kAll ? st::period_of(clock_.now_ms()) : period;
  for (const auto& p : st::months_until(last, 12))
    trend.push_back(st::trend_row(p, tally_.counters(txn, scope, p)));

  // Credits: earned = minted + granted, spent = net of refunds (the node: every member's).
  referrals::Account account;
  auto add = [&](const referrals::Account& a) {
    account.minted += a.minted;
    account.granted += a.granted;
    account.spent += a.spent;
    account.refunded += a.refunded;
  };
  if (member)
    add(credits_.account(txn, member->id));
  else
    for (const auto& m : members_.list(txn)) add(credits_.account(txn, m.id));
  const auto spent = account.spent >= account.refunded ? account.spent - account.refunded : 0;
  return json{{"scope", member ? "member" : "node"},
              {"period", period},
              {"kpis", st::kpis_json(in)},
              {"funnel", st::funnel_json(in.counters)},
              {"trend", std::move(trend)},
              {"credits",
               {{"earned", account.minted + account.granted},
                {"spent", spent},
                {"balance", account.balance()}}}};
}

json Statistics::insight(const members::Member& member) const {
  auto txn = env_.begin_read();
  auto built = st::build_destinations(tally_.destinations(txn, member.id), settings_.thresholds);
  auto destinations = json::array();
  for (const auto& d : built.released)
    destinations.push_back(
        {{"job_category", d.job_category}, {"prefecture", d.prefecture}, {"count", d.count}});
  const auto all = tally_.counters(txn, st::Tally::member_scope(member.id), st::kAll);
  const auto impact = attribution_.impact(txn, member.id);
  return {{"destinations", std::move(destinations)},
          {"suppressed_cells", built.suppressed},
          {"retention",
           {{"own_hires", retention(all.own_introduction_hires, all.own_retained_6m)},
            {"rejected_hired_elsewhere",
             retention(impact.referred_hired, impact.referred_retained_6m)}}}};
}

common::Result<json, StatisticsError> Statistics::view(const std::string& requested) const {
  const auto period = requested.empty() ? st::period_of(clock_.now_ms()) : requested;
  if (!st::is_period(period)) return common::fail(StatisticsError::bad_period);
  auto txn = env_.begin_read();
  auto own = tables_.own(txn, period);
  auto peers = tables_.peers(txn, period);
  auto peers_json = json::array();
  for (const auto& p : peers)
    peers_json.push_back({{"peer", p.peer},
                          {"period", p.period},
                          {"received_ms", p.received_ms},
                          {"cells", p.cells.size()}});
  const std::vector<st::TableCell> none;
  return json{{"own",
               {{"period", period},
                {"generated_ms", own ? own->generated_ms : 0},
                {"suppressed_cells", own ? own->suppressed : 0},
                {"cells", cells_json(own ? own->cells : none)}}},
              {"peers", std::move(peers_json)},
              {"consortium", {{"cells", cells_json(st::combine(own ? own->cells : none, peers))}}}};
}

json Statistics::publish(bool force) {
  std::lock_guard one_at_a_time(publishing_);
  const auto now = clock_.now_ms();
  const auto current = st::period_of(now);
  std::vector<st::OwnTable> tables;
  {
    auto txn = env_.begin_read();
    for (const auto& period : {st::previous_period(current), current})
      tables.push_back(
          st::build_table(period, tally_.period_rows(txn, period), settings_.thresholds, now));
  }
  return writer_.submit_wait([&](storage::WriteTxn& txn) {
    auto published = json::array();
    for (const auto& table : tables) {
      const auto& period = table.period;
      tables_.save_own(txn, table);
      auto sent_to = json::array();
      if (tables_.mark_sent(txn, table) || force) {
        for (const auto& peer : federation_.peers().list(txn)) {
          if (!peer.active) continue;
          for (const auto& message : st::to_messages(table))
            federation_.enqueue(txn, peer.name, message);
          sent_to.push_back(peer.name);
        }
      }
      published.push_back({{"period", period},
                           {"cells", table.cells.size()},
                           {"suppressed_cells", table.suppressed},
                           {"sent_to", std::move(sent_to)}});
    }
    return json{{"published", std::move(published)}};
  });
}

common::Result<json, StatisticsError> Statistics::set_spend(const members::Member& member,
                                                            std::uint64_t yen,
                                                            const std::string& period) {
  if (!period.empty() && !st::is_period(period)) return common::fail(StatisticsError::bad_period);
  // An entry without a month is "undated"; "all" (the all-time figure) is the undated entry
  // plus every month, and the node's ("*node": never a member id) every member's.
  const auto key = period.empty() ? std::string("undated") : period;
  writer_.submit_wait([&](storage::WriteTxn& txn) {
    const auto before = tally_.spend(txn, member.id, key).value_or(0);
    tally_.set_spend(txn, member.id, key, yen);
    auto adjust = [&](const std::string& scope, const std::string& k) {
      tally_.set_spend(txn, scope, k, tally_.spend(txn, scope, k).value_or(0) + yen - before);
    };
    adjust(member.id, std::string(st::kAll));
    adjust("*node", std::string(st::kAll));
    if (!period.empty()) adjust("*node", period);
  });
  return json{{"yen", yen}, {"period", period.empty() ? json(nullptr) : json(period)}};
}

federation::HandlerResult Statistics::on_table(storage::WriteTxn& txn,
                                               const protocol::StatisticsTable& m,
                                               const federation::Peer& peer) {
  const bool stored = tables_.receive(txn, peer.name, m, clock_.now_ms());
  return federation::HandlerResult::accept(
      {{"period", m.period}, {"part", m.part}, {"stored", stored}});
}

std::vector<matching::OutcomePrior> Statistics::peer_priors() const {
  std::map<std::pair<std::string, std::string>, matching::OutcomePrior> sums;
  auto txn = env_.begin_read();
  for (const auto& period : statistics::months_until(statistics::period_of(clock_.now_ms()), 12))
    for (const auto& table : tables_.peers(txn, period))
      for (const auto& cell : table.cells) {
        auto& prior = sums[{cell.job_category, cell.prefecture}];
        prior.job_category = cell.job_category;
        prior.prefecture = cell.prefecture;
        prior.introductions += cell.introductions;
        prior.hires += cell.hires;
        prior.retained_6m += cell.retained_6m;
      }
  std::vector<matching::OutcomePrior> out;
  for (auto& [key, prior] : sums) out.push_back(std::move(prior));
  return out;
}

}  // namespace relay::node::services
