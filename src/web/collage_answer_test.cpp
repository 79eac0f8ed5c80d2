#include "web/internal/collage_answer.h"

#include <gtest/gtest.h>

namespace sparkify::web::internal {
namespace {

std::vector<Cover> TwoCovers() {
  Cover a;
  a.index = 0;
  a.name = "a.jpg";
  a.key = "uploads/aa.jpg";
  a.width = 300;
  a.height = 200;
  Cover b = a;
  b.index = 1;
  b.name = "b.png";
  b.key = "uploads/bb.png";
  return {a, b};
}

TEST(CollageAnswer, CutoutsAndCoversWithSizesAndColours) {
  std::string body = R"({"cropped_image_data":[{"key":"cutouts/aa-m.png","source":"uploads/aa.jpg",
    "rank":0,"colors":[{"rgb":[250,0,0],"share":0.6},{"rgb":[0,0,250],"share":0.4}]}],
    "uncropped_image_data":[{"key":"uploads/bb.png","source":"uploads/bb.png","rank":1,
    "colors":[{"rgb":[245,5,5],"share":1.0}]}],
    "dominant_color":[10,20,30],"complementary_color":[245,235,225],"errors":[]})";
  auto collage = ParseCollageAnswer(body, TwoCovers(), 42);
  ASSERT_TRUE(collage.ok()) << collage.status().message();
  EXPECT_EQ(collage->seed, 42u);
  EXPECT_EQ(collage->dominant, (layout::Rgb{10, 20, 30}));
  ASSERT_EQ(collage->items.size(), 2u);
  EXPECT_EQ(collage->items[0].item.kind, layout::Item::Kind::kCutout);
  EXPECT_EQ(collage->items[0].item.key, "cutouts/aa-m.png");
  EXPECT_EQ(collage->items[0].item.width, 300);
  EXPECT_EQ(collage->items[1].item.kind, layout::Item::Kind::kCover);
  EXPECT_EQ(collage->items[1].item.rank, 1);
  ASSERT_EQ(collage->palette.size(), 2u);  // the two reds merge and lead
  EXPECT_EQ(collage->palette[0], (layout::Rgb{245, 5, 5}));
}

TEST(CollageAnswer, RefusesUnknownCoversAndMissingColours) {
  std::string unknown = R"({"cropped_image_data":[{"key":"k","source":"uploads/zz.jpg"}],
    "uncropped_image_data":[],"dominant_color":[1,2,3],"complementary_color":[4,5,6]})";
  EXPECT_FALSE(ParseCollageAnswer(unknown, TwoCovers(), 1).ok());
  EXPECT_FALSE(ParseCollageAnswer(R"({"cropped_image_data":[]})", TwoCovers(), 1).ok());
  EXPECT_FALSE(ParseCollageAnswer("nope", TwoCovers(), 1).ok());
}

TEST(CollageAnswer, BadlyTypedAnswersAreErrorsNotExceptions) {
  const char* answers[] = {
      R"({"cropped_image_data":[{"key":5,"source":["x"]}],"uncropped_image_data":[],
        "dominant_color":[1,2,3],"complementary_color":[4,5,6]})",
      R"({"cropped_image_data":[{"key":"k","source":"uploads/aa.jpg","colors":[1,"x",[2]]}],
        "uncropped_image_data":[],"dominant_color":[1,2,3],"complementary_color":[4,5,6]})",
      R"({"cropped_image_data":{},"uncropped_image_data":[],"dominant_color":"red",
        "complementary_color":[4,5,6]})",
      R"([1,2,3])",
  };
  for (const char* text : answers) {
    ASSERT_NO_THROW(ParseCollageAnswer(text, TwoCovers(), 1)) << text;
  }
  auto odd_colours = ParseCollageAnswer(answers[1], TwoCovers(), 1);
  ASSERT_TRUE(odd_colours.ok()) << odd_colours.status().message();
  EXPECT_TRUE(odd_colours->palette.empty());
  EXPECT_FALSE(ParseCollageAnswer(answers[0], TwoCovers(), 1).ok());
}

TEST(SegmentAnswer, ReportsTheCoversError) {
  EXPECT_FALSE(SegmentError(R"({"cropped_image_data":[],"errors":[]})"));
  auto e = SegmentError(R"({"errors":[{"key":"k","stage":"decode","reason":"bad"}]})");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, "bad_image");
  std::optional<ApiError> odd;
  ASSERT_NO_THROW(odd = SegmentError(R"({"errors":[{"stage":5,"reason":[]}]})"));
  ASSERT_TRUE(odd);
  EXPECT_EQ(odd->code, "segment_failed");
  ASSERT_NO_THROW(odd = SegmentError(R"({"errors":["just text"]})"));
  EXPECT_TRUE(odd);
}

}  // namespace
}  // namespace sparkify::web::internal
