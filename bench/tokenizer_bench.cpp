// Tokenizer benchmarks.
//
//   tokenizer_bench bulk --tokenizer DIR --input FILE [--column N] [--skip-header] [--rounds R]
//   [--threads T] [--json]
//     Encodes every text (one per line, or column N of a TSV) with special tokens, R rounds, and
//     reports the median round: texts/s and tokens/s, on one thread and on T threads.
//
//   tokenizer_bench overhead --model DIR [--tokens N] [--iterations K] [--threads T] [--json]
//     End-to-end text classification of one text of about N tokens (default 126, i.e. seq 128)
//     against the time its tokenization and post-processing take on their own.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "pipelines/postprocess.h"
#include "sparq/pipelines.h"
#include "sparq/tokenizer.h"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

std::map<std::string, std::string> parse_flags(int argc, char** argv, int first) {
  std::map<std::string, std::string> flags;
  for (int i = first; i < argc; ++i) {
    std::string key = argv[i];
    if (key.rfind("--", 0) != 0)
      throw std::runtime_error(fmt::format("unexpected argument {}", key));
    if (key == "--skip-header" || key == "--json") {
      flags.insert_or_assign(key, std::string(1, '1'));
    } else {
      if (i + 1 >= argc) throw std::runtime_error(fmt::format("{} needs a value", key));
      flags[key] = argv[++i];
    }
  }
  return flags;
}

std::string flag(const std::map<std::string, std::string>& f, const std::string& k,
                 const std::string& d = "") {
  auto it = f.find(k);
  return it == f.end() ? d : it->second;
}

std::vector<std::string> read_texts(const std::string& path, int column, bool skip_header) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(fmt::format("cannot open {}", path));
  std::vector<std::string> texts;
  std::string line;
  bool first = true;
  while (std::getline(in, line)) {
    if (first && line.compare(0, 3, "\xEF\xBB\xBF") == 0) line.erase(0, 3);
    if (first && skip_header) {
      first = false;
      continue;
    }
    first = false;
    if (column >= 0) {
      size_t start = 0;
      for (int c = 0; c < column && start != std::string::npos; ++c) {
        start = line.find('\t', start);
        if (start != std::string::npos) ++start;
      }
      if (start == std::string::npos) continue;
      line = line.substr(start, line.find('\t', start) - start);
    }
    texts.push_back(line);
  }
  return texts;
}

int bulk(const std::map<std::string, std::string>& f) {
  auto tok = sparq::Tokenizer::load(flag(f, "--tokenizer"));
  auto texts = read_texts(flag(f, "--input"), std::stoi(flag(f, "--column", "-1")),
                          f.count("--skip-header") > 0);
  const int rounds = std::stoi(flag(f, "--rounds", "5"));
  const int threads = std::stoi(
      flag(f, "--threads", std::to_string(std::max(1u, std::thread::hardware_concurrency()))));
  int64_t tokens = 0;
  auto run = [&](int team) {
    std::vector<double> times;
    for (int r = 0; r < rounds; ++r) {
      std::vector<int64_t> counts(static_cast<size_t>(team), 0);
      auto t0 = Clock::now();
      auto work = [&](int member) {
        sparq::Encoding e;
        for (size_t i = static_cast<size_t>(member); i < texts.size();
             i += static_cast<size_t>(team)) {
          tok->encode(texts[i], nullptr, {}, e);
          counts[static_cast<size_t>(member)] += static_cast<int64_t>(e.size());
        }
      };
      std::vector<std::thread> pool;
      for (int m = 1; m < team; ++m) pool.emplace_back(work, m);
      work(0);
      for (auto& t : pool) t.join();
      times.push_back(seconds_since(t0));
      tokens = 0;
      for (auto c : counts) tokens += c;
    }
    return median(times);
  };
  const double one = run(1), many = run(threads);
  if (f.count("--json")) {
    fmt::print(
        "{{\"texts\": {}, \"tokens\": {}, \"one_thread\": {{\"seconds\": {}, \"tokens_per_s\": {}, "
        "\"texts_per_s\": {}}}, "
        "\"threads\": {}, \"all_threads\": {{\"seconds\": {}, \"tokens_per_s\": {}, "
        "\"texts_per_s\": {}}}}}\n",
        texts.size(), tokens, one, static_cast<double>(tokens) / one,
        static_cast<double>(texts.size()) / one, threads, many, static_cast<double>(tokens) / many,
        static_cast<double>(texts.size()) / many);
  } else {
    fmt::print("{} texts, {} tokens; median of {} rounds\n", texts.size(), tokens, rounds);
    fmt::print("1 thread:  {:.4f} s, {:.0f} tokens/s\n", one, static_cast<double>(tokens) / one);
    fmt::print("{} threads: {:.4f} s, {:.0f} tokens/s\n", threads, many,
               static_cast<double>(tokens) / many);
  }
  return 0;
}

