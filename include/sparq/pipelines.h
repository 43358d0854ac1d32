// Task pipelines from text to answers, shaped like Hugging Face's: text classification,
// token classification (NER), extractive question answering and sentence embeddings.
//
// Every batch call returns one result per input, each either a value or an error message, so
// that one bad input (invalid UTF-8, an empty text, ...) never costs the others.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sparq/model.h"
#include "sparq/runtime.h"
#include "sparq/tokenizer.h"

namespace sparq {

enum class Task {
  text_classification,
  token_classification,
  question_answering,
  feature_extraction
};

// Accepts the Hugging Face names and their aliases: sentiment-analysis, ner, qa, embeddings.
std::optional<Task> parse_task(std::string_view name);
const char* task_name(Task task);

template <typename T>
struct Result {
  std::optional<T> value;
  std::string error;  // set when value is empty
  bool ok() const { return value.has_value(); }
};

struct TextInput {
  std::string text;
  std::optional<std::string> pair;
};

struct QuestionInput {
  std::string question;
  std::string context;
};

struct LabelScore {
  std::string label;
  double score = 0;
};

// A token (aggregation none: entity is a label, index the token) or a group of tokens (entity is
// the label without its B-/I- prefix, index -1). start/end are code points in the text.
struct Entity {
  std::string entity;
  double score = 0;
  int64_t index = -1;
  std::string word;
  int64_t start = 0;
  int64_t end = 0;
};

struct Answer {
  double score = 0;
  int64_t start = 0;  // code points in the context; 0, 0 for "no answer"
  int64_t end = 0;
  std::string answer;
};

enum class ScoreFunction { automatic, softmax, sigmoid, none };
enum class Aggregation { none, simple, first, average, max };

std::optional<Aggregation> parse_aggregation(std::string_view name);
std::optional<ScoreFunction> parse_score_function(std::string_view name);

struct PipelineOptions {
  LoadOptions load;         // kernel ISA, INT8 at load, sparse kernels
  int threads = 0;          // 0: physical cores
  int64_t max_length = 0;   // tokens per sequence, 0: the model's limit (and the tokenizer's)
  int64_t batch_size = 16;  // sequences per forward pass
};

struct ClassificationOptions {
  int64_t top_k = 1;  // 0: every label
  ScoreFunction function =
      ScoreFunction::automatic;  // softmax, or sigmoid for multi-label / 1 label
};

struct TokenClassificationOptions {
  Aggregation aggregation = Aggregation::simple;
  std::vector<std::string> ignore_labels = {"O"};
};

struct QuestionAnsweringOptions {
  int64_t top_k = 1;
  int64_t max_answer_len = 15;  // tokens
  int64_t max_seq_len = 0;      // 0: min(384, the model's limit)
  int64_t doc_stride = 0;       // 0: min(max_seq_len / 2, 128)
  bool handle_impossible_answer = false;
};

struct EmbeddingOptions {
  bool normalize = true;  // L2-normalize the mean-pooled vector
};

class Pipeline {
 public:
  // Loads the model and tokenizer of a directory. Throws sparq::Error when the model's head does
  // not fit the task (e.g. question answering on a sequence classifier).
  static std::unique_ptr<Pipeline> create(Task task, const std::string& model_directory,
                                          const PipelineOptions& options = {});
  ~Pipeline();

  Task task() const;
  const Model& model() const;
  const Tokenizer& tokenizer() const;
  int64_t max_length() const;

  std::vector<Result<std::vector<LabelScore>>> classify(const std::vector<TextInput>& inputs,
                                                        const ClassificationOptions& options = {});
  std::vector<Result<std::vector<Entity>>> tag(const std::vector<std::string>& texts,
                                               const TokenClassificationOptions& options = {});
  // Pre-split words (CoNLL style): the label of each word's first token, or "O" for a word
  // that produces no token.
  std::vector<Result<std::vector<std::string>>> tag_words(
      const std::vector<std::vector<std::string>>& sentences);
  std::vector<Result<std::vector<Answer>>> answer(const std::vector<QuestionInput>& inputs,
                                                  const QuestionAnsweringOptions& options = {});
  std::vector<Result<std::vector<float>>> embed(const std::vector<TextInput>& inputs,
                                                const EmbeddingOptions& options = {});

  struct Impl;

 private:
  explicit Pipeline(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sparq
