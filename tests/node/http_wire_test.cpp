// node/http/wire.hpp: the head the server writes itself from a Response, read back off a real
// server on loopback by its framing alone (support/wire_reply.hpp). The node's routes never
// put a CR or LF in a field or a body in a 304; these routes do, to show neither reaches the
// wire.
#include <doctest/doctest.h>

#include <stdexcept>
#include <string>
#include <thread>

#include "node/http/client.hpp"
#include "node/http/router.hpp"
#include "node/http/server.hpp"
#include "support/wire_reply.hpp"

using namespace relay::node;
using relay::test::replies_in;

namespace {

struct WireSite {
  http::Router router;
  http::Server server;
  std::thread thread;

  WireSite()
      : server(http::ServerOptions{.address = "127.0.0.1", .port = 0, .threads = 1, .tls = {}},
               [this](const http::Request& r) { return router.handle(r); }) {
    router.add("GET", "/split", [](const http::Request&, const http::Params&) {
      auto r = http::text_response(200, "ok");
      r.headers["X-Note"] = "a\r\nSet-Cookie: stolen=1\r\n\r\nHTTP/1.1 200 OK";
      return r;
    });
    router.add("GET", "/not-modified", [](const http::Request&, const http::Params&) {
      auto r = http::text_response(304, "a body a 304 must not carry");
      r.headers["ETag"] = "\"v1\"";
      return r;
    });
    router.add("GET", "/no-content", [](const http::Request&, const http::Params&) {
      return http::text_response(204, "");
    });
    router.add("GET", "/framing", [](const http::Request&, const http::Params&) {
      auto r = http::text_response(200, "short");
      r.headers["Content-Length"] = "999";
      r.headers["connection"] = "upgrade";
      r.headers["Transfer-Encoding"] = "chunked";
      return r;
    });
    router.add("GET", "/own-fields", [](const http::Request&, const http::Params&) {
      auto r = http::text_response(200, "a,b\n");
      r.headers["X-Content-Type-Options"] = "nosniff";
      r.headers["server"] = "relaynode/test";
      return r;
    });
    // A download made a piece at a time: "piece 0" .. "piece 3", the second piece empty.
    router.add("GET", "/stream", [](const http::Request&, const http::Params&) {
      auto r = http::text_response(200, "", "text/csv; charset=utf-8");
      r.stream = [n = 0](std::string& out) mutable {
        if (n != 1) out += "piece " + std::to_string(n) + "\n";
        return ++n < 4;
      };
      return r;
    });
    // One that fails after its first piece, as a storage failure would.
    router.add("GET", "/stream-fails", [](const http::Request&, const http::Params&) {
      auto r = http::text_response(200, "");
      r.stream = [n = 0](std::string& out) mutable {
        if (n++ > 0) throw std::runtime_error("the environment failed");
        out += "the first piece\n";
        return true;
      };
      return r;
    });
    server.listen();
    thread = std::thread([this] { server.run(false); });
  }
  ~WireSite() {
    server.stop();
    thread.join();
  }
  std::string raw(const std::string& requests) {
    return http::send_raw("127.0.0.1", server.port(), requests);
  }
};

std::string get(const std::string& path, bool close = false) {
  return "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
         (close ? "Connection: close\r\n" : "") + "\r\n";
}

}  // namespace

TEST_SUITE_BEGIN("http");

TEST_CASE("http wire: a CR or LF in a field's value cannot start a field or a reply") {
  WireSite site;
  auto replies = replies_in(site.raw(get("/split") + get("/split", true)));
  REQUIRE(replies.size() == 2);
  for (const auto& reply : replies) {
    CHECK(reply.status_line == "HTTP/1.1 200 OK");
    CHECK(reply.fields.at("x-note") == "a  Set-Cookie: stolen=1    HTTP/1.1 200 OK");
    CHECK(reply.fields.count("set-cookie") == 0);
    CHECK(reply.body == "ok");
  }
}

