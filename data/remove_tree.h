// Recursive delete without std::filesystem::remove_all: the torch wheel's libtorch.so exports
// its own copy of the std::filesystem symbols, and in a binary linked with it remove_all of a
// non-empty folder resolves to that copy and crashes (calls a null pointer). nftw() is plain libc.
#pragma once
#include <filesystem>

namespace wildreid::data {

// Removes `path` and everything below it (symlinks are removed, not followed). Returns false
// when something could not be removed; a missing path is success.
bool remove_tree(const std::filesystem::path& path) noexcept;

}  // namespace wildreid::data
