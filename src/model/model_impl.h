#pragma once

#include "model/bert_model.h"
#include "sparq/model.h"

namespace sparq {

struct Model::Impl {
  model::BertModel bert;
  ModelInfo info;
};

namespace model {

// Builds the internal form from a Hugging Face directory (config.json + model.safetensors).
std::unique_ptr<Model::Impl> load_bert_directory(const std::string& directory,
                                                 const kernels::KernelTable& table,
                                                 const LoadOptions& options);

// Every encoder Linear layer's checkpoint name, in layer order.
std::vector<std::string> encoder_linear_names(int64_t layers);

}  // namespace model
}  // namespace sparq
