// Copyright 2026 The mapfile Authors.

#include "tests/reliability/reliability.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "mapfile/mapped_vector.h"
#include "mapfile/status_macros.h"
#include "tests/testing.h"

namespace mapfile {
namespace reliability {

Rec MakeRec(uint64_t seq, uint64_t gen) {
  return {seq, gen, (seq * 0x9E3779B97F4A7C15u) ^ (gen * 0xC2B2AE3D27D4EB4Fu) ^ 1};
}

bool Intact(const Rec& r, uint64_t seq) {
  return r.seq == seq && r.check == MakeRec(seq, r.gen).check;
}

namespace {
uint64_t BlobLength(uint64_t seq) {
  static const uint64_t kLengths[] = {0, 1, 15, 16, 100, 4095, 4096, 4097,
                                      9000, 24, 300, 40};
  return kLengths[(seq * 0x9E3779B97F4A7C15u >> 40) % 12];
}
}  // namespace

std::string MakeBlob(uint64_t seq, uint64_t gen) {
  std::string r(BlobLength(seq), '\0');
  const uint64_t g = r.size() >= 16 ? gen : 0;
  for (size_t i = 0; i < r.size(); ++i) {
    r[i] = static_cast<char>((seq * 0x9E3779B97F4A7C15u + g * 31 + i * 13) >>
                             (8 * (i % 7)));
  }
  if (r.size() >= 16) {
    std::memcpy(&r[0], &seq, 8);
    std::memcpy(&r[8], &gen, 8);
  }
  return r;
}

bool BlobIntact(const std::string& r, uint64_t seq, uint64_t* gen) {
  *gen = 0;
  if (r.size() >= 16) std::memcpy(gen, &r[8], 8);
  return r == MakeBlob(seq, *gen);
}

absl::Status CheckBlobLog(const std::string& dir, const LogOptions& options,
                          uint64_t min_next, uint64_t max_next,
                          uint64_t max_gen, LogState* state, uint64_t from) {
  LogOptions o = options;
  o.mode = OpenMode::kReadWrite;
  auto log = BlobLog::Open(dir, o);
  if (!log.ok()) return log.status();
  const uint64_t first = log->first_seq(), next = log->next_seq();
  if (state != nullptr) *state = {first, next};
  if (next < min_next || next > max_next) {
    return absl::DataLossError(absl::StrCat("blob log [", first, ", ", next,
                                            "): next_seq outside [", min_next,
                                            ", ", max_next, "]"));
  }
  uint64_t gen = 0;
  std::string r;
  for (uint64_t seq = std::max(from, first); seq < next; ++seq) {
    MAPFILE_RETURN_IF_ERROR(log->Read(seq, &r));
    uint64_t g = 0;
    if (!BlobIntact(r, seq, &g) || (g != 0 && (g < gen || g > max_gen))) {
      return absl::DataLossError(absl::StrCat(
          "blob record ", seq, " (", r.size(), " bytes, gen ", g,
          ") is torn, foreign or from an older run than the record before "
          "it (gen ", gen, ")"));
    }
    if (g != 0) gen = g;
  }
  return absl::OkStatus();
}

absl::Status CheckVector(const std::string& path,
                         const std::vector<uint64_t>& allowed, uint64_t* size) {
  auto v = MappedVector<Rec>::Open(path);
  if (!v.ok()) return v.status();
  if (size != nullptr) *size = v->size();
  if (!allowed.empty() &&
      std::find(allowed.begin(), allowed.end(), v->size()) == allowed.end()) {
    return absl::DataLossError(absl::StrCat("vector size ", v->size(),
                                            " is none of ",
                                            absl::StrJoin(allowed, ", ")));
  }
  for (uint64_t i = 0; i < v->size(); ++i) {
    if (!Intact((*v)[i], i)) {
      return absl::DataLossError(absl::StrCat("element ", i, " is torn"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckLog(const std::string& dir, const LogOptions& options,
                      uint64_t min_next, uint64_t max_next, uint64_t max_gen,
                      LogState* state, uint64_t from) {
  LogOptions o = options;
  o.mode = OpenMode::kReadWrite;
  auto log = AppendLog<Rec>::Open(dir, o);
  if (!log.ok()) return log.status();
  const uint64_t first = log->first_seq(), next = log->next_seq();
  if (state != nullptr) *state = {first, next};
  if (next < min_next || next > max_next) {
    return absl::DataLossError(absl::StrCat("log [", first, ", ", next,
                                            "): next_seq outside [", min_next,
                                            ", ", max_next, "]"));
  }
  uint64_t seq = std::max(from, first), gen = 0;
  auto c = log->From(seq);
  for (; c.Valid(); c.Next(), ++seq) {
    const Rec& r = c.value();
    if (!Intact(r, seq) || r.gen < gen || r.gen > max_gen) {
      return absl::DataLossError(absl::StrCat(
          "record ", seq, " {", r.seq, ", gen ", r.gen, "} is torn, foreign "
          "or from an older run than the record before it (gen ", gen, ")"));
    }
    gen = r.gen;
  }
  if (!c.status().ok()) return c.status();
  if (seq != next) {
    return absl::DataLossError(
        absl::StrCat("iteration stopped at ", seq, ", next_seq() is ", next));
  }
  return absl::OkStatus();
}

bool LongMode() {
  const char* env = std::getenv("MAPFILE_LONG");
  return env != nullptr && *env != '\0' && *env != '0';
}

int Scaled(int ci, int long_run) { return LongMode() ? long_run : ci; }

uint64_t PretouchWindow() {
  static const uint64_t window = [] {
    const char* env = std::getenv("MAPFILE_RELIABILITY_PRETOUCH");
    return env != nullptr ? std::strtoull(env, nullptr, 10) : 0;
  }();
  return window;
}

VectorOptions Pretouched(VectorOptions o, bool background) {
  o.pretouch = PretouchWindow();
  o.pretouch_in_background = background;
  return o;
}

LogOptions Pretouched(LogOptions o, bool background) {
  o.pretouch = PretouchWindow();
  o.pretouch_in_background = background;
  return o;
}

void Report(const std::string& scenario, const std::string& figures) {
  std::cout << "RELIABILITY " << scenario
            << (PretouchWindow() > 0
                    ? absl::StrCat(" [pretouch ", PretouchWindow(), "]")
                    : "")
            << ": " << figures
            << (LongMode() ? " (long run)" : " (CI run)") << std::endl;
}

int OpenFds() {
  int n = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (::readdir(d) != nullptr) ++n;
    ::closedir(d);
  }
  return n - 3;  // ".", "..", and the directory stream's own descriptor
}

ShmDir::ShmDir() {
  std::string pattern = "/dev/shm/mapfile-reliability.XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    const char* base = std::getenv("TEST_TMPDIR");
    pattern = absl::StrCat(base != nullptr && *base ? base : "/tmp",
                           "/mapfile-reliability.XXXXXX");
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();  // test set-up
  }
  path_ = pattern;
}

ShmDir::~ShmDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

ScopedCrashHook::ScopedCrashHook(internal::CrashHook hook)
    : old_(internal::crash_hook.exchange(hook)) {}
ScopedCrashHook::~ScopedCrashHook() { internal::crash_hook.store(old_); }

Channel::Channel() {
  if (::pipe2(fds_, O_CLOEXEC) != 0) std::abort();  // test set-up
}
Channel::~Channel() {
  for (int fd : fds_) {
    if (fd >= 0) ::close(fd);
  }
}

bool Channel::Send(uint64_t tag, uint64_t value) {
  const Message m{tag, value};
  return ::write(fds_[1], &m, sizeof(m)) == sizeof(m);
}

std::vector<Channel::Message> Channel::Drain() {
  if (fds_[1] >= 0) ::close(fds_[1]);
  fds_[1] = -1;
  std::vector<Message> out;
  Message m;
  while (::read(fds_[0], &m, sizeof(m)) == sizeof(m)) out.push_back(m);
  return out;
}

int RunAndKill(int (*body)(void*), void* arg, int64_t delay_us) {
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(body(arg));
  if (delay_us > 0) ::usleep(static_cast<useconds_t>(delay_us));
  ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

std::map<std::string, std::string> ReadTree(const std::string& dir) {
  std::map<std::string, std::string> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.is_regular_file()) {
      files[entry.path().filename().string()] =
          testing::ReadFile(entry.path().string());
    }
  }
  return files;
}

void WriteTree(const std::string& dir,
               const std::map<std::string, std::string>& files) {
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  std::filesystem::create_directories(dir, ec);
  for (const auto& [name, contents] : files) {
    if (!testing::WriteFile(dir + "/" + name, contents)) std::abort();
  }
}

}  // namespace reliability
}  // namespace mapfile
