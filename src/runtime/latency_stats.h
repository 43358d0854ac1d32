// Latency statistics as benchmark tools report them: median (mean of the middle two for an even
// count), mean, min, max, and nearest-rank p90/p99.
#pragma once

#include <vector>

namespace sparq::runtime {

struct LatencyStats {
  double median = 0, mean = 0, min = 0, max = 0, p90 = 0, p99 = 0;
};

LatencyStats latency_stats(std::vector<double> samples);

}  // namespace sparq::runtime
