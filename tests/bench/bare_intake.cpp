// bare-intake: the raw limit for durable intake (issue 19). A Beast HTTP/1.1 server with the
// node's shape (bare_http.cpp: one io_context run by `--threads` threads, a strand and C++20
// coroutine per connection, a fresh parser per request, keep-alive, replies written as the node
// writes them) that does what a registration costs at the least, with no business logic: every
// POST body is sealed under a fresh random key (XChaCha20-Poly1305), a ledger-entry-sized
// message holding the sealed record's hash is signed (Ed25519, one key made at start), and the
// record is handed to one writer thread that group-commits: it takes everything queued, puts
// each record under a fresh key in one LMDB write transaction (default flags: fsync on commit),
// commits once, and only then completes the requests, which answer 303 See Other to /r/sent. So
// as many requests share an fsync as are in flight. The connection's coroutine waits for its
// commit without holding its thread: the writer hands a batch's completions to the io threads
// in one post, as the node does (http::WakeGroup), and each resumes its coroutine from its
// strand with one handler, as the node's http::Later does.
// Any other method answers 200 with a small fixed body. scripts/bench-intake runs it next to
// relay-node.
//   bare-intake [--threads N] [--dir D] [--indexes I [--sequential]]
// prints the port it listens on (127.0.0.1).
// D is the LMDB directory (created if missing; default a fresh one under /tmp). I (default 0,
// at most 31) adds I databases, each given one more entry per record under a random key (a
// 128-byte value), each of which dirties a page of its own: the shape of the node's layout,
// where a registration puts about 20 entries into 16 databases, three of them on a page of
// their own in a batch (scripts/bench-layout names them). Not the raw limit (scripts/bench-intake
// runs it with none): a measure of what such a layout costs (scripts/bench-layout). --sequential
// keys those entries by a counter instead, so that a batch's entries share pages.
#include <lmdb.h>
#include <sodium.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/defer.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <exception>
#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "node/http/wire.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {

// LMDB failing (the environment, not the request): thrown at start-up, turned into a failed
// batch (500s) on the writer thread.
class LmdbError : public std::runtime_error {
 public:
  LmdbError(const std::string& what, int code)
      : std::runtime_error(what + ": " + mdb_strerror(code)) {}
};

void check(int rc, const char* what) {
  if (rc != MDB_SUCCESS) throw LmdbError(what, rc);
}

constexpr std::size_t kMaxIndexes = 32;

// The environment, its records' database and `indexes` more. Move-less: the writer thread
// holds a reference.
class Environment {
 public:
  Environment(const std::filesystem::path& dir, std::size_t map_bytes, std::size_t indexes) {
    check(mdb_env_create(&env_), "mdb_env_create");
    try {
      check(mdb_env_set_mapsize(env_, map_bytes), "mdb_env_set_mapsize");
      check(mdb_env_set_maxdbs(env_, kMaxIndexes), "mdb_env_set_maxdbs");
      check(mdb_env_open(env_, dir.c_str(), 0, 0600), "mdb_env_open");  // durable: fsync
      MDB_txn* txn = nullptr;
      check(mdb_txn_begin(env_, nullptr, 0, &txn), "mdb_txn_begin");
      int rc = mdb_dbi_open(txn, nullptr, 0, &dbi_);
      for (std::size_t i = 0; rc == MDB_SUCCESS && i < indexes; ++i) {
        auto name = "index" + std::to_string(i);
        rc = mdb_dbi_open(txn, name.c_str(), MDB_CREATE, &indexes_.emplace_back());
      }
      if (rc != MDB_SUCCESS) {
        mdb_txn_abort(txn);
        throw LmdbError("mdb_dbi_open", rc);
      }
      check(mdb_txn_commit(txn), "mdb_txn_commit");
    } catch (...) {
      mdb_env_close(env_);
      throw;
    }
  }
  ~Environment() { mdb_env_close(env_); }
  Environment(const Environment&) = delete;
  Environment& operator=(const Environment&) = delete;

  MDB_env* get() const { return env_; }
  MDB_dbi dbi() const { return dbi_; }
  const std::vector<MDB_dbi>& indexes() const { return indexes_; }

