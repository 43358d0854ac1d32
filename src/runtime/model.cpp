#include "sparq/model.h"

#include "kernels/dispatch.h"
#include "model/model_impl.h"

namespace sparq {

const char* task_head_name(TaskHead head) {
  switch (head) {
    case TaskHead::encoder:
      return "encoder";
    case TaskHead::sequence_classification:
      return "sequence-classification";
    case TaskHead::token_classification:
      return "token-classification";
    case TaskHead::question_answering:
      return "question-answering";
  }
  return "?";
}

Model::Model(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Model::~Model() = default;

std::shared_ptr<const Model> Model::load(const std::string& directory, const LoadOptions& options) {
  const kernels::KernelTable& table = kernels::table_for_name(options.isa);
  return std::shared_ptr<const Model>(
      new Model(model::load_bert_directory(directory, table, options)));
}

const ModelConfig& Model::config() const {
  return impl_->bert.config;
}
const ModelInfo& Model::info() const {
  return impl_->info;
}

}  // namespace sparq
