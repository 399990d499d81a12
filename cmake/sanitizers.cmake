# Sanitizer and fuzzing builds, each in a build directory of its own (build-asan, build-tsan;
# docker/test.sh makes them), never in build/:
#   -DKGW_SANITIZE=address,undefined   ASan + UBSan over every library, test and tool
#   -DKGW_SANITIZE=thread              TSan (the multi-worker relay)
#   -DKGW_FUZZ=ON                      the libFuzzer targets of tests/fuzz; every library gets
#                                      -fsanitize=fuzzer-no-link (coverage for the fuzzer)
# Clang only (Debian's clang-16: CC=clang-16 CXX=clang++-16). A report fails the run: nothing
# recovers (UBSan included), and docker/test.sh sets halt_on_error.
set(KGW_SANITIZE "" CACHE STRING "Clang sanitizers for the whole build: address,undefined or thread")
option(KGW_FUZZ "Build the libFuzzer targets (tests/fuzz) and instrument every library for them" OFF)

if(KGW_SANITIZE OR KGW_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang" OR CMAKE_CXX_COMPILER_VERSION VERSION_LESS 16)
    message(FATAL_ERROR "KGW_SANITIZE / KGW_FUZZ need clang 16 or newer (CXX=clang++-16)")
  endif()
  # libstdc++ 12 offers <expected> only when __cpp_concepts >= 202002L; clang 16 implements what
  # it uses (conditionally trivial special members, P0848) but still announces 201907L.
  add_compile_options(-D__cpp_concepts=202002L -Wno-macro-redefined -Wno-builtin-macro-redefined)
  add_compile_options(-fno-omit-frame-pointer)
  set(kgw_sanitizers "${KGW_SANITIZE}")
  if(KGW_FUZZ)
    add_compile_options(-fsanitize=fuzzer-no-link)
  endif()
  if(kgw_sanitizers)
    add_compile_options(-fsanitize=${kgw_sanitizers} -fno-sanitize-recover=all)
    add_link_options(-fsanitize=${kgw_sanitizers})
  endif()
endif()
