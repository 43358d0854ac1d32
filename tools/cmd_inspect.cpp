// sparq inspect: what a model is and how sparq will run it.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "cli_util.h"
#include "commands.h"
#include "sparq/model.h"

namespace sparq::cli {
namespace {

struct InspectOptions {
  std::string model;
  LoadOptions load;
  bool json = false;
};

const char* act_name(HiddenAct a) {
  switch (a) {
    case HiddenAct::gelu:
      return "gelu (erf)";
    case HiddenAct::gelu_tanh:
      return "gelu (tanh approximation)";
    case HiddenAct::relu:
      return "relu";
  }
  return "?";
}

nlohmann::json inspect_json(const Model& model) {
  const ModelConfig& c = model.config();
  const ModelInfo& info = model.info();
  nlohmann::json linears = nlohmann::json::array();
  for (const LinearInfo& l : info.linears)
    linears.push_back({{"name", l.name},
                       {"out_features", l.out_features},
                       {"in_features", l.in_features},
                       {"zeros", l.zeros},
                       {"sparsity", l.sparsity()},
                       {"blocks4", l.blocks4},
                       {"zero_blocks4", l.zero_blocks4},
                       {"block4_sparsity", l.block4_sparsity()},
                       {"zero_rows", l.zero_rows},
                       {"zero_columns", l.zero_columns},
                       {"format", l.format},
                       {"block", l.block},
                       {"predicted_speedup", l.predicted_speedup},
                       {"resident_bytes", l.resident_bytes},
                       {"kernel", l.kernel},
                       {"precision", l.precision},
                       {"activations", l.activations}});
  return {{"directory", info.directory},
          {"architecture", info.architecture},
          {"head", task_head_name(info.head)},
          {"labels", c.id2label},
          {"num_hidden_layers", c.num_hidden_layers},
          {"hidden_size", c.hidden_size},
          {"num_attention_heads", c.num_attention_heads},
          {"head_dim", c.head_dim()},
          {"intermediate_size", c.intermediate_size},
          {"vocab_size", c.vocab_size},
          {"max_position_embeddings", c.max_position_embeddings},
          {"type_vocab_size", c.type_vocab_size},
          {"hidden_act", c.hidden_act_name},
          {"layer_norm_eps", c.layer_norm_eps},
          {"has_pooler", info.has_pooler},
          {"bert_prefix", info.bert_prefix},
          {"weights_dtype", info.weights_dtype},
          {"parameters", info.parameter_count},
          {"file_bytes", info.file_bytes},
          {"resident_weight_bytes", info.resident_weight_bytes},
          {"encoder_linear_bytes", info.encoder_linear_bytes()},
          {"sparse", info.sparse_mode},
          {"ignored_tensors", info.ignored_tensors},
          {"isa", info.isa},
          {"quantization", info.quantization},
          {"attention", info.attention},
          {"kernels",
           {{"gemm", info.gemm_kernel},
            {"int8_gemm", info.int8_gemm_kernel},
            {"sparse_fp32", info.f32_sparse_kernel},
            {"sparse_int8", info.int8_sparse_kernel},
            {"layernorm", info.layernorm_kernel},
            {"softmax", info.softmax_kernel}}},
          {"load_ms", info.load_seconds * 1e3},
          {"linears", linears}};
}

void print_inspect(const Model& model) {
  const ModelConfig& c = model.config();
  const ModelInfo& info = model.info();
  std::string labels;
  for (size_t i = 0; i < c.id2label.size() && i < 8; ++i) labels += (i ? ", " : "") + c.id2label[i];
  if (c.id2label.size() > 8) labels += ", ...";
  fmt::print("model         {}\n", info.directory);
  fmt::print("architecture  {} (head: {}", info.architecture, task_head_name(info.head));
  if (info.head == TaskHead::sequence_classification || info.head == TaskHead::token_classification)
    fmt::print("; {} labels: {}", c.num_labels(), labels);
  fmt::print(")\n");
  fmt::print(
      "dimensions    {} layers, hidden {}, {} heads x {}, intermediate {}, vocab {}, "
      "{} positions, {} token types\n",
      c.num_hidden_layers, c.hidden_size, c.num_attention_heads, c.head_dim(), c.intermediate_size,
      c.vocab_size, c.max_position_embeddings, c.type_vocab_size);
  fmt::print("activation    {}, layer_norm_eps {:g}, pooler {}\n", act_name(c.hidden_act),
             c.layer_norm_eps, info.has_pooler ? "yes" : "no");
  fmt::print("weights       {} parameters, {} in the file ({} bytes), {} bytes resident{}\n",
             group_digits(info.parameter_count), info.weights_dtype, group_digits(info.file_bytes),
             group_digits(static_cast<int64_t>(info.resident_weight_bytes)),
             info.bert_prefix ? ", names with bert. prefix" : "");
  if (!info.ignored_tensors.empty())
    fmt::print("ignored       {} tensors not used by this head (first: {})\n",
               info.ignored_tensors.size(), info.ignored_tensors.front());
  fmt::print("kernels       {}: {}, {}, {}\n", info.isa, info.gemm_kernel, info.layernorm_kernel,
             info.softmax_kernel);
  if (info.quantization != "none")
    fmt::print("quantization  {} ({})\n", info.quantization, info.int8_gemm_kernel);
  if (info.attention == "int8")
    fmt::print(
        "attention     int8 products (queries and probabilities per row, keys per key, "
        "values per channel; {})\n",
        info.int8_gemm_kernel);
  fmt::print("load time     {:.1f} ms\n\n", info.load_seconds * 1e3);

  fmt::print("{:<40} {:>10} {:>8} {:>8} {:>9} {:>6} {:>9}  {}\n", "linear", "out x in", "zeros",
             "4-blocks", "format", "x est", "KiB", "kernel");
  int64_t zeros = 0, weights = 0, blocks = 0, zero_blocks = 0, sparse_layers = 0, layers = 0;
  for (const LinearInfo& l : info.linears) {
    const std::string format = l.format == "sparse" ? fmt::format("sparse/{}", l.block) : l.format;
    fmt::print("{:<40} {:>10} {:>7.2f}% {:>7.2f}% {:>9} {:>6} {:>9.1f}  {}\n", l.name,
               fmt::format("{}x{}", l.out_features, l.in_features), 100.0 * l.sparsity(),
               100.0 * l.block4_sparsity(), format,
               l.format == "sparse" ? fmt::format("{:.1f}", l.predicted_speedup) : "",
               static_cast<double>(l.resident_bytes) / 1024.0, l.kernel);
    if (l.in_encoder()) {
      zeros += l.zeros;
      weights += l.out_features * l.in_features;
      blocks += l.blocks4;
      zero_blocks += l.zero_blocks4;
      sparse_layers += l.format == "sparse";
      ++layers;
    }
  }
  if (weights) {
    fmt::print(
        "\nencoder linear weights: {:.2f}% zeros, {:.2f}% all-zero 4-blocks, {} bytes resident\n",
        100.0 * static_cast<double>(zeros) / static_cast<double>(weights),
        100.0 * static_cast<double>(zero_blocks) / static_cast<double>(blocks),
        group_digits(static_cast<int64_t>(info.encoder_linear_bytes())));
    fmt::print(
        "sparse kernels ({}): {} of {} encoder weights (x est: the cost model's speed-up over "
        "dense)\n",
        info.sparse_mode, sparse_layers, layers);
  }
}

}  // namespace

void register_inspect(CLI::App& app) {
  auto opts = std::make_shared<InspectOptions>();
  CLI::App* cmd =
      app.add_subcommand("inspect", "Show a model's architecture, sizes, sparsity and kernels");
  cmd->add_option("--model", opts->model, "Model directory (config.json + model.safetensors)")
      ->required();
  add_load_options(*cmd, opts->load);
  cmd->add_flag("--json", opts->json, "Print one JSON object");
  cmd->callback([opts] {
    auto model = Model::load(opts->model, opts->load);
    if (opts->json)
      fmt::print("{}\n", inspect_json(*model).dump(2));
    else
      print_inspect(*model);
  });
}

}  // namespace sparq::cli
