"""Dependencies of mapfile for WORKSPACE builds (offline, Bazel 4.x, Debian).

Usage in a WORKSPACE (mapfile's own, or a consumer's):

    local_repository(name = "mapfile", path = "...")   # consumers only
    load("@mapfile//bazel:deps.bzl", "mapfile_deps")
    mapfile_deps()

mapfile_deps() declares, unless already declared earlier in the WORKSPACE
(so a consumer can substitute its own versions):
  * offline stand-ins for repositories that Bazel 4.2.3's @bazel_tools would
    otherwise download: rules_cc, rules_java, remote_coverage_tools, and
    @platforms from Debian's bazel-platforms package;
  * system libraries at their upstream names: @com_google_absl,
    @com_google_googletest, @com_github_google_benchmark, @zstd, @xxhash,
    and the tool's header-only @cli11 and @nlohmann_json;
  * optional benchmark peers @lmdb, @leveldb and @boost (targets fail when
    built if the package is missing).

Bzlmod builds (MODULE.bazel) do not use this file.
"""

load("@bazel_tools//tools/build_defs/repo:utils.bzl", "maybe")
load(
    ":system_libs.bzl",
    "system_absl_repository",
    "system_benchmark_repository",
    "system_boost_repository",
    "system_cli11_repository",
    "system_googletest_repository",
    "system_leveldb_repository",
    "system_lmdb_repository",
    "system_nlohmann_json_repository",
    "system_xxhash_repository",
    "system_zstd_repository",
)

DEBIAN_BAZEL_PLATFORMS = "/usr/share/bazel/tools/platforms"

def _dir_repository_impl(rctx):
    if rctx.attr.anchor:
        src = rctx.path(rctx.attr.anchor).dirname.get_child(rctx.attr.subdir)
    else:
        src = rctx.path(rctx.attr.path)
    if not src.exists:
        fail("{}: directory {} does not exist. {}".format(rctx.name, src, rctx.attr.hint))
    for child in src.readdir():
        rctx.symlink(child, child.basename)

# Like local_repository, but the directory may be given relative to a label
# (so it works from any workspace that loads this file).
_dir_repository = repository_rule(
    implementation = _dir_repository_impl,
    attrs = {
        "anchor": attr.label(doc = "A file whose directory contains `subdir`."),
        "subdir": attr.string(),
        "path": attr.string(doc = "Absolute path, if no anchor."),
        "hint": attr.string(),
    },
    local = True,
)

def mapfile_offline_stand_ins():
    """Local replacements for what Bazel 4.2.3 downloads for a C++ build."""
    anchor = Label("//bazel:BUILD.bazel")
    for name in ["rules_cc", "rules_java", "remote_coverage_tools"]:
        maybe(_dir_repository, name = name, anchor = anchor, subdir = name)
    maybe(
        _dir_repository,
        name = "platforms",
        path = DEBIAN_BAZEL_PLATFORMS,
        hint = "Install Debian's bazel-platforms package, or declare @platforms before mapfile_deps().",
    )

def mapfile_system_deps():
    """System-library repositories under their upstream names."""
    maybe(system_absl_repository, name = "com_google_absl")
    maybe(system_googletest_repository, name = "com_google_googletest")
    maybe(system_benchmark_repository, name = "com_github_google_benchmark")
    maybe(system_zstd_repository, name = "zstd")
    maybe(system_xxhash_repository, name = "xxhash")
    maybe(system_cli11_repository, name = "cli11")
    maybe(system_nlohmann_json_repository, name = "nlohmann_json")
    maybe(system_lmdb_repository, name = "lmdb")
    maybe(system_leveldb_repository, name = "leveldb")
    maybe(system_boost_repository, name = "boost")

def mapfile_deps():
    mapfile_offline_stand_ins()
    mapfile_system_deps()
