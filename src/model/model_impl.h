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
                                                 const kernels::KernelTable& table);

}  // namespace model
}  // namespace sparq
