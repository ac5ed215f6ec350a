// node/mail: the RFC 5322 text of a message and the spool directory.
#include "node/mail/mailer.hpp"

#include <doctest/doctest.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>
#include <vector>

#include "crypto/bytes.hpp"
#include "node/domain_fixture.hpp"
#include "protocol/canonical_json.hpp"

using namespace relay::node::mail;
namespace fs = std::filesystem;

namespace {

// The header block (up to the blank line) and the body.
std::pair<std::string, std::string> split_message(const std::string& text) {
  auto at = text.find("\r\n\r\n");
  REQUIRE(at != std::string::npos);
  return {text.substr(0, at + 2), text.substr(at + 4)};
}

// Header lines, unfolded: a line starting with white space continues the one before.
std::vector<std::string> header_lines(const std::string& headers) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < headers.size()) {
    auto end = headers.find("\r\n", pos);
    auto line = headers.substr(pos, end - pos);
    if (!line.empty() && (line[0] == ' ' || line[0] == '\t') && !out.empty())
      out.back() += line;
    else
      out.push_back(line);
    pos = end + 2;
  }
  return out;
}

std::string header(const std::string& text, const std::string& name) {
  for (const auto& line : header_lines(split_message(text).first))
    if (line.rfind(name + ": ", 0) == 0) return line.substr(name.size() + 2);
  return {};
}

bool only_crlf(const std::string& text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r')) return false;
    if (text[i] == '\r' && (i + 1 == text.size() || text[i + 1] != '\n')) return false;
  }
  return true;
}

// Decodes a header value made of RFC 2047 B-encoded UTF-8 words separated by white space,
// checking each word's length; returns nullopt if something else is in it.
std::optional<std::string> decode_words(const std::string& value) {
  std::string out;
  std::size_t pos = 0;
  while (pos < value.size()) {
    if (value[pos] == ' ' || value[pos] == '\t') {
      ++pos;
      continue;
    }
    if (value.compare(pos, 10, "=?UTF-8?B?") != 0) return std::nullopt;
    auto end = value.find("?=", pos + 10);
    if (end == std::string::npos) return std::nullopt;
    auto word_length = end + 2 - pos;
    CHECK(word_length <= 75);  // RFC 2047 section 2
    auto bytes = relay::crypto::from_base64(value.substr(pos + 10, end - pos - 10));
    if (!bytes) return std::nullopt;
    auto chunk = relay::crypto::to_string(*bytes);
    // Each word holds whole characters (section 5): it is valid UTF-8 on its own.
    CHECK(relay::protocol::is_valid_utf8(chunk));
    out += chunk;
    pos = end + 2;
  }
  return out;
}

const Mail kMail{"relay@kobe.relaynode", "hanako@example.jp", "Please confirm",
                 "Line one\nLine two\r\nLine three"};

}  // namespace

TEST_SUITE_BEGIN("mailer");

