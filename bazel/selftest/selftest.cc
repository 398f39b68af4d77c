#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "xxhash.h"
#include "zstd.h"

absl::StatusOr<int> Half(int x) {
  if (x % 2) return absl::InvalidArgumentError(absl::StrCat("odd: ", x));
  return x / 2;
}

TEST(SelfTest, StatusOr) {
  EXPECT_EQ(*Half(4), 2);
  EXPECT_THAT(Half(3).status().message(), ::testing::HasSubstr("odd"));
  EXPECT_EQ(absl::StrFormat("%05d", 42), "00042");
}

TEST(SelfTest, Libs) {
  EXPECT_NE(XXH64("abc", 3, 0), 0u);
  EXPECT_GT(ZSTD_compressBound(100), 100u);
}

TEST(SelfTest, MutexThreads) {
  absl::Mutex mu;
  int n = 0;
  std::vector<std::thread> ts;
  for (int i = 0; i < 4; ++i)
    ts.emplace_back([&] {
      for (int j = 0; j < 1000; ++j) {
        absl::MutexLock l(&mu);
        ++n;
      }
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(n, 4000);
}
