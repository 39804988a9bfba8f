// Output files of the identification stage appear complete or not at all: each is written to a
// hidden temporary sibling, fsynced and renamed over its destination. Plain POSIX calls rather
// than std::filesystem copies: the torch wheel's libtorch.so exports its own std::filesystem
// symbols (docs/architecture.md, build notes).
#pragma once
#include <filesystem>
#include <string>

namespace wildreid::identify {

// ".<name>.tmp-<pid>" beside `path`.
std::filesystem::path temporary_sibling(const std::filesystem::path& path);

// Writes `text` to `path` atomically; throws naming the file.
void write_file_atomic(const std::filesystem::path& path, const std::string& text);

// Copies a file byte for byte (destination created or truncated) and fsyncs it.
void copy_file_synced(const std::filesystem::path& from, const std::filesystem::path& to);

void fsync_path(const std::filesystem::path& path);  // a file or folder; throws naming it

// fsyncs `from`, renames it to `to` and fsyncs the folder holding them.
void commit_file(const std::filesystem::path& from, const std::filesystem::path& to);

}  // namespace wildreid::identify
