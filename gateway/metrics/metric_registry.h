#pragma once
// The gateway's metrics in Prometheus' data model, rendered in its text exposition format
// (version 0.0.4) for the admin listener's /metrics.
//
// Families are declared once at start-up. A series (one tuple of label values) is made on first
// use under its family's mutex: callers look a series up once (a session when it learns its
// principal, the decision subscriber per worker through its own cache) and then update it with
// relaxed atomics, from any worker, without a lock. Series are never removed while the registry
// lives, so a reference stays valid. Label values from unbounded sets (principals, topics) pass
// through a label_cap first: the first N distinct values are kept, every later one becomes
// "other", so what a scrape returns stays bounded whatever clients do.
// Threading: everything here is thread-safe; render() may run on any thread while workers update.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace kgw::gateway::metrics {

class counter {
 public:
  void add(std::uint64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
  // A counter mirroring a monotonic total kept elsewhere (read at each scrape).
  void mirror(std::uint64_t total) { v_.store(total, std::memory_order_relaxed); }
  std::uint64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> v_{0};
};

class gauge {
 public:
  void set(std::int64_t v) { v_.store(v, std::memory_order_relaxed); }
  void add(std::int64_t n) { v_.fetch_add(n, std::memory_order_relaxed); }
  std::int64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> v_{0};
};

// Fixed buckets (upper bounds in seconds, ascending), counted per bucket; rendered cumulative.
class histogram {
 public:
  explicit histogram(const std::vector<double>& bounds);
  void observe(std::chrono::nanoseconds d);
  struct snapshot {
    std::vector<std::uint64_t> cumulative;  // per bound, then +Inf
    double sum_seconds = 0;
    std::uint64_t count = 0;
  };
  snapshot read() const;

 private:
  const std::vector<double>& bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;  // bounds_.size() + 1
  std::atomic<std::uint64_t> sum_ns_{0};
};

// Keeps the first `max` distinct values of one label, folds the rest into "other".
class label_cap {
 public:
  explicit label_cap(std::size_t max) : max_(max) {}
  // A view that stays valid while the cap lives.
  std::string_view fold(std::string_view value);

 private:
  std::mutex mu_;
  std::set<std::string, std::less<>> kept_;
  std::size_t max_;
};

enum class metric_type { counter, gauge, histogram };
class registry;

class family_base {
 public:
  family_base(std::string name, std::string help, metric_type type, std::vector<std::string> labels)
      : name_(std::move(name)), help_(std::move(help)), type_(type), labels_(std::move(labels)) {}
  virtual ~family_base() = default;
  void render(std::string& out) const;

 protected:
  friend class registry;
  using label_values = std::vector<std::string>;
  virtual void render_series(std::string& out) const = 0;
  // `name{a="x",b="y"}` (extra: one more label, e.g. le="0.5"), escaped.
  void put_name(std::string& out, std::string_view suffix, const label_values& values, std::string_view extra = {}) const;

  const std::string name_, help_;
  const metric_type type_;
  double units_per_value_ = 1;  // counters: rendered value = count / units_per_value_
  const std::vector<std::string> labels_;
  mutable std::mutex mu_;
};

template <class M>
class family final : public family_base {
 public:
  family(std::string name, std::string help, metric_type type, std::vector<std::string> labels,
         std::vector<double> bounds = {})
      : family_base(std::move(name), std::move(help), type, std::move(labels)), bounds_(std::move(bounds)) {}
  // The series for these label values (in the family's label order); made on first use.
  M& with(std::initializer_list<std::string_view> values) {
    label_values key(values.begin(), values.end());
    std::lock_guard lk(mu_);
    auto it = series_.find(key);
    if (it == series_.end()) it = series_.emplace(std::move(key), make()).first;
    return *it->second;
  }

 private:
  std::unique_ptr<M> make() const {
    if constexpr (std::is_same_v<M, histogram>) return std::make_unique<M>(bounds_);
    else return std::make_unique<M>();
  }
  void render_series(std::string& out) const override;

  const std::vector<double> bounds_;  // histograms
  std::map<label_values, std::unique_ptr<M>> series_;
};

template <>
void family<counter>::render_series(std::string& out) const;
template <>
void family<gauge>::render_series(std::string& out) const;
template <>
void family<histogram>::render_series(std::string& out) const;

class registry {
 public:
  family<counter>& add_counter(std::string name, std::string help, std::vector<std::string> labels);
  // A counter of integral units rendered divided by `units_per_value` (milliseconds counted,
  // seconds shown: units_per_value 1000), since Prometheus wants base units.
  family<counter>& add_scaled_counter(std::string name, std::string help, std::vector<std::string> labels,
                                      double units_per_value);
  family<gauge>& add_gauge(std::string name, std::string help, std::vector<std::string> labels);
  family<histogram>& add_histogram(std::string name, std::string help, std::vector<std::string> labels,
                                   std::vector<double> bounds);
  // Families are rendered in the order they were added.
  std::string render() const;

 private:
  template <class M>
  family<M>& add(std::unique_ptr<family<M>> f);
  std::vector<std::unique_ptr<family_base>> families_;  // added before use, then read-only
};

}  // namespace kgw::gateway::metrics
