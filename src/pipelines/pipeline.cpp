// The task pipelines: tokenize (per input, errors kept per input), run the encoder in batches of
// similar length padded to the longest, post-process (postprocess.h).
#include "sparq/pipelines.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>

#include "core/error.h"
#include "pipelines/batching.h"
#include "pipelines/postprocess.h"

namespace sparq {
namespace {

using pipelines::PreEntity;

struct TaskName {
  Task task;
  const char* name;
};
constexpr TaskName kTaskNames[] = {
    {Task::text_classification, "text-classification"},
    {Task::text_classification, "sentiment-analysis"},
    {Task::token_classification, "token-classification"},
    {Task::token_classification, "ner"},
    {Task::question_answering, "question-answering"},
    {Task::question_answering, "qa"},
    {Task::feature_extraction, "feature-extraction"},
    {Task::feature_extraction, "embeddings"},
};

TaskHead head_for(Task task) {
  switch (task) {
    case Task::text_classification:
      return TaskHead::sequence_classification;
    case Task::token_classification:
      return TaskHead::token_classification;
    case Task::question_answering:
      return TaskHead::question_answering;
    case Task::feature_extraction:
      return TaskHead::encoder;
  }
  return TaskHead::encoder;
}

const char* architecture_for(Task task) {
  switch (task) {
    case Task::text_classification:
      return "BertForSequenceClassification";
    case Task::token_classification:
      return "BertForTokenClassification";
    case Task::question_answering:
      return "BertForQuestionAnswering";
    case Task::feature_extraction:
      return "any BERT";
  }
  return "?";
}

// The code points of `text` in [start, end), given matching byte offsets.
std::string byte_slice(const std::string& text, TokenSpan bytes) {
  return text.substr(static_cast<size_t>(bytes.start),
                     static_cast<size_t>(bytes.end - bytes.start));
}

int64_t utf8_length(const std::string& s) {
  int64_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

void require_text(const std::string& text, const char* what) {
  if (text.empty()) fail("{} is empty", what);
}

}  // namespace

std::optional<Task> parse_task(std::string_view name) {
  for (const auto& t : kTaskNames)
    if (name == t.name) return t.task;
  return std::nullopt;
}

const char* task_name(Task task) {
  for (const auto& t : kTaskNames)
    if (t.task == task) return t.name;
  return "?";
}

std::optional<Aggregation> parse_aggregation(std::string_view name) {
  if (name == "none") return Aggregation::none;
  if (name == "simple") return Aggregation::simple;
  if (name == "first") return Aggregation::first;
  if (name == "average") return Aggregation::average;
  if (name == "max") return Aggregation::max;
  return std::nullopt;
}

std::optional<ScoreFunction> parse_score_function(std::string_view name) {
  if (name == "auto") return ScoreFunction::automatic;
  if (name == "softmax") return ScoreFunction::softmax;
  if (name == "sigmoid") return ScoreFunction::sigmoid;
  if (name == "none") return ScoreFunction::none;
  return std::nullopt;
}

struct Pipeline::Impl {
  Task task;
  std::shared_ptr<const Model> model;
  std::shared_ptr<const Tokenizer> tokenizer;
  std::unique_ptr<Stream> stream;
  PipelineOptions options;
  int64_t max_length = 0;

  EncodeOptions encode_options() const {
    EncodeOptions e;
    e.max_length = max_length;
    return e;
  }

  void run(const std::vector<const Encoding*>& encodings, const RunOptions& run_options,
           const std::function<void(size_t, const EncoderOutput&, int64_t, int64_t)>& consume) {
    pipelines::run_in_batches(*stream, tokenizer->pad_token_id(), encodings, options.batch_size,
                              run_options, consume);
  }

  // Tokenizes each input with `encode`, keeping errors per input.
  template <typename Input, typename Encode>
  std::vector<Encoding> tokenize(const std::vector<Input>& inputs, std::vector<std::string>& errors,
                                 Encode encode) {
    std::vector<Encoding> encodings(inputs.size());
    errors.assign(inputs.size(), "");
    for (size_t i = 0; i < inputs.size(); ++i) {
      try {
        encode(inputs[i], encodings[i]);
      } catch (const Error& e) {
        errors[i] = e.what();
      }
    }
    return encodings;
  }

