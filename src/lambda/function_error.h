// Function errors as Lambda writes them: the `{"errorMessage","errorType","stackTrace":[]}`
// document and the `Lambda-Runtime-Function-Error-Type` header value that goes with it.
//
// Shared by the Runtime API client (which posts them) and the emulator (which answers
// clients with them). Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sparkify::lambda {

// `{"errorMessage":message,"errorType":type,"stackTrace":[]}` (valid JSON whatever the bytes
// of `type` and `message`: invalid UTF-8 is replaced).
std::string FunctionErrorJson(std::string_view error_type, std::string_view message);

// The Lambda-Runtime-Function-Error-Type value for an error type: `type` itself when it
// already matches (Runtime|Function)\.[A-Z][a-zA-Z]+; else "Function." followed by the
// type's letters in CamelCase ("std::runtime_error" -> "Function.StdRuntimeError"), or
// "Function.Error" when the type has no letters.
std::string ErrorTypeHeader(std::string_view error_type);

// True when `value` matches (Runtime|Function)\.[A-Z][a-zA-Z]+.
bool IsValidErrorTypeHeader(std::string_view value);

struct FunctionError {
  std::string error_type;
  std::string message;
};

// Reads errorType and errorMessage from an error document posted by a runtime. Missing
// fields are empty; a body that is not a JSON object gives nullopt.
std::optional<FunctionError> ParseFunctionError(std::string_view body);

}  // namespace sparkify::lambda
