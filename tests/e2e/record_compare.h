#pragma once
// Exact comparison of what a client received with what it should have received, for the
// end-to-end tests: records are compared as multisets of (partition, offset, key, value), so one
// check catches a record the gateway dropped, altered (a different record appears) or duplicated.
// Threading: pure functions.
#include <string>
#include <utility>
#include <vector>

#include "tests/e2e/rdkafka_client.h"

namespace kgw::e2e {

// "" when `got` holds every record of `want` exactly as often as `want` does and nothing else;
// otherwise counts and the first few missing, unexpected and duplicated records.
std::string compare_records(const std::vector<record>& want, const std::vector<record>& got);

// The records with partition and offset cleared, to compare key and value only (a client that
// does not learn where its records went: kcat -P, any producer with acks=0).
std::vector<record> keys_and_values(std::vector<record> records);
std::vector<record> keys_and_values(const std::vector<key_value>& pairs);

}  // namespace kgw::e2e
