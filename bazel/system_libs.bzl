"""Repositories that expose system-installed C/C++ libraries under upstream names.

Used by the WORKSPACE (Bazel 4.x, offline, Debian packages) build only; bzlmod
builds get the real modules from the Bazel Central Registry (see MODULE.bazel).
Each target is a `cc_library` without sources: headers come from /usr/include
(already on the compiler's default search path) and `linkopts` come from
`pkg-config`, computed when the repository is created, with hard-coded
fallbacks if pkg-config or the .pc file is missing.

If a probe header is missing (package not installed) the repository is still
created, but every target fails with an explanatory message when it is
analyzed, i.e. only when something that needs it is actually built.

After installing/removing a package run `bazel sync --configure` (or
`bazel clean --expunge`) so the repositories are re-created.
"""

_INCLUDE_DIRS = [
    "/usr/include",
    "/usr/local/include",
    "/usr/include/x86_64-linux-gnu",
    "/usr/include/aarch64-linux-gnu",
]

_LIB_DIRS = [
    "/usr/lib/x86_64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
    "/usr/lib64",
    "/usr/lib",
    "/usr/local/lib",
]

_MISSING_BZL = '''\
def _missing_impl(ctx):
    fail("\\n\\n{}\\n".format(ctx.attr.message))

missing_library = rule(
    implementation = _missing_impl,
    attrs = {"message": attr.string()},
)
'''

def _pkg_config(rctx, pkg_config, modules):
    """Returns (defines, linkopts) or None if pkg-config can't answer."""
    if not pkg_config or not modules:
        return None
    res = rctx.execute([pkg_config, "--cflags", "--libs"] + modules)
    if res.return_code != 0:
        return None
    defines = []
    linkopts = []
    for flag in res.stdout.strip().split(" "):
        flag = flag.strip()
        if not flag:
            continue
        if flag.startswith("-D"):
            if flag[2:] not in defines:
                defines.append(flag[2:])
        elif flag.startswith("-I") or flag.startswith("-isystem"):
            # Headers are expected on the default include path; a non-standard
            # -I would need a copy/symlink of the headers into this repo.
            pass
        elif flag == "-pthread":
            linkopts.append(flag)
        else:
            linkopts.append(flag)
    return (defines, linkopts)

def _header_exists(rctx, header):
    for d in _INCLUDE_DIRS:
        if rctx.path(d + "/" + header).exists:
            return True
    return False

def _glob_libs(rctx, prefix):
    """-l flags for every shared lib lib<prefix>*.so found in the lib dirs."""
    res = rctx.execute(["sh", "-c", "ls " + " ".join([
        "{}/lib{}*.so".format(d, prefix)
        for d in _LIB_DIRS
    ]) + " 2>/dev/null"])
    libs = []
    for line in res.stdout.splitlines():
        base = line.strip().split("/")[-1]
        if base.startswith("lib") and base.endswith(".so"):
            flag = "-l" + base[3:-3]
            if flag not in libs:
                libs.append(flag)
    return libs

def _split(label):
    """'absl/strings:str_format' -> ('absl/strings', 'str_format'); 'absl/time' -> ('absl/time', 'time'); ':x' -> ('', 'x')."""
    if ":" in label:
        pkg, name = label.split(":")
    else:
        pkg, name = label, label.split("/")[-1]
    return pkg.strip("/"), name

def _fmt_list(items):
    return "[" + ", ".join(['"{}"'.format(i) for i in items]) + "]"

