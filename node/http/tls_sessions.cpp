#include "node/http/tls_sessions.hpp"

#include <openssl/ssl.h>

namespace relay::node::http {

bool TlsSessions::offer(const std::string& server, SSL* ssl) const {
  std::shared_ptr<SSL_SESSION> session;
  {
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(server);
    if (it == sessions_.end()) return false;
    session = it->second;
  }
  // The connection takes a reference of its own; an expired session is not offered (OpenSSL).
  return SSL_set_session(ssl, session.get()) == 1;
}

void TlsSessions::keep(const std::string& server, SSL* ssl) {
  std::shared_ptr<SSL_SESSION> session(SSL_get1_session(ssl), SSL_SESSION_free);
  if (!session || SSL_SESSION_is_resumable(session.get()) != 1) return;
  std::lock_guard lock(mutex_);
  if (auto it = sessions_.find(server); it != sessions_.end()) {
    it->second = std::move(session);
    return;
  }
  // More servers than a node has peers: one goes (the first by name) to make room.
  if (sessions_.size() >= capacity_ && !sessions_.empty()) sessions_.erase(sessions_.begin());
  sessions_.emplace(server, std::move(session));
}

void TlsSessions::forget(const std::string& server) {
  std::lock_guard lock(mutex_);
  sessions_.erase(server);
}

}  // namespace relay::node::http
