#pragma once

#include <fmt/format.h>

#include "sparq/error.h"

namespace sparq {

template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace sparq
