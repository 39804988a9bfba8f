// A small strict reader over yaml-cpp: each mapping is read through MapReader, which records
// the keys it was asked for and rejects the rest with their line, so a typo never silently falls
// back to a default. Cross-references (pipelines of a component, sides of a fusion step, output)
// are checked after parsing.
#include "identify/identify_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <type_traits>

namespace wildreid::identify {
namespace {

std::string line_of(const std::string& origin, const YAML::Node& node) {
  return origin + ":" + std::to_string(node.Mark().line + 1);
}

class MapReader {
 public:
  MapReader(const YAML::Node& node, std::string what, std::string origin)
      : node_(node), what_(std::move(what)), origin_(std::move(origin)) {
    if (node_ && !node_.IsNull() && !node_.IsMap())
      throw ConfigError(where() + ": " + what_ + " must be a mapping of keys");
  }

  std::string where() const { return node_ && node_.Mark().line >= 0 ? line_of(origin_, node_) : origin_; }
  std::string where(const std::string& key) const { return has(key) ? line_of(origin_, node_[key]) : where(); }
  bool has(const std::string& key) const { return node_ && node_.IsMap() && node_[key]; }

  std::string str(const std::string& key, const std::string& fallback) {
    used_.insert(key);
    if (!has(key)) return fallback;
    const auto n = node_[key];
    if (!n.IsScalar()) fail(key, "a scalar");
    return n.Scalar();
  }
  double num(const std::string& key, double fallback) { return number<double>(key, fallback, "a number"); }
  int64_t integer(const std::string& key, int64_t fallback) { return number<int64_t>(key, fallback, "an integer"); }
  bool boolean(const std::string& key, bool fallback) {
    const std::string v = str(key, "");
    if (!has(key)) return fallback;
    if (v == "true" || v == "yes" || v == "on") return true;
    if (v == "false" || v == "no" || v == "off") return false;
    fail(key, "true or false");
  }
  // A list of scalars; a lone scalar is a list of one.
  std::vector<std::string> strings(const std::string& key) {
    used_.insert(key);
    std::vector<std::string> out;
    if (!has(key)) return out;
    const auto n = node_[key];
    if (n.IsScalar()) return {n.Scalar()};
    if (!n.IsSequence()) fail(key, "a list");
    for (const auto& item : n) {
      if (!item.IsScalar()) fail(key, "a list of scalars");
      out.push_back(item.Scalar());
    }
    return out;
  }
  YAML::Node child(const std::string& key) {
    used_.insert(key);
    return has(key) ? node_[key] : YAML::Node();
  }
  // Every scalar key not read so far (local pipelines pass them on).
  std::map<std::string, std::string> rest_scalars() {
    std::map<std::string, std::string> out;
    if (!node_ || !node_.IsMap()) return out;
    for (const auto& item : node_) {
      const std::string key = item.first.as<std::string>();
      if (used_.count(key)) continue;
      if (!item.second.IsScalar())
        throw ConfigError(line_of(origin_, item.first) + ": " + what_ + " key '" + key + "' must be a scalar");
      out[key] = item.second.Scalar();
      used_.insert(key);
    }
    return out;
  }
  void finish() const {
    if (!node_ || !node_.IsMap()) return;
    for (const auto& item : node_) {
      const std::string key = item.first.as<std::string>();
      if (!used_.count(key))
        throw ConfigError(line_of(origin_, item.first) + ": unknown key '" + key + "' in " + what_ +
                          " (see identify/README.md)");
    }
  }

