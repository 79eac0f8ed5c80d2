#include "web/internal/share.h"

#include "common/crypto.h"
#include "render/render.h"
#include "vision/image.h"
#include "web/internal/view.h"

namespace sparkify::web::internal {

std::string SharedPngKey(std::string_view link_key, const std::string& job_id, uint64_t seed) {
  // "name|" keeps these MACs apart from share tokens' ("link|", share_link.cpp).
  const std::string mac = HmacSha256(link_key, "name|" + job_id + "|" + std::to_string(seed));
  return "collages/" + HexEncode(std::string_view(mac).substr(0, 16)) + ".png";
}

Result<std::string> EnsureSharedPng(Job& job, const Collage& collage, Bucket& bucket,
                                    std::string_view link_key, uint64_t max_image_bytes) {
  std::string key = SharedPngKey(link_key, job.id(), collage.seed);
  if (job.IsShared(collage.seed)) return key;
  std::vector<vision::Image> images;
  images.reserve(collage.items.size());
  for (const CollageItem& item : collage.items) {
    auto bytes = bucket.Get(item.item.key, max_image_bytes);
    if (!bytes.ok()) {
      return Status::Internal("cannot read " + item.item.key +
                              " back from the bucket: " + bytes.status().message());
    }
    SPARKIFY_ASSIGN_OR_RETURN(vision::Image image, vision::DecodeImage(*bytes));
    images.push_back(std::move(image));
  }
  SPARKIFY_ASSIGN_OR_RETURN(std::string png, render::RenderPng(LayOut(collage), images));
  SPARKIFY_RETURN_IF_ERROR(bucket.Put(key, png, "image/png"));
  job.MarkShared(collage.seed);
  return key;
}

}  // namespace sparkify::web::internal
