# Finds LibTorch: Torch_DIR / CMAKE_PREFIX_PATH when given, else the torch wheel of the Python
# named by WILDREID_PYTHON (scripts/setup's venv), through torch.utils.cmake_prefix_path.
# The CUDA wheel's TorchConfig needs the CUDA toolkit; it is present on every machine we build on.
if(NOT Torch_DIR)
  set(WILDREID_PYTHON "$ENV{WILDREID_PYTHON}" CACHE FILEPATH "Python with the torch wheel")
  if(NOT WILDREID_PYTHON)
    find_program(WILDREID_PYTHON_FOUND python3)
    set(WILDREID_PYTHON ${WILDREID_PYTHON_FOUND})
  endif()
  execute_process(
    COMMAND ${WILDREID_PYTHON} -c "import torch.utils; print(torch.utils.cmake_prefix_path)"
    OUTPUT_VARIABLE WILDREID_TORCH_PREFIX OUTPUT_STRIP_TRAILING_WHITESPACE
    RESULT_VARIABLE WILDREID_TORCH_RC)
  if(WILDREID_TORCH_RC EQUAL 0)
    list(APPEND CMAKE_PREFIX_PATH ${WILDREID_TORCH_PREFIX})
  endif()
endif()
# We compile no CUDA sources ourselves; naming the target architecture (Hopper: H100/H200) stops
# TorchConfig from probing for a GPU with a try_run, which fails on machines without one.
if(NOT DEFINED ENV{TORCH_CUDA_ARCH_LIST} AND NOT TORCH_CUDA_ARCH_LIST)
  set(TORCH_CUDA_ARCH_LIST "9.0" CACHE STRING "CUDA architectures for TorchConfig")
endif()
find_package(Torch REQUIRED)
# TorchConfig appends its flags to CMAKE_CXX_FLAGS; keep them (ABI, defines).
set(CMAKE_CXX_FLAGS "${CMAKE_CXX_FLAGS} ${TORCH_CXX_FLAGS}")
get_filename_component(WILDREID_TORCH_LIBDIR "${TORCH_LIBRARY}" DIRECTORY)
set(WILDREID_TORCH_INCLUDE "${WILDREID_TORCH_LIBDIR}/../include")
if(EXISTS "${WILDREID_TORCH_INCLUDE}/gloo/config.h")
  set(WILDREID_HAVE_GLOO ON)
else()
  set(WILDREID_HAVE_GLOO OFF)
endif()
message(STATUS "wildreid: torch ${Torch_VERSION} from ${WILDREID_TORCH_LIBDIR}, gloo headers: ${WILDREID_HAVE_GLOO}")
