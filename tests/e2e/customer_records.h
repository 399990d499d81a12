#pragma once
// Customer records from the demo's generator (config/examples/generate_customers.py), as the
// end-to-end tests produce them: (id as text, JSON value). Deterministic for a seed.
// Threading: runs a child process; call from the test thread (Catch assertions).
#include <string>
#include <vector>

#include "tests/e2e/rdkafka_client.h"

namespace kgw::e2e {

std::vector<key_value> generate_customers(int start, int count, int seed);

}  // namespace kgw::e2e
