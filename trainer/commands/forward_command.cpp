// `trainer forward`: runs one backbone on an input tensor and writes its features, embedding and
// logits, so a user can check a weight conversion against Python timm tensor by tensor. Input and
// output are safetensors (key `input`, NCHW float); the classifier width is read from the weights
// unless given.
#include <ATen/ATen.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>

#include "checkpoints/safetensors.h"
#include "checkpoints/weights_file.h"
#include "models/model_weights.h"
#include "models/registry.h"
#include "trainer/commands/commands.h"

namespace wildreid::commands {
namespace {

struct ForwardOptions {
  std::string arch;
  std::string weights;
  std::string input;
  std::string output;
  int64_t num_classes = -1;
  int64_t img_size = 0;
  std::string arch_overrides;
  bool ignore_head = false;
  std::string device = "cpu";
  int threads = 0;
};

void run_forward(const ForwardOptions& o) {
  if (o.threads > 0) at::set_num_threads(o.threads);
  auto weights = checkpoints::read_weights_file(o.weights);
  models::ModelOptions mo;
  mo.img_size = o.img_size;
  mo.arch_overrides = o.arch_overrides;
  mo.init_weights = false;
  mo.num_classes = o.num_classes;
  if (o.num_classes < 0) {
    mo.num_classes = 1;
    mo.num_classes = models::classes_in_weights(*models::create_model(o.arch, mo), weights);
  }
  auto model = models::create_model(o.arch, mo);
  auto report = models::load_backbone_weights(*model, std::move(weights), {.strict = true, .ignore_head = o.ignore_head},
                                              "'" + o.weights + "'");
  std::fprintf(stderr, "forward: %s: %s\n", o.weights.c_str(), report.describe().c_str());
  checkpoints::SafetensorsFile input_file(o.input);
  if (!input_file.contains("input"))
    throw std::runtime_error("'" + o.input + "' has no tensor named 'input'");
  at::Tensor x = input_file.tensor("input");
  if (x.dim() != 4 || x.size(1) != 3 || !at::isFloatingType(x.scalar_type()))
    throw std::runtime_error("'" + o.input + "': tensor 'input' must be float NCHW with 3 channels, got " +
                             c10::str(x.sizes()) + " " + c10::toString(x.scalar_type()));
  at::Device device(o.device);
  model->to(device);
  model->eval();
  at::NoGradGuard no_grad;
  at::Tensor features = model->forward_features(x.to(device, at::kFloat));
  at::Tensor embedding = model->forward_embedding(features);
  at::Tensor logits = model->forward_classifier(embedding);
  checkpoints::save_safetensors(o.output, {{"features", features}, {"embedding", embedding}, {"logits", logits}},
                                {{"arch", model->spec().name}, {"weights", o.weights}});
  std::printf("forward: wrote %s: features %s, embedding %s, logits %s\n", o.output.c_str(),
              c10::str(features.sizes()).c_str(), c10::str(embedding.sizes()).c_str(),
              c10::str(logits.sizes()).c_str());
}

}  // namespace

void add_forward(CLI::App& app) {
  auto o = std::make_shared<ForwardOptions>();
  auto* cmd = app.add_subcommand(
      "forward",
      "Run a backbone on an input tensor and write `features` (timm forward_features), `embedding` "
      "(forward_head pre_logits=True) and `logits` to a safetensors file: the tool to check a weight "
      "conversion against Python timm. Loading is strict: every missing, unexpected or shape-mismatched "
      "key is reported by name.");
  cmd->add_option("--arch", o->arch, "Architecture, timm name with or without pretrained tag (see `trainer models`)")
      ->required();
  cmd->add_option("--weights", o->weights, "Weights with timm names: .safetensors, or a torch.save state dict (pytorch_model.bin, .pth)")->required();
  cmd->add_option("--input", o->input, "safetensors holding `input`, float NCHW, already normalised")->required();
  cmd->add_option("--output", o->output, "Output safetensors (written atomically)")->required();
  cmd->add_option("--num-classes", o->num_classes,
                  "Classifier width; -1 = the row count of the classifier weight in --weights (0 if absent)")
      ->capture_default_str();
  cmd->add_option("--img-size", o->img_size, "Input side the model is built for; 0 = the architecture's default")
      ->capture_default_str();
  cmd->add_option("--arch-overrides", o->arch_overrides,
                  "JSON object of timm create_model kwargs changing the architecture, e.g. '{\"depths\":[1,1,2,1]}' "
                  "(default: none)");
  cmd->add_flag("--ignore-head", o->ignore_head,
                "Do not load the classifier from --weights (keeps a fresh one); default: load it");
  cmd->add_option("--device", o->device, "Device to run on (cpu, cuda, cuda:1)")->capture_default_str();
  cmd->add_option("--threads", o->threads, "Intra-op CPU threads (0 = LibTorch default)")->capture_default_str();
  cmd->callback([o] { run_forward(*o); });
}

}  // namespace wildreid::commands
