#include "common/crypto.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <zlib.h>

#include <array>
#include <cstring>
#include <memory>
#include <stdexcept>

namespace sparkify {
namespace {

std::string Digest(const EVP_MD* md, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out, &len, md, nullptr) != 1) {
    throw std::runtime_error("EVP_Digest failed");
  }
  return std::string(reinterpret_cast<char*>(out), len);
}

class EvpHasher : public Hasher {
 public:
  explicit EvpHasher(const EVP_MD* md) : ctx_(EVP_MD_CTX_new()) {
    if (ctx_ == nullptr || EVP_DigestInit_ex(ctx_, md, nullptr) != 1) {
      throw std::runtime_error("EVP_DigestInit_ex failed");
    }
  }
  ~EvpHasher() override { EVP_MD_CTX_free(ctx_); }
  EvpHasher(const EvpHasher&) = delete;
  EvpHasher& operator=(const EvpHasher&) = delete;
  void Update(std::string_view data) override {
    EVP_DigestUpdate(ctx_, data.data(), data.size());
  }
  std::string Finish() override {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx_, out, &len);
    return std::string(reinterpret_cast<char*>(out), len);
  }

 private:
  EVP_MD_CTX* ctx_;
};

std::string BigEndian32(uint32_t v) {
  std::string out(4, '\0');
  out[0] = static_cast<char>(v >> 24);
  out[1] = static_cast<char>(v >> 16);
  out[2] = static_cast<char>(v >> 8);
  out[3] = static_cast<char>(v);
  return out;
}

class CrcHasher : public Hasher {
 public:
  explicit CrcHasher(bool castagnoli) : castagnoli_(castagnoli) {}
  void Update(std::string_view data) override {
    crc_ = castagnoli_ ? Crc32c(data, crc_) : Crc32(data, crc_);
  }
  std::string Finish() override { return BigEndian32(crc_); }

 private:
  bool castagnoli_;
  uint32_t crc_ = 0;
};

// Slicing-by-one table for the Castagnoli polynomial (reflected 0x82F63B78).
constexpr std::array<uint32_t, 256> MakeCrc32cTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    table[i] = c;
  }
  return table;
}
constexpr auto kCrc32cTable = MakeCrc32cTable();

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string Sha256(std::string_view data) {
  struct Md {
    EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    ~Md() { EVP_MD_free(md); }
  };
  thread_local Md t;
  return Digest(t.md != nullptr ? t.md : EVP_sha256(), data);
}
std::string Md5(std::string_view data) { return Digest(EVP_md5(), data); }

// HMAC-SHA256 (RFC 2104) over a SHA-256 fetched once per thread: OpenSSL 3's one-shot HMAC()
// looks the algorithm up under a global lock on every call, which showed up as the largest
// cost of SigV4 verification under load.
std::string HmacSha256(std::string_view key, std::string_view data) {
  struct Ctx {
    EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    ~Ctx() {
      EVP_MD_CTX_free(ctx);
      EVP_MD_free(md);
    }
  };
  thread_local Ctx t;
  if (t.md == nullptr || t.ctx == nullptr) throw std::runtime_error("SHA256 unavailable");
  constexpr size_t kBlock = 64;
  unsigned char k[kBlock] = {0};
  if (key.size() > kBlock) {
    unsigned int n = 0;
    if (EVP_Digest(key.data(), key.size(), k, &n, t.md, nullptr) != 1) {
      throw std::runtime_error("EVP_Digest failed");
    }
  } else {
    std::memcpy(k, key.data(), key.size());
  }
  unsigned char pad[kBlock];
  unsigned char inner[EVP_MAX_MD_SIZE];
  unsigned int inner_len = 0;
  for (size_t i = 0; i < kBlock; ++i) pad[i] = k[i] ^ 0x36;
  bool ok = EVP_DigestInit_ex2(t.ctx, t.md, nullptr) == 1 &&
            EVP_DigestUpdate(t.ctx, pad, kBlock) == 1 &&
            EVP_DigestUpdate(t.ctx, data.data(), data.size()) == 1 &&
            EVP_DigestFinal_ex(t.ctx, inner, &inner_len) == 1;
  for (size_t i = 0; i < kBlock; ++i) pad[i] = k[i] ^ 0x5c;
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int out_len = 0;
  ok = ok && EVP_DigestInit_ex2(t.ctx, t.md, nullptr) == 1 &&
       EVP_DigestUpdate(t.ctx, pad, kBlock) == 1 &&
       EVP_DigestUpdate(t.ctx, inner, inner_len) == 1 &&
       EVP_DigestFinal_ex(t.ctx, out, &out_len) == 1;
  if (!ok) throw std::runtime_error("HMAC-SHA256 failed");
  return std::string(reinterpret_cast<char*>(out), out_len);
}

std::string HexEncode(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.resize(bytes.size() * 2);
  for (size_t i = 0; i < bytes.size(); ++i) {
    auto b = static_cast<unsigned char>(bytes[i]);
    out[2 * i] = kDigits[b >> 4];
    out[2 * i + 1] = kDigits[b & 0xF];
  }
  return out;
}

std::optional<std::string> HexDecode(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out(hex.size() / 2, '\0');
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = HexValue(hex[2 * i]);
    int lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<char>(hi << 4 | lo);
  }
  return out;
}

