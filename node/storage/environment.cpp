#include "node/storage/environment.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <map>
#include <stdexcept>
#include <system_error>

#include "node/storage/internal.hpp"

namespace relay::node::storage {

namespace {

namespace fs = std::filesystem;

static_assert(std::is_same_v<MDB_dbi, unsigned>, "Database stores an MDB_dbi as unsigned");

// Directories with an open Environment, and the process that opened each. LMDB's locks are
// fcntl locks, which belong to the process: closing a second handle on the same files would
// drop the first's. A child made by fork() inherits this map but not the locks, so entries of
// another pid do not count.
std::mutex& open_dirs_mutex() {
  static std::mutex mutex;
  return mutex;
}
std::map<fs::path, pid_t>& open_dirs() {
  static std::map<fs::path, pid_t> dirs;
  return dirs;
}

// Creates dir (mode 0700 for each directory created) and returns its canonical path.
fs::path make_private_dir(const fs::path& dir) {
  std::error_code ec;
  fs::path absolute = fs::absolute(dir, ec);
  if (ec) throw StorageError("resolve " + dir.string(), ec.value());
  fs::path partial;
  for (const auto& part : absolute) {
    partial /= part;
    if (fs::exists(partial, ec)) continue;
    if (::mkdir(partial.c_str(), 0700) != 0 && errno != EEXIST) {
      throw StorageError("mkdir " + partial.string(), errno);
    }
  }
  fs::path canonical = fs::canonical(absolute, ec);
  if (ec) throw StorageError("resolve " + dir.string(), ec.value());
  if (!fs::is_directory(canonical, ec)) throw StorageError("open " + dir.string(), ENOTDIR);
  return canonical;
}

// fsyncs a file or directory, so that a newly created file's data and directory entry
// survive power loss (LMDB syncs data.mdb on commit, but not the directory that names it).
void sync_path(const fs::path& path, bool directory) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | (directory ? O_DIRECTORY : 0));
  if (fd < 0) throw StorageError("open " + path.string(), errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) throw StorageError("fsync " + path.string(), err);
}

}  // namespace

namespace detail {

void MapGate::enter() {
  std::unique_lock lock(mutex_);
  cv_.wait(lock, [this] { return !closing_; });
  ++active_;
}

void MapGate::leave() noexcept {
  std::lock_guard lock(mutex_);
  --active_;
  if (active_ == 0 && closing_) cv_.notify_all();
}

bool MapGate::exclusive(std::chrono::milliseconds timeout, const std::function<void()>& fn) {
  std::unique_lock lock(mutex_);
  if (!cv_.wait_for(lock, timeout, [this] { return !closing_; })) return false;
  closing_ = true;
  struct Reopen {
    MapGate& gate;
    ~Reopen() {
      gate.closing_ = false;
      gate.cv_.notify_all();
    }
  } reopen{*this};
  if (!cv_.wait_for(lock, timeout, [this] { return active_ == 0; })) return false;
  fn();  // under the mutex: no txn can begin until it returns
  return true;
}

std::size_t MapGate::active() noexcept {
  std::lock_guard lock(mutex_);
  return active_;
}

EnvState::~EnvState() {
  for (const IdleReader& idle : idle_readers) mdb_txn_abort(idle.txn);
  idle_readers.clear();
  if (env != nullptr) mdb_env_close(env);
  if (registered) {
    std::lock_guard lock(open_dirs_mutex());
    if (auto it = open_dirs().find(path); it != open_dirs().end() && it->second == ::getpid()) {
      open_dirs().erase(it);
    }
  }
}

void refresh_map_size(EnvState& env) noexcept {
  MDB_envinfo info{};
  if (mdb_env_info(env.env, &info) == MDB_SUCCESS) env.map_size.store(info.me_mapsize);
}

}  // namespace detail

