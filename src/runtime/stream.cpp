#include <cstdint>

#include "core/cpu.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "model/bert_forward.h"
#include "model/model_impl.h"
#include "sparq/runtime.h"

namespace sparq {

void validate_input(const Model& model, const EncoderInput& in) {
  const ModelConfig& c = model.config();
  if (in.batch < 1) fail("input has no sequences");
  if (in.seq < 1) fail("input sequences are empty");
  if (in.seq > c.max_position_embeddings)
    fail("sequence length {} exceeds the model's max_position_embeddings {}", in.seq,
         c.max_position_embeddings);
  const auto tokens = static_cast<size_t>(in.batch * in.seq);
  if (in.input_ids.size() != tokens)
    fail("input_ids holds {} values, not batch {} x seq {}", in.input_ids.size(), in.batch, in.seq);
  if (!in.attention_mask.empty() && in.attention_mask.size() != tokens)
    fail("attention_mask holds {} values, not batch {} x seq {}", in.attention_mask.size(),
         in.batch, in.seq);
  if (!in.token_type_ids.empty() && in.token_type_ids.size() != tokens)
    fail("token_type_ids holds {} values, not batch {} x seq {}", in.token_type_ids.size(),
         in.batch, in.seq);
  for (size_t t = 0; t < tokens; ++t) {
    const int32_t id = in.input_ids[t];
    if (id < 0 || id >= c.vocab_size)
      fail("input_ids[{}][{}] = {} is outside the vocabulary [0, {})", t / in.seq, t % in.seq, id,
           c.vocab_size);
    if (!in.attention_mask.empty() && in.attention_mask[t] != 0 && in.attention_mask[t] != 1)
      fail("attention_mask[{}][{}] = {}; mask values are 0 or 1", t / in.seq, t % in.seq,
           in.attention_mask[t]);
    if (!in.token_type_ids.empty() &&
        (in.token_type_ids[t] < 0 || in.token_type_ids[t] >= c.type_vocab_size))
      fail("token_type_ids[{}][{}] = {} is outside [0, {}) (type_vocab_size)", t / in.seq,
           t % in.seq, in.token_type_ids[t], c.type_vocab_size);
  }
}

void OperationProfile::add(const char* operation, double s) {
  for (auto& [name, total] : seconds)
    if (name == operation) {
      total += s;
      return;
    }
  seconds.emplace_back(operation, s);
}

struct Stream::Impl {
  Impl(std::shared_ptr<const Model> m, int threads, const core::ThreadPoolOptions& pool_options)
      : model(std::move(m)), pool(threads, pool_options) {}
  std::shared_ptr<const Model> model;
  core::ThreadPool pool;
  model::Workspace workspace;
};

Stream::Stream(std::shared_ptr<const Model> model, const StreamOptions& options) {
  if (!model) fail("Stream needs a model");
  if (options.threads < 0) fail("thread count {} is negative", options.threads);
  const int threads = options.threads == 0 ? core::physical_core_count() : options.threads;
  if (!options.cpus.empty() && static_cast<int>(options.cpus.size()) < threads)
    fail("{} CPUs given to pin {} threads to", options.cpus.size(), threads);
  core::ThreadPoolOptions pool_options;
  pool_options.cpus = options.cpus;
  pool_options.spin = options.spin;
  impl_ = std::make_unique<Impl>(std::move(model), threads, pool_options);
}

Stream::Stream(std::shared_ptr<const Model> model, int threads)
    : Stream(std::move(model), [threads] {
        StreamOptions options;
        options.threads = threads;
        return options;
      }()) {}

Stream::~Stream() = default;

EncoderOutput Stream::run(const EncoderInput& input, const RunOptions& options) {
  validate_input(*impl_->model, input);
  EncoderOutput out;
  model::forward(impl_->model->impl().bert, input, options, impl_->workspace, impl_->pool, out);
  return out;
}

int Stream::threads() const {
  return impl_->pool.size();
}
const Model& Stream::model() const {
  return *impl_->model;
}

}  // namespace sparq
