// sparq run raw: the encoder on token ids from a JSON file.
#include <fmt/format.h>

#include <algorithm>

#include "commands.h"
#include "io/json_io.h"
#include "io/mapped_file.h"
#include "sparq/runtime.h"

namespace sparq::cli {
namespace {

struct RunRawOptions {
  std::string model;
  std::string input;
  LoadOptions load;
  int threads = 1;
  bool json = false;
  bool hidden = false;
  bool all_hidden = false;
};

void print_table(const Model& model, const EncoderInput& in, const EncoderOutput& out) {
  const ModelConfig& c = model.config();
  auto argmax = [](const float* v, int64_t n) {
    return static_cast<int64_t>(std::max_element(v, v + n) - v);
  };
  switch (model.info().head) {
    case TaskHead::sequence_classification: {
      const int64_t labels = c.num_labels();
      fmt::print("{:<9}", "sequence");
      for (const auto& name : c.id2label) fmt::print(" {:>12}", name);
      fmt::print("  predicted\n");
      for (int64_t b = 0; b < in.batch; ++b) {
        const float* row = out.logits.data.data() + b * labels;
        fmt::print("{:<9}", b);
        for (int64_t j = 0; j < labels; ++j) fmt::print(" {:>12.6f}", row[j]);
        fmt::print("  {}\n", c.id2label[static_cast<size_t>(argmax(row, labels))]);
      }
      break;
    }
    case TaskHead::token_classification: {
      const int64_t labels = c.num_labels();
      for (int64_t b = 0; b < in.batch; ++b) {
        fmt::print("sequence {}:", b);
        for (int64_t s = 0; s < in.seq; ++s) {
          if (!in.attention_mask.empty() && !in.attention_mask[b * in.seq + s]) continue;
          const float* row = out.logits.data.data() + (b * in.seq + s) * labels;
          fmt::print(" {}", c.id2label[static_cast<size_t>(argmax(row, labels))]);
        }
        fmt::print("\n");
      }
      break;
    }
    case TaskHead::question_answering:
      for (int64_t b = 0; b < in.batch; ++b) {
        const float* start = out.start_logits.data.data() + b * in.seq;
        const float* end = out.end_logits.data.data() + b * in.seq;
        int64_t s = argmax(start, in.seq), e = argmax(end, in.seq);
        fmt::print("sequence {}: best start token {} ({:.4f}), best end token {} ({:.4f})\n", b, s,
                   start[s], e, end[e]);
      }
      break;
    case TaskHead::encoder:
      fmt::print("last_hidden_state [{}, {}, {}]", in.batch, in.seq, c.hidden_size);
      if (!out.pooler_output.empty())
        fmt::print(", pooler_output [{}, {}]", in.batch, c.hidden_size);
      fmt::print(" (use --json for the values)\n");
      break;
  }
}

}  // namespace

void register_run(CLI::App& app) {
  CLI::App* run = app.add_subcommand("run", "Run a model");
  run->require_subcommand(1);
  register_run_tasks(*run);
  auto opts = std::make_shared<RunRawOptions>();
  CLI::App* raw = run->add_subcommand("raw", "Run the encoder on token ids from a JSON file");
  raw->add_option("--model", opts->model, "Model directory")->required();
  raw->add_option("--input", opts->input,
                  "JSON file with input_ids and optionally attention_mask, token_type_ids "
                  "(lists of lists; mask defaults to ones, types to zeros)")
      ->required();
  raw->add_flag("--json", opts->json, "Print the outputs as JSON ({\"logits\": [[...]]})");
  raw->add_flag("--hidden", opts->hidden, "Also output the last hidden state");
  raw->add_flag("--hidden-states", opts->all_hidden,
                "Also output the embedding output and every layer's hidden state");
  add_threads_option(*raw, opts->threads);
  add_load_options(*raw, opts->load);
  raw->callback([opts] {
    EncoderInput input = io::parse_encoder_input(io::read_text_file(opts->input), opts->input);
    auto model = Model::load(opts->model, opts->load);
    Stream stream(model, opts->threads);
    RunOptions run_options;
    run_options.last_hidden_state = opts->hidden;
    run_options.all_hidden_states = opts->all_hidden;
    EncoderOutput out = stream.run(input, run_options);
    if (opts->json)
      fmt::print("{}\n", io::encoder_output_json(out));
    else
      print_table(*model, input, out);
  });
}

}  // namespace sparq::cli