def _system_cc_repository_impl(rctx):
    pkg_config = rctx.which("pkg-config")
    missing = [h for h in rctx.attr.probe_headers if not _header_exists(rctx, h)]
    glob_fallback = None

    packages = {}  # package path -> list of BUILD snippets
    report = []
    for label, modules in rctx.attr.targets.items():
        pkg, name = _split(label)
        if missing:
            snippet = 'missing_library(\n    name = "{}",\n    message = """{}""",\n)\n'.format(
                name,
                "@{}//{}:{} is unavailable: header(s) {} not found on this system.\n{}".format(
                    rctx.name,
                    pkg,
                    name,
                    ", ".join(missing),
                    rctx.attr.missing_message,
                ),
            )
        else:
            got = _pkg_config(rctx, pkg_config, modules)
            source = "pkg-config " + " ".join(modules)
            if got == None:
                if label in rctx.attr.fallback_linkopts:
                    got = ([], rctx.attr.fallback_linkopts[label])
                    source = "fallback"
                elif rctx.attr.fallback_lib_glob:
                    if glob_fallback == None:
                        glob_fallback = _glob_libs(rctx, rctx.attr.fallback_lib_glob)
                    got = ([], glob_fallback)
                    source = "fallback: all lib{}*.so".format(rctx.attr.fallback_lib_glob)
                else:
                    got = ([], [])
                    source = "fallback: none"
            defines, linkopts = got
            linkopts = linkopts + rctx.attr.extra_linkopts.get(label, [])
            deps = rctx.attr.deps.get(label, [])
            srcs = rctx.attr.srcs.get(label, [])
            report.append("{} <- {}".format(label, source))
            snippet = "cc_library(\n    name = \"{}\",\n    srcs = {},\n    alwayslink = {},\n    defines = {},\n    linkopts = {},\n    deps = {},\n)\n".format(
                name,
                _fmt_list(srcs),
                "True" if srcs else "False",
                _fmt_list(defines),
                _fmt_list(linkopts),
                _fmt_list(deps),
            )
        packages.setdefault(pkg, []).append(snippet)

    for alias_label, actual in rctx.attr.aliases.items():
        pkg, name = _split(alias_label)
        packages.setdefault(pkg, []).append(
            'alias(\n    name = "{}",\n    actual = "{}",\n)\n'.format(name, actual),
        )

    for src, dest in rctx.attr.files.items():
        rctx.symlink(src, dest)

    header = "# Generated by @mapfile//bazel:system_libs.bzl for @{}.\n".format(rctx.name)
    if missing:
        header += 'load("//:missing.bzl", "missing_library")\n'
        rctx.file("missing.bzl", _MISSING_BZL)
    header += '\npackage(default_visibility = ["//visibility:public"])\n\n'
    rctx.file("WORKSPACE", 'workspace(name = "{}")\n'.format(rctx.name))
    if "" not in packages:
        packages[""] = []
    for pkg, snippets in packages.items():
        path = (pkg + "/BUILD.bazel") if pkg else "BUILD.bazel"
        rctx.file(path, header + "\n".join(snippets))
    rctx.file("SOURCES.txt", "\n".join(report) + "\n")

system_cc_repository = repository_rule(
    implementation = _system_cc_repository_impl,
    doc = "cc_library targets for a system-installed library, at upstream labels.",
    attrs = {
        "targets": attr.string_list_dict(
            doc = "'pkg/path:name' -> pkg-config modules giving its flags.",
        ),
        "fallback_linkopts": attr.string_list_dict(
            doc = "'pkg/path:name' -> linkopts used if pkg-config fails.",
        ),
        "fallback_lib_glob": attr.string(
            doc = "If set and pkg-config fails, link every lib<glob>*.so found.",
        ),
        "extra_linkopts": attr.string_list_dict(),
        "deps": attr.string_list_dict(doc = "'pkg/path:name' -> labels in this repo."),
        "srcs": attr.string_list_dict(
            doc = "'pkg/path:name' -> source files (in its package) compiled alwayslink.",
        ),
        "files": attr.label_keyed_string_dict(
            allow_files = True,
            doc = "file label -> path in this repo (to provide `srcs`).",
        ),
        "aliases": attr.string_dict(doc = "'pkg/path:name' -> actual label."),
        "probe_headers": attr.string_list(
            doc = "Headers that must exist, else targets fail when analyzed.",
        ),
        "missing_message": attr.string(),
    },
    environ = ["PKG_CONFIG_PATH", "PKG_CONFIG_LIBDIR"],
    configure = True,
    local = True,
)