std::string Base64Encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::optional<std::string> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    bool alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    bool pad_ok = c == '=' && i + 2 >= text.size() && (i + 1 == text.size() || text.back() == '=');
    if (!alnum && c != '+' && c != '/' && !pad_ok) return std::nullopt;
  }
  std::string out(3 * text.size() / 4, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  size_t pad = 0;
  if (!text.empty() && text.back() == '=') ++pad;
  if (text.size() > 1 && text[text.size() - 2] == '=') ++pad;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  size_t n = a.size() < b.size() ? a.size() : b.size();
  for (size_t i = 0; i < n; ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

uint32_t Crc32(std::string_view data, uint32_t crc) {
  // zlib takes a uInt length; feed it in pieces so large inputs are safe.
  uLong c = crc;
  while (!data.empty()) {
    size_t n = data.size() > (1u << 30) ? (1u << 30) : data.size();
    c = crc32(c, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(n));
    data.remove_prefix(n);
  }
  return static_cast<uint32_t>(c);
}

uint32_t Crc32c(std::string_view data, uint32_t crc) {
  uint32_t c = ~crc;
  for (char ch : data) c = kCrc32cTable[(c ^ static_cast<unsigned char>(ch)) & 0xFF] ^ (c >> 8);
  return ~c;
}

std::unique_ptr<Hasher> Hasher::Create(Kind kind) {
  switch (kind) {
    case Kind::kMd5: return std::make_unique<EvpHasher>(EVP_md5());
    case Kind::kSha1: return std::make_unique<EvpHasher>(EVP_sha1());
    case Kind::kSha256: return std::make_unique<EvpHasher>(EVP_sha256());
    case Kind::kCrc32: return std::make_unique<CrcHasher>(false);
    case Kind::kCrc32c: return std::make_unique<CrcHasher>(true);
  }
  return nullptr;
}

std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    throw std::runtime_error("RAND_bytes failed");
  }
  return out;
}

std::string Base64UrlEncode(std::string_view bytes) {
  std::string s = Base64Encode(bytes);
  for (char& c : s) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  while (!s.empty() && s.back() == '=') s.pop_back();
  return s;
}

std::optional<std::string> Base64UrlDecode(std::string_view text, size_t max_text) {
  if (text.size() > max_text) return std::nullopt;
  std::string s(text);
  for (char& c : s) {
    if (c == '-') {
      c = '+';
    } else if (c == '_') {
      c = '/';
    } else if (c == '+' || c == '/' || c == '=') {
      return std::nullopt;  // not base64url
    }
  }
  while (s.size() % 4 != 0) s.push_back('=');
  return Base64Decode(s);
}

namespace {

constexpr size_t kAeadNonce = 12;
constexpr size_t kAeadTag = 16;

using CipherContext = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

std::string AeadSeal(std::string_view key, std::string_view plain, std::string_view aad) {
  if (key.size() != 32) throw std::invalid_argument("AES-256-GCM needs a 32-byte key");
  CipherContext ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  const std::string nonce = RandomBytes(kAeadNonce);
  std::string out = nonce;
  out.resize(kAeadNonce + plain.size() + kAeadTag);
  auto* dst = reinterpret_cast<unsigned char*>(out.data()) + kAeadNonce;
  int len = 0;
  bool ok = ctx && EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, Bytes(key),
                                      Bytes(nonce)) == 1;
  ok = ok &&
       EVP_EncryptUpdate(ctx.get(), nullptr, &len, Bytes(aad), static_cast<int>(aad.size())) == 1;
  ok = ok &&
       EVP_EncryptUpdate(ctx.get(), dst, &len, Bytes(plain), static_cast<int>(plain.size())) == 1;
  ok = ok && EVP_EncryptFinal_ex(ctx.get(), dst + plain.size(), &len) == 1;
  ok =
      ok && EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kAeadTag, dst + plain.size()) == 1;
  if (!ok) throw std::runtime_error("AES-256-GCM sealing failed");
  return out;
}

std::optional<std::string> AeadOpen(std::string_view key, std::string_view sealed,
                                    std::string_view aad) {
  if (key.size() != 32) throw std::invalid_argument("AES-256-GCM needs a 32-byte key");
  if (sealed.size() < kAeadNonce + kAeadTag) return std::nullopt;
  const std::string_view nonce = sealed.substr(0, kAeadNonce);
  const std::string_view body = sealed.substr(kAeadNonce, sealed.size() - kAeadNonce - kAeadTag);
  std::string tag(sealed.substr(sealed.size() - kAeadTag));
  CipherContext ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  std::string plain(body.size(), '\0');
  auto* dst = reinterpret_cast<unsigned char*>(plain.data());
  int len = 0;
  bool ok = ctx && EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, Bytes(key),
                                      Bytes(nonce)) == 1;
  ok = ok &&
       EVP_DecryptUpdate(ctx.get(), nullptr, &len, Bytes(aad), static_cast<int>(aad.size())) == 1;
  ok = ok &&
       EVP_DecryptUpdate(ctx.get(), dst, &len, Bytes(body), static_cast<int>(body.size())) == 1;
  ok = ok && EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kAeadTag, tag.data()) == 1;
  ok = ok && EVP_DecryptFinal_ex(ctx.get(), dst + body.size(), &len) == 1;
  if (!ok) return std::nullopt;
  return plain;
}

}  // namespace sparkify