Environment Environment::open(const std::filesystem::path& dir, Options options) {
  auto state = std::make_unique<detail::EnvState>();
  state->path = make_private_dir(dir);
  state->options = options;
  {
    std::lock_guard lock(open_dirs_mutex());
    auto [it, inserted] = open_dirs().try_emplace(state->path, ::getpid());
    if (!inserted && it->second == ::getpid()) {
      throw std::logic_error("storage: environment " + state->path.string() +
                             " is already open in this process");
    }
    it->second = ::getpid();
    state->registered = true;
  }
  detail::check_rc(mdb_env_create(&state->env), "mdb_env_create");
  detail::check_rc(mdb_env_set_maxdbs(state->env, options.max_dbs), "mdb_env_set_maxdbs");
  detail::check_rc(mdb_env_set_maxreaders(state->env, options.max_readers),
                   "mdb_env_set_maxreaders");
  // A new environment gets map_size_bytes. An existing one keeps the size stored in its file
  // (LMDB uses it when none is set before mdb_env_open), raised to map_size_bytes below.
  std::error_code ec;
  if (!fs::exists(state->path / "data.mdb", ec)) {
    detail::check_rc(mdb_env_set_mapsize(state->env, options.map_size_bytes),
                     "mdb_env_set_mapsize");
  }
  // MDB_NOTLS: reader slots belong to the txn, not the thread, so a ReadTxn can move between
  // threads (coroutines resume anywhere). MDB_NORDAHEAD: a fault with readahead caches up to
  // 2 MiB of the file as one folio, and a commit that later rewrites one of its pages writes
  // the whole folio back (file_tail.hpp). No NOSYNC/NOMETASYNC/WRITEMAP: commit means fsync.
  int rc = mdb_env_open(state->env, state->path.c_str(), MDB_NOTLS | MDB_NORDAHEAD, 0600);
  if (rc != MDB_SUCCESS) {
    // LMDB: "if this function fails, mdb_env_close() must be called to discard the handle".
    throw StorageError("mdb_env_open " + state->path.string(), rc);
  }
  detail::refresh_map_size(*state);
  if (state->map_size.load() < options.map_size_bytes) {
    detail::check_rc(mdb_env_set_mapsize(state->env, options.map_size_bytes),
                     "mdb_env_set_mapsize");
  }
  sync_path(state->path, true);  // data.mdb and lock.mdb may have just been created
  sync_path(state->path.parent_path(), true);
  if ((fs::status(state->path, ec).permissions() &
       (fs::perms::group_all | fs::perms::others_all)) != fs::perms::none) {
    spdlog::warn("storage: {} is readable by other users; it should be mode 0700",
                 state->path.string());
  }
  // A process killed mid-read leaves its reader slot behind, pinning old pages (the file only
  // grows) until someone clears it. (The first process to open the environment resets the
  // table anyway; this matters when another process, e.g. a backup, kept it open.)
  int dead = 0;
  detail::check_rc(mdb_reader_check(state->env, &dead), "mdb_reader_check");
  state->stale_readers_at_open = static_cast<std::size_t>(dead);
  detail::refresh_map_size(*state);
  MDB_stat stat{};
  detail::check_rc(mdb_env_stat(state->env, &stat), "mdb_env_stat");
  state->tail = std::make_unique<FileTail>(state->path / "data.mdb", stat.ms_psize);
  spdlog::info("storage: opened {} (map {} bytes, {} stale reader slot(s) cleared)",
               state->path.string(), state->map_size.load(), dead);
  return Environment(std::move(state));
}

Environment::Environment(std::unique_ptr<detail::EnvState> state) noexcept
    : state_(std::move(state)) {}

Environment::Environment(Environment&& other) noexcept = default;

Environment& Environment::operator=(Environment&& other) noexcept {
  if (this != &other) {
    Environment doomed(std::move(*this));
    state_ = std::move(other.state_);
  }
  return *this;
}

Environment::~Environment() {
  if (!state_) return;
  if (state_->writers.load() != 0) detail::fail_check("Environment destroyed before its Writer");
  if (state_->gate.active() != 0) {
    detail::fail_check("Environment destroyed while a transaction is open");
  }
}

Database Environment::database(const std::string& name) {
  if (name.empty()) throw std::invalid_argument("storage: a database needs a name");
  {
    std::shared_lock lock(state_->dbs_mutex);
    if (auto it = state_->dbs.find(name); it != state_->dbs.end()) return Database(it->second);
  }
  // Checked before taking open_mutex: a thread holding LMDB's write lock must never wait for
  // it (the thread holding open_mutex may be waiting for the write lock).
  if (state_->write_owner.load() == std::this_thread::get_id()) {
    throw std::logic_error("storage: open databases outside write transactions (at start-up)");
  }
  std::lock_guard open_lock(state_->open_mutex);
  {
    std::shared_lock lock(state_->dbs_mutex);
    if (auto it = state_->dbs.find(name); it != state_->dbs.end()) return Database(it->second);
  }
  WriteTxn txn(detail::begin_root(*state_, true));
  MDB_dbi dbi = 0;
  detail::check_rc(mdb_dbi_open(txn.state_->txn, name.c_str(), MDB_CREATE, &dbi),
                   "mdb_dbi_open(" + name + ")");
  txn.commit();  // the handle becomes usable by every txn that begins after this
  std::unique_lock lock(state_->dbs_mutex);
  state_->dbs.emplace(name, dbi);
  return Database(dbi);
}

