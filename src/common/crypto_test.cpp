#include "common/crypto.h"

#include <gtest/gtest.h>

#include <vector>

namespace sparkify {
namespace {

TEST(CryptoTest, Sha256KnownVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(CryptoTest, HmacSha256Rfc4231Case2) {
  EXPECT_EQ(HexEncode(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(CryptoTest, Md5AndBase64) {
  EXPECT_EQ(HexEncode(Md5("")), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(Base64Encode(Md5("")), "1B2M2Y8AsgTpgAmY7PhCfg==");
  EXPECT_EQ(Base64Decode("1B2M2Y8AsgTpgAmY7PhCfg=="), Md5(""));
}

TEST(CryptoTest, Base64RoundTripsAndRejectsGarbage) {
  for (const std::string& s : std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\0\xff\x10", 3)}) {
    EXPECT_EQ(Base64Decode(Base64Encode(s)), s);
  }
  EXPECT_FALSE(Base64Decode("abc"));
  EXPECT_FALSE(Base64Decode("ab!d"));
  EXPECT_FALSE(Base64Decode("a=bc"));
}

TEST(CryptoTest, Base64UrlIsUnpaddedAndStrict) {
  EXPECT_EQ(Base64UrlEncode("fo"), "Zm8");  // RFC 4648's "Zm8=" without its padding
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_EQ(Base64UrlDecode("-_8"), "\xfb\xff");
  EXPECT_EQ(Base64UrlDecode(""), "");
  EXPECT_FALSE(Base64UrlDecode("+/8"));   // the standard alphabet's characters
  EXPECT_FALSE(Base64UrlDecode("Zm8="));  // padding
  EXPECT_FALSE(Base64UrlDecode("Z"));     // not a whole byte
  EXPECT_FALSE(Base64UrlDecode(std::string(40, 'A'), 39));
}

TEST(CryptoTest, AeadSealsAndRefusesAnythingTouched) {
  const std::string key(32, 'k');
  const std::string sealed = AeadSeal(key, "a session", "cookie v1");
  EXPECT_EQ(sealed.size(), 12u + 9u + 16u);
  EXPECT_EQ(AeadOpen(key, sealed, "cookie v1"), "a session");
  EXPECT_NE(AeadSeal(key, "a session", "cookie v1"), sealed);  // a fresh nonce each time
  for (size_t i = 0; i < sealed.size(); ++i) {
    std::string touched = sealed;
    touched[i] = static_cast<char>(touched[i] ^ 1);
    EXPECT_FALSE(AeadOpen(key, touched, "cookie v1")) << "byte " << i;
  }
  EXPECT_FALSE(AeadOpen(key, sealed, "cookie v2"));
  EXPECT_FALSE(AeadOpen(std::string(32, 'x'), sealed, "cookie v1"));
  EXPECT_FALSE(AeadOpen(key, sealed.substr(0, sealed.size() - 1), "cookie v1"));
  EXPECT_FALSE(AeadOpen(key, sealed.substr(0, 27), "cookie v1"));
  EXPECT_EQ(AeadOpen(key, AeadSeal(key, "", ""), ""), "");
  EXPECT_THROW(AeadSeal("short", "x", ""), std::invalid_argument);
}

TEST(CryptoTest, HexRoundTrip) {
  EXPECT_EQ(HexEncode("\x01\xab"), "01ab");
  EXPECT_EQ(HexDecode("01AB"), "\x01\xab");
  EXPECT_FALSE(HexDecode("0"));
  EXPECT_FALSE(HexDecode("zz"));
}

TEST(CryptoTest, CrcCheckValues) {
  // The standard "check" inputs of both polynomials.
  EXPECT_EQ(Crc32("123456789"), 0xCBF43926u);
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);
  // Incremental equals one-shot.
  EXPECT_EQ(Crc32c("6789", Crc32c("12345")), 0xE3069283u);
  auto h = Hasher::Create(Hasher::Kind::kCrc32);
  h->Update("1234");
  h->Update("56789");
  EXPECT_EQ(HexEncode(h->Finish()), "cbf43926");
}

TEST(CryptoTest, StreamingSha256MatchesOneShot) {
  auto h = Hasher::Create(Hasher::Kind::kSha256);
  h->Update("a");
  h->Update("bc");
  EXPECT_EQ(h->Finish(), Sha256("abc"));
}

TEST(CryptoTest, ConstantTimeEquals) {
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "ab"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
}

}  // namespace
}  // namespace sparkify
