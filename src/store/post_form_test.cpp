#include "store/internal/post_form.h"

#include <gtest/gtest.h>

namespace sparkify::store {
namespace {

// A body that arrives `step` bytes at a time, so boundaries straddle reads.
class TrickleBody : public http::BodySource {
 public:
  TrickleBody(std::string data, size_t step) : data_(std::move(data)), step_(step) {}
  Result<size_t> Read(char* buf, size_t n) override {
    size_t take = std::min({n, step_, data_.size() - at_});
    std::copy_n(data_.data() + at_, take, buf);
    at_ += take;
    return take;
  }

 private:
  std::string data_;
  size_t step_;
  size_t at_ = 0;
};

std::string Form(const std::vector<std::pair<std::string, std::string>>& fields,
                 const std::string& file, const std::string& boundary = "XyZ") {
  std::string body = "preamble\r\n";
  for (const auto& [name, value] : fields) {
    body += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" +
            value + "\r\n";
  }
  body += "--" + boundary +
          "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"C:\\dir\\a;b.png\"\r\n"
          "Content-Type: image/png\r\n\r\n" +
          file + "\r\n--" + boundary + "--\r\n";
  return body;
}

TEST(PostFormTest, ReadsFieldsThenStreamsTheFileWhateverTheReadSizes) {
  // File bytes that look like the start of a delimiter, and CR LF inside.
  const std::string file = "\r\n--Xy not yet\r\n--XyZ";
  const std::string file_body =
      file.substr(0, file.size() - 5);  // the file ends before "\r\n--XyZ"
  for (size_t step : {1, 2, 3, 7, 64, 100000}) {
    TrickleBody body(
        Form({{"Key", "uploads/${filename}"}, {"Content-Type", "image/png"}}, file_body), step);
    PostFormReader reader(&body, "XyZ");
    PostForm form;
    ASSERT_FALSE(reader.ReadFields(&form).has_value()) << step;
    EXPECT_EQ(form.fields.at("key"), "uploads/${filename}");
    EXPECT_EQ(form.fields.at("content-type"), "image/png");
    // As a browser writes it: a backslash is a character, a ';' in quotes is the name's.
    EXPECT_EQ(form.file_name, "C:\\dir\\a;b.png");
    std::string got;
    ASSERT_FALSE(reader
                     .ReadFile([&](std::string_view d) -> std::optional<S3Error> {
                       got.append(d);
                       return std::nullopt;
                     })
                     .has_value());
    EXPECT_EQ(got, file_body) << step;
  }
}

TEST(PostFormTest, RefusesWhatIsNotAnUploadForm) {
  auto fields_error = [](const std::string& data, size_t step = 5) {
    TrickleBody body(data, step);
    PostFormReader reader(&body, "XyZ");
    PostForm form;
    auto err = reader.ReadFields(&form);
    return err ? err->code : S3ErrorCode::kInternalError;
  };
  EXPECT_EQ(fields_error("no boundary at all"), S3ErrorCode::kMalformedPOSTRequest);
  EXPECT_EQ(
      fields_error("--XyZ\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nk\r\n--XyZ--"),
      S3ErrorCode::kInvalidArgument);  // no file
  EXPECT_EQ(
      fields_error("--XyZ\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nk\r\n--XyZ--", 1),
      S3ErrorCode::kInvalidArgument);  // the same, a byte at a time
  // Another boundary that starts with this one is not this one.
  EXPECT_EQ(fields_error("--XyZW\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nk\r\n"),
            S3ErrorCode::kMalformedPOSTRequest);
  // A quoted ';' does not end a parameter: this part is a field named "a", not the file.
  EXPECT_EQ(fields_error("--XyZ\r\nContent-Disposition: form-data; filename=\"; name=file;\"; "
                         "name=\"a\"\r\n\r\nv\r\n--XyZ--"),
            S3ErrorCode::kInvalidArgument);
  EXPECT_EQ(fields_error("--XyZ\r\nX: y\r\n\r\nk\r\n--XyZ--"), S3ErrorCode::kMalformedPOSTRequest);
  EXPECT_EQ(fields_error(Form({{"a", "1"}, {"A", "2"}}, "f")), S3ErrorCode::kInvalidArgument);
  EXPECT_EQ(fields_error(Form({{"big", std::string(kMaxPostFieldBytes + 10, 'x')}}, "f")),
            S3ErrorCode::kMaxPostPreDataLengthExceeded);

  const std::string whole = Form({{"key", "k"}}, "file bytes");
  TrickleBody cut(whole.substr(0, whole.size() - 14), 4);  // ends inside the file
  PostFormReader reader(&cut, "XyZ");
  PostForm form;
  ASSERT_FALSE(reader.ReadFields(&form).has_value());
  auto err =
      reader.ReadFile([](std::string_view) -> std::optional<S3Error> { return std::nullopt; });
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->code, S3ErrorCode::kMalformedPOSTRequest);
}

TEST(PostFormTest, Boundaries) {
  EXPECT_EQ(FormBoundary("multipart/form-data; boundary=----abc"), "----abc");
  EXPECT_EQ(FormBoundary("Multipart/Form-Data;boundary=\"q r\""), "q r");
  EXPECT_FALSE(FormBoundary("multipart/mixed; boundary=x").has_value());
  EXPECT_FALSE(FormBoundary("multipart/form-data").has_value());
  EXPECT_FALSE(FormBoundary("multipart/form-data; boundary=" + std::string(71, 'b')).has_value());
}

TEST(PostPolicyTest, ConditionsAndEveryFieldNamed) {
  auto policy = ParsePostPolicy(R"({"expiration": "2030-01-01T00:00:00.000Z", "conditions": [
      {"bucket": "covers"}, ["starts-with", "$key", "uploads/"], {"Content-Type": "image/png"},
      ["eq", "$x-amz-date", "20291231T000000Z"], ["starts-with", "$x-amz-meta-tag", ""],
      ["content-length-range", 1, 1048576]]})");
  ASSERT_TRUE(policy.ok()) << policy.status().ToString();
  EXPECT_EQ(LengthRange(*policy), std::make_pair(uint64_t{1}, uint64_t{1048576}));
  PostForm form;
  form.fields = {{"key", "uploads/a.png"},           {"content-type", "image/png"},
                 {"x-amz-date", "20291231T000000Z"}, {"policy", "..."},
                 {"x-amz-signature", "..."},         {"x-ignore-me", "1"}};
  const TimePoint now = *ParseAmzDate("20291231T120000Z");
  EXPECT_FALSE(CheckPostPolicy(*policy, form, "covers", now).has_value());

  auto denied = [&](PostForm f, std::string_view bucket, TimePoint at) {
    auto err = CheckPostPolicy(*policy, f, bucket, at);
    return err ? err->message : std::string("allowed");
  };
  EXPECT_NE(denied(form, "other", now).find("Policy Condition failed"), std::string::npos);
  EXPECT_NE(denied(form, "covers", *ParseAmzDate("20300101T000000Z")).find("Policy expired"),
            std::string::npos);
  PostForm wrong_key = form;
  wrong_key.fields["key"] = "elsewhere/a.png";
  EXPECT_NE(denied(wrong_key, "covers", now).find("$key"), std::string::npos);
  PostForm extra = form;
  extra.fields["acl"] = "public-read";
  EXPECT_NE(denied(extra, "covers", now).find("Extra input fields: acl"), std::string::npos);

  for (const char* bad :
       {"not json", "[]", R"({"conditions": []})",
        R"({"expiration": "tomorrow", "conditions": []})",
        R"({"expiration": "2030-01-01T00:00:00Z"})",
        R"({"expiration": "2030-01-01T00:00:00Z", "conditions": [["in", "$key", "a"]]})",
        R"({"expiration": "2030-01-01T00:00:00Z", "conditions": [["content-length-range", 5, 1]]})",
        R"({"expiration": "2030-01-01T00:00:00Z", "conditions": [{"a": "1", "b": "2"}]})"}) {
    EXPECT_FALSE(ParsePostPolicy(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace sparkify::store
