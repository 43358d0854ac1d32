// Small pieces shared by the CLI commands.
#pragma once

#include <cstdint>
#include <string>

namespace sparq::cli {

// A progress bar on stderr, drawn only when stderr is a terminal (logs and pipes stay clean).
class ProgressBar {
 public:
  explicit ProgressBar(std::string label);
  ~ProgressBar();
  void update(int64_t done, int64_t total);

 private:
  std::string label_;
  bool enabled_;
  bool drawn_ = false;
};

// 1234567 -> "1,234,567"
std::string group_digits(int64_t v);

// Appends `s` as a JSON string literal.
void append_json_string(std::string& out, const std::string& s);

}  // namespace sparq::cli
