#include "policies/quota/quota_book.h"

#include <algorithm>

namespace kgw::policies::quota {

const char* kind_name(quota_kind k) {
  switch (k) {
    case quota_kind::produce: return "produce";
    case quota_kind::fetch: return "fetch";
    case quota_kind::request: return "request";
  }
  return "?";
}

std::shared_ptr<rate_window> quota_meters::window(const quota_entity& who, quota_kind kind, int samples,
                                                  std::chrono::milliseconds size) {
  std::lock_guard lk(mu_);
  auto& w = windows_[{who, kind, samples, size.count()}];
  if (!w) w = std::make_shared<rate_window>(samples, size);
  return w;
}

quota_book::quota_book(const quota_section& section, quota_meters& meters) : section_(section), meters_(meters) {}

bool quota_book::by_client_id() const {
  return std::any_of(section_.rules.begin(), section_.rules.end(), [](const quota_rule& r) { return !r.client_ids.empty(); });
}

std::shared_ptr<const principal_quotas> quota_book::for_principal(const std::string& name,
                                                                  std::string_view client_id) const {
  config::principal_config who;
  who.name = name;
  return for_principal(who, client_id);
}

std::shared_ptr<const principal_quotas> quota_book::for_principal(const config::principal_config& who,
                                                                  std::string_view client_id) const {
  // Kafka's precedence (quota_config.h): the subject (principal 3, team 2, everyone 1, client
  // ids alone 0) first, then the client id (named 2, "*" 1, any 0). 0: the rule does not apply.
  auto level = [&](const quota_rule& r) {
    int client = 0;
    if (!r.client_ids.empty()) {
      if (std::find(r.client_ids.begin(), r.client_ids.end(), client_id) != r.client_ids.end())
        client = 2;
      else if (std::find(r.client_ids.begin(), r.client_ids.end(), "*") != r.client_ids.end())
        client = 1;
      else
        return 0;
    }
    using k = config::subject::kind;
    const auto& names = r.who.names;
    int subject = 1;
    if (r.any_principal)
      subject = 0;
    else if (r.who.what == k::principals)
      subject = std::find(names.begin(), names.end(), who.name) != names.end() ? 3 : -1;
    else if (r.who.what == k::teams)
      subject = std::any_of(who.teams.begin(), who.teams.end(),
                            [&](const std::string& t) { return std::find(names.begin(), names.end(), t) != names.end(); })
                    ? 2
                    : -1;
    return subject < 0 ? 0 : subject * 3 + client + 1;
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
    q.per_second = *(best->*rate) / section_.instances;
    quota_entity entity;
    if (!best->any_principal) entity.principal = who.name;
    if (!best->client_ids.empty()) entity.client_id = std::string(client_id);
    q.meter = meters_.window(entity, kind, section_.samples, section_.window);
    q.at = best->at;
    if (kind == quota_kind::request) {
      q.hold_entity = false;
      q.cap = section_.window;
    }
    return q;
  };
  auto out = std::make_shared<principal_quotas>();
  out->produce = pick(quota_kind::produce, &quota_rule::produce_bytes_per_second);
  out->fetch = pick(quota_kind::fetch, &quota_rule::fetch_bytes_per_second);
  out->requests = pick(quota_kind::request, &quota_rule::requests_per_second);
  if (const auto* r = best_for(&quota_rule::max_connections)) out->max_connections = r->max_connections;
  if (const auto* r = best_for(&quota_rule::connections_per_second)) out->connections_per_second = r->connections_per_second;
  if (out->empty()) return nullptr;
  return out;
}

}  // namespace kgw::policies::quota
