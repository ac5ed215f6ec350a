#pragma once
// Certificates for TLS tests, made with the openssl command (Debian's openssl): EC P-256 keys
// (mode 0600) and certificates valid for a day, for the given subject alternative names
// ("DNS:localhost,IP:127.0.0.1"); self-signed, or issued by a test CA (a private CA, as a
// consortium might run: federation.ca_file). Header-only; throws std::runtime_error if
// openssl fails.
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace relay::test {

struct TlsFiles {
  std::filesystem::path certificate;
  std::filesystem::path key;
};

inline TlsFiles make_self_signed(const std::filesystem::path& dir, const std::string& name,
                                 const std::string& alt_names = "DNS:localhost,IP:127.0.0.1") {
  std::filesystem::create_directories(dir);
  TlsFiles files{dir / (name + ".crt"), dir / (name + ".key")};
  const std::string command =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj "
      "'/CN=" +
      name + "' -addext 'subjectAltName=" + alt_names + "' -keyout '" + files.key.string() +
      "' -out '" + files.certificate.string() + "' >/dev/null 2>&1";
  if (std::system(command.c_str()) != 0)
    throw std::runtime_error("openssl could not make a certificate for " + name);
  ::chmod(files.key.c_str(), 0600);
  return files;
}

// A test CA: its certificate is what clients trust; issue() signs node certificates with it.
struct TestCa {
  TlsFiles files;

  // A key and a certificate for `name`, signed by this CA, in dir.
  TlsFiles issue(const std::filesystem::path& dir, const std::string& name,
                 const std::string& alt_names = "DNS:localhost,IP:127.0.0.1") const {
    std::filesystem::create_directories(dir);
    TlsFiles out{dir / (name + ".crt"), dir / (name + ".key")};
    auto csr = dir / (name + ".csr");
    const std::string command =
        "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj '/CN=" + name +
        "' -addext 'subjectAltName=" + alt_names + "' -keyout '" + out.key.string() + "' -out '" +
        csr.string() + "' >/dev/null 2>&1 && openssl x509 -req -in '" + csr.string() +
        "' -copy_extensions copyall -CA '" + files.certificate.string() + "' -CAkey '" +
        files.key.string() + "' -set_serial 0x$(openssl rand -hex 8) -days 1 -out '" +
        out.certificate.string() + "' >/dev/null 2>&1";
    if (std::system(command.c_str()) != 0)
      throw std::runtime_error("openssl could not issue a certificate for " + name);
    ::chmod(out.key.c_str(), 0600);
    return out;
  }
};

inline TestCa make_test_ca(const std::filesystem::path& dir) {
  return TestCa{make_self_signed(dir, "relay-test-ca", "DNS:relay-test-ca")};
}

}  // namespace relay::test
