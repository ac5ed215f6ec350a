#pragma once
// Self-signed certificates for TLS tests, made with the openssl command (Debian's openssl):
// an EC P-256 key (mode 0600) and a certificate valid for a day, for the given subject
// alternative names ("DNS:localhost,IP:127.0.0.1"). Header-only; throws std::runtime_error
// if openssl fails.
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
      "'/CN=" + name + "' -addext 'subjectAltName=" + alt_names + "' -keyout '" +
      files.key.string() + "' -out '" + files.certificate.string() + "' >/dev/null 2>&1";
  if (std::system(command.c_str()) != 0)
    throw std::runtime_error("openssl could not make a certificate for " + name);
  ::chmod(files.key.c_str(), 0600);
  return files;
}

}  // namespace relay::test
