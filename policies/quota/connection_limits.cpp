#include "policies/quota/connection_limits.h"

namespace kgw::policies::quota {

const char* connection_limits::reason(verdict v) {
  switch (v) {
    case verdict::too_many: return "max_connections";
    case verdict::too_fast: return "connections_per_second";
    case verdict::admitted: break;
  }
  return "admitted";
}

connection_limits::verdict connection_limits::admit(table& t, const std::string& key, const limits& l,
                                                    clock::time_point now) {
  if (!l.max_connections && !l.connections_per_second) return verdict::admitted;
  std::lock_guard lk(mu_);
  if (++admitted_since_sweep_ >= 1024) sweep(t, now);
  entry& e = t[key];
  if (l.max_connections && e.open >= *l.max_connections) return verdict::too_many;
  if (l.connections_per_second) {
    if (!e.rate || e.rate->samples() != l.samples || e.rate->window() != l.window)
      e.rate = std::make_unique<rate_window>(l.samples, l.window);
    // Every attempt counts (a client reconnecting in a loop stays over), and one that would take
    // the rate past the limit is refused.
    e.rate->record(now, 1);
    e.last = now;
    if (e.rate->rate(now) > *l.connections_per_second) return verdict::too_fast;
    e.span = l.window * l.samples;
  }
  ++e.open;
  e.last = now;
  return verdict::admitted;
}

void connection_limits::release(table& t, const std::string& key) {
  std::lock_guard lk(mu_);
  auto it = t.find(key);
  if (it == t.end() || it->second.open == 0) return;
  --it->second.open;
}

int connection_limits::open_for_address(const std::string& address) {
  std::lock_guard lk(mu_);
  auto it = addresses_.find(address);
  return it == addresses_.end() ? 0 : it->second.open;
}

void connection_limits::sweep(table& t, clock::time_point now) {
  admitted_since_sweep_ = 0;
  for (auto it = t.begin(); it != t.end();) {
    if (it->second.open == 0 && now - it->second.last > it->second.span) it = t.erase(it);
    else ++it;
  }
}

}  // namespace kgw::policies::quota
