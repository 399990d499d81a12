// The comparison every end-to-end test relies on must itself catch a dropped, altered, extra or
// duplicated record.
#include <catch2/catch.hpp>

#include "tests/e2e/record_compare.h"

namespace kgw::e2e {

TEST_CASE("compare_records: equal multisets pass, every kind of difference is reported", "[e2e][record-compare]") {
  const std::vector<record> want{{0, 0, "k0", "v0"}, {0, 1, "k1", "v1"}, {3, 0, "k2", "v2"}};
  CHECK(compare_records(want, want) == "");
  CHECK(compare_records(want, {want[2], want[0], want[1]}) == "");  // order does not matter

  const auto dropped = compare_records(want, {want[0], want[2]});
  CHECK(dropped.find("1 missing") != std::string::npos);
  CHECK(dropped.find("p0@1 k1=v1") != std::string::npos);

  auto altered = want;
  altered[1].value = "v1!";
  CHECK(compare_records(want, altered).find("1 unexpected") != std::string::npos);
  altered = want;
  altered[1].offset = 2;  // same bytes, wrong position
  CHECK(compare_records(want, altered).find("1 missing") != std::string::npos);

  auto twice = want;
  twice.push_back(want[2]);
  const auto duplicated = compare_records(want, twice);
  CHECK(duplicated.find("1 duplicated") != std::string::npos);
  CHECK(duplicated.find("(x2)") != std::string::npos);

  CHECK(compare_records(keys_and_values(want),
                        keys_and_values(std::vector<key_value>{{"k2", "v2"}, {"k0", "v0"}, {"k1", "v1"}})) == "");
}

}  // namespace kgw::e2e
