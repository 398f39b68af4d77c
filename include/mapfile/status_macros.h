// Copyright 2026 The mapfile Authors.
//
// status_macros.h: the one pair of early-return helpers mapfile uses.
// Abseil 20220623 (Debian 12) ships none, so mapfile defines its own under a
// prefixed name that cannot clash with a user's.
//
//   MAPFILE_RETURN_IF_ERROR(file.Sync());
//   MAPFILE_ASSIGN_OR_RETURN(MappedFile file, MappedFile::Open(path, opts));

#ifndef MAPFILE_STATUS_MACROS_H_
#define MAPFILE_STATUS_MACROS_H_

#include <cerrno>
#include <exception>
#include <new>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

#include "absl/base/optimization.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

// Evaluates `expr` (an absl::Status) and returns it from the enclosing
// function if it is not OK.
#define MAPFILE_RETURN_IF_ERROR(expr)                              \
  do {                                                             \
    ::absl::Status mapfile_status_ = (expr);                       \
    if (ABSL_PREDICT_FALSE(!mapfile_status_.ok())) {               \
      return mapfile_status_;                                      \
    }                                                              \
  } while (0)

#define MAPFILE_STATUS_CONCAT_INNER_(a, b) a##b
#define MAPFILE_STATUS_CONCAT_(a, b) MAPFILE_STATUS_CONCAT_INNER_(a, b)

// Evaluates `rexpr` (an absl::StatusOr<T>); on error returns its status from
// the enclosing function, otherwise moves the value into `lhs`, which may be
// a declaration (`auto x`) or an existing variable.
#define MAPFILE_ASSIGN_OR_RETURN(lhs, rexpr)                                \
  MAPFILE_ASSIGN_OR_RETURN_IMPL_(                                           \
      MAPFILE_STATUS_CONCAT_(mapfile_statusor_, __LINE__), lhs, rexpr)

#define MAPFILE_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                   \
  if (ABSL_PREDICT_FALSE(!statusor.ok())) {                  \
    return std::move(statusor).status();                     \
  }                                                          \
  lhs = std::move(statusor).value()

namespace mapfile {
namespace internal {

// The status returned when even the message of an allocation failure
// cannot be allocated. Built before main (copying a Status only counts a
// reference), so returning it cannot fail; without memory even then, it
// has no message (which needs no allocation).
inline const absl::Status kOutOfMemoryStatus = []() noexcept {
  try {
    return absl::ResourceExhaustedError(
        "mapfile: out of memory (std::bad_alloc), and no memory left to say "
        "in which call");
  } catch (...) {
    return absl::Status(absl::StatusCode::kResourceExhausted, "");
  }
}();

// The Status for an exception that reached a public function:
//   std::bad_alloc, std::length_error   ResourceExhausted
//   std::system_error (e.g. a thread)   by its errno, as os::ErrnoToCode
//   anything else                       Internal
// The message is "<call>("<path>"): out of memory (<what>)" ("<call>: ..."
// without a path). Never throws.
inline absl::Status ExceptionStatus(absl::string_view call,
                                    absl::string_view path,
                                    std::exception_ptr error) noexcept {
  try {
    const std::string where = path.empty()
                                  ? std::string(call)
                                  : absl::StrCat(call, "(\"", path, "\")");
    try {
      std::rethrow_exception(error);
    } catch (const std::bad_alloc& e) {
      return absl::ResourceExhaustedError(
          absl::StrCat(where, ": out of memory (", e.what(), ")"));
    } catch (const std::length_error& e) {
      return absl::ResourceExhaustedError(absl::StrCat(
          where, ": out of memory (length_error: ", e.what(), ")"));
    } catch (const std::system_error& e) {
      const int code = e.code().value();
      const absl::StatusCode status_code =
          code == EAGAIN || code == ENOMEM
              ? absl::StatusCode::kResourceExhausted
              : absl::StatusCode::kInternal;
      return absl::Status(status_code, absl::StrCat(where, ": ", e.what()));
    } catch (const std::exception& e) {
      return absl::InternalError(
          absl::StrCat(where, ": unexpected exception: ", e.what()));
    } catch (...) {
      return absl::InternalError(absl::StrCat(where, ": unexpected exception"));
    }
  } catch (...) {
    return kOutOfMemoryStatus;  // the message itself could not be allocated
  }
}

// `status` named after the public function that returns it: unless its
// message already starts with "<call>(", "<call>("<path>"): " goes in front
// (code kept). Never throws.
inline absl::Status NameCall(absl::string_view call, absl::string_view path,
                             absl::Status status) noexcept {
  if (status.ok()) return status;
  const absl::string_view message = status.message();
  if (message.size() > call.size() && message.substr(0, call.size()) == call &&
      message[call.size()] == '(') {
    return status;
  }
  try {
    return absl::Status(
        status.code(),
        path.empty() ? absl::StrCat(call, ": ", message)
                     : absl::StrCat(call, "(\"", path, "\"): ", message));
  } catch (...) {
    return status;  // no memory for a longer message: keep the cause
  }
}
template <typename T>
absl::StatusOr<T> NameCall(absl::string_view call, absl::string_view path,
                           absl::StatusOr<T> result) noexcept {
  if (result.ok()) return result;
  return NameCall(call, path, result.status());
}

// Runs `fn` (returning absl::Status or absl::StatusOr<X>) as the public
// function `call` on `path`: an exception it throws becomes
// ExceptionStatus(call, path, ...), and every error is NameCall'd. How every
// public mapfile function keeps its promises that it throws nothing
// (docs/ERRORS.md "Out of memory") and that its errors start with its name.
template <typename Fn>
auto CatchAllocation(absl::string_view call, absl::string_view path,
                     Fn&& fn) noexcept -> decltype(fn()) {
  try {
    return NameCall(call, path, std::forward<Fn>(fn)());
  } catch (...) {
    return ExceptionStatus(call, path, std::current_exception());
  }
}

}  // namespace internal
}  // namespace mapfile

#endif  // MAPFILE_STATUS_MACROS_H_
