// Isotonic calibration: PAV against a brute-force pooling on random data, and the whole fit
// (ties merged, linear interpolation, clipping) against scikit-learn's IsotonicRegression.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>
#include <random>

#include "identify/isotonic.h"
#include "tests/data/data_test_util.h"

namespace wildreid::identify {
namespace {

// The textbook definition, quadratic and obviously right: while some adjacent pair of blocks
// violates the order, pool the first such pair into their weighted mean.
std::vector<double> brute_force_pav(const std::vector<double>& y, const std::vector<double>& w) {
  struct Block {
    double sum_wy, sum_w;
    size_t n;
    double value() const { return sum_wy / sum_w; }
  };
  std::vector<Block> blocks;
  for (size_t i = 0; i < y.size(); ++i) blocks.push_back({w[i] * y[i], w[i], 1});
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t k = 0; k + 1 < blocks.size(); ++k)
      if (blocks[k].value() > blocks[k + 1].value() + 1e-15) {
        blocks[k] = {blocks[k].sum_wy + blocks[k + 1].sum_wy, blocks[k].sum_w + blocks[k + 1].sum_w,
                     blocks[k].n + blocks[k + 1].n};
        blocks.erase(blocks.begin() + static_cast<std::ptrdiff_t>(k) + 1);
        changed = true;
        break;
      }
  }
  std::vector<double> out;
  for (const auto& b : blocks) out.insert(out.end(), b.n, b.value());
  return out;
}

TEST(Isotonic, PavMatchesBruteForcePoolingOnRandomData) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> u(0, 1);
  for (int trial = 0; trial < 50; ++trial) {
    const size_t n = 1 + rng() % 200;
    std::vector<double> y(n), w(n);
    for (size_t i = 0; i < n; ++i) {
      y[i] = trial % 2 ? (u(rng) < 0.3 + 0.4 * i / n ? 1.0 : 0.0) : u(rng) + 0.002 * i;  // hits or values
      w[i] = trial % 3 ? 1.0 : 0.1 + u(rng);
    }
    const auto fast = pool_adjacent_violators(y, w);
    const auto slow = brute_force_pav(y, w);
    ASSERT_EQ(fast.size(), n);
    for (size_t i = 0; i < n; ++i) {
      ASSERT_NEAR(fast[i], slow[i], 1e-12) << "trial " << trial << " index " << i;
      if (i) ASSERT_LE(fast[i - 1], fast[i] + 1e-12);
    }
  }
}

TEST(Isotonic, FitMatchesScikitLearnIncludingTiesAndClipping) {
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> u(0, 1);
  nlohmann::json problems = nlohmann::json::array();
  std::vector<IsotonicCalibration> fitted;
  for (int trial = 0; trial < 4; ++trial) {
    const size_t n = 300;
    std::vector<double> x(n), y(n), w(n);
    for (size_t i = 0; i < n; ++i) {
      x[i] = std::round(u(rng) * 60) / 60.0;  // many equal scores
      y[i] = u(rng) < x[i] * 0.8 + 0.1 ? 1.0 : 0.0;
      w[i] = trial == 0 ? 1.0 : 0.5 + u(rng);
    }
    std::vector<double> query = {-1.0, 0.0, 1.0, 2.0};
    for (int k = 0; k < 200; ++k) query.push_back(u(rng) * 1.2 - 0.1);
    problems.push_back({{"x", x}, {"y", y}, {"w", w}, {"query", query}});
    fitted.emplace_back().fit(x, y, w);
  }
  const auto dir = data::testing::make_temp_dir("isotonic");
  std::ofstream(dir / "in.json") << problems.dump();
  const auto run = data::testing::run_command(std::string("'") + WILDREID_PYTHON_EXE +
                                              "' tests/identify/isotonic_oracle.py < " +
                                              data::testing::quoted(dir / "in.json"));
  data::remove_tree(dir);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const auto expected = nlohmann::json::parse(run.output);
  ASSERT_EQ(expected.size(), fitted.size());
  for (size_t trial = 0; trial < fitted.size(); ++trial) {
    const auto query = problems[trial].at("query").get<std::vector<double>>();
    const auto want = expected[trial].get<std::vector<double>>();
    const auto tensor = fitted[trial].predict(at::tensor(at::ArrayRef<double>(query), at::kDouble));
    for (size_t k = 0; k < query.size(); ++k) {
      EXPECT_NEAR(fitted[trial].predict(query[k]), want[k], 1e-9) << "trial " << trial << ", x = " << query[k];
      EXPECT_NEAR(tensor[k].item<double>(), want[k], 1e-6) << "trial " << trial << ", x = " << query[k];
    }
  }
}

TEST(Isotonic, NoCandidateStaysMinusInfinityAndBadInputIsRefused) {
  IsotonicCalibration cal;
  cal.fit({0.1, 0.2, 0.3, std::numeric_limits<double>::infinity() * -1}, {0, 1, 1, 1});
  EXPECT_EQ(cal.knot_x().size(), 3u) << "non-finite scores are ignored";
  EXPECT_EQ(cal.predict(-std::numeric_limits<double>::infinity()), -std::numeric_limits<double>::infinity());
  EXPECT_DOUBLE_EQ(cal.predict(5.0), 1.0);
  const auto t = cal.predict(at::tensor({-std::numeric_limits<float>::infinity(), 0.0f, 0.15f}));
  EXPECT_TRUE(std::isinf(t[0].item<float>()));
  EXPECT_FLOAT_EQ(t[1].item<float>(), 0.0f);
  EXPECT_FLOAT_EQ(t[2].item<float>(), 0.5f);
  EXPECT_THROW(IsotonicCalibration().fit({}, {}), std::invalid_argument);
  EXPECT_THROW(IsotonicCalibration().predict(0.5), std::logic_error);
}

}  // namespace
}  // namespace wildreid::identify