TEST_CASE("http wire: 304 and 204 replies carry no body and no Content-Length") {
  WireSite site;
  // Pipelined: a body written after the 304 would be read as the start of the next reply.
  auto replies =
      replies_in(site.raw(get("/not-modified") + get("/no-content") + get("/own-fields", true)));
  REQUIRE(replies.size() == 3);
  CHECK(replies[0].status_line == "HTTP/1.1 304 Not Modified");
  CHECK(replies[0].fields.count("content-length") == 0);
  CHECK(replies[0].fields.at("etag") == "\"v1\"");
  CHECK(replies[0].body.empty());
  CHECK(replies[1].status_line == "HTTP/1.1 204 No Content");
  CHECK(replies[1].fields.count("content-length") == 0);
  CHECK(replies[2].status_line == "HTTP/1.1 200 OK");
  CHECK(replies[2].body == "a,b\n");
}

TEST_CASE("http wire: a route's own field replaces the server's default, once") {
  WireSite site;
  auto replies = replies_in(site.raw(get("/own-fields", true)));
  REQUIRE(replies.size() == 1);
  const auto& fields = replies[0].fields;  // replies_in fails a check on a repeated field
  CHECK(fields.at("server") == "relaynode/test");
  CHECK(fields.at("x-content-type-options") == "nosniff");
  CHECK(fields.at("content-type") == "text/plain; charset=utf-8");
  CHECK(fields.at("content-length") == "4");
  CHECK(fields.at("connection") == "close");
}

TEST_CASE("http wire: the fields that frame a reply are the server's, whatever a route sets") {
  WireSite site;
  // Pipelined: a Content-Length of 999 on the wire would swallow the second reply.
  auto replies = replies_in(site.raw(get("/framing") + get("/framing", true)));
  REQUIRE(replies.size() == 2);
  for (const auto& reply : replies) {
    CHECK(reply.fields.at("content-length") == "5");
    CHECK(reply.fields.count("transfer-encoding") == 0);
    CHECK(reply.body == "short");
  }
  CHECK(replies[0].fields.count("connection") == 0);  // HTTP/1.1 keeps it open by default
  CHECK(replies[1].fields.at("connection") == "close");
}

TEST_CASE("http wire: a streamed body goes chunked, a piece a chunk, and the connection goes on") {
  WireSite site;
  auto replies = replies_in(site.raw(get("/stream") + get("/own-fields", true)));
  REQUIRE(replies.size() == 2);
  CHECK(replies[0].status_line == "HTTP/1.1 200 OK");
  CHECK(replies[0].fields.at("transfer-encoding") == "chunked");
  CHECK(replies[0].fields.count("content-length") == 0);
  CHECK(replies[0].fields.at("content-type") == "text/csv; charset=utf-8");
  CHECK(replies[0].body == "piece 0\npiece 2\npiece 3\n");
  CHECK(replies[0].chunks == 3);  // the empty piece is no chunk: one would end the body
  CHECK(replies[1].body == "a,b\n");
}

TEST_CASE("http wire: a streamed body to HTTP/1.0 ends with the connection") {
  WireSite site;
  auto raw = site.raw("GET /stream HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n" +
                      get("/own-fields", true));
  auto head_end = raw.find("\r\n\r\n");
  REQUIRE(head_end != std::string::npos);
  auto head = raw.substr(0, head_end);
  CHECK(head.rfind("HTTP/1.0 200 OK\r\n", 0) == 0);
  CHECK(head.find("Transfer-Encoding") == std::string::npos);
  CHECK(head.find("Content-Length") == std::string::npos);
  CHECK(head.find("keep-alive") == std::string::npos);
  // Everything after the head is the body: the pipelined request after it is not answered.
  CHECK(raw.substr(head_end + 4) == "piece 0\npiece 2\npiece 3\n");
}

TEST_CASE("http wire: a streamed body that fails part-way is cut, never ended as complete") {
  WireSite site;
  auto raw = site.raw(get("/stream-fails") + get("/own-fields", true));
  CHECK(raw.find("Transfer-Encoding: chunked") != std::string::npos);
  CHECK(raw.find("the first piece\n") != std::string::npos);
  // No last chunk, and the connection closed: nothing more was answered on it.
  CHECK(raw.find("\r\n0\r\n\r\n") == std::string::npos);
  CHECK(raw.find("a,b") == std::string::npos);
  // The server goes on serving.
  auto replies = replies_in(site.raw(get("/stream", true)));
  REQUIRE(replies.size() == 1);
  CHECK(replies[0].body == "piece 0\npiece 2\npiece 3\n");
}

TEST_SUITE_END();