# Upstream abseil-cpp label -> pkg-config module (Debian's libabsl-dev 20220623).
# To add a target: find the module with `ls /usr/lib/*/pkgconfig | grep absl_`.
ABSL_TARGETS = {
    "absl/algorithm": "absl_algorithm",
    "absl/algorithm:container": "absl_algorithm_container",
    "absl/base": "absl_base",
    "absl/base:config": "absl_config",
    "absl/base:core_headers": "absl_core_headers",
    "absl/base:dynamic_annotations": "absl_dynamic_annotations",
    "absl/base:endian": "absl_endian",
    "absl/base:log_severity": "absl_log_severity",
    "absl/base:prefetch": "absl_prefetch",
    "absl/cleanup": "absl_cleanup",
    "absl/container:btree": "absl_btree",
    "absl/container:fixed_array": "absl_fixed_array",
    "absl/container:flat_hash_map": "absl_flat_hash_map",
    "absl/container:flat_hash_set": "absl_flat_hash_set",
    "absl/container:inlined_vector": "absl_inlined_vector",
    "absl/container:node_hash_map": "absl_node_hash_map",
    "absl/container:node_hash_set": "absl_node_hash_set",
    "absl/debugging:failure_signal_handler": "absl_failure_signal_handler",
    "absl/debugging:leak_check": "absl_leak_check",
    "absl/debugging:stacktrace": "absl_stacktrace",
    "absl/debugging:symbolize": "absl_symbolize",
    "absl/flags:flag": "absl_flags",
    "absl/flags:marshalling": "absl_flags_marshalling",
    "absl/flags:parse": "absl_flags_parse",
    "absl/flags:reflection": "absl_flags_reflection",
    "absl/flags:usage": "absl_flags_usage",
    "absl/functional:any_invocable": "absl_any_invocable",
    "absl/functional:bind_front": "absl_bind_front",
    "absl/functional:function_ref": "absl_function_ref",
    "absl/hash": "absl_hash",
    "absl/memory": "absl_memory",
    "absl/meta:type_traits": "absl_type_traits",
    "absl/numeric:bits": "absl_bits",
    "absl/numeric:int128": "absl_int128",
    "absl/random": "absl_random_random",
    "absl/random:bit_gen_ref": "absl_random_bit_gen_ref",
    "absl/random:distributions": "absl_random_distributions",
    "absl/status": "absl_status",
    "absl/status:statusor": "absl_statusor",
    "absl/strings": "absl_strings",
    "absl/strings:cord": "absl_cord",
    "absl/strings:str_format": "absl_str_format",
    "absl/synchronization": "absl_synchronization",
    "absl/time": "absl_time",
    "absl/types:any": "absl_any",
    "absl/types:optional": "absl_optional",
    "absl/types:span": "absl_span",
    "absl/types:variant": "absl_variant",
    "absl/utility": "absl_utility",
}

def system_absl_repository(name = "com_google_absl", extra_targets = {}):
    """@com_google_absl from libabsl-dev. extra_targets: more label -> pkg-config module."""
    targets = dict(ABSL_TARGETS)
    targets.update(extra_targets)
    system_cc_repository(
        name = name,
        targets = {k: [v] for k, v in targets.items()},
        fallback_lib_glob = "absl_",
        # Makes absl::Mutex & co. visible to ThreadSanitizer (empty otherwise).
        srcs = {"absl/synchronization": ["absl_sync_tsan_shim.cc"]},
        files = {
            Label("//bazel/tsan:absl_sync_tsan_shim.cc"): "absl/synchronization/absl_sync_tsan_shim.cc",
        },
        extra_linkopts = {"absl/synchronization": ["-ldl"]},
        probe_headers = ["absl/base/config.h"],
        missing_message = "Install it: apt-get install libabsl-dev",
    )

def system_googletest_repository(name = "com_google_googletest"):
    """@com_google_googletest//:gtest (with gmock) and //:gtest_main from libgtest-dev/libgmock-dev."""
    system_cc_repository(
        name = name,
        targets = {
            ":gtest": ["gmock"],
            # Self-contained: static libs, so the order within one list matters.
            ":gtest_main": ["gtest_main", "gmock"],
        },
        fallback_linkopts = {
            ":gtest": ["-lgmock", "-lgtest", "-pthread"],
            ":gtest_main": ["-lgtest_main", "-lgmock", "-lgtest", "-pthread"],
        },
        aliases = {
            ":gmock": ":gtest",
            ":gmock_main": ":gtest_main",
        },
        probe_headers = ["gtest/gtest.h", "gmock/gmock.h"],
        missing_message = "Install it: apt-get install libgtest-dev libgmock-dev",
    )

