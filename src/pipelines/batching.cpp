#include "pipelines/batching.h"

#include <algorithm>
#include <numeric>

namespace sparq::pipelines {

void run_in_batches(
    Stream& stream, int32_t pad_id, const std::vector<const Encoding*>& encodings,
    int64_t batch_size, const RunOptions& options,
    const std::function<void(size_t, const EncoderOutput&, int64_t, int64_t)>& consume) {
  std::vector<size_t> order(encodings.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return encodings[a]->size() < encodings[b]->size(); });
  const auto per_batch = static_cast<size_t>(std::max<int64_t>(batch_size, 1));
  for (size_t first = 0; first < order.size(); first += per_batch) {
    const size_t last = std::min(order.size(), first + per_batch);
    EncoderInput in;
    in.batch = static_cast<int64_t>(last - first);
    in.seq = 0;
    for (size_t i = first; i < last; ++i)
      in.seq = std::max<int64_t>(in.seq, static_cast<int64_t>(encodings[order[i]]->size()));
    const auto cells = static_cast<size_t>(in.batch * in.seq);
    in.input_ids.assign(cells, pad_id);
    in.attention_mask.assign(cells, 0);
    in.token_type_ids.assign(cells, 0);
    for (size_t i = first; i < last; ++i) {
      const Encoding& e = *encodings[order[i]];
      const auto row = static_cast<std::ptrdiff_t>((i - first) * static_cast<size_t>(in.seq));
      std::copy(e.ids.begin(), e.ids.end(), in.input_ids.begin() + row);
      std::copy(e.type_ids.begin(), e.type_ids.end(), in.token_type_ids.begin() + row);
      std::fill_n(in.attention_mask.begin() + row, e.size(), 1);
    }
    EncoderOutput out = stream.run(in, options);
    for (size_t i = first; i < last; ++i)
      consume(order[i], out, static_cast<int64_t>(i - first), in.seq);
  }
}

}  // namespace sparq::pipelines
