// smtp-sink: an SMTP server for scripts/bench-mail that costs little CPU a message, so that
// "the mail keeps up with intake" measures the node's side and not the test's server. The
// Python server of the mail tests (tests/support/smtp_server.py) spends about 1 ms of a core
// on each message, on the same two cores as the node and wrk: it bounded the figure.
//
// Real SMTP over TCP (RFC 5321): a greeting, EHLO/HELO (offering PIPELINING with
// --pipelining, RFC 2920, and 8BITMIME), MAIL, RCPT, DATA with the text read up to its
// "." line and dot-unstuffed, RSET, NOOP, QUIT; anything else, or a command out of order, is
// answered 5xx. With --tls-cert and --tls-key it offers STARTTLS (RFC 3207), as a provider's
// smarthost does; with --auth USER:PASS too, it takes mail only after AUTH PLAIN (RFC 4954)
// with those, over TLS. Replies to pipelined commands go back in one write, once every complete
// line already received has been answered. Each accepted message is written to --maildir as
// <n>.json (a temporary file renamed: readers never see half of one), with the fields of
// smtp_server.py: from, to, tls, auth (the user), data, peer (the client's port), open
// (connections open), reads (socket reads from its MAIL to its end). Writes --ready once
// listening. One thread. Stops on SIGTERM or SIGINT.
//   smtp-sink --port P --maildir DIR --ready FILE [--pipelining]
//             [--tls-cert CRT --tls-key KEY [--auth USER:PASS]]
#include <openssl/evp.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {

struct Options {
  unsigned short port = 0;
  std::filesystem::path maildir;
  std::filesystem::path ready;
  bool pipelining = false;
  std::string tls_cert;
  std::string tls_key;
  std::string user;              // with --auth: mail only after AUTH PLAIN as this user
  std::string plain_credential;  // base64("\0user\0password"), as AUTH PLAIN sends it
};

struct Counters {
  std::uint64_t messages = 0;
  int open = 0;
};

std::string base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  auto n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                           reinterpret_cast<const unsigned char*>(bytes.data()),
                           static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

bool starts_with_nocase(std::string_view line, std::string_view word) {
  if (line.size() < word.size()) return false;
  for (std::size_t i = 0; i < word.size(); ++i) {
    char c = line[i];
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (c != word[i]) return false;
  }
  return true;
}

// The address between < and > of "MAIL FROM:<a>" or "RCPT TO:<a>"; nullopt when malformed.
std::optional<std::string> path_of(std::string_view line) {
  auto open = line.find('<');
  auto close = line.find('>', open == std::string_view::npos ? 0 : open);
  if (open == std::string_view::npos || close == std::string_view::npos) return std::nullopt;
  return std::string(line.substr(open + 1, close - open - 1));
}

// What a line asks of the connection.
enum class Next { more, quit, starttls };

// One connection's state: TLS and login, the envelope being built and the text of DATA.
class Session {
 public:
  Session(const Options& options, Counters& counters, unsigned short peer)
      : options_(options), counters_(counters), peer_(peer) {}