 private:
  template <typename T>
  T number(const std::string& key, T fallback, const char* expected) {
    const std::string v = str(key, "");
    if (!has(key)) return fallback;
    try {
      size_t used = 0;
      const T out = std::is_same_v<T, double> ? static_cast<T>(std::stod(v, &used)) : static_cast<T>(std::stoll(v, &used));
      if (used == v.size()) return out;
    } catch (const std::exception&) {
    }
    fail(key, expected);
  }
  [[noreturn]] void fail(const std::string& key, const std::string& expected) const {
    throw ConfigError(where(key) + ": " + what_ + " key '" + key + "' must be " + expected);
  }
  YAML::Node node_;
  std::string what_, origin_;
  std::set<std::string> used_;
};

// "all" (or absent) -> empty list = every model.
std::vector<std::string> model_list(MapReader& r) {
  auto models = r.strings("models");
  if (models.size() == 1 && models[0] == "all") models.clear();
  return models;
}

PipelineConfig parse_pipeline(const YAML::Node& node, const std::string& origin) {
  MapReader r(node, "pipeline", origin);
  PipelineConfig p;
  p.where = r.where();
  p.name = r.str("name", "");
  p.type = r.str("type", "global");
  if (p.type == "global") {
    p.models = model_list(r);
    p.scaler = r.str("scaler", "auto");
    if (p.scaler != "auto" && p.scaler != "true" && p.scaler != "false")
      throw ConfigError(r.where("scaler") + ": pipeline key 'scaler' must be auto, true or false");
    const std::string pca = r.str("pca", "auto");
    if (pca != "auto") {
      p.pca = r.num("pca", 0);
      if (!(p.pca >= 0 && p.pca <= 1))
        throw ConfigError(r.where("pca") + ": pipeline key 'pca' must be auto, 0 (off) or a variance fraction in (0, 1]");
    }
    r.finish();
  } else if (p.type == "local") {
    p.options = r.rest_scalars();
  } else {
    throw ConfigError(r.where("type") + ": pipeline type '" + p.type + "' is not global or local");
  }
  return p;
}

ComponentConfig parse_component(const YAML::Node& node, const std::string& origin) {
  MapReader r(node, "component", origin);
  ComponentConfig c;
  c.where = r.where();
  c.name = r.str("name", "");
  c.type = r.str("type", "");
  if (c.type == "wildfusion") {
    c.pipelines = r.strings("pipelines");
    c.priority = r.str("priority", "");
    const std::string shortlist = r.str("shortlist", "100");
    c.shortlist = shortlist == "all" ? 0 : r.integer("shortlist", 100);
    if (c.shortlist < 0) throw ConfigError(r.where("shortlist") + ": shortlist must be all or a positive count");
  } else if (c.type == "classifier") {
    c.model = r.str("model", "auto");
  } else if (c.type == "mlp") {
    c.models = model_list(r);
    c.scaler = r.boolean("scaler", true);
    c.pca = r.num("pca", 0.99);
    if (!(c.pca >= 0 && c.pca <= 1)) throw ConfigError(r.where("pca") + ": pca must be 0 (off) or in (0, 1]");
    if (r.has("hidden")) {
      c.mlp.hidden.clear();
      for (const auto& h : r.strings("hidden")) {
        try {
          c.mlp.hidden.push_back(std::stoll(h));
        } catch (const std::exception&) {
          throw ConfigError(r.where("hidden") + ": hidden must be a list of layer widths");
        }
      }
    }
    c.mlp.dropout = r.num("dropout", c.mlp.dropout);
    c.mlp.lr = r.num("lr", c.mlp.lr);
    c.mlp.weight_decay = r.num("weight_decay", c.mlp.weight_decay);
    c.mlp.warmup_ratio = r.num("warmup_ratio", c.mlp.warmup_ratio);
    c.mlp.epochs = r.integer("epochs", c.mlp.epochs);
    c.mlp.patience = r.integer("patience", c.mlp.patience);
    c.mlp.batch_size = r.integer("batch_size", c.mlp.batch_size);
    c.mlp.val_fraction = r.num("val_fraction", c.mlp.val_fraction);
    c.mlp.seed = static_cast<uint64_t>(r.integer("seed", static_cast<int64_t>(c.mlp.seed)));
    if (c.mlp.epochs < 1 || c.mlp.batch_size < 2 || c.mlp.hidden.empty())
      throw ConfigError(c.where + ": mlp '" + c.name + "' needs epochs >= 1, batch_size >= 2 and hidden layers");
  } else {
    throw ConfigError(r.where("type") + ": component type '" + c.type + "' is not wildfusion, classifier or mlp");
  }
  r.finish();
  return c;
}

FusionRule parse_fusion(const YAML::Node& node, const std::string& origin) {
  MapReader r(node, "fusion step", origin);
  FusionRule f;
  f.name = r.str("name", "");
  f.a = r.str("a", "");
  f.b = r.str("b", "");
  f.weight_a = r.num("weight_a", 1);
  f.weight_b = r.num("weight_b", 1);
  f.agree_boost = r.num("agree_boost", 1);
  f.boost_a = r.num("boost_a", 1);
  f.boost_b = r.num("boost_b", 1);
  const std::string pick = r.str("disagree", "higher");
  if (pick == "a") f.disagree = FusionRule::Pick::kA;
  else if (pick == "b") f.disagree = FusionRule::Pick::kB;
  else if (pick == "higher") f.disagree = FusionRule::Pick::kHigher;
  else throw ConfigError(r.where("disagree") + ": disagree must be a, b or higher");
  const std::string mean = r.str("mean", "weighted");
  if (mean == "plain") f.mean = FusionRule::Mean::kPlain;
  else if (mean == "weighted") f.mean = FusionRule::Mean::kWeighted;
  else throw ConfigError(r.where("mean") + ": mean must be plain or weighted");
  if (f.name.empty() || f.a.empty() || f.b.empty())
    throw ConfigError(r.where() + ": a fusion step needs name, a and b");
  r.finish();
  return f;
}

std::vector<YAML::Node> list_items(const YAML::Node& node, const std::string& what, const std::string& origin) {
  std::vector<YAML::Node> out;
  if (!node || node.IsNull()) return out;
  if (!node.IsSequence()) throw ConfigError(line_of(origin, node) + ": " + what + " must be a list");
  for (const auto& item : node) out.push_back(item);
  return out;
}

void check_references(IdentifyConfig& c) {
  std::set<std::string> pipelines, produced;
  std::map<std::string, const PipelineConfig*> by_name;
  for (const auto& p : c.pipelines) {
    if (p.name.empty()) throw ConfigError(p.where + ": pipeline without a name");
    if (!pipelines.insert(p.name).second) throw ConfigError(p.where + ": pipeline name '" + p.name + "' used twice");
    by_name[p.name] = &p;
  }
  if (c.components.empty()) throw ConfigError(c.origin + ": no components");
  for (auto& comp : c.components) {
    if (comp.name.empty()) throw ConfigError(comp.where + ": component without a name");
    if (!produced.insert(comp.name).second) throw ConfigError(comp.where + ": name '" + comp.name + "' used twice");
    if (comp.type != "wildfusion") continue;
    if (comp.pipelines.empty()) throw ConfigError(comp.where + ": wildfusion '" + comp.name + "' lists no pipelines");
    for (const auto& p : comp.pipelines)
      if (!pipelines.count(p)) throw ConfigError(comp.where + ": wildfusion '" + comp.name + "': no pipeline '" + p + "'");
    if (comp.priority.empty())
      for (const auto& p : comp.pipelines)
        if (comp.priority.empty() && by_name[p]->type == "global") comp.priority = p;
    if (comp.priority.empty())
      throw ConfigError(comp.where + ": wildfusion '" + comp.name + "' needs a global pipeline to shortlist with");
    if (std::find(comp.pipelines.begin(), comp.pipelines.end(), comp.priority) == comp.pipelines.end())
      throw ConfigError(comp.where + ": wildfusion '" + comp.name + "': priority '" + comp.priority +
                        "' is not one of its pipelines");
    if (by_name[comp.priority]->type != "global")
      throw ConfigError(comp.where + ": wildfusion '" + comp.name + "': priority '" + comp.priority +
                        "' must be a global pipeline (it shortlists)");
  }
  for (const auto& f : c.fusion) {
    for (const auto& side : {f.a, f.b})
      if (!produced.count(side))
        throw ConfigError(c.origin + ": fusion step '" + f.name + "': '" + side +
                          "' is not a component or an earlier fusion step");
    if (!produced.insert(f.name).second) throw ConfigError(c.origin + ": name '" + f.name + "' used twice");
  }
  if (c.output.empty()) {
    if (!c.fusion.empty()) c.output = c.fusion.back().name;
    else if (c.components.size() == 1) c.output = c.components.front().name;
    else throw ConfigError(c.origin + ": several components and no fusion: say which is the `output`");
  }
  if (!produced.count(c.output)) throw ConfigError(c.origin + ": output '" + c.output + "' is not a component or fusion step");
}

// Walks a dotted path; list items by index or by their `name`. Creates a missing last map key.
void apply_override(YAML::Node& root, const std::string& item) {
  const auto eq = item.find('=');
  if (eq == std::string::npos || eq == 0) throw ConfigError("--set '" + item + "': expected path=value");
  const std::string path = item.substr(0, eq), value = item.substr(eq + 1);
  std::vector<std::string> parts;
  std::stringstream ss(path);
  for (std::string part; std::getline(ss, part, '.');) parts.push_back(part);
  YAML::Node cur;
  cur.reset(root);
  for (size_t k = 0; k < parts.size(); ++k) {
    const std::string& part = parts[k];
    const bool last = k + 1 == parts.size();
    if (cur.IsSequence()) {
      YAML::Node found;
      bool any = false;
      for (size_t i = 0; i < cur.size(); ++i) {
        const YAML::Node entry = cur[i];
        const bool by_index = part == std::to_string(i);
        const bool by_name = entry.IsMap() && entry["name"] && entry["name"].IsScalar() && entry["name"].Scalar() == part;
        if ((by_index || by_name) && !any) {
          found.reset(entry);
          any = true;
        }
      }
      if (!any) throw ConfigError("--set '" + item + "': no list item '" + part + "'");
      if (last) throw ConfigError("--set '" + item + "': cannot replace a whole list item");
      cur.reset(found);
    } else {
      if (cur.IsScalar()) throw ConfigError("--set '" + item + "': '" + part + "' is below a scalar");
      if (last) {
        cur[part] = YAML::Load(value);
        return;
      }
      YAML::Node next = cur[part];
      cur.reset(next);
    }
  }
}

}  // namespace

IdentifyConfig parse_identify_config(const std::string& text, const std::string& origin,
                                     const std::vector<std::string>& overrides) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw ConfigError(origin + ":" + std::to_string(e.mark.line + 1) + ": invalid YAML: " + e.msg);
  }
  if (root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  if (!root.IsMap()) throw ConfigError(origin + ": top level must be a mapping of keys");
  for (const auto& o : overrides) apply_override(root, o);

  IdentifyConfig c;
  c.origin = origin;
  MapReader top(root, "the config", origin);
  {
    MapReader r(top.child("data"), "data", origin);
    c.scenario.query_split = r.str("query_split", c.scenario.query_split);
    if (r.has("database_splits")) c.scenario.database_splits = r.strings("database_splits");
    c.within_dataset = r.boolean("within_dataset", c.within_dataset);
    r.finish();
  }
  {
    MapReader r(top.child("calibration"), "calibration", origin);
    c.scenario.calibration_split = r.str("split", c.scenario.calibration_split);
    c.scenario.calibration_first = r.integer("first", 0);
    c.scenario.unknown_fraction = r.num("unknown_fraction", c.scenario.unknown_fraction);
    c.scenario.seed = static_cast<uint64_t>(r.integer("seed", static_cast<int64_t>(c.scenario.seed)));
    if (!(c.scenario.unknown_fraction >= 0 && c.scenario.unknown_fraction < 1))
      throw ConfigError(r.where("unknown_fraction") + ": unknown_fraction must be in [0, 1)");
    r.finish();
  }
  for (const auto& node : list_items(top.child("pipelines"), "pipelines", origin))
    c.pipelines.push_back(parse_pipeline(node, origin));
  for (const auto& node : list_items(top.child("components"), "components", origin))
    c.components.push_back(parse_component(node, origin));
  for (const auto& node : list_items(top.child("fusion"), "fusion", origin)) c.fusion.push_back(parse_fusion(node, origin));
  c.output = top.str("output", "");
  {
    MapReader r(top.child("threshold"), "threshold", origin);
    const std::string mode = r.str("mode", "tune");
    if (mode != "tune" && mode != "fixed") throw ConfigError(r.where("mode") + ": threshold mode must be tune or fixed");
    c.tune_threshold = mode == "tune";
    c.threshold = r.num("value", c.threshold);
    c.per_dataset_threshold = r.boolean("per_dataset", false);
    r.finish();
  }
  {
    MapReader r(top.child("compute"), "compute", origin);
    c.device = r.str("device", c.device);
    c.block = r.integer("block", c.block);
    if (c.block < 1) throw ConfigError(r.where("block") + ": block must be >= 1");
    r.finish();
  }
  top.finish();
  check_references(c);
  return c;
}

IdentifyConfig load_identify_config(const std::filesystem::path& path, const std::vector<std::string>& overrides) {
  std::ifstream in(path);
  if (!in) throw ConfigError(path.string() + ": cannot read the config");
  std::stringstream text;
  text << in.rdbuf();
  return parse_identify_config(text.str(), path.string(), overrides);
}

}  // namespace wildreid::identify
