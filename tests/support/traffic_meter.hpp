#pragma once
// TrafficMeter: a loopback TCP relay in front of one node that counts what its peers send it.
// Peers are configured with meter.url() instead of the node's own URL, so every federation
// exchange with that node (envelopes and their replies, identity and checkpoint fetches) passes
// through it; the test's own requests go to the node directly and are not counted.
//
// Each request is one exchange, counted once whole, under what it carried: "POST <envelope
// type>" for a federation message (the envelope's outer "type" field) and "<METHOD> <path>"
// for anything else, with the bytes each way (HTTP headers included; a reply's bytes go to
// the request before it). The node's HTTP client keeps its connections
// (node/http/kept_connections.hpp), so a connection carries several, one after another; they
// are told apart by their framing (Content-Length). A connection the node did not accept (it
// is stopped) counts under "unreachable". Bytes are what crossed this relay; through a TLS node
// they are the encrypted bytes, handshakes included, and a connection, opaque, is one exchange,
// "TLS (not classified)".
//
// Threads: one relay thread (poll over every connection), started by the constructor and
// joined by the destructor; tallies() may be called from any thread.
#include <atomic>
#include <cstdint>
#include <list>
#include <map>
#include <mutex>
#include <string>
#include <thread>

namespace relay::test {

class TrafficMeter {
 public:
  struct Tally {
    std::uint64_t exchanges = 0;      // requests (over TLS: connections)
    std::uint64_t request_bytes = 0;  // peer -> node
    std::uint64_t reply_bytes = 0;    // node -> peer

    Tally& operator+=(const Tally& o) {
      exchanges += o.exchanges;
      request_bytes += o.request_bytes;
      reply_bytes += o.reply_bytes;
      return *this;
    }
  };

  // Relays 127.0.0.1:<port()> to 127.0.0.1:<upstream_port>. Throws std::runtime_error if it
  // cannot listen.
  explicit TrafficMeter(std::uint16_t upstream_port);
  ~TrafficMeter();
  TrafficMeter(const TrafficMeter&) = delete;
  TrafficMeter& operator=(const TrafficMeter&) = delete;

  std::uint16_t port() const { return port_; }
  // "http://127.0.0.1:<port()>", or https:// in front of a TLS node.
  std::string url(const std::string& scheme = "http") const {
    return scheme + "://127.0.0.1:" + std::to_string(port_);
  }
  // Exchanges so far, by what they carried.
  std::map<std::string, Tally> tallies() const;

 private:
  struct Connection;
  void run();
  void accept_all(std::list<Connection>& connections);
  void finish(Connection& c);
  void sent(Connection& c, const char* data, std::size_t n);
  void replied(Connection& c, std::size_t n);
  void count(const std::string& key, const Tally& tally);

  std::uint16_t upstream_port_;
  std::uint16_t port_ = 0;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};  // a pipe: the destructor writes to stop the relay thread
  std::atomic<bool> stopping_{false};
  mutable std::mutex mutex_;
  std::map<std::string, Tally> tallies_;
  std::thread thread_;
};

// The sum of the tallies whose key starts with `prefix` ("" for all of them).
TrafficMeter::Tally sum(const std::map<std::string, TrafficMeter::Tally>& tallies,
                        const std::string& prefix = {});

}  // namespace relay::test
