#include "sparq/evaluation.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"
#include "io/mapped_file.h"
#include "pipelines/postprocess.h"

namespace sparq {
namespace {

struct TsvTable {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  std::vector<size_t> line_numbers;

  size_t column(const std::string& name, const std::string& path) const {
    auto it = std::find(header.begin(), header.end(), name);
    if (it == header.end()) fail("{}: no '{}' column in the header", path, name);
    return static_cast<size_t>(it - header.begin());
  }
};

std::vector<std::string> split(std::string_view line, char separator) {
  std::vector<std::string> fields;
  size_t start = 0;
  for (;;) {
    size_t end = line.find(separator, start);
    fields.emplace_back(
        line.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) return fields;
    start = end + 1;
  }
}

// GLUE's TSV: a header, tab-separated fields, no quoting; a byte-order mark is dropped.
TsvTable read_tsv(const std::string& path) {
  std::string text = io::read_text_file(path);
  if (text.compare(0, 3, "\xEF\xBB\xBF") == 0) text.erase(0, 3);
  TsvTable table;
  size_t start = 0, line_number = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    ++line_number;
    if (!line.empty()) {
      if (table.header.empty()) {
        table.header = split(line, '\t');
      } else {
        table.rows.push_back(split(line, '\t'));
        table.line_numbers.push_back(line_number);
      }
    }
    start = end + 1;
  }
  if (table.header.empty()) fail("{}: the file is empty", path);
  if (table.rows.empty()) fail("{}: no examples after the header", path);
  return table;
}

const std::string& field(const TsvTable& t, size_t row, size_t column, const std::string& path) {
  if (column >= t.rows[row].size())
    fail("{}: line {} has {} fields, fewer than the header's {}", path, t.line_numbers[row],
         t.rows[row].size(), t.header.size());
  return t.rows[row][column];
}

int gold_label(const std::string& text, const std::string& path, size_t line) {
  if (text == "0") return 0;
  if (text == "1") return 1;
  fail("{}: line {}: label '{}' is not 0 or 1", path, line, text);
}

// Index of a label name in the model's id2label.
int64_t label_index(const ModelConfig& c, const std::string& name) {
  auto it = std::find(c.id2label.begin(), c.id2label.end(), name);
  return it == c.id2label.end() ? -1 : it - c.id2label.begin();
}

template <typename Input, typename Run>
void in_batches(const std::vector<Input>& inputs, int64_t batch, const EvaluationOptions& options,
                Run run) {
  const auto total = static_cast<int64_t>(inputs.size());
  // a few forward passes per call, so that progress moves and length sorting still pays
  const int64_t chunk = std::max<int64_t>(batch * 8, 64);
  for (int64_t first = 0; first < total; first += chunk) {
    const int64_t last = std::min(total, first + chunk);
    std::vector<Input> part(inputs.begin() + first, inputs.begin() + last);
    run(first, part);
    if (options.progress) options.progress(last, total);
  }
}

// Accuracy and F1 of label 1 over the whole data set; an input the pipeline rejected counts as
// a wrong prediction.
void classification_metrics(EvaluationReport& r, const std::vector<int>& gold,
                            const std::vector<int>& predicted) {
  int64_t correct = 0, tp = 0, fp = 0, fn = 0;
  for (size_t i = 0; i < gold.size(); ++i) {
    correct += predicted[i] == gold[i];
    tp += predicted[i] == 1 && gold[i] == 1;
    fp += predicted[i] == 1 && gold[i] == 0;
    fn += predicted[i] != 1 && gold[i] == 1;
  }
  const double precision = tp + fp ? static_cast<double>(tp) / static_cast<double>(tp + fp) : 0.0;
  const double recall = tp + fn ? static_cast<double>(tp) / static_cast<double>(tp + fn) : 0.0;
  r.metrics = {
      {"accuracy", static_cast<double>(correct) / static_cast<double>(gold.size())},
      {"f1", precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0.0}};
}

EvaluationReport evaluate_glue(Pipeline& pipeline, Benchmark benchmark, const std::string& path,
                               const EvaluationOptions& options) {
  EvaluationReport r;
  const TsvTable table = read_tsv(path);
  std::vector<TextInput> inputs;
  std::vector<int> gold;
  const bool pairs = benchmark == Benchmark::mrpc;
  const size_t text_column = table.column(pairs ? "#1 String" : "sentence", path);
  const size_t pair_column = pairs ? table.column("#2 String", path) : 0;
  const size_t label_column = table.column(pairs ? "Quality" : "label", path);
  for (size_t row = 0; row < table.rows.size(); ++row) {
    if (options.limit > 0 && static_cast<int64_t>(inputs.size()) >= options.limit) break;
    TextInput in;
    in.text = field(table, row, text_column, path);
    if (pairs) in.pair = field(table, row, pair_column, path);
    gold.push_back(
        gold_label(field(table, row, label_column, path), path, table.line_numbers[row]));
    inputs.push_back(std::move(in));
  }
  const ModelConfig& c = pipeline.model().config();
  if (c.num_labels() != 2)
    fail("{} needs a model with 2 labels; this one has {}", benchmark_name(benchmark),
         c.num_labels());
  std::vector<int> predicted(inputs.size(), -1);
  in_batches(inputs, 16, options, [&](int64_t first, const std::vector<TextInput>& part) {
    auto results = pipeline.classify(part);
    for (size_t i = 0; i < results.size(); ++i) {
      if (!results[i].ok()) {
        ++r.failed;
        continue;
      }
      predicted[static_cast<size_t>(first) + i] =
          static_cast<int>(label_index(c, results[i].value->front().label));
    }
  });
  r.examples = static_cast<int64_t>(inputs.size());
  classification_metrics(r, gold, predicted);
  return r;
}

EvaluationReport evaluate_conll(Pipeline& pipeline, const std::string& path,
                                const EvaluationOptions& options) {
  EvaluationReport r;
  const std::string text = io::read_text_file(path);
  std::vector<std::vector<std::string>> sentences, gold;
  std::vector<std::string> words, tags;
  size_t start = 0, line_number = 0;
  auto flush = [&] {
    if (!words.empty()) {
      sentences.push_back(std::move(words));
      gold.push_back(std::move(tags));
    }
    words.clear();
    tags.clear();
  };
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    ++line_number;
    start = end + 1;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
      line.pop_back();
    size_t lead = line.find_first_not_of(" \t");
    line = lead == std::string::npos ? "" : line.substr(lead);
    if (line.rfind("-DOCSTART-", 0) == 0) continue;
    if (line.empty()) {
      flush();
      if (end == text.size()) break;
      continue;
    }
    auto fields = split(line, ' ');
    if (fields.size() < 2) fail("{}: line {} has no tag (want 'word ... TAG')", path, line_number);
    words.push_back(fields.front());
    tags.push_back(fields.back());
    if (end == text.size()) break;
  }
  flush();
  if (sentences.empty()) fail("{}: no sentences", path);
  if (options.limit > 0 && static_cast<int64_t>(sentences.size()) > options.limit) {
    sentences.resize(static_cast<size_t>(options.limit));
    gold.resize(static_cast<size_t>(options.limit));
  }
  std::vector<std::vector<std::string>> predicted(sentences.size());
  in_batches(sentences, 16, options,
             [&](int64_t first, const std::vector<std::vector<std::string>>& part) {
               auto results = pipeline.tag_words(part);
               for (size_t i = 0; i < results.size(); ++i) {
                 auto& target = predicted[static_cast<size_t>(first) + i];
                 if (results[i].ok()) {
                   target = std::move(*results[i].value);
                 } else {
                   ++r.failed;
                   target.assign(part[i].size(), "O");
                 }
               }
             });
  int64_t tp = 0, n_pred = 0, n_gold = 0;
  std::map<std::string, std::array<int64_t, 3>> per;  // type -> tp, predicted, gold
  for (size_t s = 0; s < sentences.size(); ++s) {
    auto g = pipelines::iob_chunks(gold[s]);
    auto p = pipelines::iob_chunks(predicted[s]);
    std::vector<pipelines::Chunk> both;
    std::set_intersection(g.begin(), g.end(), p.begin(), p.end(), std::back_inserter(both));
    tp += static_cast<int64_t>(both.size());
    n_pred += static_cast<int64_t>(p.size());
    n_gold += static_cast<int64_t>(g.size());
    for (const auto& c : both) per[c.type][0]++;
    for (const auto& c : p) per[c.type][1]++;
    for (const auto& c : g) per[c.type][2]++;
  }
  auto prf = [](int64_t t, int64_t np, int64_t ng) {
    const double p = np ? static_cast<double>(t) / static_cast<double>(np) : 0.0;
    const double rc = ng ? static_cast<double>(t) / static_cast<double>(ng) : 0.0;
    return std::array<double, 3>{p, rc, p + rc > 0 ? 2 * p * rc / (p + rc) : 0.0};
  };
  auto total = prf(tp, n_pred, n_gold);
  r.metrics = {{"f1", total[2]}, {"precision", total[0]}, {"recall", total[1]}};
  for (const auto& [type, counts] : per) {
    auto m = prf(counts[0], counts[1], counts[2]);
    r.per_type.push_back({type, {m[0], m[1], m[2], static_cast<double>(counts[2])}});
  }
  r.examples = static_cast<int64_t>(sentences.size());
  return r;
}

