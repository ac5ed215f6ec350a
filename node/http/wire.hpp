#pragma once
// A reply's head (status line and fields) as bytes, and the sending of a reply as one gather
// write of head and body (a streamed body: head, then a chunk a piece).
//
// Beast's own http::async_write runs a serializer that builds and walks a chain of buffer
// views (the status line, each field, the body) on every write. For the small JSON replies
// most routes give, that cost more than the handler: about 17k of the 66k instructions a
// member's referral list took (callgrind), against about 2k for this. The head is written
// straight from the Response: building a Beast message first allocated a node per field, and
// a member's credits took 47.3k instructions per request with it, 44.6k without.
//
// Header-only and Beast-heavy: include it only where Beast is compiled already (server.cpp and
// the benchmarks' bare servers, which must write the same way to stay a fair limit).
#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/system/error_code.hpp>
#include <charconv>
#include <chrono>
#include <string>
#include <string_view>

#include "node/http/message.hpp"

namespace relay::node::http {

// 1xx, 204 and 304 replies carry no body, and none is sent a Content-Length (RFC 9110, 8.6: a
// 304 may carry only the length its 200 would have had).
inline bool has_body(int status) {
  return status >= 200 && status != 204 && status != 304;
}

namespace wire_detail {

inline void append_field(std::string& out, std::string_view name, std::string_view value) {
  // One resize and four copies: four appends, each checking the capacity, cost twice as much.
  auto at = out.size();
  out.resize(at + name.size() + value.size() + 4);
  char* p = out.data() + at;
  p = std::copy(name.begin(), name.end(), p);
  *p++ = ':';
  *p++ = ' ';
  // A CR or LF would end the field early and let the rest pass as a field or a reply of its
  // own; no route puts one there, and none may reach the wire.
  p = std::replace_copy_if(
      value.begin(), value.end(), p, [](char c) { return c == '\r' || c == '\n'; }, ' ');
  *p++ = '\r';
  *p = '\n';
}

// Fields that frame the message: the server's alone, whatever a route puts in its headers.
inline bool framing(std::string_view name) {
  return boost::beast::iequals(name, "Content-Length") ||
         boost::beast::iequals(name, "Connection") ||
         boost::beast::iequals(name, "Transfer-Encoding");
}

inline bool named(const std::map<std::string, std::string>& fields, std::string_view name) {
  for (const auto& field : fields)
    if (boost::beast::iequals(field.first, name)) return true;
  return false;
}

}  // namespace wire_detail

// "HTTP/1.1 200 OK\r\n", the fields, then the blank line: Server, Content-Type and
// X-Content-Type-Options unless r's own headers name them, r's headers but those that frame the
// message, Connection where the version's default is not what keep_alive asks, and, if the
// status has a body, Content-Length or (a streamed body, HTTP/1.1) Transfer-Encoding: chunked.
// An HTTP/1.0 streamed body ends with the connection: keep_alive must be false.
inline std::string head_of(const Response& r, unsigned version, bool keep_alive) {
  using wire_detail::append_field;
  std::string out;
  out.reserve(192);
  out += version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  char digits[24];
  auto status_end = std::to_chars(digits, digits + sizeof digits, r.status).ptr;
  out.append(digits, status_end);
  out += ' ';
  auto reason =
      boost::beast::http::obsolete_reason(static_cast<boost::beast::http::status>(r.status));
  out.append(reason.data(), reason.size());
  out += "\r\n";
  if (!wire_detail::named(r.headers, "Server")) append_field(out, "Server", "relaynode");
  if (!wire_detail::named(r.headers, "Content-Type"))
    append_field(out, "Content-Type", r.content_type);
  if (!wire_detail::named(r.headers, "X-Content-Type-Options"))
    append_field(out, "X-Content-Type-Options", "nosniff");
  for (const auto& [name, value] : r.headers)
    if (!wire_detail::framing(name)) append_field(out, name, value);
  if (version == 10 && keep_alive) append_field(out, "Connection", "keep-alive");
  if (version != 10 && !keep_alive) append_field(out, "Connection", "close");
  if (has_body(r.status) && r.stream) {
    if (version != 10) append_field(out, "Transfer-Encoding", "chunked");
  } else if (has_body(r.status)) {
    auto length_end = std::to_chars(digits, digits + sizeof digits, r.body.size()).ptr;
    append_field(out, "Content-Length", std::string_view(digits, length_end - digits));
  }
  out += "\r\n";
  return out;
}

// Writes a streamed reply: its head, then each piece r.stream makes (HTTP/1.1: as a chunk,
// then the last chunk), each write with `timeout` to go. The error, if any: r.stream throwing
// is errc::io_error, after which nothing more is written.
template <class Stream>
boost::asio::awaitable<boost::system::error_code> async_send_stream(
    Stream& stream, const Response& r, unsigned version, bool keep_alive,
    std::chrono::steady_clock::duration timeout) {
  const bool body = has_body(r.status);
  const bool chunked = body && version != 10;
  std::string head = head_of(r, version, keep_alive);
  std::string piece;
  bool more = body;
  do {
    piece.clear();
    try {
      if (more) more = r.stream(piece);
    } catch (...) {
      co_return make_error_code(boost::system::errc::io_error);
    }
    char size[24];
    std::size_t size_length = 0;
    if (chunked && !piece.empty()) {
      auto end = std::to_chars(size, size + sizeof size - 2, piece.size(), 16).ptr;
      *end++ = '\r';
      *end++ = '\n';
      size_length = static_cast<std::size_t>(end - size);
    }
    const bool framed = chunked && !piece.empty();
    std::array<boost::asio::const_buffer, 5> buffers{
        boost::asio::buffer(head), boost::asio::buffer(size, size_length),
        boost::asio::buffer(piece), boost::asio::buffer("\r\n", framed ? 2 : 0),
        boost::asio::buffer("0\r\n\r\n", chunked && !more ? 5 : 0)};
    boost::beast::get_lowest_layer(stream).expires_after(timeout);
    auto [ec, n] = co_await boost::asio::async_write(
        stream, buffers, boost::asio::as_tuple(boost::asio::use_awaitable));
    (void)n;
    if (ec) co_return ec;
    head.clear();
  } while (more);
  co_return boost::system::error_code{};
}

// Writes the whole reply to an HTTP/`version` request; the error, if any. Not for a streamed
// reply (r.stream): async_send_stream sends those.
template <class Stream>
boost::asio::awaitable<boost::system::error_code> async_send(Stream& stream, const Response& r,
                                                             unsigned version, bool keep_alive) {
  auto head = head_of(r, version, keep_alive);
  // Three buffers, the last empty, not two: Asio's async_write of a two-buffer array passes its
  // next write the head's empty rest and the body, and Beast's ssl_stream (flat_stream) writes
  // nothing of a sequence whose first buffer is empty and whose next does not fit a TLS record
  // with it; async_write took that for the end. Over HTTPS a reply of more than 16 KiB arrived
  // as its head alone (tests/integration/tls_test.cpp). A longer array goes through Asio's
  // general write, which drops the buffers written from the sequence.
  std::array<boost::asio::const_buffer, 3> buffers{
      boost::asio::buffer(head),
      has_body(r.status) ? boost::asio::buffer(r.body) : boost::asio::const_buffer(),
      boost::asio::const_buffer()};
  auto [ec, n] = co_await boost::asio::async_write(
      stream, buffers, boost::asio::as_tuple(boost::asio::use_awaitable));
  (void)n;
  co_return ec;
}

}  // namespace relay::node::http
