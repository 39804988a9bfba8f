// The one way this project replaces a file that a reader may open at any moment (run.dir/
// config.yaml, checkpoints/BEST, the identification stage's outputs and embeddings file): write a
// temporary sibling, fsync it, rename it over the target and fsync the folder, so a reader sees the
// old or the new file, never a partial one, and the new one survives a crash once the call returns.
// Checkpoint directories use the same fsync rules (training_state.h) for many files at once.
#pragma once
#include <filesystem>
#include <string>

namespace wildreid::checkpoints {

// ".<name>.tmp-<pid>" beside `path`.
std::filesystem::path temporary_sibling(const std::filesystem::path& path);

// Writes `text` to `path` atomically. Throws std::runtime_error naming the path that could not be
// written, synced or renamed; the target is then unchanged.
void write_file_atomically(const std::filesystem::path& path, const std::string& text);

// Copies a file byte for byte (destination created or truncated) and fsyncs it.
void copy_file_synced(const std::filesystem::path& from, const std::filesystem::path& to);

// fsync of a file or folder; throws std::runtime_error naming it.
void fsync_path(const std::filesystem::path& path);

// fsyncs `from`, renames it to `to` and fsyncs the folder holding them.
void commit_file(const std::filesystem::path& from, const std::filesystem::path& to);

}  // namespace wildreid::checkpoints