TEST_CASE("mailer: format_rfc5322 writes headers, a blank line and a CRLF body") {
  auto text = format_rfc5322(kMail, "123-abc@kobe.relaynode", 1'800'000'000);
  CHECK(only_crlf(text));
  CHECK(text.size() >= 2);
  CHECK(text.substr(text.size() - 2) == "\r\n");
  auto [headers, body] = split_message(text);
  CHECK(body == "Line one\r\nLine two\r\nLine three\r\n");
  CHECK(header(text, "From") == "relay@kobe.relaynode");
  CHECK(header(text, "To") == "hanako@example.jp");
  CHECK(header(text, "Subject") == "Please confirm");  // ASCII stays as is
  CHECK(header(text, "Date") == "Fri, 15 Jan 2027 08:00:00 +0000");
  CHECK(header(text, "Message-ID") == "<123-abc@kobe.relaynode>");
  CHECK(header(text, "MIME-Version") == "1.0");
  CHECK(header(text, "Content-Type") == "text/plain; charset=UTF-8");
  CHECK(header(text, "Content-Transfer-Encoding") == "8bit");
  for (const auto& line : header_lines(headers)) CHECK(line.size() <= 998);
}

TEST_CASE("mailer: every body's line ends become CRLF, and a body ends with one") {
  // The body as the byte-by-byte loop wrote it: LF -> CRLF, CR dropped, CRLF at the end of
  // the message (an empty body ends with the blank line after the headers).
  auto expected = [](std::string_view body) {
    std::string out;
    for (char c : body) {
      if (c == '\n')
        out += "\r\n";
      else if (c != '\r')
        out.push_back(c);
    }
    if (!out.empty() && !out.ends_with("\r\n")) out += "\r\n";
    return out;
  };
  for (const std::string& body :
       {std::string(""), std::string("x"), std::string("\n"), std::string("\r\n\r\n"),
        std::string("a\rb\r\nc\n\nd"), std::string("ends with CR\r"),
        std::string("長い本文\n") + std::string(3000, 'z') + "\r\n末尾",
        std::string("\r\r\n\n\r")}) {
    auto text = format_rfc5322({"a@b.jp", "c@d.jp", "s", body}, "id@b.jp", 0);
    CHECK(only_crlf(text));
    CHECK(split_message(text).second == expected(body));
  }
}

TEST_CASE("mailer: a UTF-8 subject is RFC 2047 encoded in words of at most 75 characters") {
  for (const std::string& subject :
       {std::string("確認"),
        std::string("【キャリアリレー】メールアドレスの確認 / Please confirm your email address"),
        std::string("【キャリアリレー】登録が完了しました / Your registration is complete"),
        std::string("é"), std::string(300, 'a') + "ü" + std::string(3, 'b')}) {
    auto text = format_rfc5322({"a@b.jp", "c@d.jp", subject, "x"}, "id@b.jp", 0);
    CHECK(only_crlf(text));
    auto value = header(text, "Subject");
    REQUIRE_FALSE(value.empty());
    auto decoded = decode_words(value);
    REQUIRE_MESSAGE(decoded, value);
    CHECK(*decoded == subject);
    // Every physical header line stays short enough for any MTA.
    auto [headers, body] = split_message(text);
    std::size_t pos = 0;
    while (pos < headers.size()) {
      auto end = headers.find("\r\n", pos);
      CHECK(end - pos <= 998);
      pos = end + 2;
    }
  }
}

TEST_CASE("mailer: header injection through CR or LF is stripped") {
  Mail evil{"relay@kobe.relaynode\r\nBcc: from@evil.example",
            "hanako@example.jp\r\nBcc: to@evil.example", "Hello\r\nBcc: subject@evil.example",
            "body"};
  auto text = format_rfc5322(evil, "id@kobe\nX-Evil: 1", 0);
  CHECK(only_crlf(text));
  auto [headers, body] = split_message(text);
  for (const auto& line : header_lines(headers)) {
    CHECK(line.rfind("Bcc:", 0) != 0);
    CHECK(line.rfind("X-Evil:", 0) != 0);
  }
  CHECK(header(text, "To") == "hanako@example.jpBcc: to@evil.example");
  auto utf8 =
      format_rfc5322({"a@b.jp", "c@d.jp", "件名\r\nBcc: x@evil.example", "x"}, "id@b.jp", 0);
  for (const auto& line : header_lines(split_message(utf8).first))
    CHECK(line.rfind("Bcc:", 0) != 0);
  auto decoded = decode_words(header(utf8, "Subject"));
  REQUIRE(decoded);
  CHECK(decoded->find('\n') == std::string::npos);
  CHECK(decoded->find('\r') == std::string::npos);
}

TEST_CASE("mailer: the spool gets one complete file per message; discard removes it") {
  relay::test::TempDir dir("spool");
  SpoolMailer mailer(dir.path / "mail");
  CHECK(fs::is_directory(dir.path / "mail"));
  auto id = mailer.send(kMail);
  auto id2 = mailer.send(kMail);
  CHECK(id != id2);
  CHECK(id.size() > 4);
  CHECK(id.substr(id.size() - 4) == ".eml");
  auto path = dir.path / "mail" / id;
  REQUIRE(fs::exists(path));
  auto text = relay::test::read_file(path);
  CHECK(only_crlf(text));
  CHECK(header(text, "To") == "hanako@example.jp");
  CHECK(header(text, "Message-ID").find("@kobe.relaynode>") != std::string::npos);
  CHECK(split_message(text).second == "Line one\r\nLine two\r\nLine three\r\n");
  // Only the two messages: no temporary files left behind; private permissions.
  std::size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir.path / "mail")) {
    ++files;
    CHECK(e.path().filename().string().front() != '.');
    CHECK((e.status().permissions() & (fs::perms::group_all | fs::perms::others_all)) ==
          fs::perms::none);
  }
  CHECK(files == 2);

  CHECK(mailer.discard(id));
  CHECK_FALSE(fs::exists(path));
  CHECK_FALSE(mailer.discard(id));
  // Nothing outside the spool can be named.
  CHECK_FALSE(mailer.discard("../" + id2));
  CHECK_FALSE(mailer.discard(""));
  CHECK_FALSE(mailer.discard(".hidden"));
  CHECK(fs::exists(dir.path / "mail" / id2));
}

TEST_CASE(
    "mailer: a keyed message spools as one file, again after a crash; sweep removes its "
    "candidate's files") {
  relay::test::TempDir dir("spool-key");
  SpoolMailer mailer(dir.path / "mail");
  Mail m{"relay@kobe.relaynode", "a@example.jp", "s", "first", "c_abc-0001"};
  CHECK(mailer.send(m) == "c_abc-0001.eml");
  // A crash in the middle of spooling it again left its temporary file.
  { std::ofstream(dir.path / "mail" / ".c_abc-0001.tmp") << "torn"; }
  m.body = "second";
  CHECK(mailer.send(m) == "c_abc-0001.eml");
  std::size_t files = 0;
  for (const auto& entry : fs::directory_iterator(dir.path / "mail")) {
    (void)entry;
    ++files;
  }
  CHECK(files == 1);  // one message, one file
  Mail other{"relay@kobe.relaynode", "b@example.jp", "s", "b", "c_xyz-0002"};
  mailer.send(other);
  { std::ofstream(dir.path / "mail" / ".c_abc-0003.tmp") << "torn"; }
  CHECK(mailer.sweep("c_abc-") == 2);
  CHECK_FALSE(fs::exists(dir.path / "mail" / "c_abc-0001.eml"));
  CHECK(fs::exists(dir.path / "mail" / "c_xyz-0002.eml"));
  CHECK(mailer.sweep("") == 0);
}

TEST_CASE("mailer: a spool that cannot be written is an error naming it, and spools nothing") {
  relay::test::TempDir dir("spool-gone");
  SpoolMailer mailer(dir.path / "mail");
  fs::remove_all(dir.path / "mail");
  { std::ofstream(dir.path / "mail") << "not a directory"; }
  try {
    mailer.send(kMail);
    FAIL("sent into a file");
  } catch (const std::system_error& e) {
    CHECK(e.code().value() == ENOTDIR);
    CHECK(std::string(e.what()).find((dir.path / "mail").string()) != std::string::npos);
  }
  CHECK(relay::test::read_file(dir.path / "mail") == "not a directory");
}

TEST_SUITE_END();
