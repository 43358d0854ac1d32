#include "pipelines/postprocess.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "tokenizer/unicode.h"

namespace sparq::pipelines {
namespace {

namespace unicode = tokenizer::unicode;

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
}

// B-/I- prefix and type of a label; labels without a prefix continue (I) their own type.
std::pair<char, std::string> split_tag(const std::string& label) {
  if (label.size() > 2 && (label[0] == 'B' || label[0] == 'I') && label[1] == '-')
    return {label[0], label.substr(2)};
  return {'I', label};
}

size_t argmax(const std::vector<double>& v) {
  return static_cast<size_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

Entity group_of(const std::vector<Entity>& members) {
  Entity g;
  g.entity = split_tag(members.front().entity).second;
  double sum = 0;
  std::vector<std::string> words;
  for (const auto& m : members) {
    sum += m.score;
    words.push_back(m.word);
  }
  g.score = sum / static_cast<double>(members.size());
  g.word = wordpiece_decode(words);
  g.start = members.front().start;
  g.end = members.back().end;
  return g;
}

// Hugging Face's group_entities: adjacent entities of one type merge unless the next one starts
// with B-.
std::vector<Entity> group_entities(const std::vector<Entity>& entities) {
  std::vector<Entity> groups, pending;
  for (const Entity& e : entities) {
    if (!pending.empty()) {
      auto [bi, tag] = split_tag(e.entity);
      auto [last_bi, last_tag] = split_tag(pending.back().entity);
      (void)last_bi;
      if (!(tag == last_tag && bi != 'B')) {
        groups.push_back(group_of(pending));
        pending.clear();
      }
    }
    pending.push_back(e);
  }
  if (!pending.empty()) groups.push_back(group_of(pending));
  return groups;
}

Entity aggregate_word(const std::vector<const PreEntity*>& word, Aggregation aggregation,
                      const std::vector<std::string>& id2label) {
  Entity e;
  std::vector<std::string> pieces;
  for (const auto* t : word) pieces.push_back(t->word);
  e.word = wordpiece_decode(pieces);
  e.start = word.front()->start;
  e.end = word.back()->end;
  std::vector<double> scores;
  switch (aggregation) {
    case Aggregation::first:
      scores = word.front()->scores;
      break;
    case Aggregation::max: {
      const PreEntity* best = word.front();
      double best_max = *std::max_element(best->scores.begin(), best->scores.end());
      for (const auto* t : word) {
        double m = *std::max_element(t->scores.begin(), t->scores.end());
        if (m > best_max) best = t, best_max = m;
      }
      scores = best->scores;
      break;
    }
    case Aggregation::average: {
      scores.assign(word.front()->scores.size(), 0.0);
      for (const auto* t : word)
        for (size_t j = 0; j < scores.size(); ++j) scores[j] += t->scores[j];
      for (double& s : scores) s /= static_cast<double>(word.size());
      break;
    }
    default:
      break;
  }
  const size_t label = argmax(scores);
  e.entity = id2label[label];
  e.score = scores[label];
  return e;
}

bool is_python_space(char32_t c) {
  return unicode::has(c, unicode::kWhitespace) || (c >= 0x1C && c <= 0x1F);
}

std::vector<std::string> squad_tokens(const std::string& text) {
  std::vector<std::string> tokens;
  std::string normalized = squad_normalize(text);
  size_t start = 0;
  while (start < normalized.size()) {
    size_t end = normalized.find(' ', start);
    if (end == std::string::npos) end = normalized.size();
    if (end > start) tokens.push_back(normalized.substr(start, end - start));
    start = end + 1;
  }
  return tokens;
}

}  // namespace

std::vector<double> apply_score_function(const float* logits, int64_t n, ScoreFunction function) {
  std::vector<double> out(static_cast<size_t>(n));
  switch (function) {
    case ScoreFunction::softmax: {
      const double max = *std::max_element(logits, logits + n);
      double sum = 0;
      for (int64_t i = 0; i < n; ++i)
        sum += out[static_cast<size_t>(i)] = std::exp(logits[i] - max);
      for (double& v : out) v /= sum;
      break;
    }
    case ScoreFunction::sigmoid:
      for (int64_t i = 0; i < n; ++i)
        out[static_cast<size_t>(i)] = 1.0 / (1.0 + std::exp(-static_cast<double>(logits[i])));
      break;
    case ScoreFunction::none:
    case ScoreFunction::automatic:
      for (int64_t i = 0; i < n; ++i) out[static_cast<size_t>(i)] = logits[i];
      break;
  }
  return out;
}

std::vector<LabelScore> top_labels(const std::vector<double>& scores,
                                   const std::vector<std::string>& id2label, int64_t k) {
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  if (k > 0 && static_cast<size_t>(k) < order.size()) order.resize(static_cast<size_t>(k));
  std::vector<LabelScore> out;
  for (size_t i : order) out.push_back({id2label[i], scores[i]});
  return out;
}

std::string wordpiece_decode(const std::vector<std::string>& tokens, const std::string& prefix) {
  std::string out;
  for (size_t i = 0; i < tokens.size(); ++i) {
    std::string token = tokens[i];
    if (i != 0) {
      if (token.compare(0, prefix.size(), prefix) == 0)
        token.erase(0, prefix.size());
      else
        token.insert(token.begin(), ' ');
    }
    // the decoder's clean-up, applied to each piece in this order
    for (auto [from, to] : {std::pair<std::string_view, std::string_view>{" .", "."},
                            {" ?", "?"},
                            {" !", "!"},
                            {" ,", ","},
                            {" ' ", "'"},
                            {" n't", "n't"},
                            {" 'm", "'m"},
                            {" do not", " don't"},
                            {" 's", "'s"},
                            {" 've", "'ve"},
                            {" 're", "'re"}})
      replace_all(token, from, to);
    out += token;
  }
  return out;
}

std::vector<Entity> aggregate_entities(const std::vector<PreEntity>& tokens,
                                       Aggregation aggregation,
                                       const std::vector<std::string>& id2label,
                                       const std::vector<std::string>& ignore_labels) {
  std::vector<Entity> entities;
  if (aggregation == Aggregation::none || aggregation == Aggregation::simple) {
    for (const PreEntity& t : tokens) {
      const size_t label = argmax(t.scores);
      entities.push_back({id2label[label], t.scores[label], t.index, t.word, t.start, t.end});
    }
  } else {
    std::vector<const PreEntity*> word;
    for (const PreEntity& t : tokens) {
      if (!word.empty() && !t.is_subword) {
        entities.push_back(aggregate_word(word, aggregation, id2label));
        word.clear();
      }
      word.push_back(&t);
    }
    if (!word.empty()) entities.push_back(aggregate_word(word, aggregation, id2label));
  }
  if (aggregation != Aggregation::none) entities = group_entities(entities);
  std::vector<Entity> kept;
  for (auto& e : entities)
    if (std::find(ignore_labels.begin(), ignore_labels.end(), e.entity) == ignore_labels.end())
      kept.push_back(std::move(e));
  return kept;
}

std::vector<double> masked_softmax(const float* logits, const std::vector<uint8_t>& allowed) {
  const size_t n = allowed.size();
  std::vector<double> out(n);
  double max = -1e300;
  for (size_t i = 0; i < n; ++i) {
    out[i] = allowed[i] ? static_cast<double>(logits[i]) : -10000.0;
    max = std::max(max, out[i]);
  }
  double sum = 0;
  for (double& v : out) sum += v = std::exp(v - max);
  for (double& v : out) v /= sum;
  return out;
}

std::vector<SpanScore> best_spans(const std::vector<double>& start_probs,
                                  const std::vector<double>& end_probs,
                                  const std::vector<uint8_t>& allowed, int64_t top_k,
                                  int64_t max_answer_len) {
  const int64_t n = static_cast<int64_t>(start_probs.size());
  std::vector<SpanScore> candidates;
  for (int64_t s = 0; s < n; ++s)
    for (int64_t e = s; e < n && e < s + max_answer_len; ++e)
      candidates.push_back(
          {s, e, start_probs[static_cast<size_t>(s)] * end_probs[static_cast<size_t>(e)]});
  const size_t k = std::min(candidates.size(), static_cast<size_t>(std::max<int64_t>(top_k, 1)));
  std::partial_sort(candidates.begin(), candidates.begin() + static_cast<std::ptrdiff_t>(k),
                    candidates.end(), [](const SpanScore& a, const SpanScore& b) {
                      return a.score != b.score
                                 ? a.score > b.score
                                 : std::tie(a.start, a.end) < std::tie(b.start, b.end);
                    });
  candidates.resize(k);
  std::vector<SpanScore> out;
  for (const auto& c : candidates)
    if (allowed[static_cast<size_t>(c.start)] && allowed[static_cast<size_t>(c.end)])
      out.push_back(c);
  return out;
}

std::vector<std::pair<int64_t, int64_t>> context_windows(int64_t length, int64_t window,
                                                         int64_t stride) {
  std::vector<std::pair<int64_t, int64_t>> out;
  if (length <= window) {
    out.push_back({0, length});
    return out;
  }
  const int64_t step = window - stride;
  for (int64_t begin = 0;; begin += step) {
    const int64_t end = std::min(begin + window, length);
    out.push_back({begin, end});
    if (end == length) break;
  }
  return out;
}

std::string squad_normalize(const std::string& text) {
  // lower case; drop ASCII punctuation; drop the articles a, an, the between word boundaries;
  // collapse whitespace: the official SQuAD v1.1 evaluation script's normalize_answer
  std::u32string chars;
  size_t i = 0;
  while (i < text.size()) {
    char32_t c;
    if (!unicode::decode_utf8(text, i, c)) {
      ++i;
      continue;
    }
    std::u32string lower;
    unicode::append_lowercase(c, lower);
    for (char32_t l : lower)
      if (!(l < 128 && std::ispunct(static_cast<int>(l)))) chars += l;
  }
  auto word_char = [&](int64_t k) {
    return k >= 0 && k < static_cast<int64_t>(chars.size()) &&
           unicode::has(chars[static_cast<size_t>(k)], unicode::kWordChar);
  };
  std::u32string no_articles;
  for (int64_t k = 0; k < static_cast<int64_t>(chars.size());) {
    bool removed = false;
    if (!word_char(k - 1)) {
      for (std::u32string_view article : {U"the", U"an", U"a"}) {
        const int64_t len = static_cast<int64_t>(article.size());
        if (chars.compare(static_cast<size_t>(k), article.size(), article) == 0 &&
            !word_char(k + len)) {
          no_articles += U' ';
          k += len;
          removed = true;
          break;
        }
      }
    }
    if (!removed) no_articles += chars[static_cast<size_t>(k++)];
  }
  std::string out;
  bool pending_space = false;
  for (char32_t c : no_articles) {
    if (is_python_space(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    unicode::append_utf8(c, out);
  }
  return out;
}

double squad_exact_match(const std::string& prediction,
                         const std::vector<std::string>& references) {
  const std::string p = squad_normalize(prediction);
  for (const auto& r : references)
    if (squad_normalize(r) == p) return 1.0;
  return 0.0;
}

double squad_f1(const std::string& prediction, const std::vector<std::string>& references) {
  const std::vector<std::string> predicted = squad_tokens(prediction);
  double best = 0.0;
  for (const auto& r : references) {
    const std::vector<std::string> reference = squad_tokens(r);
    std::map<std::string, int> counts;
    for (const auto& t : reference) ++counts[t];
    int same = 0;
    for (const auto& t : predicted)
      if (counts[t]-- > 0) ++same;
    if (same == 0) continue;
    const double precision = static_cast<double>(same) / static_cast<double>(predicted.size());
    const double recall = static_cast<double>(same) / static_cast<double>(reference.size());
    best = std::max(best, 2 * precision * recall / (precision + recall));
  }
  return best;
}

std::vector<Chunk> iob_chunks(const std::vector<std::string>& tags) {
  // conlleval's start/end-of-chunk rules, with an "O" appended to close the last chunk
  auto split = [](const std::string& tag) -> std::pair<std::string, std::string> {
    if (tag == "O") return {"O", ""};
    const size_t dash = tag.find('-');
    if (dash == std::string::npos) return {tag, ""};
    return {tag.substr(0, dash), tag.substr(dash + 1)};
  };
  auto end_of_chunk = [](const std::string& prev, const std::string& tag,
                         const std::string& prev_type, const std::string& type) {
    if (prev == "E" || prev == "S") return true;
    if ((prev == "B" || prev == "I") && (tag == "B" || tag == "S" || tag == "O")) return true;
    return prev != "O" && prev != "." && prev_type != type;
  };
  auto start_of_chunk = [](const std::string& prev, const std::string& tag,
                           const std::string& prev_type, const std::string& type) {
    if (tag == "B" || tag == "S") return true;
    if ((prev == "E" || prev == "S" || prev == "O") && (tag == "E" || tag == "I")) return true;
    return tag != "O" && tag != "." && prev_type != type;
  };
  std::vector<Chunk> chunks;
  std::string prev = "O", prev_type;
  int64_t begin = 0;
  for (size_t i = 0; i <= tags.size(); ++i) {
    auto [tag, type] = split(i < tags.size() ? tags[i] : std::string("O"));
    if (end_of_chunk(prev, tag, prev_type, type))
      chunks.push_back({prev_type, begin, static_cast<int64_t>(i) - 1});
    if (start_of_chunk(prev, tag, prev_type, type)) begin = static_cast<int64_t>(i);
    prev = tag;
    prev_type = type;
  }
  std::sort(chunks.begin(), chunks.end());
  chunks.erase(std::unique(chunks.begin(), chunks.end()), chunks.end());
  return chunks;
}

}  // namespace sparq::pipelines
