# wildreid_trainer_core: the LibTorch-only compute core (AMP, AdamW, schedules, one training step,
# the gradient-sync interface). Included by trainer/CMakeLists.txt and, in WILDREID_LIBTORCH_ONLY
# builds (where trainer/ is not added), by bench/train_step/ so the GPU benchmark can build it.
if(NOT TARGET wildreid_trainer_core)
  set(_core ${PROJECT_SOURCE_DIR}/trainer)
  wildreid_add_library(wildreid_trainer_core TORCH
    SOURCES ${_core}/amp.cpp ${_core}/adamw.cpp ${_core}/lr_schedule.cpp ${_core}/train_step.cpp
            ${_core}/rng_state.cpp ${_core}/phase_clock.cpp)
endif()
