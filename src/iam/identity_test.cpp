// The identity store's files: credentials files, users made and kept, keys looked up.
#include "iam/identity.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace sparkify::iam {
namespace {

namespace fs = std::filesystem;

const sigv4::Credentials kRoot{"ROOTKEYROOTKEY000000", "root-secret-root-secret-root-secret-0000",
                               ""};
constexpr char kPolicy[] =
    R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]})";

class IdentityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("iam_test." + std::to_string(::getpid()) + "." +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void Write(const std::string& rel, const std::string& text) {
    fs::create_directories((dir_ / rel).parent_path());
    std::ofstream(dir_ / rel) << text;
  }
  fs::path dir_;
};

TEST(CredentialsFileTest, OnlyTwoNonEmptyTextFieldsAreAKey) {
  auto key = ParseCredentialsFile(R"({"access_key_id": "AK", "secret_access_key": "SK"})");
  ASSERT_TRUE(key.has_value());
  EXPECT_EQ(key->access_key_id, "AK");
  EXPECT_EQ(key->secret_access_key, "SK");
  for (const char* bad : {"", "[]", "not json", R"({"access_key_id": "AK"})",
                          R"({"access_key_id": "", "secret_access_key": "SK"})",
                          R"({"access_key_id": 1, "secret_access_key": "SK"})"}) {
    EXPECT_FALSE(ParseCredentialsFile(bad).has_value()) << bad;
  }
}

TEST_F(IdentityTest, ProvisionMakesAUserOnceAndKeepsItsEditedPolicy) {
  auto ids = IdentityStore::Open(dir_.string(), kRoot);
  ASSERT_TRUE(ids.ok()) << ids.status().ToString();
  auto none = ReadUserCredentials(dir_.string(), "fn");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());

  auto made = (*ids)->ProvisionUser("fn", kPolicy);
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  EXPECT_EQ(made->user, "fn");
  auto principal = (*ids)->PrincipalFor(made->access_key_id);
  ASSERT_TRUE(principal.has_value());
  EXPECT_EQ(principal->arn, "arn:aws:iam::000000000000:user/fn");
  ASSERT_TRUE((*ids)->LookupKey(made->access_key_id).has_value());

  // Edited by hand, then provisioned again: the same key, the edit kept.
  const std::string edited = R"({"Version":"2012-10-17","Statement":[]})";
  Write("iam/users/fn/policy.json", edited);
  auto again = (*ids)->ProvisionUser("fn", kPolicy);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->access_key_id, made->access_key_id);
  std::ifstream in(dir_ / "iam/users/fn/policy.json");
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), edited);
  auto read = ReadUserCredentials(dir_.string(), "fn");
  ASSERT_TRUE(read.ok() && read->has_value());
  EXPECT_EQ((*read)->secret_access_key, made->secret_access_key);
}

TEST_F(IdentityTest, AMalformedCredentialsFileIsNamedInTheError) {
  Write("iam/users/web/credentials.json", "{\"access_key_id\": \"x\"}");
  auto read = ReadUserCredentials(dir_.string(), "web");
  ASSERT_FALSE(read.ok());
  EXPECT_NE(read.status().message().find("iam/users/web/credentials.json"), std::string::npos);
  // Names are checked before they become paths.
  EXPECT_EQ(ReadUserCredentials(dir_.string(), "../../etc").status().code(),
            Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace sparkify::iam
