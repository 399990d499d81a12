#include "policies/quota/quota_book.h"

#include <algorithm>

namespace kgw::policies::quota {

const char* kind_name(quota_kind k) { return k == quota_kind::produce ? "produce" : "fetch"; }

std::shared_ptr<rate_window> quota_meters::window(const std::string& principal, quota_kind kind, int samples,
                                                  std::chrono::milliseconds size) {
  std::lock_guard lk(mu_);
  auto& w = windows_[{principal, kind, samples, size.count()}];
  if (!w) w = std::make_shared<rate_window>(samples, size);
  return w;
}

quota_book::quota_book(const quota_section& section, quota_meters& meters) : section_(section), meters_(meters) {}

std::shared_ptr<const principal_quotas> quota_book::for_principal(const std::string& name) const {
  config::principal_config who;
  who.name = name;
  return for_principal(who);
}

std::shared_ptr<const principal_quotas> quota_book::for_principal(const config::principal_config& who) const {
  // Per kind: the principal's own rule, else one of its teams', else everyone's; the first of a
  // level in file order.
  auto level = [&](const quota_rule& r) {
    using k = config::subject::kind;
    const auto& names = r.who.names;
    if (r.who.what == k::principals) return std::find(names.begin(), names.end(), who.name) != names.end() ? 3 : 0;
    if (r.who.what == k::teams)
      return std::any_of(who.teams.begin(), who.teams.end(),
                         [&](const std::string& t) { return std::find(names.begin(), names.end(), t) != names.end(); })
                 ? 2
                 : 0;
    return 1;
  };
  // The rule of the highest level that sets `field` (the first of that level).
  auto best_for = [&](auto quota_rule::*field) -> const quota_rule* {
    const quota_rule* best = nullptr;
    int best_level = 0;
    for (const auto& r : section_.rules) {
      if (!(r.*field)) continue;
      const int l = level(r);
      if (l > best_level) best = &r, best_level = l;
    }
    return best;
  };
  auto pick = [&](quota_kind kind, std::optional<double> quota_rule::*rate) -> std::optional<quota_limit> {
    const quota_rule* best = best_for(rate);
    if (!best) return std::nullopt;
    quota_limit q;
    q.bytes_per_second = *(best->*rate) / section_.instances;
    q.meter = meters_.window(who.name, kind, section_.samples, section_.window);
    q.at = best->at;
    return q;
  };
  auto out = std::make_shared<principal_quotas>();
  out->produce = pick(quota_kind::produce, &quota_rule::produce_bytes_per_second);
  out->fetch = pick(quota_kind::fetch, &quota_rule::fetch_bytes_per_second);
  if (const auto* r = best_for(&quota_rule::max_connections)) out->max_connections = r->max_connections;
  if (const auto* r = best_for(&quota_rule::connections_per_second)) out->connections_per_second = r->connections_per_second;
  if (out->empty()) return nullptr;
  return out;
}

}  // namespace kgw::policies::quota
