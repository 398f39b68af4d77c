"""Bazel's built-in C++ symbols under other names (defs.bzl shadows them)."""

BUILTIN_CC_INFO = CcInfo
BUILTIN_CC_TOOLCHAIN_CONFIG_INFO = CcToolchainConfigInfo
BUILTIN_CC_COMMON = cc_common
