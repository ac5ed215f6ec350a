#include "node/common/tls_client.hpp"

#include <boost/asio/ssl/context.hpp>

namespace relay::node::common {

void verify_peers(boost::asio::ssl::context& context,
                  const std::optional<std::filesystem::path>& extra_ca_file,
                  boost::system::error_code& ec) {
  namespace ssl = boost::asio::ssl;
  context.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                      ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  context.set_default_verify_paths(ec);
  if (!ec && extra_ca_file) context.load_verify_file(extra_ca_file->string(), ec);
  if (!ec) context.set_verify_mode(ssl::verify_peer);
}

}  // namespace relay::node::common