ReadTxn Environment::begin_read() {
  return ReadTxn(detail::begin_root(*state_, false));
}

WriteTxn Environment::begin_write() {
  return WriteTxn(detail::begin_root(*state_, true));
}

void Environment::copy_to(const std::filesystem::path& dir, bool compact) {
  fs::path target = make_private_dir(dir);
  // mdb_env_copy2 reads through the map from its own read txn: keep the map from moving.
  state_->gate.enter();
  int rc = mdb_env_copy2(state_->env, target.c_str(), compact ? MDB_CP_COMPACT : 0U);
  state_->gate.leave();
  detail::check_rc(rc, "mdb_env_copy2 " + target.string());
  // mdb_env_copy2 does not fsync: a backup should survive a crash as well as the original.
  sync_path(target / "data.mdb", false);
  sync_path(target, true);
  spdlog::info("storage: copied {} to {}{}", state_->path.string(), target.string(),
               compact ? " (compacted)" : "");
}

std::size_t Environment::map_size() const noexcept {
  return state_->map_size.load();
}

void Environment::resize_map(std::size_t bytes) {
  detail::EnvState& env = *state_;
  bool done = env.gate.exclusive(env.options.resize_wait, [&env, bytes] {
    detail::reset_idle_readers(env);  // LMDB: no txn of this process may be active
    detail::check_rc(mdb_env_set_mapsize(env.env, bytes), "mdb_env_set_mapsize");
    detail::refresh_map_size(env);
  });
  if (!done) {
    throw StorageError("mdb_env_set_mapsize (open transactions did not end in time)", MDB_MAP_FULL);
  }
}

void Environment::release_mapped_pages() {
  detail::EnvState& env = *state_;
  // LMDB does not say where its map is (mdb_env_info's me_mapaddr is set only with
  // MDB_FIXEDMAP): find data.mdb's mappings, by device and inode, in /proc/self/maps.
  struct stat file {};
  if (::stat((env.path / "data.mdb").c_str(), &file) != 0) {
    throw StorageError("stat " + (env.path / "data.mdb").string(), errno);
  }
  env.gate.enter();  // the map cannot move while its pages are released
  int err = 0;
  const char* failed = "release the map's pages (madvise)";
  std::FILE* maps = std::fopen("/proc/self/maps", "re");
  if (maps == nullptr) {
    err = errno;  // EMFILE when the process is out of descriptors
    failed = "release the map's pages (open /proc/self/maps)";
  }
  char line[4096];
  while (maps != nullptr && err == 0 && std::fgets(line, sizeof line, maps) != nullptr) {
    unsigned long long start = 0, end = 0, offset = 0, inode = 0;
    unsigned major = 0, minor = 0;
    char perms[8] = {};
    if (std::sscanf(line, "%llx-%llx %7s %llx %x:%x %llu", &start, &end, perms, &offset, &major,
                    &minor, &inode) != 7) {
      continue;
    }
    if (inode != file.st_ino || makedev(major, minor) != file.st_dev) continue;
    if (::madvise(reinterpret_cast<void*>(start), end - start, MADV_DONTNEED) != 0) err = errno;
  }
  if (maps != nullptr) std::fclose(maps);
  env.gate.leave();
  if (err != 0) throw StorageError(failed, err);
}

std::size_t Environment::check_stale_readers() {
  int dead = 0;
  detail::check_rc(mdb_reader_check(state_->env, &dead), "mdb_reader_check");
  return static_cast<std::size_t>(dead);
}

std::size_t Environment::stale_readers_at_open() const noexcept {
  return state_->stale_readers_at_open;
}

std::size_t Environment::max_key_size() const noexcept {
  return static_cast<std::size_t>(mdb_env_get_maxkeysize(state_->env));
}

const std::filesystem::path& Environment::path() const noexcept {
  return state_->path;
}

const Environment::Options& Environment::options() const noexcept {
  return state_->options;
}

}  // namespace relay::node::storage
