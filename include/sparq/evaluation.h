// Accuracy of a model on a standard data set, computed the way each benchmark defines it:
// SST-2 and MRPC (GLUE TSV: accuracy, F1 of the positive class), CoNLL-2003 (IOB text: entity-level
// exact-span micro F1 like seqeval), SQuAD v1.1 (JSON: exact match and F1 like the official
// script).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sparq/pipelines.h"

namespace sparq {

enum class Benchmark { sst2, mrpc, conll2003, squad };

std::optional<Benchmark> parse_benchmark(std::string_view name);
const char* benchmark_name(Benchmark benchmark);
Task benchmark_task(Benchmark benchmark);

struct EvaluationOptions {
  int64_t limit = 0;  // evaluate the first N examples only (0: all)
  // Called after every batch with (examples done, examples in total).
  std::function<void(int64_t, int64_t)> progress;
};

struct EvaluationReport {
  std::string benchmark;
  std::string data;
  int64_t examples = 0;
  int64_t failed = 0;                                   // inputs the pipeline rejected
  std::vector<std::pair<std::string, double>> metrics;  // in display order, e.g. accuracy, f1
  // per entity type for CoNLL: type -> (precision, recall, f1, support)
  std::vector<std::pair<std::string, std::vector<double>>> per_type;
  double seconds = 0;

  double metric(const std::string& name) const;
};

// Reads the data set and runs the pipeline on it in its batches. Throws sparq::Error for a
// missing or malformed data file.
EvaluationReport evaluate(Pipeline& pipeline, Benchmark benchmark, const std::string& data_path,
                          const EvaluationOptions& options = {});

}  // namespace sparq