 private:
  MDB_env* env_ = nullptr;
  MDB_dbi dbi_ = 0;
  std::vector<MDB_dbi> indexes_;
};

// A write transaction that aborts unless committed.
class WriteTxn {
 public:
  explicit WriteTxn(const Environment& env) {
    check(mdb_txn_begin(env.get(), nullptr, 0, &txn_), "mdb_txn_begin");
  }
  ~WriteTxn() {
    if (txn_) mdb_txn_abort(txn_);
  }
  WriteTxn(const WriteTxn&) = delete;
  WriteTxn& operator=(const WriteTxn&) = delete;

  void put(MDB_dbi dbi, std::string_view key, std::string_view value) {
    MDB_val k{key.size(), const_cast<char*>(key.data())};
    MDB_val v{value.size(), const_cast<char*>(value.data())};
    check(mdb_put(txn_, dbi, &k, &v, MDB_NOOVERWRITE), "mdb_put");
  }
  void commit() {
    MDB_txn* txn = std::exchange(txn_, nullptr);
    check(mdb_txn_commit(txn), "mdb_txn_commit");  // frees txn even when it fails
  }

 private:
  MDB_txn* txn_ = nullptr;
};

// A request waiting for its commit. Lives on its connection's strand: the coroutine waits in
// async_committed until `done`; the writer defers the completion to `strand`, so every field is
// only touched there.
struct Completion {
  explicit Completion(asio::any_io_executor ex) : strand(std::move(ex)) {}
  asio::any_io_executor strand;
  bool done = false;
  bool ok = false;
  std::function<void()> resume;  // the waiting coroutine's handler, once it waits
};

// Resumes once the writer has completed `c`: its handler is run by the writer's deferred
// completion itself, one handler on the strand, as the node's http::Later wake-up does (a timer
// woken by cancelling its wait took three handlers and a timer queue update).
template <class Token>
auto async_committed(std::shared_ptr<Completion> c, Token&& token) {
  return asio::async_initiate<Token, void()>(
      [](auto handler, std::shared_ptr<Completion> c) {
        // std::function must be copyable; the handler is move-only.
        auto held = std::make_shared<decltype(handler)>(std::move(handler));
        if (c->done) {
          asio::post(c->strand, [held] { std::move (*held)(); });
          return;
        }
        c->resume = [held] { std::move (*held)(); };
      },
      token, std::move(c));
}

// The one writer thread with group commit: takes everything queued (up to max_batch), puts each
// record under a fresh random key in one write transaction, commits once (an fsync), and only
// then completes each request on its own strand.
class GroupWriter {
 public:
  static constexpr std::size_t max_batch = 1024;  // as the node's storage::Writer

