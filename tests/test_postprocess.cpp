// Pipeline post-processing against hand-computed expectations (Hugging Face semantics).
#include <gtest/gtest.h>

#include <cmath>

#include "pipelines/postprocess.h"
#include "sparq/error.h"
#include "sparq/tokenizer.h"
#include "test_util.h"

namespace sparq::pipelines {
namespace {

const std::vector<std::string> kLabels = {"O", "B-PER", "I-PER", "B-LOC", "I-LOC"};

// A token whose scores put `p` on `label` and spread the rest evenly.
PreEntity token(const std::string& word, const std::string& label, double p, int64_t start,
                int64_t end, int64_t index, bool subword = false) {
  PreEntity t;
  t.word = word;
  t.scores.assign(kLabels.size(), (1.0 - p) / static_cast<double>(kLabels.size() - 1));
  t.scores[static_cast<size_t>(std::find(kLabels.begin(), kLabels.end(), label) -
                               kLabels.begin())] = p;
  t.start = start;
  t.end = end;
  t.index = index;
  t.is_subword = subword;
  return t;
}

// "John Smithson lives in New York": john smith ##son lives in new york
std::vector<PreEntity> sentence() {
  return {token("john", "B-PER", 0.9, 0, 4, 1),
          token("smith", "I-PER", 0.8, 5, 10, 2),
          token("##son", "B-LOC", 0.7, 10, 13, 3, true),
          token("lives", "O", 0.99, 14, 19, 4),
          token("in", "O", 0.98, 20, 22, 5),
          token("new", "B-LOC", 0.95, 23, 26, 6),
          token("york", "I-LOC", 0.85, 27, 31, 7)};
}

TEST(TokenClassification, AggregationNoneKeepsEveryLabelledToken) {
  auto e = aggregate_entities(sentence(), Aggregation::none, kLabels, {"O"});
  ASSERT_EQ(e.size(), 5u);
  EXPECT_EQ(e[0].entity, "B-PER");
  EXPECT_EQ(e[0].index, 1);
  EXPECT_DOUBLE_EQ(e[0].score, 0.9);
  EXPECT_EQ(e[2].word, "##son");
  EXPECT_EQ(e[2].entity, "B-LOC");
  EXPECT_EQ(e[4].start, 27);
}

TEST(TokenClassification, AggregationSimpleGroupsAdjacentTokens) {
  auto e = aggregate_entities(sentence(), Aggregation::simple, kLabels, {"O"});
  // B-PER I-PER | B-LOC (a B- starts a new group) | B-LOC I-LOC
  ASSERT_EQ(e.size(), 3u);
  EXPECT_EQ(e[0].entity, "PER");
  EXPECT_EQ(e[0].word, "john smith");
  EXPECT_NEAR(e[0].score, (0.9 + 0.8) / 2, 1e-12);
  EXPECT_EQ(e[0].start, 0);
  EXPECT_EQ(e[0].end, 10);
  EXPECT_EQ(e[1].entity, "LOC");
  EXPECT_EQ(e[1].word, "##son");
  EXPECT_EQ(e[2].word, "new york");
  EXPECT_NEAR(e[2].score, 0.9, 1e-12);
}

TEST(TokenClassification, AggregationFirstUsesTheFirstPieceOfEachWord) {
  auto e = aggregate_entities(sentence(), Aggregation::first, kLabels, {"O"});
  // smithson takes smith's I-PER and joins john
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0].entity, "PER");
  EXPECT_EQ(e[0].word, "john smithson");
  EXPECT_NEAR(e[0].score, (0.9 + 0.8) / 2, 1e-12);
  EXPECT_EQ(e[0].end, 13);
  EXPECT_EQ(e[1].word, "new york");
}

TEST(TokenClassification, AggregationMaxUsesTheMostConfidentPiece) {
  auto tokens = sentence();
  tokens[2] = token("##son", "B-LOC", 0.95, 10, 13, 3, true);  // more confident than smith
  auto e = aggregate_entities(tokens, Aggregation::max, kLabels, {"O"});
  ASSERT_EQ(e.size(), 3u);
  EXPECT_EQ(e[0].word, "john");
  EXPECT_EQ(e[1].entity, "LOC");
  EXPECT_EQ(e[1].word, "smithson");
  EXPECT_NEAR(e[1].score, 0.95, 1e-12);
}

