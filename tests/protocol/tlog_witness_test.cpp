// protocol/tlog_witness: the add-checkpoint request and size bodies of C2SP tlog-witness,
// against the example request in the specification (https://c2sp.org/tlog-witness).
#include "protocol/tlog_witness.hpp"

#include <doctest/doctest.h>

#include "crypto/bytes.hpp"

namespace tw = relay::protocol::tlog_witness;

namespace {
// The specification's example request body, verbatim.
const std::string kSpecCheckpoint =
    "example.com/behind-the-sofa\n"
    "20852163\n"
    "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    "\n"
    "\xe2\x80\x94 example.com/behind-the-sofa "
    "Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
    "\xe2\x80\x94 example.com/behind-the-sofa "
    "opLqBQsREYCgu6xQkYQwJr9fo45a62DN9EdmHXnZdXNqlcVGlCum2Wks+49/"
    "V6267UEjw6QUXTS5Rovnzv++qbSzm9Q=\n";
const std::string kSpecRequest =
    "old 20852014\n"
    "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n"
    "jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n"
    "5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=\n"
    "/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=\n"
    "\n" +
    kSpecCheckpoint;
}  // namespace

TEST_SUITE_BEGIN("protocol");

TEST_CASE("tlog-witness: the specification's add-checkpoint example parses and formats back") {
  auto r = tw::parse_add_checkpoint(kSpecRequest);
  REQUIRE(r);
  CHECK(r->old_size == 20852014);
  REQUIRE(r->proof.size() == 4);
  CHECK(relay::crypto::to_base64(r->proof[0]) == "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=");
  CHECK(r->checkpoint == kSpecCheckpoint);
  CHECK(tw::format_add_checkpoint(*r) == kSpecRequest);
}

TEST_CASE("tlog-witness: requests the specification does not allow are refused") {
  const std::string empty_proof = "old 0\n\n" + kSpecCheckpoint;
  CHECK(tw::parse_add_checkpoint(empty_proof));
  std::string many = "old 5\n";
  for (int i = 0; i < 64; ++i) many += "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n";
  for (const std::string& bad : {
           std::string("old 020852014\n\n") + kSpecCheckpoint,  // leading zero
           std::string("old -1\n\n") + kSpecCheckpoint,         // not a size
           std::string("old  5\n\n") + kSpecCheckpoint,         // two spaces
           std::string("Old 5\n\n") + kSpecCheckpoint,          // not "old"
           std::string("old 0\nPlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n\n") +
               kSpecCheckpoint,                                     // a proof with old 0
           std::string("old 5\nnot-base64\n\n") + kSpecCheckpoint,  // not a hash
           std::string("old 5\nAAAA\n\n") + kSpecCheckpoint,        // not 32 bytes
           many + "\n" + kSpecCheckpoint,                           // 64 proof lines
           std::string("old 5\n"),                                  // no blank line
           std::string("old 5\n\n"),                                // no checkpoint
           std::string("old 5"),                                    // no newline
       })
    CHECK_MESSAGE(!tw::parse_add_checkpoint(bad), bad.substr(0, 40));
}

TEST_CASE("tlog-witness: the 409 size body") {
  CHECK(tw::format_size(20852163) == "20852163\n");
  CHECK(tw::parse_size("20852163\n") == 20852163u);
  CHECK(tw::parse_size("0\n") == 0u);
  for (const char* bad : {"20852163", "020\n", "\n", "1 \n", "x\n", "99999999999999999999999\n"})
    CHECK_MESSAGE(!tw::parse_size(bad), bad);
}
