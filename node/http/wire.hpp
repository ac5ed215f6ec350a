#pragma once
// A reply's head (status line and fields) as bytes, and the sending of a reply as one gather
// write of head and body.
//
// Beast's own http::async_write runs a serializer that builds and walks a chain of buffer
// views (the status line, each field, the body) on every write. For the small JSON replies
// most routes give, that cost more than the handler: about 17k of the 66k instructions a
// member's referral list took (callgrind), against about 2k for this.
//
// Header-only and Beast-heavy: include it only where Beast is compiled already (server.cpp and
// the benchmarks' bare servers, which must write the same way to stay a fair limit).
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/system/error_code.hpp>
#include <string>

namespace relay::node::http {

using WireResponse = boost::beast::http::response<boost::beast::http::string_body>;

// "HTTP/1.1 200 OK\r\n", each field as "Name: value\r\n" in order, then the blank line: the
// bytes Beast's serializer writes before the body.
inline std::string head_of(const WireResponse& res) {
  std::string out;
  out.reserve(160);
  out += res.version() == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  out += std::to_string(res.result_int());
  out += ' ';
  out += res.reason();
  out += "\r\n";
  for (const auto& field : res) {
    out += field.name_string();
    out += ": ";
    out += field.value();
    out += "\r\n";
  }
  out += "\r\n";
  return out;
}

// Writes the whole reply (prepare_payload() done by the caller); the error, if any.
template <class Stream>
boost::asio::awaitable<boost::system::error_code> async_send(Stream& stream,
                                                             const WireResponse& res) {
  auto head = head_of(res);
  std::array<boost::asio::const_buffer, 2> buffers{boost::asio::buffer(head),
                                                   boost::asio::buffer(res.body())};
  auto [ec, n] = co_await boost::asio::async_write(
      stream, buffers, boost::asio::as_tuple(boost::asio::use_awaitable));
  (void)n;
  co_return ec;
}

}  // namespace relay::node::http