TEST(TokenClassification, AggregationAverageAveragesScoresOverTheWord) {
  auto e = aggregate_entities(sentence(), Aggregation::average, kLabels, {"O"});
  // smithson: I-PER (0.8 + 0.075) / 2 = 0.4375 beats B-LOC (0.05 + 0.7) / 2 = 0.375
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0].word, "john smithson");
  EXPECT_NEAR(e[0].score, (0.9 + 0.4375) / 2, 1e-12);
}

TEST(TokenClassification, IgnoreLabelsAndNonIobLabels) {
  auto e = aggregate_entities(sentence(), Aggregation::simple, kLabels, {"O", "LOC"});
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].entity, "PER");
  // labels without B-/I- continue their own type
  std::vector<std::string> plain = {"O", "PER"};
  std::vector<PreEntity> t = {{"a", {0.1, 0.9}, 0, 1, 1, false}, {"b", {0.2, 0.8}, 2, 3, 2, false}};
  auto g = aggregate_entities(t, Aggregation::simple, plain, {"O"});
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(g[0].word, "a b");
}

TEST(WordPieceDecode, JoinsPiecesAndCleansUp) {
  EXPECT_EQ(wordpiece_decode({"new", "york"}), "new york");
  EXPECT_EQ(wordpiece_decode({"pic", "##col", "##i"}), "piccoli");
  EXPECT_EQ(wordpiece_decode({"##son"}), "##son");
  EXPECT_EQ(wordpiece_decode({"hello", ",", "world", "!"}), "hello, world!");
  EXPECT_EQ(wordpiece_decode({"it", "'", "s", "fine", "."}), "it ' s fine.");
  EXPECT_EQ(wordpiece_decode({"don", "'", "t"}), "don ' t");
}

TEST(QuestionAnswering, SpanChoiceRespectsOrderLengthAndMask) {
  // five tokens: [CLS] q [SEP] c c  (allowed: CLS and the two context tokens)
  std::vector<uint8_t> allowed = {1, 0, 0, 1, 1};
  std::vector<double> start = {0.0, 0.5, 0.0, 0.3, 0.2};
  std::vector<double> end = {0.0, 0.6, 0.0, 0.1, 0.3};
  auto spans = best_spans(start, end, allowed, 1, 15);
  // (1,1) scores 0.30 but a question token is not an answer: top-1 has nothing allowed
  EXPECT_TRUE(spans.empty());
  // top 4: (1,1) 0.30, (1,4) 0.15, (3,4) 0.09, (4,4) 0.06; the two starting at the question go
  spans = best_spans(start, end, allowed, 4, 15);
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(spans[0].start, 3);
  EXPECT_EQ(spans[0].end, 4);
  EXPECT_NEAR(spans[0].score, 0.09, 1e-12);
  EXPECT_EQ(spans[1].start, 4);
  // max_answer_len 1: only single tokens
  spans = best_spans(start, end, allowed, 5, 1);
  for (const auto& s : spans) EXPECT_EQ(s.start, s.end);
  // end before start never wins, even with a larger product
  std::vector<double> s2 = {0, 0, 0, 0.1, 0.9}, e2 = {0, 0, 0, 0.9, 0.1};
  spans = best_spans(s2, e2, allowed, 1, 15);
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0].start, 3);
  EXPECT_EQ(spans[0].end, 3);
}

TEST(QuestionAnswering, MaskedSoftmax) {
  std::vector<float> logits = {1.0f, 50.0f, 2.0f};
  auto p = masked_softmax(logits.data(), {1, 0, 1});
  EXPECT_NEAR(p[1], 0.0, 1e-300);
  EXPECT_NEAR(p[0], 1.0 / (1.0 + std::exp(1.0)), 1e-12);
  EXPECT_NEAR(p[0] + p[2], 1.0, 1e-12);
}

TEST(QuestionAnswering, ContextWindowsOverlapByTheStride) {
  using W = std::vector<std::pair<int64_t, int64_t>>;
  EXPECT_EQ(context_windows(5, 10, 3), (W{{0, 5}}));
  EXPECT_EQ(context_windows(10, 10, 3), (W{{0, 10}}));
  // windows of 10 stepping by 10 - 3 = 7 until one reaches the end
  EXPECT_EQ(context_windows(25, 10, 3), (W{{0, 10}, {7, 17}, {14, 24}, {21, 25}}));
  EXPECT_EQ(context_windows(11, 10, 0), (W{{0, 10}, {10, 11}}));
}

