#pragma once
// The pool a member searches and matches against (pool_search.hpp), indexed in memory: this
// node's candidates in the regional pool and the profiles peers circulate to us, each as its
// five anonymised fields and its ref. A search or a ranking then reads no record and opens no
// key; before, every search decrypted every profile (a key-slot read and an AEAD open each).
//
// What it holds is what circulates anyway (job category, prefecture, skills, age and
// experience bands: no name, no contact, no candidate id leaves it), interned as small codes,
// and only in memory: nothing is written to disk, so an erased candidate leaves no copy here
// once the commit that erased it has been seen.
//
// Kept current without scanning: candidates::Store::on_saved and
// ProfileExchange::on_pool_change name every record written (on the writer thread, in the
// txn); after each durable commit (Writer::on_commit) those names become "changed", and the
// next search reads just those again before it answers. So a search sees every commit that
// was acknowledged before it began. Which peers are active and which of their syncs timed out
// is read per search (a few keys), as ProfileExchange::peer_pool does.
//
// build() reads everything once, local records in read txns of a few thousand each (a long
// read txn would hold up map growth). start() does it on a thread of its own, so start-up
// does not wait (searches until then wait for it), and then reads the changed names every
// second, so they stay few however long nobody searches.
//
// Threads: any. Searches share the index; refreshing the changed names is serialised.
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "node/candidates/candidate_store.hpp"
#include "node/common/background_loop.hpp"
#include "node/common/slot_map.hpp"
#include "node/federation/federation.hpp"
#include "node/federation/pool_search.hpp"
#include "node/federation/profile_exchange.hpp"
#include "node/matching/scorer.hpp"
#include "node/storage/environment.hpp"

namespace relay::node::federation {

// One profile of the pool as the matcher reads it (views into the index, valid during the
// for_each call).
struct PoolProfileView {
  std::string_view node;
  std::string_view region;
  std::string_view ref;
  std::string_view job_category;
  std::string_view prefecture;
  std::string_view age_band;
  std::string_view experience_band;
  std::vector<std::string_view> skills;

  // As the matcher scores it; alumnus: of the member asking (services/alumni.hpp).
  matching::ProfileFeatures features(bool alumnus) const;
};

class PoolIndex {
 public:
  // Installs the hooks on store, exchange and the federation's writer; reads nothing yet.
  PoolIndex(Federation& federation, candidates::Store& store, ProfileExchange& exchange,
            std::string self_name, std::string self_region);
  ~PoolIndex();
  PoolIndex(const PoolIndex&) = delete;
  PoolIndex& operator=(const PoolIndex&) = delete;

  // Reads every pool record, once: returns at once when built, waits for a build under way.
  // A search before start() builds here and now.
  void build();
  // Builds on the index's own thread, then refreshes there every second.
  void start();
  // Stops that thread; a build under way ends at its next record, unfinished, and no build
  // starts after. The node calls it when it stops: a node stopped during its start-up build
  // read on until the build was done (24.5 s at 1M candidates).
  void stop();

  // As search_pool(): local matches first, then the peers'; at most `limit` hits, after the
  // first `offset` matches (one page; truncated: more follow). The order is the index's: a
  // profile that joins or leaves between two pages may shift the next one by a hit.
  PoolResult search(const PoolQuery& query, std::size_t limit, std::size_t offset = 0);
  // The same search as the reply of GET /api/v1/pool, {"profiles": [hit.to_json()...],
  // "truncated": b}, byte for byte as nlohmann's dump() of that tree, written straight from
  // the index: a reply lists up to hundreds of profiles, and building their JSON objects, or
  // even copying the hits out, was most of a search's cost.
  std::string search_json(const PoolQuery& query, std::size_t limit, std::size_t offset = 0);
  // Every profile in the pool, local first; `fn` returns false to stop.
  void for_each(const std::function<bool(const PoolProfileView&)>& fn);
  // Profiles indexed (local and held from peers, listed or not).
  std::size_t size() const;
  // Local records the index has opened (their key slot read, their data decrypted) to learn
  // their profile, by build() and refresh() together.
  std::uint64_t records_opened() const { return opened_.load(); }

