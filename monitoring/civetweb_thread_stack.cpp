// See civetweb_thread_stack.h. The caller is identified by dladdr() on the return address, so
// only libcivetweb's own requests are raised.
#include "monitoring/civetweb_thread_stack.h"

#include <dlfcn.h>
#include <pthread.h>

#include <cstring>

namespace {

using SetStackSize = int (*)(pthread_attr_t*, size_t);

SetStackSize real_setstacksize() {
  static SetStackSize real =
      reinterpret_cast<SetStackSize>(dlsym(RTLD_NEXT, "pthread_attr_setstacksize"));
  return real;
}

bool called_from_civetweb(const void* return_address) {
  Dl_info info{};
  return dladdr(return_address, &info) != 0 && info.dli_fname &&
         std::strstr(info.dli_fname, "libcivetweb") != nullptr;
}

}  // namespace

extern "C" int pthread_attr_setstacksize(pthread_attr_t* attr, size_t size) noexcept {
  if (size < wildreid::monitoring::kCivetwebMinimumStack &&
      called_from_civetweb(__builtin_return_address(0)))
    size = wildreid::monitoring::kCivetwebMinimumStack;
  SetStackSize real = real_setstacksize();
  return real ? real(attr, size) : 0;
}

namespace wildreid::monitoring {

bool civetweb_stack_override_active() {
  return dlsym(RTLD_DEFAULT, "pthread_attr_setstacksize") ==
         reinterpret_cast<void*>(&pthread_attr_setstacksize);
}

}  // namespace wildreid::monitoring
