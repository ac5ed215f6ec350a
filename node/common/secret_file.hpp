#pragma once
// Secrets kept in files (the SMTP password, the TLS private key): a file that its owner alone
// may read, or the node refuses it.
#include <filesystem>
#include <string>

namespace relay::node::common {

// The file's contents, trailing newlines dropped. Throws std::runtime_error naming `field` (the
// config field that points at the file) if the file is missing, empty, or accessible by group
// or others. The message names the path, never the contents.
std::string read_secret_file(const std::filesystem::path& path, const std::string& field);

}  // namespace relay::node::common
