#include "web/multipart.h"

#include <algorithm>
#include <cctype>

namespace sparkify::web::internal {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// The value of `param` in a header value like `form-data; name="file"; filename="a.jpg"`.
std::string Param(std::string_view header, std::string_view param) {
  size_t pos = 0;
  while (pos < header.size()) {
    size_t semi = header.find(';', pos);
    if (semi == std::string_view::npos) return "";
    pos = semi + 1;
    std::string_view rest = Trim(header.substr(pos));
    size_t eq = rest.find('=');
    if (eq == std::string_view::npos) return "";
    if (Lower(Trim(rest.substr(0, eq))) != param) continue;
    std::string_view v = rest.substr(eq + 1);
    std::string out;
    if (!v.empty() && v.front() == '"') {
      for (size_t i = 1; i < v.size() && v[i] != '"'; ++i) {
        if (v[i] == '\\' && i + 1 < v.size()) ++i;
        out.push_back(v[i]);
      }
    } else {
      out = std::string(Trim(v.substr(0, v.find(';'))));
    }
    return out;
  }
  return "";
}

}  // namespace

Result<std::string> MultipartBoundary(std::string_view content_type) {
  std::string lower = Lower(content_type);
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
      std::string name = Lower(Trim(line.substr(0, colon)));
      std::string_view value = Trim(line.substr(colon + 1));
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
