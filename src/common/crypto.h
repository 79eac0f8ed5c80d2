// Hashes, MACs, checksums and byte encodings used by SigV4, S3 and the model cache.
// All functions are pure and thread-safe; the hasher classes are not shared between threads.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace sparkify {

// Raw (binary) digests.
std::string Sha256(std::string_view data);
std::string Md5(std::string_view data);
std::string HmacSha256(std::string_view key, std::string_view data);

std::string HexEncode(std::string_view bytes);  // lowercase
std::optional<std::string> HexDecode(std::string_view hex);
std::string Base64Encode(std::string_view bytes);
// Strict standard-alphabet base64 with padding; nullopt on any malformed input.
std::optional<std::string> Base64Decode(std::string_view text);

// base64url (RFC 4648 section 5) without padding, as in cookies, tokens and PKCE.
std::string Base64UrlEncode(std::string_view bytes);
// Strict: only the base64url alphabet, no padding, at most `max_text` characters; nullopt
// otherwise.
std::optional<std::string> Base64UrlDecode(std::string_view text, size_t max_text = 4096);

inline std::string Sha256Hex(std::string_view data) { return HexEncode(Sha256(data)); }

// Authenticated encryption, AES-256-GCM with a random 96-bit nonce: returns nonce(12) ||
// ciphertext || tag(16). `key`: 32 bytes (else std::invalid_argument). For small messages
// (cookies): at most 2^32 of them per key keeps random nonces safe.
std::string AeadSeal(std::string_view key, std::string_view plain, std::string_view aad);
// The plaintext of AeadSeal's output; nullopt when it does not authenticate under `key` and
// `aad` (forged, cut, or sealed with another key), or is too short to be one.
std::optional<std::string> AeadOpen(std::string_view key, std::string_view sealed,
                                    std::string_view aad);

// Compares without an early exit, so timing does not reveal where two secrets differ.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// Incremental digests for streamed bodies. Finish() may be called once.
class Hasher {
 public:
  enum class Kind { kMd5, kSha1, kSha256, kCrc32, kCrc32c };
  static std::unique_ptr<Hasher> Create(Kind kind);
  virtual ~Hasher() = default;
  virtual void Update(std::string_view data) = 0;
  // Raw digest bytes (CRC values as 4 big-endian bytes, as S3 checksums encode them).
  virtual std::string Finish() = 0;
};

uint32_t Crc32(std::string_view data, uint32_t crc = 0);
uint32_t Crc32c(std::string_view data, uint32_t crc = 0);

// Cryptographically random bytes (OpenSSL RAND_bytes).
std::string RandomBytes(size_t n);

}  // namespace sparkify
