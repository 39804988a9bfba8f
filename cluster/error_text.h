// c10::Error::what() carries a C++ backtrace; failure lines for people and logs want only the
// message. One helper so every cluster message is cut the same way.
#pragma once
#include <c10/util/Exception.h>

#include <exception>
#include <string>

namespace wildreid::cluster {

inline std::string error_text(const std::exception& e) {
  if (const auto* c10_error = dynamic_cast<const c10::Error*>(&e))
    return c10_error->what_without_backtrace();
  return e.what();
}

}  // namespace wildreid::cluster
