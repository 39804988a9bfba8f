// Table-driven YAML config: each key is bound to a TrainConfig member with a parser and printer,
// so adding a key is one line and every key gets the same checks and error messages.
#include "trainer/config_loader.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <functional>
#include <map>
#include <sstream>

namespace wildreid::trainer {
namespace {

struct Field {
  std::string key;
  std::string type;  // int, float, bool, string, or "a|b|c"
  std::string help;
  std::function<void(TrainConfig&, const std::string&)> set;  // throws std::invalid_argument
  std::function<std::string(const TrainConfig&)> get;
};

int64_t parse_int(const std::string& v) {
  size_t used = 0;
  int64_t out = std::stoll(v, &used);
  if (used != v.size()) throw std::invalid_argument("not an integer");
  return out;
}
double parse_float(const std::string& v) {
  size_t used = 0;
  double out = std::stod(v, &used);
  if (used != v.size()) throw std::invalid_argument("not a number");
  return out;
}
bool parse_bool(const std::string& v) {
  if (v == "true" || v == "True" || v == "yes" || v == "on" || v == "1") return true;
  if (v == "false" || v == "False" || v == "no" || v == "off" || v == "0") return false;
  throw std::invalid_argument("not a boolean");
}
std::string fmt_float(double v) {
  std::ostringstream s;
  s.precision(17);
  s << v;
  std::string out = s.str();
  if (out.find_first_of(".eEn") == std::string::npos) out += ".0";
  return out;
}

#define INT_FIELD(KEY, MEMBER, HELP)                                                         \
  Field{KEY, "int", HELP, [](TrainConfig& c, const std::string& v) { c.MEMBER = parse_int(v); }, \
        [](const TrainConfig& c) { return std::to_string(c.MEMBER); }}
#define FLOAT_FIELD(KEY, MEMBER, HELP)                                                           \
  Field{KEY, "float", HELP, [](TrainConfig& c, const std::string& v) { c.MEMBER = parse_float(v); }, \
        [](const TrainConfig& c) { return fmt_float(c.MEMBER); }}
#define BOOL_FIELD(KEY, MEMBER, HELP)                                                          \
  Field{KEY, "bool", HELP, [](TrainConfig& c, const std::string& v) { c.MEMBER = parse_bool(v); }, \
        [](const TrainConfig& c) { return std::string(c.MEMBER ? "true" : "false"); }}
#define STRING_FIELD(KEY, MEMBER, HELP)                                                          \
  Field{KEY, "string", HELP, [](TrainConfig& c, const std::string& v) { c.MEMBER = v; }, \
        [](const TrainConfig& c) { return c.MEMBER; }}

const std::vector<Field>& fields() {
  static const std::vector<Field> table = {
      STRING_FIELD("data.shards", data_shards, "shard directory (trainer pack --out)"),
      STRING_FIELD("data.train_split", data_train_split, "split used for training"),
      STRING_FIELD("data.val_split", data_val_split, "split used for validation"),
      INT_FIELD("data.workers", data_workers, "decode threads per rank"),
      BOOL_FIELD("data.augment", data_augment, "train-time augmentation (false: eval transforms)"),
      BOOL_FIELD("data.shuffle", data_shuffle, "shuffle training samples each epoch"),
      INT_FIELD("data.instances_per_identity", data_instances_per_identity,
                "K > 0: each micro-batch holds micro_batch / K identities with K images each (for metric "
                "losses; identities of one step distinct across ranks); 0 = plain shuffled batches"),
      FLOAT_FIELD("augment.rotation", augment_rotation, "RandomRotation: angle ~ U(-d, d) degrees (0 = off)"),
      FLOAT_FIELD("augment.brightness", augment_brightness, "ColorJitter brightness factor (0 = off)"),
      FLOAT_FIELD("augment.contrast", augment_contrast, "ColorJitter contrast factor (0 = off)"),
      FLOAT_FIELD("augment.saturation", augment_saturation, "ColorJitter saturation factor (0 = off)"),
      FLOAT_FIELD("augment.hue", augment_hue, "ColorJitter hue factor in [0, 0.5] (0 = off)"),
      BOOL_FIELD("augment.auto_augment", augment_auto_augment, "AutoAugment, ImageNet policy"),
      FLOAT_FIELD("augment.erasing_p", augment_erasing_p, "RandomErasing probability on the normalised image (0 = off)"),
      STRING_FIELD("run.dir", run_dir, "run directory: checkpoints/, config.yaml, metrics"),
      INT_FIELD("run.seed", seed, "seed for weights init, sampling and augmentation"),
      INT_FIELD("run.threads", threads, "torch threads per rank (0 = cores / ranks on the node)"),
      INT_FIELD("train.epochs", epochs, "epochs to train"),
      INT_FIELD("train.micro_batch", micro_batch, "images per rank per micro-step"),
      INT_FIELD("train.accumulation", accumulation, "micro-steps per optimizer step"),
      INT_FIELD("train.effective_batch", effective_batch,
                "if > 0, sets accumulation = effective_batch / (micro_batch x world)"),
      INT_FIELD("train.max_steps", max_steps, "stop after this many optimizer steps (0 = no limit)"),
      INT_FIELD("train.max_nonfinite", max_nonfinite, "abort after this many non-finite steps in a row"),
      INT_FIELD("train.early_stopping_patience", early_stopping_patience,
                "stop after this many epochs without val accuracy improvement (0 = off)"),
      BOOL_FIELD("train.validate", validate, "validate at the end of each epoch"),
      INT_FIELD("train.log_every", log_every, "optimizer steps between progress lines"),
      INT_FIELD("train.host_read_every", host_read_every,
                "read step results on the host and agree on stopping every N steps "
                "(0 = every step on CPU, log_every on CUDA, where a read waits for the GPU)"),
      STRING_FIELD("model.arch", model_arch, "timm architecture name"),
      INT_FIELD("model.img_size", model_img_size, "input side in pixels (0 = the architecture's)"),
      BOOL_FIELD("model.grad_checkpointing", model_grad_checkpointing, "activation checkpointing"),
      FLOAT_FIELD("model.drop_path", model_drop_path, "stochastic depth rate"),
      STRING_FIELD("init.from", init_from, "checkpoint directory or weights file (.safetensors, .bin/.pth) to start from"),
      BOOL_FIELD("init.new_head", init_new_head, "discard the source's classifier (new label set)"),
      FLOAT_FIELD("optim.lr", lr, "peak learning rate"),
      FLOAT_FIELD("optim.weight_decay", weight_decay, "decoupled weight decay (not on norms/biases/tokens)"),
      FLOAT_FIELD("optim.beta1", beta1, "AdamW beta1"),
      FLOAT_FIELD("optim.beta2", beta2, "AdamW beta2"),
      FLOAT_FIELD("optim.eps", eps, "AdamW epsilon"),
      FLOAT_FIELD("optim.clip_grad_norm", clip_grad_norm, "max global gradient norm (0 = off)"),
      Field{"optim.schedule", "constant|linear|cosine", "learning-rate decay after warmup",
            [](TrainConfig& c, const std::string& v) {
              if (v == "constant") c.schedule = LrScheduleKind::kConstant;
              else if (v == "linear") c.schedule = LrScheduleKind::kLinear;
              else if (v == "cosine") c.schedule = LrScheduleKind::kCosine;
              else throw std::invalid_argument("not one of constant|linear|cosine");
            },
            [](const TrainConfig& c) {
              return std::string(c.schedule == LrScheduleKind::kConstant ? "constant"
                                 : c.schedule == LrScheduleKind::kLinear ? "linear" : "cosine");
            }},
      FLOAT_FIELD("optim.warmup_ratio", warmup_ratio, "fraction of steps with linear warmup"),
      FLOAT_FIELD("optim.min_lr", min_lr, "learning rate at the end of decay"),
      Field{"loss.type", "ce|arcface",
            "ce: cross-entropy on the classifier; arcface: additive angular margin on the classifier's "
            "weight rows (cosine logits x scale), the bias unused",
            [](TrainConfig& c, const std::string& v) {
              if (v == "ce" || v == "cross_entropy") c.loss = LossKind::kCrossEntropy;
              else if (v == "arcface") c.loss = LossKind::kArcFace;
              else throw std::invalid_argument("not one of ce|arcface");
            },
            [](const TrainConfig& c) { return std::string(c.loss == LossKind::kArcFace ? "arcface" : "ce"); }},
      FLOAT_FIELD("loss.label_smoothing", label_smoothing, "cross-entropy label smoothing (both loss types)"),
      FLOAT_FIELD("loss.arcface_margin", arcface_margin, "ArcFace additive angular margin m in radians"),
      FLOAT_FIELD("loss.arcface_scale", arcface_scale, "ArcFace logit scale s"),
      Field{"amp", "bf16|fp16|off", "mixed precision: bf16 autocast, fp16 + loss scaling, or fp32",
            [](TrainConfig& c, const std::string& v) {
              if (v == "off" || v == "false" || v == "fp32") c.amp = AmpMode::kOff;
              else if (v == "bf16") c.amp = AmpMode::kBf16;
              else if (v == "fp16") c.amp = AmpMode::kFp16;
              else throw std::invalid_argument("not one of bf16|fp16|off");
            },
            [](const TrainConfig& c) {
              return std::string(c.amp == AmpMode::kOff ? "off" : c.amp == AmpMode::kBf16 ? "bf16" : "fp16");
            }},
      FLOAT_FIELD("fp16.init_scale", fp16_init_scale, "initial fp16 loss scale"),
      INT_FIELD("fp16.growth_interval", fp16_growth_interval, "finite steps before the scale doubles"),
      STRING_FIELD("resume", resume, "auto (newest complete checkpoint in run.dir) | off | PATH"),
      INT_FIELD("checkpoint.every_steps", checkpoint_every_steps,
                "also checkpoint every N optimizer steps (0 = end of epoch only)"),
      INT_FIELD("checkpoint.keep_last", checkpoint_keep_last, "checkpoints kept besides the best"),
      FLOAT_FIELD("checkpoint.wait_timeout_s", checkpoint_wait_timeout_s,
                  "seconds the other ranks wait for rank 0 to write a checkpoint (separate from cluster.timeout_s)"),
      FLOAT_FIELD("cluster.bucket_mib", bucket_mib, "gradient bucket size in MiB"),
      FLOAT_FIELD("cluster.timeout_s", collective_timeout_s, "collective timeout in seconds"),
      INT_FIELD("metrics.port", metrics_port,
                "base port of the Prometheus /metrics exporters: a rank serves port + its local rank (0 = off)"),
      STRING_FIELD("metrics.bind", metrics_bind, "address the metrics exporter binds (0.0.0.0: all interfaces)"),
      BOOL_FIELD("metrics.port_fallback", metrics_port_fallback,
                 "port taken: try the next free one and log it (false: fail naming the port)"),
      FLOAT_FIELD("metrics.linger_s", metrics_linger_s,
                  "seconds the exporters stay up after training so Prometheus scrapes the final values"),
      STRING_FIELD("metrics.job", metrics_job, "`job` label on every metric, to tell runs apart in Prometheus"),
      INT_FIELD("debug.inject_inf_step", debug_inject_inf_step,
                "tests only: put inf into a gradient at this optimizer step (-1 = never)"),
      FLOAT_FIELD("debug.checkpoint_delay_s", debug_checkpoint_delay_s,
                  "tests only: rank 0 sleeps this long in every checkpoint write (0 = never)"),
  };
  return table;
}

const Field* find_field(const std::string& key) {
  for (const auto& f : fields())
    if (f.key == key) return &f;
  return nullptr;
}

void apply(TrainConfig& config, const std::string& key, const std::string& value, const std::string& where) {
  const Field* field = find_field(key);
  if (!field) throw ConfigError(where + ": unknown key '" + key + "' (see `trainer train --help`)");
  try {
    field->set(config, value);
  } catch (const std::exception&) {
    throw ConfigError(where + ": key '" + key + "' expects " + field->type + ", got '" + value + "'");
  }
}

void walk(const YAML::Node& node, const std::string& prefix, const std::string& origin, TrainConfig& config) {
  for (const auto& item : node) {
    const std::string name = item.first.as<std::string>();
    const std::string key = prefix.empty() ? name : prefix + "." + name;
    const YAML::Node& value = item.second;
    const std::string where = origin + ":" + std::to_string(item.first.Mark().line + 1);
    if (value.IsMap()) {
      walk(value, key, origin, config);
    } else if (value.IsScalar()) {
      apply(config, key, value.Scalar(), where);
    } else if (value.IsNull()) {
      apply(config, key, "", where);
    } else {
      throw ConfigError(where + ": key '" + key + "' must be a scalar, not a list");
    }
  }
}

}  // namespace

TrainConfig parse_config(const std::string& yaml_text, const std::string& origin,
                         const std::vector<std::string>& overrides) {
  TrainConfig config;
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    throw ConfigError(origin + ":" + std::to_string(e.mark.line + 1) + ": invalid YAML: " + e.msg);
  }
  if (root.IsMap()) walk(root, "", origin, config);
  else if (!root.IsNull()) throw ConfigError(origin + ": top level must be a mapping of keys");
  for (const auto& item : overrides) {
    const auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0)
      throw ConfigError("--set '" + item + "': expected key=value");
    apply(config, item.substr(0, eq), item.substr(eq + 1), "--set " + item);
  }
  validate_config(config);
  return config;
}

