// One registration function per model family; registry.cpp calls each of them once.
// To add a family: declare its function here and add one line to kFamilies in registry.cpp.
#pragma once

namespace wildreid::models {
class Registry;
void register_convnext_models(Registry& registry);
void register_vit_models(Registry& registry);
void register_swin_models(Registry& registry);
void register_maxvit_models(Registry& registry);
}  // namespace wildreid::models
