#include "node/api/csv.hpp"

#include <memory>
#include <stdexcept>

namespace relay::node::api {

namespace {

std::string field(const nlohmann::json& v) {
  if (v.is_null()) return "";
  std::string text = v.is_string() ? v.get<std::string>() : v.dump();
  // A leading - is a formula only before something other than a digit: the age band "-24" and
  // "65-" stay as they are.
  if (v.is_string() && !text.empty() &&
      (text[0] == '=' || text[0] == '+' || text[0] == '@' || text[0] == '\t' || text[0] == '\r' ||
       (text[0] == '-' && (text.size() == 1 || text[1] < '0' || text[1] > '9'))))
    text.insert(0, "'");
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + '"';
}

void append_header(std::string& out, const std::vector<std::string>& columns) {
  out += "\xEF\xBB\xBF";
  for (std::size_t i = 0; i < columns.size(); ++i) out += (i ? "," : "") + field(columns[i]);
  out += "\r\n";
}

void append_rows(std::string& out, const nlohmann::json& rows,
                 const std::vector<std::string>& columns) {
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < columns.size(); ++i) {
      if (i) out += ',';
      if (row.contains(columns[i])) out += field(row.at(columns[i]));
    }
    out += "\r\n";
  }
}

http::Response download(const std::string& name, std::string body) {
  auto r = http::text_response(200, std::move(body), "text/csv; charset=utf-8");
  r.headers["Content-Disposition"] = "attachment; filename=\"" + name + ".csv\"";
  return r;
}

}  // namespace

std::string to_csv(const nlohmann::json& rows, const std::vector<std::string>& columns) {
  std::string out;
  append_header(out, columns);
  append_rows(out, rows, columns);
  return out;
}

http::Response csv_response(const std::string& name, const nlohmann::json& rows,
                            const std::vector<std::string>& columns) {
  return download(name, to_csv(rows, columns));
}

http::Response csv_stream(const std::string& name, std::vector<std::string> columns, CsvRows first,
                          std::function<std::optional<CsvRows>()> next) {
  if (!first.more) return csv_response(name, first.rows, columns);  // one read held it all
  auto r = download(name, "");
  struct Reading {
    std::vector<std::string> columns;
    std::optional<CsvRows> first;
    std::function<std::optional<CsvRows>()> next;
  };
  auto reading =
      std::make_shared<Reading>(Reading{std::move(columns), std::move(first), std::move(next)});
  r.stream = [reading](std::string& out) {
    if (reading->first) {  // with `more`: csv_response answered a first read that had none
      append_header(out, reading->columns);
      append_rows(out, reading->first->rows, reading->columns);
      reading->first.reset();
      return true;
    }
    auto rows = reading->next();
    if (!rows) throw std::runtime_error("csv: the list changed where the download went on");
    append_rows(out, rows->rows, reading->columns);
    return rows->more;
  };
  return r;
}

common::Result<bool, ApiError> wants_csv(const http::Request& request) {
  auto it = request.query.find("format");
  if (it == request.query.end() || it->second == "json") return false;
  if (it->second == "csv") return true;
  return common::fail(bad_request("bad_parameter", "format: csv or json"));
}

}  // namespace relay::node::api
