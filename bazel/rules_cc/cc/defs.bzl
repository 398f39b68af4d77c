"""Offline stand-in for @rules_cc//cc:defs.bzl: thin wrappers over native rules."""

load(
    ":builtins.bzl",
    _CcInfo = "BUILTIN_CC_INFO",
    _CcToolchainConfigInfo = "BUILTIN_CC_TOOLCHAIN_CONFIG_INFO",
    _cc_common = "BUILTIN_CC_COMMON",
)

def cc_binary(**attrs):
    native.cc_binary(**attrs)

def cc_library(**attrs):
    native.cc_library(**attrs)

def cc_test(**attrs):
    native.cc_test(**attrs)

def cc_import(**attrs):
    native.cc_import(**attrs)

def cc_proto_library(**attrs):
    native.cc_proto_library(**attrs)

def cc_toolchain(**attrs):
    native.cc_toolchain(**attrs)

def cc_toolchain_suite(**attrs):
    native.cc_toolchain_suite(**attrs)

def fdo_profile(**attrs):
    native.fdo_profile(**attrs)

def fdo_prefetch_hints(**attrs):
    native.fdo_prefetch_hints(**attrs)

def objc_library(**attrs):
    native.objc_library(**attrs)

def objc_import(**attrs):
    native.objc_import(**attrs)

# Re-exported like upstream rules_cc (load("@rules_cc//cc:defs.bzl", "CcInfo")).
CcInfo = _CcInfo
CcToolchainConfigInfo = _CcToolchainConfigInfo
cc_common = _cc_common
