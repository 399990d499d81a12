#include "tests/e2e/broker_contents.h"

#include <array>
#include <map>
#include <thread>

namespace kgw::e2e {

broker_contents read_from_broker(const gateway::embedded_cluster& cluster, const std::string& topic, int partitions,
                                 clock::time_point deadline, std::size_t at_least) {
  return read_from_broker(cluster.bootstrap(), topic, partitions, deadline, at_least);
}

broker_contents read_from_broker(const std::string& broker_bootstrap, const std::string& topic, int partitions,
                                 clock::time_point deadline, std::size_t at_least) {
  broker_contents out;
  consumer c(broker_bootstrap, "");
  std::map<std::int32_t, std::pair<std::int64_t, std::int64_t>> marks;
  std::size_t total = 0;
  bool settled = at_least == 0;
  for (;;) {
    marks = c.watermarks(topic, partitions, std::chrono::milliseconds(10'000));
    if (static_cast<int>(marks.size()) != partitions) {
      out.error = "watermark query failed for " + std::to_string(partitions - static_cast<int>(marks.size())) +
                  " partition(s) of " + topic;
      return out;
    }
    total = 0;
    for (const auto& [p, m] : marks) total += static_cast<std::size_t>(m.second - m.first);
    if ((total >= at_least && settled) || clock::now() >= deadline) break;
    // Once the count is reached, look once more a little later: a duplicate would come after it.
    settled = total >= at_least;
    std::this_thread::sleep_for(std::chrono::milliseconds(settled ? 300 : 50));
  }
  if (total < at_least) {
    out.error = "the broker holds " + std::to_string(total) + " records of " + topic + ", expected at least " +
                std::to_string(at_least);
    return out;
  }
  std::map<std::int32_t, std::int64_t> left;  // partition -> records still to read
  for (const auto& [p, m] : marks)
    if (m.second > m.first) left[p] = m.second - m.first;
  c.assign_all(topic, partitions);
  std::array<consumer*, 1> one{&c};
  const bool all = poll_until(
      one,
      [&](std::size_t, record&& r) {
        auto it = left.find(r.partition);
        if (it == left.end() || r.offset >= marks.at(r.partition).second) return;  // written after the query
        out.records.push_back(std::move(r));
        if (--it->second == 0) left.erase(it);
      },
      [&] { return left.empty(); }, deadline);
  if (!all)
    out.error = "read " + std::to_string(out.records.size()) + " of " + std::to_string(total) + " records of " + topic +
                " from the broker before the deadline";
  for (const auto& e : c.errors()) out.error += (out.error.empty() ? "" : "; ") + e;
  c.close();
  return out;
}

}  // namespace kgw::e2e
