// Every `trainer` subcommand registers itself through one function declared here, so main.cpp
// stays a list and each command's options, help and glue live in a file of their own.
#pragma once
#include <stdexcept>
#include <string>

namespace CLI { class App; }

namespace wildreid::commands {
// Thrown by a command that must end the process with a specific exit code (e.g. preemption).
class CommandExit : public std::runtime_error {
 public:
  CommandExit(int code, const std::string& message) : std::runtime_error(message), code_(code) {}
  int code() const { return code_; }

 private:
  int code_;
};

// Each adds a subcommand to `app` with its options and a callback that runs it. A callback
// reports failure by throwing; main() turns exceptions into a message and a non-zero exit.
void add_synth(CLI::App& app);
void add_pack(CLI::App& app);
void add_inspect(CLI::App& app);
void add_batch(CLI::App& app);
void add_models(CLI::App& app);
void add_forward(CLI::App& app);
void add_identify(CLI::App& app);
void add_evaluate(CLI::App& app);
void add_train(CLI::App& app);
void add_embed(CLI::App& app);
void add_match(CLI::App& app);
void add_plan(CLI::App& app);
}  // namespace wildreid::commands
