// End-to-end: kcat (a separate process, librdkafka inside) through the gateway.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <regex>
#include <set>
#include <sstream>

#include "tests/e2e/e2e_environment.h"
#include "tests/e2e/subprocess.h"

namespace kgw::e2e {
namespace {

using namespace std::chrono_literals;

bool have_kcat() { return ::access(KGW_E2E_KCAT, X_OK) == 0; }

std::set<std::string> lines(const std::string& text) {
  std::set<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) out.insert(l);
  return out;
}

}  // namespace

TEST_CASE("kcat: metadata lists only gateway addresses", "[e2e][kcat]") {
  // docker/setup.sh installs kcat: its absence is a failure, not a skip.
  REQUIRE(have_kcat());
  e2e_environment env({{"inventory", 6}});
  auto r = run_process({KGW_E2E_KCAT, "-b", env.bootstrap(), "-L", "-m", "10"}, "", 30s);
  INFO(r.describe());
  REQUIRE(r.exit_code == 0);

  // "  broker 2 at 127.0.0.1:19095" (kcat 1.7 also prints " (controller)" for the controller)
  const std::regex broker_line(R"(^\s*broker (-?\d+) at ([^:\s]+):(\d+))");
  std::set<int> ids;
  std::istringstream in(r.out);
  for (std::string l; std::getline(in, l);) {
    std::smatch m;
    if (!std::regex_search(l, m, broker_line)) continue;
    ids.insert(std::stoi(m[1]));
    const int port = std::stoi(m[3]);
    INFO(l);
    if (env.through_gateway()) {
      CHECK(m[2] == e2e_environment::advertised_host);
      CHECK(port >= env.broker_port_first());
      CHECK(port <= env.broker_port_last());
    }
  }
  CHECK(ids == std::set<int>{1, 2, 3});
  CHECK(r.out.find("topic \"inventory\" with 6 partitions") != std::string::npos);
  if (env.through_gateway())
    for (std::uint16_t upstream : env.cluster().broker_ports())
      CHECK(r.out.find(":" + std::to_string(upstream)) == std::string::npos);
  env.require_no_upstream_addresses();
}

TEST_CASE("kcat: produce with -P, consume with -C -e", "[e2e][kcat]") {
  // docker/setup.sh installs kcat: its absence is a failure, not a skip.
  REQUIRE(have_kcat());
  e2e_environment env({{"events", 6}});
  std::string input;
  std::set<std::string> want;
  for (int i = 0; i < 500; ++i) {
    std::string line = "key-" + std::to_string(i) + "=value-" + std::to_string(i) + "-kcat";
    input += line + "\n";
    want.insert(line);
  }
  auto produce = run_process({KGW_E2E_KCAT, "-b", env.bootstrap(), "-P", "-t", "events", "-K", "=", "-X",
                              "message.timeout.ms=20000"},
                             input, 45s);
  INFO("produce: " << produce.describe());
  REQUIRE(produce.exit_code == 0);

  auto consume = run_process({KGW_E2E_KCAT, "-b", env.bootstrap(), "-C", "-t", "events", "-o", "beginning", "-e", "-q",
                              "-f", "%k=%s\\n"},
                             "", 45s);
  INFO("consume: " << consume.describe());
  REQUIRE(consume.exit_code == 0);
  const auto got = lines(consume.out);
  CHECK(got.size() == want.size());
  CHECK(got == want);
  env.require_no_upstream_addresses();
}

}  // namespace kgw::e2e
