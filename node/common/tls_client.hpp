#pragma once
// The TLS policy of every connection the node opens (federation and other HTTPS requests,
// SMTP with STARTTLS), set in one place: TLS 1.2 or later, the peer's certificate verified
// against the system's CA store and, if configured, one more CA file. Callers add what is
// theirs (a host name check, the SNI name) and keep the context for as long as they use it.
//
// Threads: a context being configured belongs to its caller.
#include <filesystem>
#include <optional>

namespace boost::asio::ssl {
class context;
}
namespace boost::system {
class error_code;
}

namespace relay::node::common {

// Configures a fresh tls_client context; `ec` is set if the CA store or `extra_ca_file`
// cannot be read (the context must not be used then).
void verify_peers(boost::asio::ssl::context& context,
                  const std::optional<std::filesystem::path>& extra_ca_file,
                  boost::system::error_code& ec);

}  // namespace relay::node::common
