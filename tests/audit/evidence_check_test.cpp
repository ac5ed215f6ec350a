// audit: check_evidence over evidence made as a handoff makes it (seal_body, then open_body at
// the recipient keeps the signed plaintext).
#include "audit/evidence_check.hpp"

#include <doctest/doctest.h>

#include <string>

#include "crypto/bytes.hpp"
#include "crypto/keys.hpp"
#include "protocol/envelope.hpp"

using relay::audit::check_evidence;
using relay::audit::parse_signer_key;
namespace crypto = relay::crypto;
namespace protocol = relay::protocol;

namespace {

struct Evidence {
  crypto::Ed25519KeyPair sender = crypto::Ed25519KeyPair::generate();
  std::string text;

  Evidence() {
    auto recipient = crypto::X25519KeyPair::generate();
    nlohmann::json payload = {
        {"handoff", "h_1"}, {"personal", {{"name", "山田 花子"}, {"email", "hanako@example.jp"}}}};
    auto body = protocol::seal_body(payload, "osaka.example", "kobe.example", "msg_1", sender,
                                    recipient.public_key);
    auto opened = protocol::open_body(body, "osaka.example", "kobe.example", "msg_1", recipient,
                                      sender.public_key);
    REQUIRE(opened);
    text = opened->evidence;
  }
};

}  // namespace

TEST_SUITE_BEGIN("evidence");

TEST_CASE("evidence: the sender's signed plaintext verifies with the sender's key") {
  Evidence e;
  auto report = check_evidence(e.text, e.sender.public_key);
  CHECK(report.ok());
  CHECK(report.from == "osaka.example");
  CHECK(report.to == "kobe.example");
  CHECK(report.id == "msg_1");
  auto text = relay::audit::to_text(report);
  CHECK(text.rfind("VERIFIED", 0) == 0);
  CHECK(text.find("hanako") == std::string::npos);  // the payload is never printed
}

TEST_CASE("evidence: every changed byte is refused") {
  Evidence e;
  std::size_t refused = 0;
  for (std::size_t i = 0; i < e.text.size(); ++i) {
    auto tampered = e.text;
    tampered[i] = static_cast<char>(tampered[i] ^ 0x01);
    auto report = check_evidence(tampered, e.sender.public_key);
    refused += !report.ok();
    if (report.ok()) FAIL_CHECK("byte " << i << " changed and still verified");
  }
  CHECK(refused == e.text.size());
}

TEST_CASE("evidence: each problem is named") {
  Evidence e;
  auto other = crypto::Ed25519KeyPair::generate();
  auto wrong_key = check_evidence(e.text, other.public_key);
  CHECK(wrong_key.problem.find("does not verify") != std::string::npos);
  CHECK(relay::audit::to_text(wrong_key).rfind("FAILED", 0) == 0);
  CHECK(check_evidence(e.text + "\n", e.sender.public_key).problem.find("not canonical") !=
        std::string::npos);
  CHECK(check_evidence(R"({"a":1})", e.sender.public_key).problem.find("not handoff evidence") !=
        std::string::npos);
  auto j = nlohmann::json::parse(e.text);
  j["sig"] = "not base64!";
  CHECK(check_evidence(j.dump(), e.sender.public_key).problem.find("sig:") != std::string::npos);
}

TEST_CASE("evidence: the signer key is 32 bytes of base64") {
  Evidence e;
  auto key = parse_signer_key(crypto::to_base64(e.sender.public_key.bytes));
  REQUIRE(key);
  CHECK(*key == e.sender.public_key);
  CHECK_FALSE(parse_signer_key("not base64"));
  CHECK_FALSE(parse_signer_key(crypto::to_base64(crypto::as_bytes(std::string(31, 'x')))));
}

TEST_SUITE_END();
