#include "web/internal/multipart.h"

#include "common/strings.h"

#include <algorithm>
#include <cctype>

namespace sparkify::web::internal {
namespace {

// Header values and parameters: spaces and tabs around, and a CR left by a bare line end.
std::string_view TrimMultipart(std::string_view s) { return TrimChars(s, " \t\r"); }

// The value of `param` in a header value like `form-data; name="file"; filename="a;b.jpg"`.
// A ';' inside quotes does not end a parameter; a parameter without '=' is skipped.
std::string Param(std::string_view header, std::string_view param) {
  // Split at the ';' outside quotes.
  std::vector<std::string_view> items;
  size_t start = 0;
  bool quoted = false;
  for (size_t i = 0; i <= header.size(); ++i) {
    if (i == header.size() || (header[i] == ';' && !quoted)) {
      items.push_back(header.substr(start, i - start));
      start = i + 1;
    } else if (header[i] == '\\' && quoted && i + 1 < header.size()) {
      ++i;
    } else if (header[i] == '"') {
      quoted = !quoted;
    }
  }
  for (size_t k = 1; k < items.size(); ++k) {  // items[0] is the type ("form-data")
    std::string_view item = TrimMultipart(items[k]);
    size_t eq = item.find('=');
    if (eq == std::string_view::npos) continue;
    if (AsciiLowerString(TrimMultipart(item.substr(0, eq))) != param) continue;
    std::string_view v = TrimMultipart(item.substr(eq + 1));
    if (v.empty() || v.front() != '"') return std::string(v);
    std::string out;
    for (size_t i = 1; i < v.size() && v[i] != '"'; ++i) {
      if (v[i] == '\\' && i + 1 < v.size()) ++i;
      out.push_back(v[i]);
    }
    return out;
  }
  return "";
}

}  // namespace

Result<std::string> MultipartBoundary(std::string_view content_type) {
  std::string lower = AsciiLowerString(content_type);
  if (!lower.starts_with("multipart/form-data")) {
    return Status::InvalidArgument("not multipart/form-data");
  }
  std::string b = Param(content_type, "boundary");
  if (b.empty() || b.size() > 70) return Status::InvalidArgument("bad multipart boundary");
  return b;
}

Result<std::vector<FormPart>> ParseMultipart(std::string_view body, std::string_view boundary,
                                             size_t max_parts) {
  const std::string delim = "--" + std::string(boundary);
  const std::string next = "\r\n" + delim;
  std::vector<FormPart> parts;
  size_t pos = body.find(delim);
  if (pos == std::string_view::npos) return Status::InvalidArgument("multipart: no boundary");
  pos += delim.size();
  while (true) {
    if (body.substr(pos, 2) == "--") return parts;  // the closing delimiter
    if (body.substr(pos, 2) != "\r\n") return Status::InvalidArgument("multipart: bad delimiter");
    pos += 2;
    if (parts.size() >= max_parts) {
      return Status::ResourceExhausted("multipart: more than " + std::to_string(max_parts) +
                                       " parts");
    }
    size_t head_end = body.find("\r\n\r\n", pos);
    if (head_end == std::string_view::npos) return Status::InvalidArgument("multipart: no headers");
    FormPart part;
    bool disposition = false;
    std::string_view head = body.substr(pos, head_end - pos);
    while (!head.empty()) {
      size_t eol = head.find("\r\n");
      std::string_view line = head.substr(0, eol);
      head = eol == std::string_view::npos ? std::string_view() : head.substr(eol + 2);
      size_t colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      std::string name = AsciiLowerString(TrimMultipart(line.substr(0, colon)));
      std::string_view value = TrimMultipart(line.substr(colon + 1));
      if (name == "content-disposition") {
        disposition = true;
        part.name = Param(value, "name");
        part.filename = Param(value, "filename");
      } else if (name == "content-type") {
        part.content_type = std::string(value);
      }
    }
    if (!disposition) return Status::InvalidArgument("multipart: part without Content-Disposition");
    size_t data_start = head_end + 4;
    size_t end = body.find(next, data_start);
    if (end == std::string_view::npos) {
      return Status::InvalidArgument("multipart: body ends inside a part");
    }
    part.data = body.substr(data_start, end - data_start);
    parts.push_back(std::move(part));
    pos = end + next.size();
  }
}

}  // namespace sparkify::web::internal
