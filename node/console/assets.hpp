#pragma once
// The console's static files (node/console/assets/ and Debian's Chart.js), embedded in the
// binary at build time (embed_assets.cmake writes the byte arrays), so the node serves the
// console without reading any file at run time and an installed node cannot serve a stale or
// edited copy. Each file is known by its name alone ("console.js", "chart.min.js").
//
// Threads: any (the table is built once, on first use, and only read afterwards).
#include <string>
#include <string_view>
#include <vector>

namespace relay::node::console {

// One embedded file as the generated code lists it.
struct EmbeddedFile {
  std::string_view name;
  std::string_view bytes;
};
// Defined in the generated console_assets.cpp.
const std::vector<EmbeddedFile>& embedded_files();

// A file ready to serve.
struct Asset {
  std::string_view name;
  std::string_view bytes;
  std::string content_type;  // from the extension: html, css, js
  std::string etag;          // a strong ETag: "sha256 of the bytes" (hex, quoted)
};

// The asset named `name`, or nullptr.
const Asset* find_asset(std::string_view name);

}  // namespace relay::node::console
