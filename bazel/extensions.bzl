"""Module extensions for MODULE.bazel (bzlmod only; Bazel 4.x never loads this)."""

load(
    ":system_libs.bzl",
    "system_boost_repository",
    "system_leveldb_repository",
    "system_lmdb_repository",
)

def _optional_peers_impl(_mctx):
    system_lmdb_repository(name = "lmdb")
    system_leveldb_repository(name = "leveldb")
    system_boost_repository(name = "boost")

optional_peers = module_extension(
    implementation = _optional_peers_impl,
    doc = "System-installed benchmark peers: @lmdb//:lmdb, @leveldb//:leveldb, @boost//:interprocess.",
)
