# Helpers shared by every folder's CMakeLists.txt.
#
# wildreid_add_library(NAME SOURCES ... [TORCH] [DEPS ...])
#   A static library whose headers are included as "folder/file.h" from the repository root.
#   TORCH links LibTorch and reuses one precompiled header of the torch headers we use most.
# wildreid_add_test(NAME SOURCES ... DEPS ... [LABELS ...])
#   A GoogleTest binary registered with CTest (one CTest entry per TEST via gtest_discover_tests).
set(WILDREID_PCH_HEADER ${PROJECT_SOURCE_DIR}/cmake/torch_pch.h)

# One target owns the torch PCH; the others reuse it (REUSE_FROM needs identical flags).
add_library(wildreid_torch_pch STATIC ${PROJECT_SOURCE_DIR}/cmake/torch_pch.cpp)
target_link_libraries(wildreid_torch_pch PUBLIC ${TORCH_LIBRARIES})
target_include_directories(wildreid_torch_pch PUBLIC ${PROJECT_SOURCE_DIR})
target_precompile_headers(wildreid_torch_pch PRIVATE ${WILDREID_PCH_HEADER})

function(wildreid_use_torch target)
  target_link_libraries(${target} PUBLIC ${TORCH_LIBRARIES})
  target_precompile_headers(${target} REUSE_FROM wildreid_torch_pch)
endfunction()

function(wildreid_add_library name)
  cmake_parse_arguments(A "TORCH" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${A_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PUBLIC ${A_DEPS})
  target_compile_options(${name} PRIVATE -Wall -Wextra -Wno-unused-parameter)
  if(A_TORCH)
    wildreid_use_torch(${name})
  endif()
endfunction()

function(wildreid_add_test name)
  cmake_parse_arguments(A "TORCH" "" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${A_SOURCES})
  target_link_libraries(${name} PRIVATE ${A_DEPS} GTest::gtest GTest::gtest_main)
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR})
  if(A_TORCH)
    wildreid_use_torch(${name})
  endif()
  set(label "unit")
  if(A_LABELS)
    list(GET A_LABELS 0 label)  # one label: a list would be split into bogus property names
  endif()
  gtest_discover_tests(${name}
    WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
    # PROPERTIES is a flat key/value list, so each property gets one value only: tests run in the
    # source tree (WORKING_DIRECTORY) and find binaries through WILDREID_BIN.
    PROPERTIES LABELS "${label}" ENVIRONMENT "WILDREID_BIN=${PROJECT_BINARY_DIR}/bin"
    DISCOVERY_TIMEOUT 60)
endfunction()