 private:
  using Code = std::uint32_t;
  // A profile's skill codes: up to three inside the entry (most profiles), more in one heap
  // block of their own. A std::vector was 24 bytes and a heap block for every profile.
  class SkillCodes {
   public:
    SkillCodes() noexcept = default;
    SkillCodes(SkillCodes&& other) noexcept { take(other); }
    SkillCodes& operator=(SkillCodes&& other) noexcept {
      if (this != &other) {
        release();
        take(other);
      }
      return *this;
    }
    SkillCodes(const SkillCodes&) = delete;
    SkillCodes& operator=(const SkillCodes&) = delete;
    ~SkillCodes() { release(); }

    void assign(const std::vector<Code>& codes);
    const Code* begin() const noexcept { return count_ > kInline ? heap() : inline_codes(); }
    const Code* end() const noexcept { return begin() + count_; }
    std::size_t size() const noexcept { return count_; }
    Code operator[](std::size_t i) const noexcept { return begin()[i]; }

   private:
    static constexpr std::uint32_t kInline = 3;
    const Code* inline_codes() const noexcept { return codes_; }
    Code* heap() const noexcept;
    void release() noexcept;
    void take(SkillCodes& other) noexcept;

    std::uint32_t count_ = 0;
    Code codes_[kInline] = {};  // the codes, or past kInline the heap block's address (memcpy)
  };
  struct Entry {
    Code node = 0;
    Code region = 0;
    Code job_category = 0;
    Code prefecture = 0;
    Code age_band = 0;
    Code experience_band = 0;
    Code head = 0;  // heads_: the reply's text up to the skills (head_of())
    // valid_ref(): "p_" and 24 hex digits, inline. As a std::string it was a heap block of
    // its own per profile (past the short-string buffer): 56 bytes of about 300 at 1M.
    std::array<char, 26> ref{};
    bool live = false;  // after ref, in its padding: the entry stays 80 bytes
    SkillCodes skills;
    std::int64_t seq = 0;  // peers' entries: the message that brought it

    std::string_view ref_text() const { return {ref.data(), ref.size()}; }
  };
  // Entries in slots; a removed entry's slot is reused.
  struct Table {
    std::vector<Entry> entries;
    // By slot_key(id) (pool_index.cpp): a candidate id packed into the string's own buffer.
    // An unordered_map took 76 bytes a profile here, the slot map 42.
    common::SlotMap slot_of;
    // The slots of live entries by job category, each list in slot order: a search for one
    // category reads only its profiles (reading every profile was 30k of a search's 165k
    // instructions at 3,000 profiles, callgrind).
    std::unordered_map<Code, std::vector<std::uint32_t>> by_job;
    void put(const std::string& id, Entry entry);  // id: a candidate id, or "peer/ref"
    void reserve(std::size_t n);  // room for n entries, made resident only as they are filled
    void remove(const std::string& id);

   private:
    void list(std::uint32_t slot);    // into by_job, under the entry's category
    void unlist(std::uint32_t slot);  // out of it (the entry still holds its category)
  };
  // What a search needs to know of each peer's entries: listed or hidden.
  struct PeerView {
    bool active = false;
    std::optional<std::int64_t> hidden_seq;
  };

