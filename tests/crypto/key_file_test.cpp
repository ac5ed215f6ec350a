#include "crypto/key_file.hpp"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <system_error>

#include "crypto/keys.hpp"
#include "support/temp_dir.hpp"

using namespace relay::crypto;
namespace fs = std::filesystem;

namespace {

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

void write_raw(const fs::path& p, const std::string& content, fs::perms perms) {
  {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << content;
  }
  fs::permissions(p, perms, fs::perm_options::replace);
}

using relay::test::TempDir;

}  // namespace

TEST_CASE("a secret file is written with mode 0600 and read back") {
  TempDir dir;
  const fs::path p = dir.path / "node.key";
  const auto key = random_secret<AeadKey>();
  write_secret_file(p, key.view());
  CHECK(mode_of(p) == 0600);
  CHECK(fs::file_size(p) == 32);
  CHECK_FALSE(fs::exists(dir.path / "node.key.tmp"));
  CHECK(read_secret_file<AeadKey>(p) == key);

  // Overwriting replaces the content atomically and keeps the mode.
  const auto key2 = random_secret<AeadKey>();
  write_secret_file(p, key2.view());
  CHECK(mode_of(p) == 0600);
  CHECK(read_secret_file<AeadKey>(p) == key2);
}

TEST_CASE("a 64-byte Ed25519 secret key round-trips") {
  TempDir dir;
  const fs::path p = dir.path / "ed25519.key";
  auto pair = Ed25519KeyPair::generate();
  write_secret_file(p, pair.secret_key.view());
  CHECK(read_secret_file<Ed25519SecretKey>(p) == pair.secret_key);
}

TEST_CASE("a stale temp file is replaced") {
  TempDir dir;
  const fs::path p = dir.path / "k";
  write_raw(dir.path / "k.tmp", "stale junk", fs::perms::owner_read);
  const auto key = random_secret<AeadKey>();
  write_secret_file(p, key.view());
  CHECK(read_secret_file<AeadKey>(p) == key);
  CHECK_FALSE(fs::exists(dir.path / "k.tmp"));
}

TEST_CASE("a public file is written with mode 0644") {
  TempDir dir;
  const fs::path p = dir.path / "node.pub";
  write_public_file(p, as_bytes("public bytes"));
  CHECK(mode_of(p) == 0644);
  std::ifstream in(p, std::ios::binary);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(content == "public bytes");
  write_public_file(p, {});
  CHECK(fs::file_size(p) == 0);
}

TEST_CASE("reading a group- or world-readable secret file throws, naming the path") {
  TempDir dir;
  const fs::path p = dir.path / "loose.key";
  const std::string content(32, 'S');
  write_raw(p, content,
            fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                fs::perms::others_read);  // 0644
  REQUIRE(mode_of(p) == 0644);
  try {
    (void)read_secret_file<AeadKey>(p);
    FAIL("expected an exception");
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    CHECK(what.find(p.string()) != std::string::npos);
    CHECK(what.find("0644") != std::string::npos);
    CHECK(what.find(content) == std::string::npos);
  }
  fs::permissions(p, fs::perms::owner_read | fs::perms::group_read,
                  fs::perm_options::replace);  // 0440
  CHECK_THROWS_AS(read_secret_file<AeadKey>(p), std::runtime_error);
  fs::permissions(p, fs::perms::owner_read | fs::perms::others_write, fs::perm_options::replace);
  CHECK_THROWS_AS(read_secret_file<AeadKey>(p), std::runtime_error);
  fs::permissions(p, fs::perms::owner_read, fs::perm_options::replace);  // 0400 is fine
  CHECK_NOTHROW((void)read_secret_file<AeadKey>(p));
}

TEST_CASE("reading a secret file of the wrong size throws, naming the path") {
  TempDir dir;
  const fs::path p = dir.path / "short.key";
  write_secret_file(p, Bytes(31, 0x41));
  try {
    (void)read_secret_file<AeadKey>(p);
    FAIL("expected an exception");
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    CHECK(what.find(p.string()) != std::string::npos);
    CHECK(what.find(std::string(31, 'A')) == std::string::npos);
  }
  write_secret_file(p, Bytes(33, 0x41));
  CHECK_THROWS_AS(read_secret_file<AeadKey>(p), std::runtime_error);
  CHECK_THROWS_AS(read_secret_file<Ed25519SecretKey>(p), std::runtime_error);
  write_secret_file(p, {});
  CHECK_THROWS_AS(read_secret_file<AeadKey>(p), std::runtime_error);
}

TEST_CASE("missing files and unwritable places throw") {
  TempDir dir;
  const fs::path missing = dir.path / "nope.key";
  try {
    (void)read_secret_file<AeadKey>(missing);
    FAIL("expected an exception");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()).find(missing.string()) != std::string::npos);
  }
  CHECK_THROWS_AS(read_secret_file<AeadKey>(dir.path), std::runtime_error);  // a directory
  CHECK_THROWS_AS(write_secret_file(dir.path / "no-such-dir" / "k", Bytes(32, 1)),
                  std::system_error);
}

TEST_CASE("a bare file name is written in the current directory") {
  TempDir dir;
  const fs::path old_cwd = fs::current_path();
  fs::current_path(dir.path);
  const auto key = random_secret<AeadKey>();
  try {
    write_secret_file("bare.key", key.view());
    CHECK(read_secret_file<AeadKey>("bare.key") == key);
  } catch (...) {
    fs::current_path(old_cwd);
    throw;
  }
  fs::current_path(old_cwd);
  CHECK(mode_of(dir.path / "bare.key") == 0600);
}
