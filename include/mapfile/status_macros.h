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

#include <utility>

#include "absl/base/optimization.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"

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

#endif  // MAPFILE_STATUS_MACROS_H_