def system_benchmark_repository(name = "com_github_google_benchmark"):
    """@com_github_google_benchmark//:benchmark and //:benchmark_main from libbenchmark-dev."""
    system_cc_repository(
        name = name,
        targets = {
            ":benchmark": ["benchmark"],
            ":benchmark_main": [],  # no .pc file for benchmark_main
        },
        fallback_linkopts = {
            ":benchmark": ["-lbenchmark", "-pthread"],
            ":benchmark_main": ["-lbenchmark_main", "-lbenchmark", "-pthread"],
        },
        extra_linkopts = {":benchmark": ["-pthread"]},
        probe_headers = ["benchmark/benchmark.h"],
        missing_message = "Install it: apt-get install libbenchmark-dev",
    )

def system_zstd_repository(name = "zstd"):
    system_cc_repository(
        name = name,
        targets = {":zstd": ["libzstd"]},
        fallback_linkopts = {":zstd": ["-lzstd"]},
        aliases = {":libzstd": ":zstd"},
        probe_headers = ["zstd.h"],
        missing_message = "Install it: apt-get install libzstd-dev",
    )

def system_xxhash_repository(name = "xxhash"):
    system_cc_repository(
        name = name,
        targets = {":xxhash": ["libxxhash"]},
        fallback_linkopts = {":xxhash": ["-lxxhash"]},
        probe_headers = ["xxhash.h"],
        missing_message = "Install it: apt-get install libxxhash-dev",
    )

def system_lmdb_repository(name = "lmdb"):
    """Optional benchmark peer: @lmdb//:lmdb from liblmdb-dev."""
    system_cc_repository(
        name = name,
        targets = {":lmdb": ["lmdb"]},
        fallback_linkopts = {":lmdb": ["-llmdb"]},
        probe_headers = ["lmdb.h"],
        missing_message = "Optional benchmark peer. Install it: apt-get install liblmdb-dev, then run `bazel sync --configure`.",
    )

def system_leveldb_repository(name = "leveldb"):
    """Optional benchmark peer: @leveldb//:leveldb from libleveldb-dev (no .pc file)."""
    system_cc_repository(
        name = name,
        targets = {":leveldb": ["leveldb"]},
        fallback_linkopts = {":leveldb": ["-lleveldb"]},
        probe_headers = ["leveldb/db.h"],
        missing_message = "Optional benchmark peer. Install it: apt-get install libleveldb-dev, then run `bazel sync --configure`.",
    )

def system_boost_repository(name = "boost"):
    """Optional benchmark peer: header-only @boost//:interprocess from libboost-dev."""
    system_cc_repository(
        name = name,
        targets = {":interprocess": []},
        fallback_linkopts = {":interprocess": ["-lrt", "-pthread"]},
        probe_headers = ["boost/interprocess/managed_mapped_file.hpp"],
        missing_message = "Optional benchmark peer. Install it: apt-get install libboost-dev, then run `bazel sync --configure`.",
    )

def system_cli11_repository(name = "cli11"):
    """Header-only @cli11//:cli11 (the mapfile tool's flags) from libcli11-dev."""
    system_cc_repository(
        name = name,
        targets = {":cli11": []},
        probe_headers = ["CLI/CLI.hpp"],
        missing_message = "Needed by //tools:mapfile. Install it: apt-get install libcli11-dev, then run `bazel sync --configure`.",
    )

def system_nlohmann_json_repository(name = "nlohmann_json"):
    """Header-only @nlohmann_json//:json (the tool's --json) from nlohmann-json3-dev."""
    system_cc_repository(
        name = name,
        targets = {":json": []},
        probe_headers = ["nlohmann/json.hpp"],
        missing_message = "Needed by //tools:mapfile. Install it: apt-get install nlohmann-json3-dev, then run `bazel sync --configure`.",
    )