  Code code(std::string_view text);                        // interns (exclusive lock held)
  std::optional<Code> known(std::string_view text) const;  // shared lock held
  // Interns the entry's node and profile bands as search_json writes them, up to its skills
  // (exclusive lock held).
  Code head_of(const Entry& e);
  // What a save passed on (Store::on_saved): the profile it opened from `sealed`.
  struct Carried {
    std::string sealed;
    candidates::Profile profile;
  };
  // A local record's anonymised profile if it is in the regional pool (and its key opens):
  // the carried profile when the record's sealed data is still the one it came from, else
  // opened (a save in a request rolled back carried data that was never committed).
  std::optional<nlohmann::json> pooled_profile(const candidates::CandidateRecord& r,
                                               const Carried* carried = nullptr);
  // The entry of a profile (exclusive lock held); nullopt if its ref is not valid_ref() (both
  // sources check it already: this keeps the inline ref honest).
  std::optional<Entry> local_entry(const std::string& id, const nlohmann::json& profile);
  std::optional<Entry> entry_from(Code node, Code region, const nlohmann::json& profile,
                                  const std::string& ref, std::int64_t seq);
  // Reads the records changed since the last search, and applies them.
  void refresh();
  // Builds if need be and reads the changed names; returns what each peer's entries need to
  // be listed (read now, as ProfileExchange::peer_pool does).
  std::unordered_map<Code, PeerView> catch_up();
  // Calls fn on every listed entry, local first, until it returns false (shared lock held);
  // with `job`, on those of that job category only.
  template <class Fn>
  void each_listed(const std::unordered_map<Code, PeerView>& views, Fn fn,
                   std::optional<Code> job = std::nullopt) const;
  // Calls add on `limit` listed entries the query matches, after the first `offset` of them
  // (shared lock held); true if more matched.
  template <class Add>
  bool each_match(const PoolQuery& query, std::size_t limit, std::size_t offset, Add add);
  PoolProfileView view_of(const Entry& e) const;

  Federation& federation_;
  storage::Environment& env_;
  candidates::Store& store_;
  ProfileExchange& exchange_;
  std::string self_name_;
  std::string self_region_;

  // Changed names: written on the writer thread in a txn (pending), made visible after its
  // commit (changed). Shared with the hooks, which may outlive the index (the Writer keeps
  // its commit hooks). A local name's `pooled` is true when some save since the last refresh
  // left the record in the regional pool: a name with false that the index does not hold is
  // not read again (registrations save pending records, twice each, which no search lists).
  // `carried`: the last profile a save of it passed on while pooled (a confirmation opened
  // the record to mail its management link: opening it again was 6% of a confirmation).
  struct LocalChange {
    bool pooled = false;
    std::optional<Carried> carried;
  };
  struct Changes {
    std::mutex mutex;
    std::map<std::string, LocalChange> pending_local, changed_local;
    std::set<std::pair<std::string, std::string>> pending_peer, changed_peer;
    std::atomic<std::uint64_t> commits{0};  // commits that changed names (moved under mutex)
  };
  std::shared_ptr<Changes> changes_ = std::make_shared<Changes>();

  std::mutex refresh_mutex_;               // one refresh at a time
  std::atomic<std::uint64_t> applied_{0};  // Changes::commits the index has applied
  std::atomic<std::uint64_t> opened_{0};   // records opened (records_opened())
  mutable std::shared_mutex mutex_;        // guards everything below
  std::atomic<bool> built_{false};         // written under an exclusive lock, read without one
  std::atomic<bool> stopping_{false};      // stop(): builds end early and do not start
  Table local_;
  Table peers_;
  std::vector<std::string> texts_;
  std::vector<std::string> quoted_;  // texts_ as JSON strings (quoted, escaped)
  std::unordered_map<std::string, Code> codes_;
  // `{"node":N,"profile":{"age_band":A,...,"prefecture":P,"skills":[` for each combination of
  // those five codes some entry has (a few thousand at most per node): one copy per hit where
  // writing the ten pieces was most of a reply's cost (callgrind, 150 hits).
  std::vector<std::string> heads_;
  std::map<std::array<Code, 5>, Code> head_codes_;

  common::BackgroundLoop loop_;  // builds, then refreshes every second (keeps changes few)
};

}  // namespace relay::node::federation
