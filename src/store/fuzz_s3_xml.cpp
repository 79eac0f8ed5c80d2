// libFuzzer target: every XML request-body parser of the store on arbitrary bytes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "store/internal/s3_xml.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view xml(reinterpret_cast<const char*>(data), size);
  (void)sparkify::store::ParseCompleteMultipartUpload(xml);
  (void)sparkify::store::ParseDeleteObjects(xml);
  (void)sparkify::store::ParseCreateBucketConfiguration(xml);
  auto pab = sparkify::store::ParsePublicAccessBlock(xml);
  if (pab.ok()) (void)sparkify::store::PublicAccessBlockXml(*pab);
  (void)sparkify::store::ParseEncryptionConfiguration(xml);
  return 0;
}
