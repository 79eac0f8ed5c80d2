#include "web/internal/ingest.h"

#include <gtest/gtest.h>

#include <filesystem>

#include <unistd.h>

#include "common/crypto.h"
#include "common/files.h"
#include "vision/cutout.h"

namespace sparkify::web::internal {
namespace {

std::string Png(int w, int h) {
  vision::Image image;
  image.pixels = cv::Mat(h, w, CV_8UC3, cv::Scalar(128, 64, 32));
  auto png = vision::EncodePng(image);
  EXPECT_TRUE(png.ok());
  return *png;
}

TEST(CheckImage, AcceptsByHeaderAndRefusesOthers) {
  ImageCheck ok = CheckImage(Png(30, 20));
  ASSERT_TRUE(ok.status.ok());
  EXPECT_EQ(ok.info.ext, "png");
  EXPECT_EQ(ok.info.content_type, "image/png");
  EXPECT_EQ(ok.info.width, 30);
  EXPECT_EQ(ok.info.height, 20);

  ImageCheck text = CheckImage("GIF89a, or anything else");
  EXPECT_FALSE(text.status.ok());
  EXPECT_EQ(text.error.code, "unsupported_type");

  ImageCheck cut = CheckImage(Png(30, 20).substr(0, 20));  // signature, IHDR cut short
  EXPECT_FALSE(cut.status.ok());
  EXPECT_EQ(cut.error.code, "bad_image");
}

TEST(UploadKey, IsContentAddressed) {
  std::string png = Png(4, 4);
  ImageInfo info = CheckImage(png).info;
  std::string key = UploadKey(png, info);
  EXPECT_EQ(key, "uploads/" + Sha256Hex(png) + ".png");
}

TEST(ListSamples, IndexOrderSoundImagesOnlyCapped) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("sparkify-samples-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  ASSERT_TRUE(WriteFileAtomic((dir / "b.png").string(), Png(8, 8)).ok());
  ASSERT_TRUE(WriteFileAtomic((dir / "a.png").string(), Png(8, 8)).ok());
  ASSERT_TRUE(WriteFileAtomic((dir / "c.png").string(), Png(8, 8)).ok());
  ASSERT_TRUE(WriteFileAtomic((dir / "broken.png").string(), Png(8, 8).substr(0, 20)).ok());
  ASSERT_TRUE(WriteFileAtomic((dir / "notes.txt").string(), "not an image").ok());
  ASSERT_TRUE(WriteFileAtomic((dir / "index.tsv").string(),
                              "name\tfile\nb\tb.png\nbroken\tbroken.png\na\ta.png\n")
                  .ok());
  std::vector<SampleFile> all = ListSamples(dir.string(), 30);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].name, "b");  // index order first, then the rest by name
  EXPECT_EQ(all[1].name, "a");
  EXPECT_EQ(all[2].name, "c");
  EXPECT_EQ(ListSamples(dir.string(), 2).size(), 2u);
  EXPECT_TRUE(ListSamples((dir / "missing").string(), 30).empty());
  fs::remove_all(dir);
}

}  // namespace
}  // namespace sparkify::web::internal
