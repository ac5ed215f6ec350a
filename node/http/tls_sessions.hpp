#pragma once
// TLS sessions the client keeps, one per server (host:port), so that its next connection there
// resumes the session instead of a full handshake. A full handshake parses and verifies the
// server's certificate chain and has the server sign, and under OpenSSL 3 that was most of a
// new HTTPS connection's cost (scripts/bench-federation --tls; `openssl s_time` here: 590 us
// of client CPU for a full TLS 1.2 handshake, 85 us resumed). The outbox, witnessing and peer
// keys opened a connection for every request, so every one paid it; a new connection still
// does (kept_connections.hpp keeps idle ones).
//
// A resumed session skips the certificate check: it stands on the check of the handshake that
// made it, for the same host name and port and under the same trust. So sessions are kept only
// from connections that verified, and a change of trust starts a new set (client.cpp). A server
// that has changed its certificate since gets a new ticket key with it (node/http/server.cpp
// loads a new context), cannot open the old ticket, and the handshake is a full one, verified.
//
// Threads: any (a mutex guards the map).
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>

struct ssl_st;
struct ssl_session_st;

namespace relay::node::http {

class TlsSessions {
 public:
  explicit TlsSessions(std::size_t capacity = 4096) : capacity_(capacity) {}

  // Offers the session kept for `server` to `ssl`, before its handshake; false if none.
  bool offer(const std::string& server, ssl_st* ssl) const;
  // Keeps the session of `ssl`, a connection to `server` whose handshake verified and whose
  // exchange is over (a TLS 1.3 server sends its tickets after the handshake), if it can be
  // resumed. OpenSSL marks the session of a connection freed without a TLS shutdown not
  // resumable (sessions are shared, not copied): a connection that ends whole must count as
  // shut down first (SSL_SENT_SHUTDOWN; client.cpp does).
  void keep(const std::string& server, ssl_st* ssl);
  // Drops the session kept for `server` (its connection failed).
  void forget(const std::string& server);

 private:
  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<ssl_session_st>> sessions_;
};

}  // namespace relay::node::http
