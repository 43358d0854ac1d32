// The pure post-processing of every pipeline, separated from the model so tests can check it
// against hand-computed expectations. Each follows the Hugging Face pipeline it is named after.
#pragma once

#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include "sparq/pipelines.h"

namespace sparq::pipelines {

// softmax, sigmoid or identity of one row of logits (`automatic` is resolved by the caller).
std::vector<double> apply_score_function(const float* logits, int64_t n, ScoreFunction function);

// The k best labels by score, ties broken by label id; k = 0 keeps all.
std::vector<LabelScore> top_labels(const std::vector<double>& scores,
                                   const std::vector<std::string>& id2label, int64_t k);

// Hugging Face's WordPiece decoder (convert_tokens_to_string): pieces after the first lose their
// "##" or gain a leading space, with its clean-up of spaces before punctuation and contractions.
std::string wordpiece_decode(const std::vector<std::string>& tokens,
                             const std::string& prefix = "##");

// One non-special token of a tagged text, before aggregation.
struct PreEntity {
  std::string word;  // the vocabulary token, or the original text for an unknown token
  std::vector<double> scores;
  int64_t start = 0, end = 0;  // code points in the text
  int64_t index = 0;           // token index in the encoding
  bool is_subword = false;
};

std::vector<Entity> aggregate_entities(const std::vector<PreEntity>& tokens,
                                       Aggregation aggregation,
                                       const std::vector<std::string>& id2label,
                                       const std::vector<std::string>& ignore_labels);

struct SpanScore {
  int64_t start = 0, end = 0;  // token indices, inclusive
  double score = 0;
};

// Probabilities of one window: softmax over the positions that may hold an answer (`allowed`;
// the others get -10000 first, as in the reference).
std::vector<double> masked_softmax(const float* logits, const std::vector<uint8_t>& allowed);

// The top_k spans (start <= end < start + max_answer_len) by start_prob * end_prob, then only
// those whose both ends are allowed, as Hugging Face's decode_spans does.
std::vector<SpanScore> best_spans(const std::vector<double>& start_probs,
                                  const std::vector<double>& end_probs,
                                  const std::vector<uint8_t>& allowed, int64_t top_k,
                                  int64_t max_answer_len);

// Context windows for question answering: [begin, end) token ranges of `length` tokens, each
// window `window` tokens long and overlapping the previous one by `stride`, the last one reaching
// the end (Hugging Face's overflowing tokens).
std::vector<std::pair<int64_t, int64_t>> context_windows(int64_t length, int64_t window,
                                                         int64_t stride);

// SQuAD v1.1 official metrics on one prediction, max over the reference answers.
std::string squad_normalize(const std::string& text);
double squad_exact_match(const std::string& prediction, const std::vector<std::string>& references);
double squad_f1(const std::string& prediction, const std::vector<std::string>& references);

// Entity-level exact-span chunks of an IOB tag sequence, seqeval's default (conlleval) rules:
// (type, first, last) with an I- after O or after another type starting a new entity.
struct Chunk {
  std::string type;
  int64_t first = 0, last = 0;
  bool operator<(const Chunk& o) const {
    return std::tie(type, first, last) < std::tie(o.type, o.first, o.last);
  }
  bool operator==(const Chunk& o) const = default;
};
std::vector<Chunk> iob_chunks(const std::vector<std::string>& tags);

}  // namespace sparq::pipelines