  // Answers one line (without its CRLF) into `replies`.
  Next take(std::string_view line, std::string& replies) {
    if (in_data_) {
      if (line == ".") {
        in_data_ = false;
        deliver();
        replies += "250 2.0.0 Message accepted\r\n";
        return Next::more;
      }
      if (!line.empty() && line[0] == '.') line.remove_prefix(1);  // dot-stuffing
      data_.append(line);
      data_ += "\r\n";
      return Next::more;
    }
    const bool can_tls = !options_.tls_cert.empty() && !tls_;
    const bool needs_login = !options_.user.empty() && !user_;
    if (starts_with_nocase(line, "EHLO")) {
      reset();
      replies += "250-localhost\r\n";
      if (options_.pipelining) replies += "250-PIPELINING\r\n";
      if (can_tls) replies += "250-STARTTLS\r\n";
      if (tls_ && !options_.user.empty()) replies += "250-AUTH PLAIN\r\n";
      replies += "250 8BITMIME\r\n";
    } else if (starts_with_nocase(line, "HELO")) {
      reset();
      replies += "250 localhost\r\n";
    } else if (starts_with_nocase(line, "STARTTLS") && can_tls) {
      replies += "220 2.0.0 Ready to start TLS\r\n";
      return Next::starttls;
    } else if (starts_with_nocase(line, "AUTH PLAIN ") && tls_ && !options_.user.empty()) {
      if (user_) {
        replies += "503 5.5.1 Error: already authenticated\r\n";
      } else if (line.substr(11) == options_.plain_credential) {
        user_ = options_.user;
        replies += "235 2.7.0 Authentication successful\r\n";
      } else {
        replies += "535 5.7.8 Error: authentication failed\r\n";
      }
    } else if (starts_with_nocase(line, "MAIL FROM:") && needs_login) {
      replies += "530 5.7.0 Authentication required\r\n";
    } else if (starts_with_nocase(line, "MAIL FROM:")) {
      auto from = path_of(line);
      if (!from) {
        replies += "501 5.5.4 Syntax: MAIL FROM:<address>\r\n";
      } else if (from_) {
        replies += "503 5.5.1 Error: nested MAIL command\r\n";
      } else {
        from_ = std::move(*from);
        mail_read_ = reads;
        replies += "250 OK\r\n";
      }
    } else if (starts_with_nocase(line, "RCPT TO:")) {
      auto to = path_of(line);
      if (!from_) {
        replies += "503 5.5.1 Error: need MAIL command\r\n";
      } else if (!to || to->empty()) {
        replies += "501 5.5.4 Syntax: RCPT TO:<address>\r\n";
      } else {
        to_.push_back(std::move(*to));
        replies += "250 OK\r\n";
      }
    } else if (starts_with_nocase(line, "DATA")) {
      if (!from_ || to_.empty()) {
        replies += "503 5.5.1 Error: need RCPT command\r\n";
      } else {
        in_data_ = true;
        data_.clear();
        replies += "354 End data with <CR><LF>.<CR><LF>\r\n";
      }
    } else if (starts_with_nocase(line, "RSET")) {
      reset();
      replies += "250 OK\r\n";
    } else if (starts_with_nocase(line, "NOOP")) {
      replies += "250 OK\r\n";
    } else if (starts_with_nocase(line, "QUIT")) {
      replies += "221 Bye\r\n";
      return Next::quit;
    } else {
      replies += "500 5.5.2 Error: command not recognized\r\n";
    }
    return Next::more;
  }

  // After the TLS handshake: the client starts again with EHLO (RFC 3207).
  void secured() {
    tls_ = true;
    reset();
  }

  std::uint64_t reads = 0;  // reads from this connection's socket so far

 private:
  void reset() {
    from_.reset();
    to_.clear();
  }

  void deliver() {
    const auto n = ++counters_.messages;
    nlohmann::json record = {{"from", *from_},
                             {"to", to_},
                             {"tls", tls_},
                             {"auth", user_ ? nlohmann::json(*user_) : nlohmann::json()},
                             {"data", data_},
                             {"peer", peer_},
                             {"open", counters_.open},
                             {"reads", reads - mail_read_ + 1}};
    const auto tmp = options_.maildir / ("." + std::to_string(n) + ".tmp");
    {
      std::ofstream out(tmp, std::ios::binary);
      out << record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      if (!out) throw std::runtime_error("smtp-sink: cannot write " + tmp.string());
    }
    std::filesystem::rename(tmp, options_.maildir / (std::to_string(n) + ".json"));
    reset();
  }

  const Options& options_;
  Counters& counters_;
  unsigned short peer_;
  bool tls_ = false;
  std::optional<std::string> user_;  // authenticated as
  std::optional<std::string> from_;
  std::vector<std::string> to_;
  bool in_data_ = false;
  std::string data_;
  std::uint64_t mail_read_ = 0;
};

// Answers the client on `stream` until it quits or closes (Next::quit) or asks for TLS
// (Next::starttls, once the 220 is sent; what it sent after STARTTLS is dropped, as RFC 3207
// requires). `replies` is what is to be sent first (the greeting).
template <class Stream>
asio::awaitable<Next> converse(Stream& stream, Session& session, std::string replies) {
  std::string in;
  char chunk[16 * 1024];
  for (;;) {
    if (!replies.empty()) {
      auto [ec, written] = co_await asio::async_write(stream, asio::buffer(replies), use_tuple);
      (void)written;
      if (ec) co_return Next::quit;
      replies.clear();
    }
    auto [ec, n] = co_await stream.async_read_some(asio::buffer(chunk), use_tuple);
    if (ec) co_return Next::quit;
    ++session.reads;
    in.append(chunk, n);
    std::size_t start = 0;
    for (auto end = in.find("\r\n"); end != std::string::npos; end = in.find("\r\n", start)) {
      auto next = session.take(std::string_view(in).substr(start, end - start), replies);
      start = end + 2;
      if (next != Next::more) {
        co_await asio::async_write(stream, asio::buffer(replies), use_tuple);
        co_return next;
      }
    }
    in.erase(0, start);
    if (in.size() > 1024 * 1024) co_return Next::quit;  // a line without an end
  }
}

