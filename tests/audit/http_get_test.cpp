// audit: the minimal HTTP/1.1 GET client, against a canned one-connection server on loopback.
#include "audit/http_get.hpp"

#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <string>
#include <thread>

using relay::audit::http_get;
using relay::audit::HttpUrl;
using relay::audit::parse_http_url;

namespace {

// Accepts one connection on a loopback port, reads the request head, sends `response` in
// pieces of `piece` bytes and closes. The request head is available from request().
class CannedServer {
 public:
  explicit CannedServer(std::string response, std::size_t piece = 7)
      : response_(std::move(response)), piece_(piece) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    REQUIRE(::listen(fd_, 1) == 0);
    thread_ = std::thread([this] { serve(); });
  }
  CannedServer(const CannedServer&) = delete;
  CannedServer& operator=(const CannedServer&) = delete;
  ~CannedServer() {
    thread_.join();
    ::close(fd_);
  }
  HttpUrl url() const { return {"127.0.0.1", port_, "/base"}; }
  std::string request() { return request_.get_future().get(); }

 private:
  void serve() {
    int client = ::accept(fd_, nullptr, nullptr);
    std::string head;
    char c;
    while (head.find("\r\n\r\n") == std::string::npos && ::read(client, &c, 1) == 1) head += c;
    request_.set_value(head);
    for (std::size_t i = 0; i < response_.size(); i += piece_) {
      auto part = response_.substr(i, piece_);
      if (::send(client, part.data(), part.size(), MSG_NOSIGNAL) < 0) break;
    }
    ::close(client);
  }

  std::string response_;
  std::size_t piece_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::promise<std::string> request_;
  std::thread thread_;
};

}  // namespace

TEST_SUITE_BEGIN("audit");

TEST_CASE("http client: URLs") {
  auto url = parse_http_url("http://127.0.0.1:8080");
  REQUIRE(url);
  CHECK(url->host == "127.0.0.1");
  CHECK(url->port == 8080);
  CHECK(url->path == "");
  url = parse_http_url("http://node.example/prefix/");
  REQUIRE(url);
  CHECK(url->port == 80);
  CHECK(url->path == "/prefix");
  url = parse_http_url("http://[::1]:9000/x");
  REQUIRE(url);
  CHECK(url->host == "::1");
  CHECK(url->port == 9000);
  for (const char* bad : {"https://h/", "ftp://h", "http://", "http://u@h/", "http://h:0",
                          "http://h:70000", "http://h/x?q=1", "http://h:x/", "h:80"})
    CHECK_MESSAGE(!parse_http_url(bad), bad);
}

TEST_CASE("http client: chunked bodies") {
  CHECK(relay::audit::decode_chunked("3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\n\r\n", 100) == "abcde");
  CHECK(relay::audit::decode_chunked("A\r\n0123456789\r\n0\r\nX-Trailer: 1\r\n\r\n", 100) ==
        "0123456789");
  CHECK_FALSE(relay::audit::decode_chunked("3\r\nabcX\r\n0\r\n\r\n", 100));
  CHECK_FALSE(relay::audit::decode_chunked("3\r\nabc\r\n", 100));  // incomplete
  CHECK_FALSE(relay::audit::decode_chunked("zz\r\n", 100));
  CHECK_FALSE(relay::audit::decode_chunked("5\r\nabcde\r\n0\r\n\r\n", 4));  // too large
}

TEST_CASE("http client: responses framed by Content-Length, chunks or the connection") {
  SUBCASE("Content-Length, and the request sent") {
    CannedServer server("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello");
    auto result = http_get(server.url(), "/audit/v1/key?x=1", {{"Authorization", "Bearer t"}});
    REQUIRE(result);
    CHECK(result.response->status == 200);
    CHECK(result.response->body == "hello");
    CHECK(result.response->headers.at("x-a") == "b");
    auto request = server.request();
    CHECK(request.rfind("GET /base/audit/v1/key?x=1 HTTP/1.1\r\n", 0) == 0);
    CHECK(request.find("\r\nAuthorization: Bearer t\r\n") != std::string::npos);
    CHECK(request.find("\r\nHost: 127.0.0.1:") != std::string::npos);
  }
  SUBCASE("chunked") {
    CannedServer server(
        "HTTP/1.1 401 Unauthorized\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nnope\r\n0\r\n\r\n", 3);
    auto result = http_get(server.url(), "/");
    REQUIRE(result);
    CHECK(result.response->status == 401);
    CHECK(result.response->body == "nope");
  }
  SUBCASE("until the connection closes") {
    CannedServer server("HTTP/1.0 200 OK\r\n\r\nall of it");
    auto result = http_get(server.url(), "/");
    REQUIRE(result);
    CHECK(result.response->body == "all of it");
  }
  SUBCASE("refused framings") {
    for (const char* response :
         {"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
          "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
          "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", "SMTP ready\r\n\r\n",
          "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n"}) {
      CannedServer server(response);
      auto result = http_get(server.url(), "/");
      CHECK_MESSAGE(!result, response);
      CHECK_FALSE(result.error.empty());
    }
  }
}

TEST_CASE("http client: nobody listening is an error value") {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);  // the port is now (very likely) closed
  auto result = http_get({"127.0.0.1", ntohs(addr.sin_port), ""}, "/");
  CHECK_FALSE(result);
  CHECK(result.error.find("cannot connect") != std::string::npos);
}

TEST_SUITE_END();
