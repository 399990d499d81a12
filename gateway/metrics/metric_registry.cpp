#include "gateway/metrics/metric_registry.h"

#include <charconv>
#include <cmath>

namespace kgw::gateway::metrics {

namespace {

// Label values: backslash, double quote and line feed escaped (the text format's rules).
void put_escaped(std::string& out, std::string_view v) {
  for (char c : v) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out.push_back(c);
    }
  }
}

// HELP text: backslash and line feed escaped.
void put_help(std::string& out, std::string_view v) {
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out.push_back(c);
  }
}

void put_double(std::string& out, double v) {
  if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
    return;
  }
  // The shortest text that reads back as the same double ("0.1", not "0.10000000000000001").
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general);
  out.append(buf, r.ptr);
}

}  // namespace

histogram::histogram(const std::vector<double>& bounds)
    : bounds_(bounds), counts_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds.size() + 1)) {}

void histogram::observe(std::chrono::nanoseconds d) {
  const double s = std::chrono::duration<double>(d).count();
  std::size_t i = 0;
  while (i < bounds_.size() && s > bounds_[i]) ++i;
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(static_cast<std::uint64_t>(std::max<std::int64_t>(0, d.count())), std::memory_order_relaxed);
}

histogram::snapshot histogram::read() const {
  snapshot s;
  std::uint64_t running = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    running += counts_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(running);
  }
  s.count = running;
  s.sum_seconds = static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9;
  return s;
}

std::string_view label_cap::fold(std::string_view value) {
  std::lock_guard lk(mu_);
  if (auto it = kept_.find(value); it != kept_.end()) return *it;
  if (kept_.size() < max_ && value != "other") return *kept_.emplace(value).first;
  return "other";
}

void family_base::put_name(std::string& out, std::string_view suffix, const label_values& values,
                           std::string_view extra) const {
  out += name_;
  out += suffix;
  if (values.empty() && extra.empty()) return;
  out.push_back('{');
  for (std::size_t i = 0; i < values.size() && i < labels_.size(); ++i) {
    if (i) out.push_back(',');
    out += labels_[i];
    out += "=\"";
    put_escaped(out, values[i]);
    out.push_back('"');
  }
  if (!extra.empty()) {
    if (!values.empty()) out.push_back(',');
    out += extra;
  }
  out.push_back('}');
}

void family_base::render(std::string& out) const {
  out += "# HELP ";
  out += name_;
  out.push_back(' ');
  put_help(out, help_);
  out += "\n# TYPE ";
  out += name_;
  out += type_ == metric_type::counter ? " counter\n" : type_ == metric_type::gauge ? " gauge\n" : " histogram\n";
  std::lock_guard lk(mu_);
  render_series(out);
}

template <>
void family<counter>::render_series(std::string& out) const {
  for (const auto& [values, c] : series_) {
    put_name(out, "", values);
    out.push_back(' ');
    if (units_per_value_ == 1) out += std::to_string(c->value());
    else put_double(out, static_cast<double>(c->value()) / units_per_value_);
    out.push_back('\n');
  }
}

template <>
void family<gauge>::render_series(std::string& out) const {
  for (const auto& [values, g] : series_) {
    put_name(out, "", values);
    out += ' ' + std::to_string(g->value()) + '\n';
  }
}

template <>
void family<histogram>::render_series(std::string& out) const {
  for (const auto& [values, h] : series_) {
    const auto s = h->read();
    for (std::size_t i = 0; i <= bounds_.size(); ++i) {
      std::string le = "le=\"";
      if (i < bounds_.size()) put_double(le, bounds_[i]);
      else le += "+Inf";
      le.push_back('"');
      put_name(out, "_bucket", values, le);
      out += ' ' + std::to_string(s.cumulative[i]) + '\n';
    }
    put_name(out, "_sum", values);
    out.push_back(' ');
    put_double(out, s.sum_seconds);
    out.push_back('\n');
    put_name(out, "_count", values);
    out += ' ' + std::to_string(s.count) + '\n';
  }
}

template <class M>
family<M>& registry::add(std::unique_ptr<family<M>> f) {
  auto& ref = *f;
  families_.push_back(std::move(f));
  return ref;
}

family<counter>& registry::add_counter(std::string name, std::string help, std::vector<std::string> labels) {
  return add(std::make_unique<family<counter>>(std::move(name), std::move(help), metric_type::counter, std::move(labels)));
}

family<counter>& registry::add_scaled_counter(std::string name, std::string help, std::vector<std::string> labels,
                                              double units_per_value) {
  auto& f = add_counter(std::move(name), std::move(help), std::move(labels));
  f.units_per_value_ = units_per_value;
  return f;
}

family<gauge>& registry::add_gauge(std::string name, std::string help, std::vector<std::string> labels) {
  return add(std::make_unique<family<gauge>>(std::move(name), std::move(help), metric_type::gauge, std::move(labels)));
}

family<histogram>& registry::add_histogram(std::string name, std::string help, std::vector<std::string> labels,
                                           std::vector<double> bounds) {
  return add(std::make_unique<family<histogram>>(std::move(name), std::move(help), metric_type::histogram,
                                                 std::move(labels), std::move(bounds)));
}

std::string registry::render() const {
  std::string out;
  for (const auto& f : families_) f->render(out);
  return out;
}

}  // namespace kgw::gateway::metrics
