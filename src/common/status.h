// Status and Result<T>: how errors cross module boundaries in Sparkify.
//
// A Status is either OK or carries a code and a message. Result<T> holds a T or a
// non-OK Status. Both are cheap to move and safe to use from any thread as values.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace sparkify {

class [[nodiscard]] Status {
 public:
  enum class Code {
    kOk = 0,
    kNotFound,
    kInvalidArgument,
    kAlreadyExists,
    kPermissionDenied,
    kUnauthenticated,
    kFailedPrecondition,
    kResourceExhausted,
    kCorruption,
    kIOError,
    kUnavailable,
    kDeadlineExceeded,
    kNoSpace,  // the disk (or the quota, or a configured reserve) is full
    kInternal,
  };

  Status() = default;  // OK
  static Status OK() { return Status(); }
  static Status NotFound(std::string_view msg) { return Status(Code::kNotFound, msg); }
  static Status InvalidArgument(std::string_view msg) { return Status(Code::kInvalidArgument, msg); }
  static Status AlreadyExists(std::string_view msg) { return Status(Code::kAlreadyExists, msg); }
  static Status PermissionDenied(std::string_view msg) {
    return Status(Code::kPermissionDenied, msg);
  }
  static Status Unauthenticated(std::string_view msg) { return Status(Code::kUnauthenticated, msg); }
  static Status FailedPrecondition(std::string_view msg) {
    return Status(Code::kFailedPrecondition, msg);
  }
  static Status ResourceExhausted(std::string_view msg) {
    return Status(Code::kResourceExhausted, msg);
  }
  static Status Corruption(std::string_view msg) { return Status(Code::kCorruption, msg); }
  static Status IOError(std::string_view msg) { return Status(Code::kIOError, msg); }
  static Status Unavailable(std::string_view msg) { return Status(Code::kUnavailable, msg); }
  static Status DeadlineExceeded(std::string_view msg) {
    return Status(Code::kDeadlineExceeded, msg);
  }
  static Status NoSpace(std::string_view msg) { return Status(Code::kNoSpace, msg); }
  static Status Internal(std::string_view msg) { return Status(Code::kInternal, msg); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  bool IsNotFound() const { return code_ == Code::kNotFound; }

  // The same code with `context` before the message ("context: message"); OK stays OK.
  Status Annotate(std::string_view context) const {
    if (ok()) return *this;
    return Status(code_, std::string(context) + ": " + message_);
  }

  // "NotFound: no such key" style text for logs and tests.
  std::string ToString() const;
  static std::string_view CodeName(Code code);

 private:
  Status(Code code, std::string_view msg) : code_(code), message_(msg) {}
  Code code_ = Code::kOk;
  std::string message_;
};

namespace internal {
// Prints "Result::value() of an error: <status>" to stderr and aborts.
[[noreturn]] void DieOnValueOfError(const Status& status);
}  // namespace internal

// Result<T>: a value or the Status explaining why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    assert(!status_.ok() && "Result built from an OK Status has no value");
    if (status_.ok()) status_ = Status::Internal("Result constructed from OK status");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }

  // REQUIRES: ok(). Reading the value of an error is a bug: the process stops with the
  // error's message (never undefined behaviour).
  T& value() & { return *Checked(); }
  const T& value() const& { return *Checked(); }
  T&& value() && { return std::move(*Checked()); }
  T* operator->() { return &*Checked(); }
  const T* operator->() const { return &*Checked(); }
  T& operator*() & { return *Checked(); }
  const T& operator*() const& { return *Checked(); }

 private:
  std::optional<T>& Checked() {
    if (!value_.has_value()) [[unlikely]]
      internal::DieOnValueOfError(status_);
    return value_;
  }
  const std::optional<T>& Checked() const {
    if (!value_.has_value()) [[unlikely]]
      internal::DieOnValueOfError(status_);
    return value_;
  }

  std::optional<T> value_;
  Status status_;
};

}  // namespace sparkify

// Propagates a non-OK Status out of the current function.
#define SPARKIFY_RETURN_IF_ERROR(expr)            \
  do {                                            \
    ::sparkify::Status _sparkify_st = (expr);     \
    if (!_sparkify_st.ok()) return _sparkify_st;  \
  } while (0)

#define SPARKIFY_CONCAT_INNER(a, b) a##b
#define SPARKIFY_CONCAT(a, b) SPARKIFY_CONCAT_INNER(a, b)
// SPARKIFY_ASSIGN_OR_RETURN(auto x, ExprReturningResult()); 
#define SPARKIFY_ASSIGN_OR_RETURN(lhs, expr)                                 \
  auto SPARKIFY_CONCAT(_sparkify_res_, __LINE__) = (expr);                   \
  if (!SPARKIFY_CONCAT(_sparkify_res_, __LINE__).ok())                       \
    return SPARKIFY_CONCAT(_sparkify_res_, __LINE__).status();               \
  lhs = std::move(SPARKIFY_CONCAT(_sparkify_res_, __LINE__)).value()