  static std::vector<const Encoding*> runnable(const std::vector<Encoding>& encodings,
                                               const std::vector<std::string>& errors,
                                               std::vector<size_t>& index) {
    std::vector<const Encoding*> out;
    index.clear();
    for (size_t i = 0; i < encodings.size(); ++i)
      if (errors[i].empty()) {
        out.push_back(&encodings[i]);
        index.push_back(i);
      }
    return out;
  }
};

Pipeline::Pipeline(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Pipeline::~Pipeline() = default;

std::unique_ptr<Pipeline> Pipeline::create(Task task, const std::string& model_directory,
                                           const PipelineOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->task = task;
  impl->options = options;
  if (options.batch_size < 1) fail("batch size {} must be at least 1", options.batch_size);
  if (options.max_length < 0) fail("max length {} is negative", options.max_length);
  impl->model = Model::load(model_directory, options.load);
  const ModelInfo& info = impl->model->info();
  if (task != Task::feature_extraction && info.head != head_for(task))
    fail("{} is a {} model ({}); the {} task needs a {} model", model_directory,
         task_head_name(info.head), info.architecture, task_name(task), architecture_for(task));
  impl->tokenizer = Tokenizer::load(model_directory);
  if (impl->tokenizer->vocab_size() > impl->model->config().vocab_size)
    fail("{}: the tokenizer has {} tokens but the model's vocabulary has {}", model_directory,
         impl->tokenizer->vocab_size(), impl->model->config().vocab_size);
  int64_t limit = impl->model->config().max_position_embeddings;
  if (impl->tokenizer->model_max_length() > 0)
    limit = std::min(limit, impl->tokenizer->model_max_length());
  if (options.max_length > limit)
    fail("max length {} exceeds the model's limit of {} tokens", options.max_length, limit);
  impl->max_length = options.max_length > 0 ? options.max_length : limit;
  const int min_length = impl->tokenizer->num_special_tokens(true) + 2;
  if (impl->max_length < min_length)
    fail("max length {} is below the minimum of {}", impl->max_length, min_length);
  impl->stream = std::make_unique<Stream>(impl->model, options.threads);
  return std::unique_ptr<Pipeline>(new Pipeline(std::move(impl)));
}

Task Pipeline::task() const {
  return impl_->task;
}
const Model& Pipeline::model() const {
  return *impl_->model;
}
const Tokenizer& Pipeline::tokenizer() const {
  return *impl_->tokenizer;
}
int64_t Pipeline::max_length() const {
  return impl_->max_length;
}

std::vector<Result<std::vector<LabelScore>>> Pipeline::classify(
    const std::vector<TextInput>& inputs, const ClassificationOptions& options) {
  if (impl_->task != Task::text_classification)
    fail("classify needs a text-classification pipeline");
  if (options.top_k < 0) fail("top_k {} is negative", options.top_k);
  const ModelConfig& c = impl_->model->config();
  ScoreFunction function = options.function;
  if (function == ScoreFunction::automatic)
    function = c.problem_type == "multi_label_classification" || c.num_labels() == 1
                   ? ScoreFunction::sigmoid
                   : ScoreFunction::softmax;
  std::vector<std::string> errors;
  auto encodings = impl_->tokenize(inputs, errors, [&](const TextInput& in, Encoding& e) {
    require_text(in.text, "text");
    if (in.pair) {
      require_text(*in.pair, "pair text");
      std::string_view pair = *in.pair;
      impl_->tokenizer->encode(in.text, &pair, impl_->encode_options(), e);
    } else {
      impl_->tokenizer->encode(in.text, nullptr, impl_->encode_options(), e);
    }
  });
  std::vector<Result<std::vector<LabelScore>>> results(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) results[i].error = errors[i];
  std::vector<size_t> index;
  auto runnable = Impl::runnable(encodings, errors, index);
  impl_->run(runnable, {}, [&](size_t k, const EncoderOutput& out, int64_t row, int64_t) {
    const int64_t labels = c.num_labels();
    auto scores =
        pipelines::apply_score_function(out.logits.data.data() + row * labels, labels, function);
    results[index[k]].value = pipelines::top_labels(scores, c.id2label, options.top_k);
  });
  return results;
}

std::vector<Result<std::vector<Entity>>> Pipeline::tag(const std::vector<std::string>& texts,
                                                       const TokenClassificationOptions& options) {
  if (impl_->task != Task::token_classification) fail("tag needs a token-classification pipeline");
  const ModelConfig& c = impl_->model->config();
  const Tokenizer& tok = *impl_->tokenizer;
  std::vector<std::string> errors;
  auto encodings = impl_->tokenize(texts, errors, [&](const std::string& text, Encoding& e) {
    require_text(text, "text");
    tok.encode(text, nullptr, impl_->encode_options(), e);
  });
  std::vector<Result<std::vector<Entity>>> results(texts.size());
  for (size_t i = 0; i < texts.size(); ++i) results[i].error = errors[i];
  std::vector<size_t> index;
  auto runnable = Impl::runnable(encodings, errors, index);
  const std::optional<int32_t> unk = tok.token_to_id("[UNK]");
  impl_->run(runnable, {}, [&](size_t k, const EncoderOutput& out, int64_t row, int64_t seq) {
    const size_t i = index[k];
    const Encoding& e = encodings[i];
    const int64_t labels = c.num_labels();
    std::vector<PreEntity> tokens;
    for (size_t t = 0; t < e.size(); ++t) {
      if (e.special_tokens_mask[t]) continue;
      PreEntity p;
      p.scores = pipelines::apply_score_function(
          out.logits.data.data() + (row * seq + static_cast<int64_t>(t)) * labels, labels,
          ScoreFunction::softmax);
      p.word = tok.id_to_token(e.ids[t]);
      p.start = e.offsets[t].start;
      p.end = e.offsets[t].end;
      p.index = static_cast<int64_t>(t);
      const std::string original = byte_slice(texts[i], e.byte_offsets[t]);
      // as Hugging Face decides it: a piece whose vocabulary form is not as long as its text
      p.is_subword = utf8_length(p.word) != utf8_length(original);
      if (unk && e.ids[t] == *unk) {
        p.word = original;
        p.is_subword = false;
      }
      tokens.push_back(std::move(p));
    }
    results[i].value = pipelines::aggregate_entities(tokens, options.aggregation, c.id2label,
                                                     options.ignore_labels);
  });
  return results;
}

std::vector<Result<std::vector<std::string>>> Pipeline::tag_words(
    const std::vector<std::vector<std::string>>& sentences) {
  if (impl_->task != Task::token_classification)
    fail("tag_words needs a token-classification pipeline");
  const ModelConfig& c = impl_->model->config();
  std::vector<std::string> errors;
  auto encodings =
      impl_->tokenize(sentences, errors, [&](const std::vector<std::string>& words, Encoding& e) {
        if (words.empty()) fail("sentence has no words");
        std::vector<std::string_view> views(words.begin(), words.end());
        impl_->tokenizer->encode_words(views, impl_->encode_options(), e);
      });
  std::vector<Result<std::vector<std::string>>> results(sentences.size());
  for (size_t i = 0; i < sentences.size(); ++i) results[i].error = errors[i];
  std::vector<size_t> index;
  auto runnable = Impl::runnable(encodings, errors, index);
  impl_->run(runnable, {}, [&](size_t k, const EncoderOutput& out, int64_t row, int64_t seq) {
    const size_t i = index[k];
    const Encoding& e = encodings[i];
    const int64_t labels = c.num_labels();
    std::vector<std::string> tags(sentences[i].size(), "O");
    int32_t previous = -1;
    for (size_t t = 0; t < e.size(); ++t) {
      const int32_t w = e.word_ids[t];
      if (w >= 0 && w != previous) {
        const float* logits =
            out.logits.data.data() + (row * seq + static_cast<int64_t>(t)) * labels;
        tags[static_cast<size_t>(w)] =
            c.id2label[static_cast<size_t>(std::max_element(logits, logits + labels) - logits)];
      }
      previous = w;
    }
    results[i].value = std::move(tags);
  });
  return results;
}

std::vector<Result<std::vector<Answer>>> Pipeline::answer(const std::vector<QuestionInput>& inputs,
                                                          const QuestionAnsweringOptions& options) {
  if (impl_->task != Task::question_answering) fail("answer needs a question-answering pipeline");
  if (options.top_k < 1) fail("top_k {} must be at least 1", options.top_k);
  if (options.max_answer_len < 1)
    fail("max_answer_len {} must be at least 1", options.max_answer_len);
  if (options.doc_stride < 0) fail("doc_stride {} is negative", options.doc_stride);
  const Tokenizer& tok = *impl_->tokenizer;
  const int64_t max_seq_len = options.max_seq_len > 0
                                  ? std::min(options.max_seq_len, impl_->max_length)
                                  : std::min<int64_t>(384, impl_->max_length);
  const int64_t doc_stride =
      options.doc_stride > 0 ? options.doc_stride : std::min<int64_t>(max_seq_len / 2, 128);

  struct Prepared {
    Encoding question, context;
    std::vector<Encoding> windows;
    std::vector<TokenSpan> word_chars, word_bytes;  // by context word id
  };
  std::vector<Prepared> prepared(inputs.size());
  std::vector<std::string> errors(inputs.size());
  EncodeOptions bare;
  bare.add_special_tokens = false;
  for (size_t i = 0; i < inputs.size(); ++i) {
    try {
      require_text(inputs[i].question, "question");
      require_text(inputs[i].context, "context");
      Prepared& p = prepared[i];
      tok.encode(inputs[i].question, nullptr, bare, p.question);
      tok.encode(inputs[i].context, nullptr, bare, p.context);
      const int64_t budget =
          max_seq_len - static_cast<int64_t>(p.question.size()) - tok.num_special_tokens(true);
      if (budget < 1)
        fail("question of {} tokens leaves no room for the context in {} tokens", p.question.size(),
             max_seq_len);
      if (p.context.size() == 0) fail("context has no tokens");
      for (auto [begin, end] : pipelines::context_windows(
               static_cast<int64_t>(p.context.size()), budget, std::min(doc_stride, budget - 1))) {
        Encoding slice;
        for (int64_t t = begin; t < end; ++t) {
          const auto u = static_cast<size_t>(t);
          slice.ids.push_back(p.context.ids[u]);
          slice.type_ids.push_back(0);
          slice.offsets.push_back(p.context.offsets[u]);
          slice.byte_offsets.push_back(p.context.byte_offsets[u]);
          slice.word_ids.push_back(p.context.word_ids[u]);
          slice.sequence_ids.push_back(0);
          slice.special_tokens_mask.push_back(0);
        }
        Encoding window;
        tok.post_process(p.question, &slice, window);
        p.windows.push_back(std::move(window));
      }
      for (size_t t = 0; t < p.context.size(); ++t) {
        const auto w = static_cast<size_t>(p.context.word_ids[t]);
        if (w >= p.word_chars.size()) {
          p.word_chars.resize(w + 1, {-1, -1});
          p.word_bytes.resize(w + 1, {-1, -1});
        }
        if (p.word_chars[w].start < 0) {
          p.word_chars[w].start = p.context.offsets[t].start;
          p.word_bytes[w].start = p.context.byte_offsets[t].start;
        }
        p.word_chars[w].end = p.context.offsets[t].end;
        p.word_bytes[w].end = p.context.byte_offsets[t].end;
      }
    } catch (const Error& e) {
      errors[i] = e.what();
    }
  }

  std::vector<const Encoding*> windows;
  std::vector<size_t> owner;
  for (size_t i = 0; i < inputs.size(); ++i)
    if (errors[i].empty())
      for (const auto& w : prepared[i].windows) {
        windows.push_back(&w);
        owner.push_back(i);
      }
  std::vector<std::vector<Answer>> answers(inputs.size());
  std::vector<double> null_score(inputs.size(), 1e6);
  impl_->run(windows, {}, [&](size_t k, const EncoderOutput& out, int64_t row, int64_t seq) {
    const size_t i = owner[k];
    const Encoding& w = *windows[k];
    const Prepared& p = prepared[i];
    const size_t n = w.size();
    // answers may only lie in the context; [CLS] stays in the softmax for the no-answer score
    std::vector<uint8_t> allowed(n);
    for (size_t t = 0; t < n; ++t) allowed[t] = w.sequence_ids[t] == 1;
    allowed[0] = 1;
    auto start = pipelines::masked_softmax(out.start_logits.data.data() + row * seq, allowed);
    auto end = pipelines::masked_softmax(out.end_logits.data.data() + row * seq, allowed);
    null_score[i] = std::min(null_score[i], start[0] * end[0]);
    start[0] = end[0] = 0.0;
    for (const auto& span :
         pipelines::best_spans(start, end, allowed, options.top_k, options.max_answer_len)) {
      if (w.sequence_ids[static_cast<size_t>(span.start)] != 1 ||
          w.sequence_ids[static_cast<size_t>(span.end)] != 1)
        continue;  // [CLS] as an answer span carries no text
      const auto first_word = static_cast<size_t>(w.word_ids[static_cast<size_t>(span.start)]);
      const auto last_word = static_cast<size_t>(w.word_ids[static_cast<size_t>(span.end)]);
      Answer a;
      a.score = span.score;
      a.start = p.word_chars[first_word].start;
      a.end = p.word_chars[last_word].end;
      a.answer = inputs[i].context.substr(
          static_cast<size_t>(p.word_bytes[first_word].start),
          static_cast<size_t>(p.word_bytes[last_word].end - p.word_bytes[first_word].start));
      answers[i].push_back(std::move(a));
    }
  });
  std::vector<Result<std::vector<Answer>>> results(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!errors[i].empty()) {
      results[i].error = errors[i];
      continue;
    }
    auto& a = answers[i];
    if (options.handle_impossible_answer) a.push_back({null_score[i], 0, 0, ""});
    std::stable_sort(a.begin(), a.end(),
                     [](const Answer& x, const Answer& y) { return x.score > y.score; });
    if (static_cast<int64_t>(a.size()) > options.top_k)
      a.resize(static_cast<size_t>(options.top_k));
    results[i].value = std::move(a);
  }
  return results;
}

std::vector<Result<std::vector<float>>> Pipeline::embed(const std::vector<TextInput>& inputs,
                                                        const EmbeddingOptions& options) {
  if (impl_->task != Task::feature_extraction) fail("embed needs a feature-extraction pipeline");
  std::vector<std::string> errors;
  auto encodings = impl_->tokenize(inputs, errors, [&](const TextInput& in, Encoding& e) {
    require_text(in.text, "text");
    if (in.pair) {
      std::string_view pair = *in.pair;
      impl_->tokenizer->encode(in.text, &pair, impl_->encode_options(), e);
    } else {
      impl_->tokenizer->encode(in.text, nullptr, impl_->encode_options(), e);
    }
  });
  std::vector<Result<std::vector<float>>> results(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) results[i].error = errors[i];
  std::vector<size_t> index;
  auto runnable = Impl::runnable(encodings, errors, index);
  RunOptions run_options;
  run_options.last_hidden_state = true;
  const int64_t H = impl_->model->config().hidden_size;
  impl_->run(runnable, run_options,
             [&](size_t k, const EncoderOutput& out, int64_t row, int64_t seq) {
               const size_t i = index[k];
               const auto tokens = static_cast<int64_t>(encodings[i].size());
               // mean over the tokens the attention mask keeps, as sentence-transformers pools
               std::vector<double> sum(static_cast<size_t>(H), 0.0);
               for (int64_t t = 0; t < tokens; ++t) {
                 const float* h = out.last_hidden_state.data.data() + (row * seq + t) * H;
                 for (int64_t j = 0; j < H; ++j) sum[static_cast<size_t>(j)] += h[j];
               }
               double norm = 0;
               for (double& v : sum) {
                 v /= static_cast<double>(tokens);
                 norm += v * v;
               }
               norm = options.normalize ? std::max(std::sqrt(norm), 1e-12) : 1.0;
               std::vector<float> embedding(static_cast<size_t>(H));
               for (int64_t j = 0; j < H; ++j)
                 embedding[static_cast<size_t>(j)] =
                     static_cast<float>(sum[static_cast<size_t>(j)] / norm);
               results[i].value = std::move(embedding);
             });
  return results;
}

}  // namespace sparq
