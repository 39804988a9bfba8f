// The one way this project replaces a small text file that a reader may open at any moment
// (run.dir/config.yaml, checkpoints/BEST): write a temporary sibling, fsync it, rename it over the
// target and fsync the folder, so a reader sees the old or the new file, never a partial one, and
// the new one survives a crash once the call returns. Checkpoint directories use the same fsync
// rules (training_state.h) for many files at once.
#pragma once
#include <filesystem>
#include <string>

namespace wildreid::checkpoints {

// Throws std::runtime_error naming the path that could not be written, synced or renamed; the
// target is then unchanged.
void write_file_atomically(const std::filesystem::path& path, const std::string& text);

// fsync of a file or folder; throws std::runtime_error naming it.
void fsync_path(const std::filesystem::path& path);

}  // namespace wildreid::checkpoints
