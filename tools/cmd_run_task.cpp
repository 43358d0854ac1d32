// sparq run <task>: text in, labels / entities / answers / embeddings out. Inputs come from the
// command line or a JSONL file (one request per line); a bad line gets its own {"error": ...}
// line and the rest go on.
#include <fmt/format.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "cli_util.h"
#include "commands.h"
#include "sparq/error.h"
#include "sparq/pipelines.h"

namespace sparq::cli {
namespace {

using nlohmann::json;

struct TaskOptions {
  Task task = Task::text_classification;
  std::string model;
  std::vector<std::string> texts;
  std::vector<std::string> pairs;
  std::string question, context;
  std::string input;
  LoadOptions load;
  int threads = 1;
  int64_t batch_size = 16;
  int64_t max_length = 0;
  bool json = false;
  // text classification
  int64_t top_k = 1;
  std::string function = "auto";
  // token classification
  std::string aggregation = "simple";
  std::vector<std::string> ignore_labels = {"O"};
  // question answering
  int64_t max_answer_len = 15;
  int64_t max_seq_len = 0;
  int64_t doc_stride = 0;
  bool handle_impossible_answer = false;
  // embeddings
  bool no_normalize = false;
};

// One request, parsed from the command line or from a JSONL line.
struct Request {
  TextInput text;
  QuestionInput question;
  std::string error;
};

Request parse_line(Task task, const std::string& line) {
  Request r;
  json j;
  try {
    j = json::parse(line);
  } catch (const json::exception& e) {
    r.error = fmt::format("line is not JSON ({})", e.what());
    return r;
  }
  auto string_field = [&](const char* key, std::string& out) {
    auto it = j.find(key);
    if (it == j.end()) return false;
    if (!it->is_string()) throw Error(fmt::format("'{}' must be a string", key));
    out = it->get<std::string>();
    return true;
  };
  try {
    if (task == Task::question_answering) {
      if (!j.is_object() || !string_field("question", r.question.question) ||
          !string_field("context", r.question.context))
        r.error = "a question-answering request needs {\"question\": ..., \"context\": ...}";
      return r;
    }
    if (j.is_string()) {
      r.text.text = j.get<std::string>();
      return r;
    }
    if (!j.is_object() || !string_field("text", r.text.text)) {
      r.error = "a request is a JSON string or {\"text\": ...}";
      return r;
    }
    std::string pair;
    if (string_field("pair", pair) || string_field("text_pair", pair)) r.text.pair = pair;
  } catch (const Error& e) {
    r.error = e.what();
  }
  return r;
}

json entity_json(const Entity& e, bool grouped) {
  json j;
  j[grouped ? "entity_group" : "entity"] = e.entity;
  j["score"] = e.score;
  if (!grouped) j["index"] = e.index;
  j["word"] = e.word;
  j["start"] = e.start;
  j["end"] = e.end;
  return j;
}

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

// Runs one chunk of requests and prints one line per request, in order. Returns the failures.
int64_t run_chunk(Pipeline& pipeline, const TaskOptions& o, const std::vector<Request>& requests) {
  std::vector<std::string> lines(requests.size());
  std::vector<size_t> index;
  std::vector<TextInput> texts;
  std::vector<std::string> plain;
  std::vector<QuestionInput> questions;
  for (size_t i = 0; i < requests.size(); ++i) {
    if (!requests[i].error.empty()) continue;
    index.push_back(i);
    texts.push_back(requests[i].text);
    plain.push_back(requests[i].text.text);
    questions.push_back(requests[i].question);
  }
  std::vector<std::string> errors(index.size());
  // Each successful result becomes its line, as format() gives it (JSON, text); a failed one
  // records its error.
  auto emit_all = [&](const auto& results, auto&& format) {
    for (size_t k = 0; k < results.size(); ++k) {
      if (!results[k].ok()) {
        errors[k] = results[k].error;
        continue;
      }
      const auto [json_line, text_line] = format(*results[k].value);
      lines[index[k]] = o.json ? json_line : text_line;
    }
  };
  switch (o.task) {
    case Task::text_classification: {
      ClassificationOptions options;
      options.top_k = o.top_k;
      options.function = *parse_score_function(o.function);
      emit_all(pipeline.classify(texts, options), [](const auto& labels) {
        json j = json::array();
        std::string text;
        for (const auto& l : labels) {
          j.push_back({{"label", l.label}, {"score", l.score}});
          text += fmt::format("{}{} {:.4f}", text.empty() ? "" : ", ", l.label, l.score);
        }
        return std::pair{dump(j), text};
      });
      break;
    }
    case Task::token_classification: {
      TokenClassificationOptions options;
      options.aggregation = *parse_aggregation(o.aggregation);
      options.ignore_labels = o.ignore_labels;
      const bool grouped = options.aggregation != Aggregation::none;
      emit_all(pipeline.tag(plain, options), [grouped](const auto& entities) {
        json j = json::array();
        std::string text;
        for (const auto& e : entities) {
          j.push_back(entity_json(e, grouped));
          text += fmt::format("{}{} [{} {:.3f}] ({}-{})", text.empty() ? "" : "; ", e.word,
                              e.entity, e.score, e.start, e.end);
        }
        return std::pair{dump(j), text.empty() ? std::string("(no entities)") : text};
      });
      break;
    }
    case Task::question_answering: {
      QuestionAnsweringOptions options;
      options.top_k = o.top_k;
      options.max_answer_len = o.max_answer_len;
      options.max_seq_len = o.max_seq_len;
      options.doc_stride = o.doc_stride;
      options.handle_impossible_answer = o.handle_impossible_answer;
      emit_all(pipeline.answer(questions, options), [&o](const auto& found) {
        json answers = json::array();
        std::string text;
        for (const auto& a : found) {
          answers.push_back(
              {{"score", a.score}, {"start", a.start}, {"end", a.end}, {"answer", a.answer}});
          text += fmt::format("{}\"{}\" {:.4f} ({}-{})", text.empty() ? "" : "; ", a.answer,
                              a.score, a.start, a.end);
        }
        // like Hugging Face: one answer is an object, several a list
        return std::pair{dump(o.top_k == 1 && answers.size() == 1 ? answers[0] : answers),
                         text.empty() ? std::string("(no answer)") : text};
      });
      break;
    }
    case Task::feature_extraction: {
      EmbeddingOptions options;
      options.normalize = !o.no_normalize;
      emit_all(pipeline.embed(texts, options), [](const auto& v) {
        return std::pair{dump(json(v)), fmt::format("[{:.4f}, {:.4f}, {:.4f}, ...] ({} dimensions)",
                                                    v[0], v[1], v[2], v.size())};
      });
      break;
    }
  }
  int64_t failures = 0;
  for (size_t k = 0; k < index.size(); ++k)
    if (!errors[k].empty()) lines[index[k]] = "\x01" + errors[k];
  for (size_t i = 0; i < requests.size(); ++i)
    if (!requests[i].error.empty()) lines[i] = "\x01" + requests[i].error;
  for (auto& line : lines) {
    if (!line.empty() && line[0] == '\x01') {
      ++failures;
      const std::string message = line.substr(1);
      line = o.json ? dump(json{{"error", message}}) : "error: " + message;
    }
    fmt::print("{}\n", line);
  }
  std::fflush(stdout);
  return failures;
}

void run_task(const TaskOptions& o) {
  const bool from_file = !o.input.empty();
  if (from_file && (!o.texts.empty() || !o.question.empty()))
    throw Error("give texts on the command line or --input FILE, not both");
  if (!o.pairs.empty() && o.pairs.size() != o.texts.size())
    throw Error(fmt::format("{} --pair values for {} texts; give one per text", o.pairs.size(),
                            o.texts.size()));
  if (o.task == Task::question_answering && !from_file && (o.question.empty() || o.context.empty()))
    throw Error("question answering needs --question and --context (or --input FILE.jsonl)");
  if (o.task != Task::question_answering && !from_file && o.texts.empty())
    throw Error("no text given");
  std::ifstream file;
  if (from_file) {
    file.open(o.input);
    if (!file) throw Error(fmt::format("cannot open {}", o.input));
  }

  PipelineOptions options;
  options.load = o.load;
  options.threads = o.threads;
  options.batch_size = o.batch_size;
  options.max_length = o.max_length;
  auto pipeline = Pipeline::create(o.task, o.model, options);

  int64_t failures = 0, total = 0;
  if (!from_file) {
    std::vector<Request> requests;
    if (o.task == Task::question_answering) {
      requests.push_back({{}, {o.question, o.context}, ""});
    } else {
      for (size_t i = 0; i < o.texts.size(); ++i) {
        Request r;
        r.text.text = o.texts[i];
        if (!o.pairs.empty()) r.text.pair = o.pairs[i];
        requests.push_back(r);
      }
    }
    total = static_cast<int64_t>(requests.size());
    failures = run_chunk(*pipeline, o, requests);
  } else {
    // a few batches at a time: output streams and memory stays bounded for any file size
    const size_t chunk = static_cast<size_t>(std::max<int64_t>(o.batch_size * 8, 64));
    std::vector<Request> requests;
    std::string line;
    while (std::getline(file, line)) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      requests.push_back(parse_line(o.task, line));
      if (requests.size() == chunk) {
        failures += run_chunk(*pipeline, o, requests);
        total += static_cast<int64_t>(requests.size());
        requests.clear();
      }
    }
    if (!requests.empty()) {
      failures += run_chunk(*pipeline, o, requests);
      total += static_cast<int64_t>(requests.size());
    }
  }
  if (failures > 0)
    throw Error(fmt::format("{} of {} inputs failed (see their output lines)", failures, total));
}

void add_common(CLI::App* cmd, TaskOptions& o) {
  cmd->add_option("--model", o.model, "Model directory (with its tokenizer files)")->required();
  cmd->add_option("--input", o.input, "JSONL file, one request per line")->check(CLI::ExistingFile);
  cmd->add_option("--batch-size", o.batch_size, "Sequences per forward pass")
      ->check(CLI::Range(int64_t{1}, int64_t{4096}))
      ->capture_default_str();
  cmd->add_option("--max-length", o.max_length, "Tokens per sequence (default: the model's limit)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20));
  add_threads_option(*cmd, o.threads);
  add_load_options(*cmd, o.load);
  cmd->add_flag("--json", o.json, "One JSON value per input line");
}

}  // namespace

void register_run_tasks(CLI::App& run) {
  struct Spec {
    Task task;
    const char* name;
    const char* alias;
    const char* help;
  };
  const Spec specs[] = {
      {Task::text_classification, "text-classification", "sentiment-analysis",
       "Labels and scores for texts or text pairs"},
      {Task::token_classification, "token-classification", "ner",
       "Entities (per token or grouped) in texts"},
      {Task::question_answering, "question-answering", "qa",
       "The answer span to a question in a context"},
      {Task::feature_extraction, "feature-extraction", "embeddings",
       "Mean-pooled sentence embeddings"},
  };
  for (const Spec& spec : specs) {
    auto o = std::make_shared<TaskOptions>();
    o->task = spec.task;
    CLI::App* cmd = run.add_subcommand(spec.name, spec.help);
    cmd->alias(spec.alias);
    add_common(cmd, *o);
    switch (spec.task) {
      case Task::text_classification:
        cmd->add_option("texts", o->texts, "Texts to classify");
        cmd->add_option("--pair", o->pairs, "Second text of a pair, once per text");
        cmd->add_option("--top-k", o->top_k, "Labels per input (0: all)")
            ->check(CLI::Range(int64_t{0}, int64_t{1} << 20))
            ->capture_default_str();
        cmd->add_option("--function", o->function, "Score function: auto, softmax, sigmoid, none")
            ->check(CLI::IsMember({"auto", "softmax", "sigmoid", "none"}))
            ->capture_default_str();
        break;
      case Task::token_classification:
        cmd->add_option("texts", o->texts, "Texts to tag");
        cmd->add_option("--aggregation", o->aggregation, "none, simple, first, average or max")
            ->check(CLI::IsMember({"none", "simple", "first", "average", "max"}))
            ->capture_default_str();
        cmd->add_option("--ignore-labels", o->ignore_labels, "Labels left out of the output")
            ->capture_default_str();
        break;
      case Task::question_answering:
        cmd->add_option("--question", o->question, "The question");
        cmd->add_option("--context", o->context, "The text holding the answer");
        cmd->add_option("--top-k", o->top_k, "Answers per question")
            ->check(CLI::Range(int64_t{1}, int64_t{1} << 20))
            ->capture_default_str();
        cmd->add_option("--max-answer-len", o->max_answer_len, "Longest answer in tokens")
            ->check(CLI::Range(int64_t{1}, int64_t{1} << 20))
            ->capture_default_str();
        cmd->add_option("--max-seq-len", o->max_seq_len,
                        "Tokens per window (default: min(384, the model's limit))")
            ->check(CLI::Range(int64_t{1}, int64_t{1} << 20));
        cmd->add_option("--doc-stride", o->doc_stride,
                        "Overlap of context windows (default: min(max-seq-len/2, 128))")
            ->check(CLI::Range(int64_t{1}, int64_t{1} << 20));
        cmd->add_flag("--handle-impossible-answer", o->handle_impossible_answer,
                      "Allow the empty answer (SQuAD v2 models)");
        break;
      case Task::feature_extraction:
        cmd->add_option("texts", o->texts, "Texts to embed");
        cmd->add_flag("--no-normalize", o->no_normalize,
                      "Keep the mean-pooled vector unnormalized");
        break;
    }
    cmd->callback([o] { run_task(*o); });
  }
}

}  // namespace sparq::cli