asio::awaitable<void> serve(tcp::socket socket, const Options& options, Counters& counters,
                            asio::ssl::context& tls) {
  ++counters.open;
  boost::system::error_code ec;
  auto peer = socket.remote_endpoint(ec).port();
  Session session(options, counters, peer);
  try {
    auto next = co_await converse(socket, session, "220 localhost ESMTP relaynode bench sink\r\n");
    if (next == Next::starttls) {
      asio::ssl::stream<tcp::socket&> secured(socket, tls);
      auto [hec] = co_await secured.async_handshake(asio::ssl::stream_base::server, use_tuple);
      if (!hec) {
        session.secured();
        co_await converse(secured, session, {});
      }
    }
  } catch (const std::exception& e) {
    std::cerr << e.what() << '\n';  // writing the message failed: this connection ends
  }
  --counters.open;
}

asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, const Options& options,
                                  Counters& counters, asio::ssl::context& tls) {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(use_tuple);
    if (ec) {
      if (ec == asio::error::operation_aborted) co_return;
      continue;
    }
    socket.set_option(tcp::no_delay(true));
    asio::co_spawn(acceptor.get_executor(), serve(std::move(socket), options, counters, tls),
                   asio::detached);
  }
}

constexpr const char* kUsage =
    "usage: smtp-sink --port P --maildir DIR --ready FILE [--pipelining] "
    "[--tls-cert CRT --tls-key KEY [--auth USER:PASS]]\n";

}  // namespace

int main(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    std::string_view flag = argv[i];
    if (flag == "--pipelining") {
      options.pipelining = true;
    } else if (i + 1 < argc && flag == "--port") {
      options.port = static_cast<unsigned short>(std::atoi(argv[++i]));
    } else if (i + 1 < argc && flag == "--maildir") {
      options.maildir = argv[++i];
    } else if (i + 1 < argc && flag == "--ready") {
      options.ready = argv[++i];
    } else if (i + 1 < argc && flag == "--tls-cert") {
      options.tls_cert = argv[++i];
    } else if (i + 1 < argc && flag == "--tls-key") {
      options.tls_key = argv[++i];
    } else if (i + 1 < argc && flag == "--auth") {
      std::string_view auth = argv[++i];
      auto colon = auth.find(':');
      if (colon == std::string_view::npos) {
        std::cerr << "smtp-sink: --auth takes USER:PASS\n";
        return 2;
      }
      options.user = auth.substr(0, colon);
      options.plain_credential =
          base64(std::string(1, '\0') + options.user + '\0' + std::string(auth.substr(colon + 1)));
    } else {
      std::cerr << kUsage;
      return 2;
    }
  }
  if (options.maildir.empty() || options.ready.empty()) {
    std::cerr << "smtp-sink: --maildir and --ready are required\n";
    return 2;
  }
  if (options.tls_cert.empty() != options.tls_key.empty() ||
      (!options.user.empty() && options.tls_cert.empty())) {
    std::cerr << "smtp-sink: --tls-cert and --tls-key go together, and --auth needs them\n";
    return 2;
  }
  asio::ssl::context tls(asio::ssl::context::tls_server);
  if (!options.tls_cert.empty()) {
    tls.use_certificate_chain_file(options.tls_cert);
    tls.use_private_key_file(options.tls_key, asio::ssl::context::pem);
  }
  std::filesystem::create_directories(options.maildir);
  asio::io_context io(1);
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), options.port));
  {
    auto tmp = options.ready;
    tmp += ".tmp";
    std::ofstream(tmp) << acceptor.local_endpoint().port();
    std::filesystem::rename(tmp, options.ready);
  }
  Counters counters;
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int) { io.stop(); });
  asio::co_spawn(io, accept_loop(acceptor, options, counters, tls), asio::detached);
  io.run();
  return 0;
}
