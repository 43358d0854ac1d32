// Errors reported by sparq: every failure the user can cause (a malformed model file, a bad
// option, an invalid input) is thrown as sparq::Error with a one-line message naming the problem.
#pragma once

#include <stdexcept>
#include <string>

namespace sparq {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace sparq