TrainConfig load_config(const std::filesystem::path& path, const std::vector<std::string>& overrides) {
  std::string text;
  if (!path.empty()) {
    std::ifstream in(path);
    if (!in) throw ConfigError(path.string() + ": cannot open config file");
    std::stringstream buffer;
    buffer << in.rdbuf();
    text = buffer.str();
  }
  return parse_config(text, path.empty() ? "<defaults>" : path.string(), overrides);
}

void validate_config(const TrainConfig& c) {
  auto require = [](bool ok, const std::string& message) {
    if (!ok) throw ConfigError("config: " + message);
  };
  require(c.micro_batch > 0, "train.micro_batch must be > 0");
  require(c.accumulation > 0, "train.accumulation must be > 0");
  require(c.effective_batch >= 0, "train.effective_batch must be >= 0");
  require(c.epochs > 0, "train.epochs must be > 0");
  require(c.lr > 0, "optim.lr must be > 0");
  require(c.warmup_ratio >= 0 && c.warmup_ratio < 1, "optim.warmup_ratio must be in [0, 1)");
  require(c.label_smoothing >= 0 && c.label_smoothing < 1, "loss.label_smoothing must be in [0, 1)");
  require(c.arcface_margin >= 0 && c.arcface_margin < 1.5707963267948966, "loss.arcface_margin must be in [0, pi/2)");
  require(c.arcface_scale > 0, "loss.arcface_scale must be > 0");
  require(c.data_instances_per_identity >= 0, "data.instances_per_identity must be >= 0");
  require(c.data_instances_per_identity == 0 || c.micro_batch % c.data_instances_per_identity == 0,
          "train.micro_batch (" + std::to_string(c.micro_batch) + ") must be a multiple of data.instances_per_identity (" +
              std::to_string(c.data_instances_per_identity) + ")");
  require(c.augment_rotation >= 0 && c.augment_rotation <= 180, "augment.rotation must be in [0, 180]");
  require(c.augment_brightness >= 0 && c.augment_contrast >= 0 && c.augment_saturation >= 0,
          "augment.brightness, augment.contrast and augment.saturation must be >= 0");
  require(c.augment_hue >= 0 && c.augment_hue <= 0.5, "augment.hue must be in [0, 0.5]");
  require(c.augment_erasing_p >= 0 && c.augment_erasing_p <= 1, "augment.erasing_p must be in [0, 1]");
  require(c.checkpoint_keep_last >= 1, "checkpoint.keep_last must be >= 1");
  require(c.max_nonfinite >= 1, "train.max_nonfinite must be >= 1");
  require(c.bucket_mib > 0, "cluster.bucket_mib must be > 0");
  require(c.host_read_every >= 0, "train.host_read_every must be >= 0");
  require(c.checkpoint_wait_timeout_s > 0, "checkpoint.wait_timeout_s must be > 0");
  require(c.metrics_port >= 0 && c.metrics_port < 65536, "metrics.port must be in [0, 65535]");
}

std::string config_to_yaml(const TrainConfig& config) {
  YAML::Emitter out;
  // Group keys by their first component so the output nests like the recipes.
  std::map<std::string, std::vector<const Field*>> groups;
  std::vector<std::string> order;
  for (const auto& f : fields()) {
    const auto dot = f.key.find('.');
    const std::string group = dot == std::string::npos ? "" : f.key.substr(0, dot);
    if (!groups.count(group)) order.push_back(group);
    groups[group].push_back(&f);
  }
  out << YAML::BeginMap;
  for (const auto& group : order) {
    if (group.empty()) {
      for (const Field* f : groups[group]) out << YAML::Key << f->key << YAML::Value << f->get(config);
      continue;
    }
    out << YAML::Key << group << YAML::Value << YAML::BeginMap;
    for (const Field* f : groups[group])
      out << YAML::Key << f->key.substr(group.size() + 1) << YAML::Value << f->get(config);
    out << YAML::EndMap;
  }
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

std::string config_keys_help() {
  const TrainConfig defaults;
  std::string out;
  for (const auto& f : fields())
    out += "  " + f.key + " (" + f.type + ", default '" + f.get(defaults) + "'): " + f.help + "\n";
  return out;
}

}  // namespace wildreid::trainer
