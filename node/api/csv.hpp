#pragma once
// CSV downloads of the API's tables (`?format=csv`): UTF-8 with a BOM (so spreadsheet
// programs read Japanese right), CRLF line ends, a header row of the JSON field names, one
// row per array element; RFC 4180 quoting (a field with a comma, quote, CR or LF is quoted,
// quotes doubled); null is an empty field; a text field starting with = + @ a tab, CR, or a -
// not followed by a digit gets a leading ' so a spreadsheet never runs it as a formula.
//
// Threads: pure functions, any thread.
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "node/api/errors.hpp"
#include "node/common/result.hpp"
#include "node/http/message.hpp"

namespace relay::node::api {

// The table as CSV text (with the BOM).
std::string to_csv(const nlohmann::json& rows, const std::vector<std::string>& columns);
// text/csv; charset=utf-8 with Content-Disposition: attachment; filename="<name>.csv".
http::Response csv_response(const std::string& name, const nlohmann::json& rows,
                            const std::vector<std::string>& columns);

// Some of a list's rows, read in a txn of their own, and whether more follow them.
struct CsvRows {
  nlohmann::json rows = nlohmann::json::array();
  bool more = false;
};
// csv_response's download for a list too long to hold whole (a member's referrals): `first`,
// then what each next() gives, sent as each is read (http::Response::stream), until one has no
// `more`; so the list takes memory for one read, not all of it. If `first` has no `more`, an
// ordinary reply. next() runs on a server thread between writes; nullopt (where it was to go
// on from is gone) cuts the download.
http::Response csv_stream(const std::string& name, std::vector<std::string> columns, CsvRows first,
                          std::function<std::optional<CsvRows>()> next);
// The `format` query parameter: false for none or "json", true for "csv", else a 400 naming it.
common::Result<bool, ApiError> wants_csv(const http::Request& request);

}  // namespace relay::node::api