  GroupWriter(const Environment& env, asio::io_context& io, bool sequential_index_keys)
      : env_(env), io_(io), sequential_(sequential_index_keys), thread_([this] { run(); }) {}
  ~GroupWriter() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }
  GroupWriter(const GroupWriter&) = delete;
  GroupWriter& operator=(const GroupWriter&) = delete;

  void submit(std::string record, std::shared_ptr<Completion> completion) {
    {
      std::lock_guard lock(mutex_);
      queue_.push_back({std::move(record), std::move(completion)});
    }
    wake_.notify_one();
  }

  std::uint64_t batches() const {
    std::lock_guard lock(mutex_);
    return batches_;
  }
  std::uint64_t records() const {
    std::lock_guard lock(mutex_);
    return records_;
  }

 private:
  struct Item {
    std::string record;
    std::shared_ptr<Completion> completion;
  };

  void run() {
    std::vector<Item> batch;
    for (;;) {
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping, nothing left
        while (!queue_.empty() && batch.size() < max_batch) {
          batch.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
      }
      bool ok = commit(batch);
      if (ok) {
        std::lock_guard lock(mutex_);
        ++batches_;
        records_ += batch.size();
      }
      // One post for the batch, as the node's http::WakeGroup: a server thread defers each
      // completion to its strand, a continuation that wakes no other thread.
      std::vector<std::shared_ptr<Completion>> completions;
      completions.reserve(batch.size());
      for (auto& item : batch) completions.push_back(std::move(item.completion));
      asio::post(io_, [completions = std::move(completions), ok] {
        for (const auto& completion : completions) {
          asio::defer(completion->strand, [completion, ok] {
            completion->done = true;
            completion->ok = ok;
            if (auto resume = std::exchange(completion->resume, nullptr)) resume();
          });
        }
      });
      batch.clear();
    }
  }

  bool commit(const std::vector<Item>& batch) noexcept {
    try {
      WriteTxn txn(env_);
      std::array<unsigned char, 16> key{};
      const std::string_view as_key(reinterpret_cast<const char*>(key.data()), key.size());
      for (const auto& item : batch) {
        randombytes_buf(key.data(), key.size());
        txn.put(env_.dbi(), as_key, item.record);
        ++index_entries_;
        for (auto index : env_.indexes()) {
          if (sequential_) {
            std::fill(key.begin(), key.end(), 0);
            for (int b = 0; b < 8; ++b) key[15 - b] = (index_entries_ >> (8 * b)) & 0xff;
          } else {
            randombytes_buf(key.data(), key.size());
          }
          txn.put(index, as_key, std::string_view(item.record).substr(0, 128));
        }
      }
      txn.commit();
      return true;
    } catch (const std::exception& e) {
      std::cerr << "bare-intake: batch of " << batch.size() << " failed: " << e.what() << "\n";
      return false;
    }
  }

  const Environment& env_;
  asio::io_context& io_;
  const bool sequential_;
  std::uint64_t index_entries_ = 0;  // the writer thread's: the last sequential index key
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Item> queue_;
  bool stopping_ = false;
  std::uint64_t batches_ = 0;
  std::uint64_t records_ = 0;
  std::thread thread_;  // last: starts once the members above exist
};

// What the node's intake does to a registration at the least, without its logic: seal, hash,
// sign a ledger-entry-sized message, and put both in one record.
class Sealer {
 public:
  Sealer() { crypto_sign_keypair(public_key_.data(), secret_key_.data()); }
  ~Sealer() { sodium_memzero(secret_key_.data(), secret_key_.size()); }
  Sealer(const Sealer&) = delete;
  Sealer& operator=(const Sealer&) = delete;

  // record = nonce || ciphertext || entry || signature(entry).
  std::string seal(std::string_view body) const {
    std::array<unsigned char, crypto_aead_xchacha20poly1305_ietf_KEYBYTES> key{};
    crypto_aead_xchacha20poly1305_ietf_keygen(key.data());
    const std::size_t sealed_size = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + body.size() +
                                    crypto_aead_xchacha20poly1305_ietf_ABYTES;
    std::string record(sealed_size, '\0');
    auto* out = reinterpret_cast<unsigned char*>(record.data());
    randombytes_buf(out, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
    unsigned long long written = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(out + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
                                               &written,
                                               reinterpret_cast<const unsigned char*>(body.data()),
                                               body.size(), nullptr, 0, nullptr, out, key.data());
    sodium_memzero(key.data(), key.size());

    std::array<unsigned char, crypto_generichash_BYTES> hash{};
    crypto_generichash(hash.data(), hash.size(), out, sealed_size, nullptr, 0);
    std::array<char, crypto_generichash_BYTES * 2 + 1> hex{};
    sodium_bin2hex(hex.data(), hex.size(), hash.data(), hash.size());
    // About the size of a ledger entry (protocol/ledger_entry.hpp) naming the record.
    std::string entry = R"({"v":1,"type":"candidate_registered","seq":0,"ts":1700000000000,)"
                        R"("member":"m_0123456789abcdef0123","link":"l_0123456789abcdef",)"
                        R"("record":")" +
                        std::string(hex.data()) + "\"}";

    std::array<unsigned char, crypto_sign_BYTES> sig{};
    crypto_sign_detached(sig.data(), nullptr, reinterpret_cast<const unsigned char*>(entry.data()),
                         entry.size(), secret_key_.data());
    record += entry;
    record.append(reinterpret_cast<const char*>(sig.data()), sig.size());
    return record;
  }

 private:
  std::array<unsigned char, crypto_sign_PUBLICKEYBYTES> public_key_{};
  std::array<unsigned char, crypto_sign_SECRETKEYBYTES> secret_key_{};
};

