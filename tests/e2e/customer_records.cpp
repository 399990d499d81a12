#include "tests/e2e/customer_records.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <sstream>

#include "tests/e2e/subprocess.h"

namespace kgw::e2e {

std::vector<key_value> generate_customers(int start, int count, int seed) {
  const auto script = (std::filesystem::path(KGW_E2E_SCRIPTS) / "../../config/examples/generate_customers.py").lexically_normal();
  const auto r = run_process({KGW_E2E_PYTHON, script.string(), "--start", std::to_string(start), "--count",
                              std::to_string(count), "--seed", std::to_string(seed)},
                             "", std::chrono::seconds(60));
  INFO(r.describe());
  REQUIRE(r.exit_code == 0);
  std::vector<key_value> out;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    const auto tab = line.find('\t');
    REQUIRE(tab != std::string::npos);
    out.emplace_back(line.substr(0, tab), line.substr(tab + 1));
  }
  REQUIRE(out.size() == static_cast<std::size_t>(count));
  return out;
}

}  // namespace kgw::e2e
