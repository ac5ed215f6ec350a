#pragma once
// Open connections the HTTP client keeps between requests, by server (scheme://host:port), so
// that the next request there skips the TCP connect and the TLS handshake. A resumed TLS 1.3
// handshake still costs an X25519 on each side: about 1 ms of CPU a federation request on this
// machine, client and server together (scripts/bench-federation --tls), more than most
// requests' own work. The outbox, witnessing and peer keys send to the same few servers again
// and again.
//
// A connection is kept only while idle: the client takes it for one exchange and gives it back
// when the reply came whole and kept the connection open. It is kept `max_idle` at most (the
// node's server closes a connection idle for http.idle_timeout_ms, 30 s by default), at most
// `per_server` a server and `capacity` in all; the one idle longest makes room. What is
// dropped is closed outside the lock.
//
// Threads: any (a mutex guards the list); a connection taken is its taker's alone.
#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace relay::node::http {

template <class Connection>
class KeptConnections {
 public:
  using Clock = std::chrono::steady_clock;

  // capacity and per_server: at least 1.
  KeptConnections(std::size_t capacity, std::size_t per_server, Clock::duration max_idle)
      : capacity_(capacity), per_server_(per_server), max_idle_(max_idle) {}

  // The connection to `server` given back last, unless it has been idle too long; null if none.
  std::unique_ptr<Connection> take(const std::string& server,
                                   Clock::time_point now = Clock::now()) {
    std::vector<std::unique_ptr<Connection>> dropped;
    std::lock_guard lock(mutex_);
    while (!idle_.empty() && now - idle_.front().since > max_idle_) {
      dropped.push_back(std::move(idle_.front().connection));
      idle_.pop_front();
    }
    for (auto it = idle_.end(); it != idle_.begin();) {
      --it;
      if (it->server != server) continue;
      auto found = std::move(it->connection);
      const bool stale = now - it->since > max_idle_;
      idle_.erase(it);
      if (stale) {
        dropped.push_back(std::move(found));
        return nullptr;
      }
      return found;
    }
    return nullptr;
  }

  void give(const std::string& server, std::unique_ptr<Connection> connection,
            Clock::time_point now = Clock::now()) {
    std::unique_ptr<Connection> dropped;
    std::lock_guard lock(mutex_);
    std::size_t same = 0;
    auto oldest_same = idle_.end();
    for (auto it = idle_.begin(); it != idle_.end(); ++it) {
      if (it->server != server) continue;
      if (same++ == 0) oldest_same = it;
    }
    if (same >= per_server_) {
      dropped = std::move(oldest_same->connection);
      idle_.erase(oldest_same);
    } else if (idle_.size() >= capacity_ && !idle_.empty()) {
      dropped = std::move(idle_.front().connection);
      idle_.pop_front();
    }
    idle_.push_back({server, std::move(connection), now});
  }

  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return idle_.size();
  }

 private:
  struct Idle {
    std::string server;
    std::unique_ptr<Connection> connection;
    Clock::time_point since;
  };
  const std::size_t capacity_;
  const std::size_t per_server_;
  const Clock::duration max_idle_;
  mutable std::mutex mutex_;
  std::deque<Idle> idle_;  // in the order given back: the front has been idle longest
};

}  // namespace relay::node::http