int overhead(const std::map<std::string, std::string>& f) {
  const std::string dir = flag(f, "--model");
  const int64_t want = std::stoll(flag(f, "--tokens", "126"));
  const int iterations = std::stoi(flag(f, "--iterations", "50"));
  sparq::PipelineOptions options;
  options.threads = std::stoi(flag(f, "--threads", "2"));
  auto pipeline = sparq::Pipeline::create(sparq::Task::text_classification, dir, options);
  const auto& tok = pipeline->tokenizer();
  // a text of real words from the vocabulary, grown until it has `want` tokens
  std::string text;
  for (int32_t id = 2000;
       static_cast<int64_t>(tok.encode(text, {.add_special_tokens = false}).size()) < want; ++id) {
    const std::string& piece = tok.id_to_token(id % tok.vocab_size());
    if (piece.empty() || piece[0] == '[' || piece.rfind("##", 0) == 0) continue;
    if (!text.empty()) text += ' ';
    text += piece;
  }
  const std::vector<sparq::TextInput> input = {{text, {}}};
  const auto& labels = pipeline->model().config().id2label;
  for (int i = 0; i < 5; ++i) pipeline->classify(input);
  std::vector<double> total, front;
  sparq::Encoding e;
  std::vector<float> logits(labels.size(), 0.5f);
  for (int i = 0; i < iterations; ++i) {
    auto t0 = Clock::now();
    pipeline->classify(input);
    total.push_back(seconds_since(t0));
    t0 = Clock::now();
    tok.encode(text, nullptr, {.max_length = pipeline->max_length()}, e);
    auto scores = sparq::pipelines::apply_score_function(
        logits.data(), static_cast<int64_t>(labels.size()), sparq::ScoreFunction::softmax);
    auto top = sparq::pipelines::top_labels(scores, labels, 1);
    front.push_back(seconds_since(t0));
  }
  const double t = median(total), p = median(front);
  if (f.count("--json"))
    fmt::print(
        "{{\"tokens\": {}, \"end_to_end_ms\": {}, \"tokenize_and_postprocess_ms\": {}, \"share\": "
        "{}}}\n",
        e.size(), t * 1e3, p * 1e3, p / t);
  else
    fmt::print(
        "{} tokens: end to end {:.3f} ms, tokenization + post-processing {:.4f} ms ({:.3f}%)\n",
        e.size(), t * 1e3, p * 1e3, 100 * p / t);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc >= 2 && std::strcmp(argv[1], "bulk") == 0) return bulk(parse_flags(argc, argv, 2));
    if (argc >= 2 && std::strcmp(argv[1], "overhead") == 0)
      return overhead(parse_flags(argc, argv, 2));
  } catch (const std::exception& e) {
    fmt::print(stderr, "tokenizer_bench: {}\n", e.what());
    return 1;
  }
  fmt::print(stderr,
             "usage: tokenizer_bench bulk|overhead ... (see the comment at the top of "
             "bench/tokenizer_bench.cpp)\n");
  return 2;
}