EvaluationReport evaluate_squad(Pipeline& pipeline, const std::string& path,
                                const EvaluationOptions& options) {
  EvaluationReport r;
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(io::read_text_file(path));
  } catch (const nlohmann::json::exception& e) {
    fail("{}: not valid JSON ({})", path, e.what());
  }
  if (!doc.is_object() || !doc.contains("data") || !doc["data"].is_array())
    fail("{}: not a SQuAD file (no \"data\" list)", path);
  std::vector<QuestionInput> inputs;
  std::vector<std::vector<std::string>> references;
  try {
    for (const auto& article : doc["data"])
      for (const auto& paragraph : article.at("paragraphs"))
        for (const auto& qa : paragraph.at("qas")) {
          if (options.limit > 0 && static_cast<int64_t>(inputs.size()) >= options.limit) break;
          inputs.push_back(
              {qa.at("question").get<std::string>(), paragraph.at("context").get<std::string>()});
          std::vector<std::string> answers;
          for (const auto& a : qa.at("answers")) answers.push_back(a.at("text").get<std::string>());
          references.push_back(std::move(answers));
        }
  } catch (const nlohmann::json::exception& e) {
    fail("{}: malformed SQuAD entry ({})", path, e.what());
  }
  if (inputs.empty()) fail("{}: no questions", path);
  double exact = 0, f1 = 0;
  in_batches(inputs, 16, options, [&](int64_t first, const std::vector<QuestionInput>& part) {
    auto results = pipeline.answer(part);
    for (size_t i = 0; i < results.size(); ++i) {
      const auto& refs = references[static_cast<size_t>(first) + i];
      if (!results[i].ok()) {
        ++r.failed;
        continue;
      }
      const std::string prediction =
          results[i].value->empty() ? "" : results[i].value->front().answer;
      exact += pipelines::squad_exact_match(prediction, refs);
      f1 += pipelines::squad_f1(prediction, refs);
    }
  });
  const double n = static_cast<double>(inputs.size());
  r.metrics = {{"exact_match", 100.0 * exact / n}, {"f1", 100.0 * f1 / n}};
  r.examples = static_cast<int64_t>(inputs.size());
  return r;
}

}  // namespace

