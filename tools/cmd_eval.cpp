// sparq eval: a model's metric on a standard data set.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "cli_util.h"
#include "commands.h"
#include "sparq/evaluation.h"

namespace sparq::cli {
namespace {

struct EvalOptions {
  std::string task;
  std::string model;
  std::string data;
  LoadOptions load;
  int threads = 1;
  int64_t batch_size = 16;
  int64_t max_length = 0;
  int64_t limit = 0;
  bool json = false;
};

}  // namespace

void register_eval(CLI::App& app) {
  auto o = std::make_shared<EvalOptions>();
  CLI::App* cmd =
      app.add_subcommand("eval", "Measure a model's accuracy on SST-2, MRPC, CoNLL-2003 or SQuAD");
  cmd->add_option("--task", o->task, "sst2, mrpc, conll2003 or squad")
      ->required()
      ->check(CLI::IsMember({"sst2", "mrpc", "conll2003", "squad"}));
  cmd->add_option("--model", o->model, "Model directory")->required();
  cmd->add_option("--data", o->data,
                  "Data file: GLUE dev.tsv (sst2, mrpc), CoNLL IOB text (conll2003), SQuAD v1.1 "
                  "JSON (squad)")
      ->required();
  cmd->add_option("--batch-size", o->batch_size, "Sequences per forward pass")
      ->check(CLI::Range(int64_t{1}, int64_t{4096}))
      ->capture_default_str();
  cmd->add_option("--max-length", o->max_length, "Tokens per sequence (default: the model's limit)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20));
  cmd->add_option("--limit", o->limit, "Evaluate the first N examples only")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
  add_threads_option(*cmd, o->threads);
  add_load_options(*cmd, o->load);
  cmd->add_flag("--json", o->json, "Print one JSON object");
  cmd->callback([o] {
    const Benchmark benchmark = *parse_benchmark(o->task);
    PipelineOptions options;
    options.load = o->load;
    options.threads = o->threads;
    options.batch_size = o->batch_size;
    options.max_length = o->max_length;
    auto pipeline = Pipeline::create(benchmark_task(benchmark), o->model, options);
    ProgressBar bar(o->task);
    EvaluationOptions eval_options;
    eval_options.limit = o->limit;
    eval_options.progress = [&](int64_t done, int64_t total) { bar.update(done, total); };
    EvaluationReport r = evaluate(*pipeline, benchmark, o->data, eval_options);
    if (o->json) {
      nlohmann::json metrics = nlohmann::json::object(), per_type = nlohmann::json::object();
      for (const auto& [name, value] : r.metrics) metrics[name] = value;
      for (const auto& [type, v] : r.per_type)
        per_type[type] = {{"precision", v[0]},
                          {"recall", v[1]},
                          {"f1", v[2]},
                          {"support", static_cast<int64_t>(v[3])}};
      nlohmann::json j = {{"benchmark", r.benchmark}, {"model", o->model},
                          {"data", r.data},           {"examples", r.examples},
                          {"failed", r.failed},       {"seconds", r.seconds},
                          {"metrics", metrics},       {"isa", pipeline->model().info().isa}};
      if (!r.per_type.empty()) j["per_type"] = per_type;
      fmt::print("{}\n", j.dump(2));
      return;
    }
    fmt::print("benchmark  {} ({})\n", r.benchmark, r.data);
    fmt::print("model      {} (kernels {})\n", o->model, pipeline->model().info().isa);
    fmt::print("examples   {} ({} failed) in {:.1f} s, {:.0f} examples/s\n\n", r.examples, r.failed,
               r.seconds, static_cast<double>(r.examples) / r.seconds);
    fmt::print("{:<12} {:>8}\n", "metric", "value");
    for (const auto& [name, value] : r.metrics) fmt::print("{:<12} {:>8.4f}\n", name, value);
    if (!r.per_type.empty()) {
      fmt::print("\n{:<8} {:>9} {:>8} {:>8} {:>8}\n", "type", "precision", "recall", "f1",
                 "support");
      for (const auto& [type, v] : r.per_type)
        fmt::print("{:<8} {:>9.4f} {:>8.4f} {:>8.4f} {:>8.0f}\n", type, v[0], v[1], v[2], v[3]);
    }
  });
}

}  // namespace sparq::cli
