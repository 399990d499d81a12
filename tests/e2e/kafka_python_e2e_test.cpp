// End-to-end: kafka-python 2.0.2 (pure Python, its own protocol code) through the gateway, via
// kafka_python_client.py run by the system Python.
#include <unistd.h>

#include <catch2/catch.hpp>

#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "tests/e2e/e2e_environment.h"
#include "tests/e2e/subprocess.h"

namespace kgw::e2e {
namespace {

using namespace std::chrono_literals;

struct python_run {
  std::set<std::tuple<int, long long, std::string, std::string>> produced, consumed;
  std::size_t consumed_lines = 0;
  std::map<int, long long> committed;
  long long restarted_got = -2;
  std::string version;
  bool done = false;
};

python_run parse(const std::string& out) {
  python_run run;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    std::istringstream f(line);
    std::string tag;
    f >> tag;
    if (tag == "P" || tag == "C") {
      int p;
      long long o;
      std::string k, v;
      f >> p >> o >> k >> v;
      (tag == "P" ? run.produced : run.consumed).emplace(p, o, k, v);
      if (tag == "C") ++run.consumed_lines;
    } else if (tag == "K") {
      int p;
      std::string o;
      f >> p >> o;
      run.committed[p] = o == "None" ? -1 : std::stoll(o);
    } else if (tag == "R") {
      f >> run.restarted_got;
    } else if (tag == "V") {
      f >> run.version;
    } else if (tag == "DONE") {
      run.done = true;
    }
  }
  return run;
}

}  // namespace

TEST_CASE("kafka-python: produce, consume in a group with commits, resume after restart", "[e2e][kafka-python]") {
  // docker/setup.sh installs python3-kafka: its absence is a failure, not a skip.
  REQUIRE(::access(KGW_E2E_PYTHON, X_OK) == 0);
  constexpr int count = 300;
  e2e_environment env({{"py-orders", 6}});
  // "auto": kafka-python probes ApiVersions through the gateway (it settles on 2.3.0 against the
  // mock). Pins 2.3.0, 2.0.0, 1.0.0 and 0.11.0 work as well; 1.1.0 does not (the mock's Produce v5
  // response lacks log_start_offset) and neither does 0.10.2.
  auto r = run_process({KGW_E2E_PYTHON, "-B", KGW_E2E_SCRIPTS "/kafka_python_client.py", "--bootstrap", env.bootstrap(),
                        "--topic", "py-orders", "--group", "py-group", "--count", std::to_string(count),
                        "--api-version", "auto", "--timeout", "30"},
                       "", 100s);
  INFO(r.describe());
  REQUIRE(r.exit_code == 0);
  const auto run = parse(r.out);
  REQUIRE(run.done);
  INFO("kafka-python api_version " << run.version);
  CHECK(run.produced.size() == count);
  CHECK(run.consumed == run.produced);       // same partition, offset, key and value
  CHECK(run.consumed_lines == run.produced.size());  // no duplicates
  std::map<int, long long> next_offset;      // what the commit must be: last offset + 1
  for (const auto& [p, o, k, v] : run.produced) next_offset[p] = std::max(next_offset[p], o + 1);
  for (auto& [p, o] : run.committed)
    if (!next_offset.count(p)) next_offset[p] = -1;  // nothing produced there: no commit
  CHECK(run.committed == next_offset);
  CHECK(run.restarted_got == 0);  // the restarted member joined and resumed after the commit
  env.require_no_upstream_addresses();
}

}  // namespace kgw::e2e