std::optional<Benchmark> parse_benchmark(std::string_view name) {
  for (Benchmark b : {Benchmark::sst2, Benchmark::mrpc, Benchmark::conll2003, Benchmark::squad})
    if (name == benchmark_name(b)) return b;
  return std::nullopt;
}

const char* benchmark_name(Benchmark b) {
  switch (b) {
    case Benchmark::sst2:
      return "sst2";
    case Benchmark::mrpc:
      return "mrpc";
    case Benchmark::conll2003:
      return "conll2003";
    case Benchmark::squad:
      return "squad";
  }
  return "?";
}

Task benchmark_task(Benchmark b) {
  switch (b) {
    case Benchmark::sst2:
    case Benchmark::mrpc:
      return Task::text_classification;
    case Benchmark::conll2003:
      return Task::token_classification;
    case Benchmark::squad:
      return Task::question_answering;
  }
  return Task::text_classification;
}

double EvaluationReport::metric(const std::string& name) const {
  for (const auto& [n, v] : metrics)
    if (n == name) return v;
  fail("the {} report has no metric '{}'", benchmark, name);
}

EvaluationReport evaluate(Pipeline& pipeline, Benchmark benchmark, const std::string& data_path,
                          const EvaluationOptions& options) {
  if (pipeline.task() != benchmark_task(benchmark))
    fail("{} is evaluated with a {} pipeline, not {}", benchmark_name(benchmark),
         task_name(benchmark_task(benchmark)), task_name(pipeline.task()));
  const auto start = std::chrono::steady_clock::now();
  EvaluationReport r;
  switch (benchmark) {
    case Benchmark::sst2:
    case Benchmark::mrpc:
      r = evaluate_glue(pipeline, benchmark, data_path, options);
      break;
    case Benchmark::conll2003:
      r = evaluate_conll(pipeline, data_path, options);
      break;
    case Benchmark::squad:
      r = evaluate_squad(pipeline, data_path, options);
      break;
  }
  r.benchmark = benchmark_name(benchmark);
  r.data = data_path;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

}  // namespace sparq
