#include "runtime/latency_stats.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace sparq::runtime {
namespace {

double nearest_rank(const std::vector<double>& sorted, double percent) {
  const auto n = static_cast<double>(sorted.size());
  auto k = static_cast<long>(std::ceil(percent / 100.0 * n)) - 1;
  k = std::clamp<long>(k, 0, static_cast<long>(sorted.size()) - 1);
  return sorted[static_cast<size_t>(k)];
}

}  // namespace

LatencyStats latency_stats(std::vector<double> s) {
  LatencyStats r;
  if (s.empty()) return r;
  std::sort(s.begin(), s.end());
  const size_t n = s.size();
  r.median = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  r.mean = std::accumulate(s.begin(), s.end(), 0.0) / static_cast<double>(n);
  r.min = s.front();
  r.max = s.back();
  r.p90 = nearest_rank(s, 90);
  r.p99 = nearest_rank(s, 99);
  return r;
}

}  // namespace sparq::runtime
