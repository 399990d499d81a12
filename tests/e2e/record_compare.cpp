#include "tests/e2e/record_compare.h"

#include <map>

namespace kgw::e2e {
namespace {

std::string first_few(const std::vector<std::pair<const record*, std::size_t>>& list, const char* what) {
  if (list.empty()) return "";
  std::string out = "\n" + std::to_string(list.size()) + " " + what + ":";
  for (std::size_t i = 0; i < list.size() && i < 5; ++i)
    out += "\n  " + describe(*list[i].first) + (list[i].second > 1 ? " (x" + std::to_string(list[i].second) + ")" : "");
  return out;
}

}  // namespace

std::string compare_records(const std::vector<record>& want, const std::vector<record>& got) {
  std::map<record, std::pair<std::size_t, std::size_t>> count;  // record -> {wanted, got}
  for (const auto& r : want) ++count[r].first;
  for (const auto& r : got) ++count[r].second;
  std::vector<std::pair<const record*, std::size_t>> missing, unexpected, duplicated;
  for (const auto& [r, n] : count) {
    if (n.second < n.first) missing.emplace_back(&r, n.first - n.second);
    if (n.first == 0) unexpected.emplace_back(&r, n.second);
    if (n.first > 0 && n.second > n.first) duplicated.emplace_back(&r, n.second);
  }
  if (missing.empty() && unexpected.empty() && duplicated.empty()) return "";
  return "got " + std::to_string(got.size()) + " records, want " + std::to_string(want.size()) +
         first_few(missing, "missing") + first_few(unexpected, "unexpected") + first_few(duplicated, "duplicated");
}

std::vector<record> keys_and_values(std::vector<record> records) {
  for (auto& r : records) r.partition = -1, r.offset = -1;
  return records;
}

std::vector<record> keys_and_values(const std::vector<key_value>& pairs) {
  std::vector<record> out;
  out.reserve(pairs.size());
  for (const auto& [k, v] : pairs) out.push_back(record{-1, -1, k, v});
  return out;
}

}  // namespace kgw::e2e
