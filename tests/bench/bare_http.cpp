// bare-http: the raw limit for read APIs (issue 19). A Beast HTTP/1.1 server with the node's
// shape (one io_context run by `--threads` threads, a strand and C++20 coroutine per
// connection, a fresh parser per request, keep-alive, replies written as the node writes them:
// node/http/wire.hpp) that answers every request with one fixed JSON body: no routing, no
// authentication, no storage. scripts/bench-reads runs it next to relay-node in the same run.
//   bare_http [--threads N] [--body-bytes B]   prints the port it listens on (127.0.0.1)
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "node/common/freed_pages.hpp"
#include "node/http/wire.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {

asio::awaitable<void> session(beast::tcp_stream stream, const relay::node::http::Response& reply) {
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
    stream.expires_after(std::chrono::seconds(10));
    // as the node writes
    auto wec = co_await relay::node::http::async_send(stream, reply, req.version(), keep_alive);
    if (wec || !keep_alive) break;
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

asio::awaitable<void> accept_loop(asio::io_context& io, tcp::acceptor& acceptor,
                                  const relay::node::http::Response& reply) {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(asio::make_strand(io), use_tuple);
    if (ec) {
      if (ec == asio::error::operation_aborted) co_return;
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);  // as the node's server sets it
    auto executor = socket.get_executor();
    asio::co_spawn(executor, session(beast::tcp_stream(std::move(socket)), reply), asio::detached);
  }
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 4;
  std::size_t body_bytes = 64;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string_view flag = argv[i];
    if (flag == "--threads") {
      threads = std::atoi(argv[i + 1]);
    } else if (flag == "--body-bytes") {
      body_bytes = static_cast<std::size_t>(std::atol(argv[i + 1]));
    } else {
      std::cerr << "usage: bare_http [--threads N] [--body-bytes B]\n";
      return 2;
    }
  }
  if (threads < 1) threads = 1;
  // A JSON object of the requested size: {"x":"xxxx..."}.
  relay::node::http::Response reply;  // 200, application/json
  reply.body = "{\"x\":\"" + std::string(body_bytes > 8 ? body_bytes - 8 : 0, 'x') + "\"}";

  relay::node::common::keep_freed_pages();  // as relay-node serve: a sized body is 30 KB
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  std::cout << acceptor.local_endpoint().port() << std::endl;
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const beast::error_code&, int) { io.stop(); });
  asio::co_spawn(io, accept_loop(io, acceptor, reply), asio::detached);
  std::vector<std::thread> pool;
  for (int i = 1; i < threads; ++i) pool.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : pool) t.join();
  return 0;
}
