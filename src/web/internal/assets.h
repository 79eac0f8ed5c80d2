// Internal: the page's static files (src/web/static), embedded into the binary at build time
// by embed_assets.cmake, so the server needs no files at run time. Immutable; thread-safe.
#pragma once

#include <cstddef>
#include <string_view>

namespace sparkify::web::internal {

struct Asset {
  const char* name;          // "app.js" (null in the table's end marker)
  const char* content_type;  // "text/javascript; charset=utf-8"
  const unsigned char* data;
  size_t size;
};

// The table, ended by an entry whose name is null (generated).
const Asset* EmbeddedAssets();

// The asset of that name, or null. Only plain names ("app.js") match.
inline const Asset* FindAsset(std::string_view name) {
  for (const Asset* a = EmbeddedAssets(); a->name != nullptr; ++a) {
    if (name == a->name) return a;
  }
  return nullptr;
}

}  // namespace sparkify::web::internal
