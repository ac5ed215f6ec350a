#include "node/federation/pool_index.hpp"

#include <algorithm>
#include <cstring>
#include <memory>
#include <optional>
#include <utility>

#include "crypto/bytes.hpp"
#include "node/storage/map_budget.hpp"
#include "node/storage/txn.hpp"
#include "protocol/canonical_json.hpp"

namespace relay::node::federation {

namespace {

std::string peer_key(const std::string& peer, const std::string& ref) {
  return peer + "/" + ref;
}

// The table's key for an id. A candidate id ("c_", 11 lower-case hex digits of its creation
// time, 12 base64url characters) packs into 15 bytes, within std::string's own buffer, where as
// text it was a heap block per profile: "f" and the digits are 6 bytes (the first 0xf0 or
// more), the characters 9. Any other id stays as it is, with 0x01 put in front if it is 15
// bytes long or starts with 0x01, so no two ids share a key.
std::string slot_key(const std::string& id) {
  const std::string_view text = id;
  const bool lower_hex =
      std::none_of(text.begin() + std::min<std::size_t>(2, text.size()),
                   text.begin() + std::min<std::size_t>(13, text.size()),
                   [](char c) { return c >= 'A' && c <= 'F'; });  // from_hex takes either case
  std::optional<crypto::Bytes> time, random;
  if (text.size() == 25 && text.starts_with("c_") && lower_hex &&
      (time = crypto::from_hex("f" + id.substr(2, 11))) &&
      (random = crypto::from_base64url(text.substr(13)))) {
    std::string key(time->begin(), time->end());
    key.append(random->begin(), random->end());
    return key;
  }
  return id.size() == 15 || id.starts_with('\x01') ? '\x01' + id : id;
}

}  // namespace

void PoolIndex::SkillCodes::assign(const std::vector<Code>& codes) {
  static_assert(sizeof(Code*) <= sizeof codes_);
  release();
  if (codes.size() <= kInline) {
    // std::copy, not memcpy: an empty vector's data() may be null (UBSan).
    std::copy(codes.begin(), codes.end(), codes_);
  } else {
    Code* block = new Code[codes.size()];
    std::memcpy(block, codes.data(), codes.size() * sizeof(Code));
    std::memcpy(codes_, &block, sizeof block);
  }
  count_ = static_cast<std::uint32_t>(codes.size());
}

PoolIndex::Code* PoolIndex::SkillCodes::heap() const noexcept {
  Code* block = nullptr;
  std::memcpy(&block, codes_, sizeof block);
  return block;
}

void PoolIndex::SkillCodes::release() noexcept {
  if (count_ > kInline) delete[] heap();
  count_ = 0;
}

void PoolIndex::SkillCodes::take(SkillCodes& other) noexcept {
  std::memcpy(codes_, other.codes_, sizeof codes_);
  count_ = other.count_;
  other.count_ = 0;  // the block, if any, is ours now
}

void PoolIndex::Table::put(const std::string& id, Entry entry) {
  entry.live = true;
  const auto slot = slot_of.insert(slot_key(id)).first;
  if (slot < entries.size()) {
    if (entries[slot].live) unlist(slot);  // the same id again: its category may change
    entries[slot] = std::move(entry);
  } else {
    entries.push_back(std::move(entry));  // a new slot is always the next one
  }
  list(slot);
}

void PoolIndex::Table::reserve(std::size_t n) {
  entries.reserve(n);
  slot_of.reserve(n);
}

void PoolIndex::Table::remove(const std::string& id) {
  auto slot = slot_of.erase(slot_key(id));
  if (!slot) return;
  unlist(*slot);
  entries[*slot] = Entry{};  // not live; its skills and ref freed
}

void PoolIndex::Table::list(std::uint32_t slot) {
  auto& slots = by_job[entries[slot].job_category];
  slots.insert(std::lower_bound(slots.begin(), slots.end(), slot), slot);  // at the end, mostly
}

void PoolIndex::Table::unlist(std::uint32_t slot) {
  auto list = by_job.find(entries[slot].job_category);  // list() made it: find, not create
  if (list == by_job.end()) return;
  auto& slots = list->second;
  auto it = std::lower_bound(slots.begin(), slots.end(), slot);
  if (it != slots.end() && *it == slot) slots.erase(it);
}

PoolIndex::PoolIndex(Federation& federation, candidates::Store& store, ProfileExchange& exchange,
                     std::string self_name, std::string self_region)
    : federation_(federation),
      env_(federation.env()),
      store_(store),
      exchange_(exchange),
      self_name_(std::move(self_name)),
      self_region_(std::move(self_region)),
      // Background: at start the build reads every candidate for seconds, and requests come
      // first. A search that comes during the build waits for it at either priority; the
      // build has the cores whenever requests leave them idle.
      loop_(
          "pool-index", std::chrono::seconds(1),
          [this] {
            build();
            refresh();
          },
          common::LoopPriority::background) {
  store_.on_saved([changes = changes_](const candidates::CandidateRecord& r,
                                       const candidates::Profile* opened) {
    const bool pooled = r.in_regional_pool();
    std::lock_guard lock(changes->mutex);
    auto& change = changes->pending_local[r.id];
    change.pooled |= pooled;
    if (opened && pooled) change.carried = Carried{r.sealed_data(), *opened};
  });
  exchange_.on_pool_change([changes = changes_](const std::string& peer, const std::string& ref) {
    std::lock_guard lock(changes->mutex);
    changes->pending_peer.emplace(peer, ref);
  });
  // Names written by a batch that failed to commit wait for the next commit: read again
  // then, they are simply unchanged.
  federation.writer().on_commit([changes = changes_] {
    std::lock_guard lock(changes->mutex);
    for (auto& [id, change] : changes->pending_local) {
      auto& changed = changes->changed_local[id];
      changed.pooled |= change.pooled;
      if (change.carried) changed.carried = std::move(change.carried);
    }
    changes->pending_local.clear();
    changes->changed_peer.merge(changes->pending_peer);
    // What merge() left behind was changed already: kept, it would be walked again at every
    // commit until a refresh (10% of the writer's time under 3.6k registrations/s).
    changes->pending_peer.clear();
    if (!changes->changed_local.empty() || !changes->changed_peer.empty()) ++changes->commits;
  });
}

PoolIndex::~PoolIndex() {
  stop();
}

void PoolIndex::stop() {
  stopping_.store(true);
  loop_.stop();
}

PoolIndex::Code PoolIndex::code(std::string_view text) {
  if (auto it = codes_.find(std::string(text)); it != codes_.end()) return it->second;
  auto c = static_cast<Code>(texts_.size());
  texts_.emplace_back(text);
  protocol::append_json_string(quoted_.emplace_back(), text);
  codes_.emplace(std::string(text), c);
  return c;
}

std::optional<PoolIndex::Code> PoolIndex::known(std::string_view text) const {
  if (auto it = codes_.find(std::string(text)); it != codes_.end()) return it->second;
  return std::nullopt;
}

PoolIndex::Code PoolIndex::head_of(const Entry& e) {
  const std::array<Code, 5> key{e.node, e.age_band, e.experience_band, e.job_category,
                                e.prefecture};
  if (auto it = head_codes_.find(key); it != head_codes_.end()) return it->second;
  // PoolHit::to_json()'s keys in the order dump() writes them (sorted), no whitespace.
  std::string head = "{\"node\":" + quoted_[e.node] +
                     ",\"profile\":{\"age_band\":" + quoted_[e.age_band] +
                     ",\"experience_band\":" + quoted_[e.experience_band] +
                     ",\"job_category\":" + quoted_[e.job_category] +
                     ",\"prefecture\":" + quoted_[e.prefecture] + ",\"skills\":[";
  auto c = static_cast<Code>(heads_.size());
  heads_.push_back(std::move(head));
  head_codes_.emplace(key, c);
  return c;
}

std::optional<nlohmann::json> PoolIndex::pooled_profile(const candidates::CandidateRecord& r,
                                                        const Carried* carried) {
  if (!r.in_regional_pool()) return std::nullopt;
  if (carried && carried->sealed == r.sealed_data()) return anonymised_profile(carried->profile);
  opened_.fetch_add(1, std::memory_order_relaxed);
  auto opened = store_.open(r);
  if (!opened) return std::nullopt;
  return anonymised_profile(opened->profile);
}

std::optional<PoolIndex::Entry> PoolIndex::local_entry(const std::string& id,
                                                       const nlohmann::json& profile) {
  return entry_from(code(self_name_), code(self_region_), profile, exchange_.ref_of(id), 0);
}

std::optional<PoolIndex::Entry> PoolIndex::entry_from(Code node, Code region,
                                                      const nlohmann::json& p,
                                                      const std::string& ref, std::int64_t seq) {
  if (!valid_ref(ref)) return std::nullopt;
  Entry e;
  std::memcpy(e.ref.data(), ref.data(), e.ref.size());
  e.node = node;
  e.region = region;
  auto field = [&](const char* name) {
    auto it = p.find(name);
    return code(it != p.end() && it->is_string() ? it->get_ref<const std::string&>() : "");
  };
  e.job_category = field("job_category");
  e.prefecture = field("prefecture");
  e.age_band = field("age_band");
  e.experience_band = field("experience_band");
  if (auto it = p.find("skills"); it != p.end() && it->is_array()) {
    std::vector<Code> skills;
    for (const auto& s : *it)
      if (s.is_string()) skills.push_back(code(s.get_ref<const std::string&>()));
    e.skills.assign(skills);
  }
  e.head = head_of(e);
  e.seq = seq;
  return e;
}

void PoolIndex::build() {
  // Records read per read txn, and between releases of the pages they mapped (below).
  constexpr std::size_t kPerTxn = 1024;
  // Every search calls this: once built, no lock at all (an exclusive one here serialised
  // every search behind every other).
  if (built_.load() || stopping_.load()) return;
  std::unique_lock lock(mutex_);
  if (built_.load()) return;
  // Room for every record at once. Grown by doubling, each table copied itself into a block
  // twice the size and freed the old one, and jemalloc keeps freed pages resident for seconds
  // (its decay): at 1M candidates the build put VmHWM at 213-215 MiB (bench-scale), past the
  // 200 MiB target; reserved, 181 MiB, as with jemalloc's decay off. The room of records not
  // in the pool is never written, so never resident.
  {
    auto txn = env_.begin_read();
    local_.reserve(store_.count(txn));
  }
  // A record written after its chunk was read is among the changed names: the first search
  // reads it again.
  std::string from;
  for (bool more = true; more;) {
    more = false;
    std::size_t seen = 0;
    auto txn = env_.begin_read();
    store_.for_each(
        txn,
        [&](const candidates::CandidateRecord& r) {
          if (stopping_.load(std::memory_order_relaxed)) return false;  // more stays false
          if (++seen > kPerTxn) {
            from = r.id;
            more = true;
            return false;
          }
          if (auto profile = pooled_profile(r))
            if (auto e = local_entry(r.id, *profile)) local_.put(r.id, std::move(*e));
          return true;
        },
        from);
    // The build reads every record once: the pages it mapped (most of data.mdb on a large
    // node, ~1.1 GiB of VmRSS at 200k candidates) would stay mapped for the life of the
    // process, and nothing reads most of them again. Released after each chunk, they stay
    // in the page cache; a later read maps the few it needs.
    storage::release_pages_read_once(env_);
  }
  if (stopping_.load()) return;  // unfinished: not built
  {
    auto txn = env_.begin_read();
    for (auto& held : exchange_.held(txn))
      if (auto e = entry_from(code(held.peer), code(held.region), held.profile, held.ref, held.seq))
        peers_.put(peer_key(held.peer, held.ref), std::move(*e));
  }
  built_.store(true);
}

void PoolIndex::start() {
  if (stopping_.load()) return;
  loop_.start();
  loop_.wake();
}

std::size_t PoolIndex::size() const {
  std::shared_lock lock(mutex_);
  return local_.slot_of.size() + peers_.slot_of.size();
}

void PoolIndex::refresh() {
  // Every change committed is applied already: the common case, decided without a lock.
  // (applied_ moves only once a refresh has applied what it took, so a search that finds the
  // counts equal has nothing to wait for.)
  if (changes_->commits.load() == applied_.load()) return;
  std::lock_guard serial(refresh_mutex_);
  std::map<std::string, LocalChange> local;
  std::set<std::pair<std::string, std::string>> peer;
  std::uint64_t taken = 0;
  {
    std::lock_guard lock(changes_->mutex);
    local.swap(changes_->changed_local);
    peer.swap(changes_->changed_peer);
    taken = changes_->commits.load();
  }
  if (local.empty() && peer.empty()) {
    applied_.store(taken);
    return;
  }
  // A record saved only outside the pool, and not in the index, stays out: nothing to read.
  // (One that was in the pool was read when it joined, so the index holds it.)
  {
    std::shared_lock lock(mutex_);
    std::erase_if(local, [this](const auto& change) {
      return !change.second.pooled && !local_.slot_of.find(slot_key(change.first));
    });
  }
  // Read (and open) outside the index lock; searches go on meanwhile.
  std::vector<std::pair<std::string, std::optional<nlohmann::json>>> locals;
  std::vector<std::pair<std::string, std::optional<PoolEntry>>> peers;
  {
    auto txn = env_.begin_read();
    for (const auto& [id, change] : local) {
      auto r = store_.find(txn, id);
      const Carried* carried = change.carried ? &*change.carried : nullptr;
      locals.emplace_back(id, r ? pooled_profile(*r, carried) : std::nullopt);
    }
    for (const auto& [p, ref] : peer)
      peers.emplace_back(peer_key(p, ref), exchange_.pool_entry(txn, p, ref));
  }
  std::unique_lock lock(mutex_);
  for (const auto& [id, profile] : locals) {
    auto e = profile ? local_entry(id, *profile) : std::nullopt;
    if (e)
      local_.put(id, std::move(*e));
    else
      local_.remove(id);
  }
  for (auto& [key, held] : peers) {
    auto e =
        held ? entry_from(code(held->peer), code(held->region), held->profile, held->ref, held->seq)
             : std::nullopt;
    if (e)
      peers_.put(key, std::move(*e));
    else
      peers_.remove(key);
  }
  applied_.store(taken);
}

std::unordered_map<PoolIndex::Code, PoolIndex::PeerView> PoolIndex::catch_up() {
  build();  // at once if built; waits for a build under way
  refresh();
  std::vector<std::pair<std::string, PeerView>> views;
  {
    auto txn = env_.begin_read();
    for (const auto& p : federation_.peers().list(txn))
      views.emplace_back(
          p.name, PeerView{p.active, p.active ? exchange_.hidden_seq(txn, p.name) : std::nullopt});
  }
  std::unordered_map<Code, PeerView> out;
  std::shared_lock lock(mutex_);
  for (auto& [name, view] : views)
    if (auto c = known(name)) out[*c] = view;
  return out;
}

template <class Fn>
void PoolIndex::each_listed(const std::unordered_map<Code, PeerView>& views, Fn fn,
                            std::optional<Code> job) const {
  // A peer's entry is listed while the peer is active and has not hidden that message's
  // profiles.
  auto shown = [&views](const Entry& e) {
    auto it = views.find(e.node);
    return it != views.end() && it->second.active && it->second.hidden_seq != e.seq;
  };
  if (job) {
    for (const Table* table : {&local_, &peers_}) {
      auto list = table->by_job.find(*job);
      if (list == table->by_job.end()) continue;
      for (auto slot : list->second) {
        const Entry& e = table->entries[slot];
        if ((table == &local_ || shown(e)) && !fn(e)) return;
      }
    }
    return;
  }
  for (const auto& e : local_.entries)
    if (e.live && !fn(e)) return;
  for (const auto& e : peers_.entries)
    if (e.live && shown(e) && !fn(e)) return;
}

PoolProfileView PoolIndex::view_of(const Entry& e) const {
  PoolProfileView v{texts_[e.node],
                    texts_[e.region],
                    e.ref_text(),
                    texts_[e.job_category],
                    texts_[e.prefecture],
                    texts_[e.age_band],
                    texts_[e.experience_band],
                    {}};
  v.skills.reserve(e.skills.size());
  for (auto s : e.skills) v.skills.push_back(texts_[s]);
  return v;
}

template <class Add>
bool PoolIndex::each_match(const PoolQuery& query, std::size_t limit, std::size_t offset, Add add) {
  // Each set field as a code; a value no profile has matches nothing.
  struct Wanted {
    std::optional<Code> job_category, prefecture, skill, age_band, experience_band;
  } want;
  bool impossible = false;
  auto wanted = [&](const std::optional<std::string>& text, std::optional<Code>& out) {
    if (!text) return;
    out = known(*text);
    if (!out) impossible = true;
  };
  auto matches = [&](const Entry& e) {
    if (want.job_category && e.job_category != *want.job_category) return false;
    if (want.prefecture && e.prefecture != *want.prefecture) return false;
    if (want.age_band && e.age_band != *want.age_band) return false;
    if (want.experience_band && e.experience_band != *want.experience_band) return false;
    return !want.skill ||
           std::find(e.skills.begin(), e.skills.end(), *want.skill) != e.skills.end();
  };

  const auto views = catch_up();
  std::shared_lock lock(mutex_);
  wanted(query.job_category, want.job_category);
  wanted(query.prefecture, want.prefecture);
  wanted(query.skill, want.skill);
  wanted(query.age_band, want.age_band);
  wanted(query.experience_band, want.experience_band);
  if (impossible) return false;
  std::size_t added = 0;
  std::size_t skipped = 0;
  bool truncated = false;
  each_listed(
      views,
      [&](const Entry& e) {
        if (!matches(e)) return true;
        if (skipped < offset) {
          ++skipped;
          return true;
        }
        if (added == limit) {
          truncated = true;
          return false;
        }
        ++added;
        add(e);
        return true;
      },
      want.job_category);
  return truncated;
}

PoolResult PoolIndex::search(const PoolQuery& query, std::size_t limit, std::size_t offset) {
  PoolResult result;
  result.truncated = each_match(query, limit, offset, [&](const Entry& e) {
    PoolProfile p{texts_[e.job_category],
                  texts_[e.prefecture],
                  texts_[e.age_band],
                  texts_[e.experience_band],
                  {}};
    p.skills.reserve(e.skills.size());
    for (auto c : e.skills) p.skills.push_back(texts_[c]);
    result.hits.push_back(
        {texts_[e.node], texts_[e.region], std::string(e.ref_text()), std::move(p)});
  });
  return result;
}

std::string PoolIndex::search_json(const PoolQuery& query, std::size_t limit, std::size_t offset) {
  // Written through `at` into a buffer grown only now and then: resizing a string for each hit
  // (zero-filling, then cutting back) cost as much as writing the hit (callgrind, 150 hits),
  // and zero-filling one of 32 KiB was 40% of a search of 20 hits. The buffer is not
  // zero-filled; the string is made once, of the bytes written.
  std::size_t capacity = 32 * 1024;  // about 150 hits
  auto buffer = std::make_unique_for_overwrite<char[]>(capacity);
  static constexpr std::string_view kOpen = "{\"profiles\":[";
  std::memcpy(buffer.get(), kOpen.data(), kOpen.size());
  std::size_t used = kOpen.size();
  bool first = true;
  const bool truncated = each_match(query, limit, offset, [&](const Entry& e) {
    // The hit's node and bands are one interned head (head_of()). A ref is valid_ref()
    // (checked when indexed), so it needs no escaping.
    static constexpr std::string_view kRef = "]},\"ref\":\"";
    static constexpr std::string_view kRegion = "\",\"region\":";
    const std::string& head = heads_[e.head];
    const std::string& region = quoted_[e.region];
    std::size_t bound =
        1 + head.size() + kRef.size() + e.ref.size() + kRegion.size() + region.size() + 1;
    for (auto skill : e.skills) bound += quoted_[skill].size() + 1;
    if (capacity - used < bound) {
      capacity = std::max(2 * capacity, used + bound);
      auto grown = std::make_unique_for_overwrite<char[]>(capacity);
      std::memcpy(grown.get(), buffer.get(), used);
      buffer = std::move(grown);
    }
    char* at = buffer.get() + used;
    auto put = [&at](std::string_view piece) {
      std::memcpy(at, piece.data(), piece.size());
      at += piece.size();
    };
    if (!first) *at++ = ',';
    first = false;
    put(head);
    for (std::size_t k = 0; k < e.skills.size(); ++k) {
      if (k) *at++ = ',';
      put(quoted_[e.skills[k]]);
    }
    // Fixed sizes: the compiler copies these inline.
    std::memcpy(at, kRef.data(), kRef.size());
    at += kRef.size();
    std::memcpy(at, e.ref.data(), e.ref.size());
    at += e.ref.size();
    std::memcpy(at, kRegion.data(), kRegion.size());
    at += kRegion.size();
    put(region);
    *at++ = '}';
    used = static_cast<std::size_t>(at - buffer.get());
  });
  std::string out;
  static constexpr std::string_view kTruncated = "],\"truncated\":true}";
  out.reserve(used + kTruncated.size() + 1);
  out.append(buffer.get(), used);
  out += truncated ? "],\"truncated\":true}" : "],\"truncated\":false}";
  return out;
}

void PoolIndex::for_each(const std::function<bool(const PoolProfileView&)>& fn) {
  const auto views = catch_up();
  std::shared_lock lock(mutex_);
  each_listed(views, [&](const Entry& e) { return fn(view_of(e)); });
}

matching::ProfileFeatures PoolProfileView::features(bool alumnus) const {
  return {ref, node, job_category, prefecture, experience_band, age_band, skills, {}, alumnus};
}

}  // namespace relay::node::federation
