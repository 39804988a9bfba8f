# Use ccache when present. base_dir makes hits work across clones in other folders, and the
# sloppiness settings let precompiled headers be cached.
find_program(WILDREID_CCACHE ccache)
if(WILDREID_CCACHE)
  set(CMAKE_CXX_COMPILER_LAUNCHER ${CMAKE_COMMAND} -E env
      CCACHE_BASEDIR=${PROJECT_SOURCE_DIR}
      CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
      CCACHE_MAXSIZE=10G
      ${WILDREID_CCACHE})
  set(CMAKE_C_COMPILER_LAUNCHER ${CMAKE_CXX_COMPILER_LAUNCHER})
endif()