struct Shared {
  const Sealer& sealer;
  GroupWriter& writer;
};

// Seals, signs and waits for the group commit; false if the commit failed.
asio::awaitable<bool> intake(const Shared& shared, std::string_view body) {
  auto completion = std::make_shared<Completion>(co_await asio::this_coro::executor);
  shared.writer.submit(shared.sealer.seal(body), completion);
  co_await async_committed(completion, asio::use_awaitable);
  co_return completion->ok;
}

asio::awaitable<void> session(beast::tcp_stream stream, const Shared& shared) {
  beast::flat_buffer buffer;
  for (;;) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(8 * 1024);
    parser.body_limit(64 * 1024);
    stream.expires_after(std::chrono::seconds(30));
    auto [ec, n] = co_await bhttp::async_read(stream, buffer, parser, use_tuple);
    (void)n;
    if (ec) break;
    const auto& req = parser.get();
    bool keep_alive = req.keep_alive();
    relay::node::http::Response res;
    if (req.method() == bhttp::verb::post) {
      stream.expires_never();  // the commit's wait is not the client's idleness
      if (co_await intake(shared, req.body())) {
        res.status = 303;
        res.headers["Location"] = "/r/sent";
      } else {
        res.status = 500;
      }
    } else {
      res.content_type = "text/plain; charset=utf-8";
      res.body = "bare-intake\n";
    }
    stream.expires_after(std::chrono::seconds(10));
    // as the node writes
    auto wec = co_await relay::node::http::async_send(stream, res, req.version(), keep_alive);
    if (wec || !keep_alive) break;
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

asio::awaitable<void> accept_loop(asio::io_context& io, tcp::acceptor& acceptor,
                                  const Shared& shared) {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(asio::make_strand(io), use_tuple);
    if (ec) {
      if (ec == asio::error::operation_aborted) co_return;
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);  // as the node's server sets it
    auto executor = socket.get_executor();
    asio::co_spawn(executor, session(beast::tcp_stream(std::move(socket)), shared), asio::detached);
  }
}

int usage() {
  std::cerr << "usage: bare-intake [--threads N] [--dir D] [--indexes I [--sequential]]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 4;
  std::filesystem::path dir;
  std::size_t indexes = 0;
  bool sequential = false;
  for (int i = 1; i < argc; i += 2) {
    std::string_view flag = argv[i];
    if (flag == "--sequential") {
      sequential = true;
      --i;  // no value
      continue;
    }
    if (i + 1 >= argc) return usage();
    if (flag == "--threads") {
      threads = std::atoi(argv[i + 1]);
    } else if (flag == "--dir") {
      dir = argv[i + 1];
    } else if (flag == "--indexes") {
      indexes = static_cast<std::size_t>(std::atol(argv[i + 1]));
      if (indexes > kMaxIndexes - 1) return usage();
    } else {
      return usage();
    }
  }
  if (threads < 1) threads = 1;
  if (sodium_init() < 0) {
    std::cerr << "bare-intake: sodium_init failed\n";
    return 1;
  }
  try {
    if (dir.empty()) {
      std::string tmpl = (std::filesystem::temp_directory_path() / "bare-intake.XXXXXX").string();
      if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp " + tmpl);
      dir = tmpl;
    }
    std::filesystem::create_directories(dir);
    // Destroyed in reverse: the writer (which completes what is queued, posting to io) before
    // the environment, and both before io.
    asio::io_context io;
    Environment env(dir, std::size_t{4} << 30, indexes);
    Sealer sealer;
    GroupWriter writer(env, io, sequential);
    Shared shared{sealer, writer};

    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    std::cout << acceptor.local_endpoint().port() << std::endl;
    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](const beast::error_code&, int) { io.stop(); });
    asio::co_spawn(io, accept_loop(io, acceptor, shared), asio::detached);
    std::vector<std::thread> pool;
    for (int i = 1; i < threads; ++i) pool.emplace_back([&io] { io.run(); });
    io.run();
    for (auto& t : pool) t.join();
    std::cerr << "bare-intake: " << writer.records() << " records in " << writer.batches()
              << " commits\n";
  } catch (const std::exception& e) {
    std::cerr << "bare-intake: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
