// sparkify_bench_sign: the signing side of bench/store_bench.sh.
//
//   sparkify_bench_sign presign METHOD ENDPOINT_HOSTPORT /bucket/key
//       prints a presigned http:// URL (expires in 1 hour), signed now.
//   sparkify_bench_sign headers METHOD ENDPOINT_HOSTPORT /bucket/key [BODY_FILE]
//       prints the SigV4 header-auth headers ("Name: value" per line) for a request whose
//       body is BODY_FILE (its exact SHA-256 is signed) or empty. Header auth carries no
//       nonce, so the same headers may be replayed for the 15-minute skew window.
//   sparkify_bench_sign requests presigned|header METHOD HOST:PORT /bucket/key COUNT [BODY_FILE]
//       prints COUNT requests for wrk (bench/s3_request.lua), one a line: the request-target,
//       then tab-separated "name: value" headers. COUNT 1 addresses /bucket/key itself, more
//       address /bucket/key-0 ... /bucket/key-(COUNT-1).
//   sparkify_bench_sign presign-rate SECONDS
//       calls sigv4::PresignUrl in a loop for SECONDS and prints "URLS_PER_SECOND COUNT".
//
// Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (the bench's own
// throwaway keys); the region is us-east-1.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>

#include "common/clock.h"
#include "common/crypto.h"
#include "sigv4/sigv4.h"

namespace {

using sparkify::sigv4::Credentials;
using sparkify::sigv4::SignRequest;

int Usage() {
  std::cerr << "usage: sparkify_bench_sign presign METHOD HOST:PORT /bucket/key\n"
               "       sparkify_bench_sign headers METHOD HOST:PORT /bucket/key [BODY_FILE]\n"
               "       sparkify_bench_sign requests presigned|header METHOD HOST:PORT /bucket/key "
               "COUNT [BODY_FILE]\n"
               "       sparkify_bench_sign presign-rate SECONDS\n";
  return 2;
}

Credentials CredentialsFromEnv() {
  const char* id = std::getenv("AWS_ACCESS_KEY_ID");
  const char* secret = std::getenv("AWS_SECRET_ACCESS_KEY");
  return {id ? id : "", secret ? secret : "", ""};
}

SignRequest MakeRequest(const std::string& method, const std::string& host,
                        const std::string& path) {
  SignRequest r;
  r.method = method;
  r.scheme = "http";
  r.host = host;
  r.decoded_path = path;
  r.region = "us-east-1";
  r.service = "s3";
  r.time = sparkify::Clock::System().Now();
  return r;
}

int Presign(const std::string& method, const std::string& host, const std::string& path) {
  std::string url = sparkify::sigv4::PresignUrl(MakeRequest(method, host, path),
                                                CredentialsFromEnv(), 3600);
  if (url.empty()) return 1;
  std::cout << url << "\n";
  return 0;
}

bool ReadFile(const char* path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::cerr << "cannot read " << path << "\n";
    return false;
  }
  out->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return true;
}

int Headers(const std::string& method, const std::string& host, const std::string& path,
            const char* body_file) {
  SignRequest r = MakeRequest(method, host, path);
  if (body_file != nullptr) {
    std::string body;
    if (!ReadFile(body_file, &body)) return 1;
    r.payload_hash = sparkify::Sha256Hex(body);
  }
  auto headers = sparkify::sigv4::SignHeaders(r, CredentialsFromEnv());
  if (headers.empty()) return 1;
  for (const auto& [name, value] : headers) std::cout << name << ": " << value << "\n";
  return 0;
}

int Requests(const std::string& auth, const std::string& method, const std::string& host,
             const std::string& path, int count, const char* body_file) {
  if (auth != "presigned" && auth != "header") return Usage();
  std::string payload_hash;
  if (body_file != nullptr) {
    std::string body;
    if (!ReadFile(body_file, &body)) return 1;
    payload_hash = sparkify::Sha256Hex(body);
  }
  Credentials creds = CredentialsFromEnv();
  std::string origin = "http://" + host;
  for (int i = 0; i < count; ++i) {
    SignRequest r = MakeRequest(method, host, count == 1 ? path : path + "-" + std::to_string(i));
    if (auth == "presigned") {
      std::string url = sparkify::sigv4::PresignUrl(r, creds, 3600);
      if (url.compare(0, origin.size(), origin) != 0) return 1;
      std::cout << url.substr(origin.size()) << "\n";
      continue;
    }
    r.payload_hash = payload_hash;
    auto headers = sparkify::sigv4::SignHeaders(r, creds);
    if (headers.empty()) return 1;
    std::cout << sparkify::sigv4::EncodePath(r.decoded_path);
    for (const auto& [name, value] : headers) std::cout << '\t' << name << ": " << value;
    std::cout << "\n";
  }
  return 0;
}

// The same request boto3's loop presigns: GET, path style, one key, 1 hour. Each call does the
// whole chain (canonical request, signing key, signature, URL), as generate_presigned_url does.
int PresignRate(double seconds) {
  using Clock = std::chrono::steady_clock;
  SignRequest r = MakeRequest("GET", "127.0.0.1:9000", "/bench/get-4k");
  Credentials creds = CredentialsFromEnv();
  uint64_t count = 0, bytes = 0;
  auto start = Clock::now();
  auto deadline = start + std::chrono::duration<double>(seconds);
  Clock::time_point now;
  do {
    for (int i = 0; i < 256; ++i) {
      bytes += sparkify::sigv4::PresignUrl(r, creds, 3600).size();
    }
    count += 256;
    now = Clock::now();
  } while (now < deadline);
  double elapsed = std::chrono::duration<double>(now - start).count();
  if (bytes == 0) return 1;  // OpenSSL failed; also keeps the loop's result observable
  std::printf("%.0f %llu\n", static_cast<double>(count) / elapsed,
              static_cast<unsigned long long>(count));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return Usage();
  std::string cmd = argv[1];
  if (cmd == "presign" && argc == 5) return Presign(argv[2], argv[3], argv[4]);
  if (cmd == "headers" && (argc == 5 || argc == 6)) {
    return Headers(argv[2], argv[3], argv[4], argc == 6 ? argv[5] : nullptr);
  }
  if (cmd == "requests" && (argc == 7 || argc == 8)) {
    int count = std::atoi(argv[6]);
    if (count < 1) return Usage();
    return Requests(argv[2], argv[3], argv[4], argv[5], count, argc == 8 ? argv[7] : nullptr);
  }
  if (cmd == "presign-rate" && argc == 3) return PresignRate(std::atof(argv[2]));
  return Usage();
}