TEST(Squad, OfficialNormalizationAndMetrics) {
  EXPECT_EQ(squad_normalize("The  Denver Broncos!"), "denver broncos");
  EXPECT_EQ(squad_normalize("an apple, a day"), "apple day");
  EXPECT_EQ(squad_normalize("Theater"), "theater");  // articles only as whole words
  // the en dash is not ASCII punctuation, so it stays, but it is no word character either
  EXPECT_EQ(squad_normalize("Über–the–top"), "über– –top");
  EXPECT_EQ(squad_exact_match("the Broncos", {"Denver Broncos", "Broncos"}), 1.0);
  EXPECT_EQ(squad_exact_match("Broncos win", {"Broncos"}), 0.0);
  // prediction "denver broncos win": 2 common of 3 predicted, 2 of 2 reference -> 0.8
  EXPECT_NEAR(squad_f1("Denver Broncos win", {"Denver Broncos", "Carolina"}), 0.8, 1e-12);
  EXPECT_EQ(squad_f1("", {"x"}), 0.0);
  // articles vanish: "b" vs "b b" -> precision 1, recall 1/2
  EXPECT_NEAR(squad_f1("a a b", {"a b b"}), 2.0 / 3.0, 1e-12);
}

TEST(Seqeval, ChunksLikeConlleval) {
  using C = std::vector<Chunk>;
  EXPECT_EQ(iob_chunks({"O", "O", "O", "B-MISC", "I-MISC", "I-MISC", "O"}), (C{{"MISC", 3, 5}}));
  // an I- after O starts an entity; a type change splits
  EXPECT_EQ(iob_chunks({"O", "I-PER", "I-PER", "B-PER", "I-LOC"}),
            (C{{"LOC", 4, 4}, {"PER", 1, 2}, {"PER", 3, 3}}));
  EXPECT_EQ(iob_chunks({"B-PER"}), (C{{"PER", 0, 0}}));
  EXPECT_TRUE(iob_chunks({"O", "O"}).empty());
}

TEST(TextClassification, ScoresAndTopLabels) {
  std::vector<float> logits = {1.0f, 3.0f, 2.0f};
  auto soft = apply_score_function(logits.data(), 3, ScoreFunction::softmax);
  const double z = std::exp(1.0) + std::exp(3.0) + std::exp(2.0);
  EXPECT_NEAR(soft[1], std::exp(3.0) / z, 1e-12);
  auto sig = apply_score_function(logits.data(), 3, ScoreFunction::sigmoid);
  EXPECT_NEAR(sig[0], 1.0 / (1.0 + std::exp(-1.0)), 1e-12);
  auto top = top_labels(soft, {"a", "b", "c"}, 2);
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0].label, "b");
  EXPECT_EQ(top[1].label, "c");
  EXPECT_EQ(top_labels(soft, {"a", "b", "c"}, 0).size(), 3u);
}

// The pair truncation strategies on hand-counted inputs (one token per word).
TEST(Truncation, PairStrategies) {
  auto tok = Tokenizer::load(test::shared_dir() + "/models/tokenizers/bert-base-uncased");
  auto count = [&](const char* a, const char* b, int64_t max_length, TruncationStrategy s) {
    EncodeOptions o;
    o.max_length = max_length;
    o.truncation = s;
    Encoding e = tok->encode_pair(a, b, o);
    int first = 0, second = 0;
    for (auto id : e.sequence_ids) (id == 0 ? first : id == 1 ? second : first) += id >= 0;
    return std::pair<int, int>{first, second};
  };
  const char* six = "one two three four five six";
  const char* two = "seven eight";
  // 6 + 2 + 3 specials = 11 tokens
  EXPECT_EQ(count(six, two, 11, TruncationStrategy::longest_first), std::make_pair(6, 2));
  EXPECT_EQ(count(six, two, 8, TruncationStrategy::longest_first),
            std::make_pair(3, 2));  // the longer shrinks
  EXPECT_EQ(count(six, six, 9, TruncationStrategy::longest_first), std::make_pair(3, 3));
  EXPECT_EQ(count(six, two, 8, TruncationStrategy::only_first), std::make_pair(3, 2));
  EXPECT_EQ(count(two, six, 8, TruncationStrategy::only_second), std::make_pair(2, 3));
  EXPECT_THROW(count(six, two, 6, TruncationStrategy::only_second), Error);  // B cannot absorb 5
  EncodeOptions o;
  o.max_length = 4;
  EXPECT_EQ(tok->encode(six, o).size(), 4u);
}

}  // namespace
}  // namespace sparq::pipelines
