#pragma once
// The configuration loader's extensions with every policy's section reader (and no identity
// checks): what tests of policies pass to config::load_string / load_file.
// Threading: pure function.
#include "config/loader.h"
#include "policies/registry.h"

namespace kgw::testing {

inline config::extensions with_policies() {
  config::extensions x;
  x.policy_sections = policies::section_readers();
  return x;
}

}  // namespace kgw::testing
