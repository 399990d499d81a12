#include "gateway/audit/audit_log.h"

#include <unistd.h>

#include <array>

#include "gateway/audit/file_sink.h"
#include "gateway/audit/kafka_sink.h"
#include "gateway/decision_cache.h"
#include "gateway/key_topic.h"
#include "gateway/logging.h"
#include "gateway/metrics/gateway_metrics.h"

namespace kgw::gateway::audit {
namespace pa = policies::audit;
using clock = std::chrono::system_clock;
using mode = config::audit_settings;

struct audit_log::cell {
  std::string principal, topic;
  std::int16_t api_key = -1;
  std::atomic<std::uint64_t> requests{0}, bytes{0}, records{0};
  std::array<std::atomic<std::uint64_t>, policies::tally_count> counts{};
};

namespace {

std::atomic<std::uint64_t> next_serial{1};

constexpr std::size_t max_cells = 100000;  // (principal, topic, API) rows; past it, one "other" row
constexpr std::size_t batch_max = 512;     // events per write

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0 || !buf[0]) return "kafka-gateway";
  return buf;
}

}  // namespace

audit_log::audit_log(config::audit_settings settings, std::vector<std::unique_ptr<audit_sink>> sinks,
                     metrics::gateway_metrics* metrics)
    : settings_(std::move(settings)),
      source_(pa::event_source::make(settings_.instance.empty() ? host_name() : settings_.instance, clock::now())),
      serial_(next_serial++),
      sinks_(std::move(sinks)),
      metrics_(metrics),
      done_(sinks_.size(), 0),
      window_start_(clock::now()) {}

audit_log::~audit_log() { stop(); }

void audit_log::start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { run(); });
}

void audit_log::stop() {
  {
    std::lock_guard lk(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();  // the writer bounds its last pass itself (run)
}

std::string audit_log::trouble() const {
  std::string out;
  for (const auto& s : sinks_)
    if (!s->healthy()) out += std::string(out.empty() ? "" : "; ") + "audit " + s->name() + " sink down: " + s->last_error();
  if (held_.load(std::memory_order_relaxed) >= settings_.queue_capacity)
    out += std::string(out.empty() ? "" : "; ") + "audit queue full";
  return out;
}

void audit_log::reopen() {
  reopen_.store(true, std::memory_order_relaxed);
  wake_.notify_all();
}

void audit_log::push(std::string event) {
  const std::size_t hard = fails_closed() ? 2 * settings_.queue_capacity : settings_.queue_capacity;
  {
    std::lock_guard lk(mu_);
    if (held_.load(std::memory_order_relaxed) >= hard) {
      if (metrics_) metrics_->audit_dropped("queue_full", 1);
      return;
    }
    queue_.push_back(std::move(event));
    const auto n = held_.fetch_add(1, std::memory_order_relaxed) + 1;
    if (fails_closed() && n >= settings_.queue_capacity) accepting_.store(false, std::memory_order_relaxed);
  }
  wake_.notify_one();
}

audit_log::cell& audit_log::cell_for(const policies::decision& d) {
  // Per thread: key -> cell, for this log (a new log, in tests, starts a new cache).
  static thread_local decision_cache<cell*> c;
  auto [found, known] = c.find(serial_, d);
  if (known) return **found;
  std::lock_guard lk(cells_mu_);
  auto it = cells_.find(c.key());
  if (it == cells_.end()) {
    std::string key = c.key();
    if (cells_.size() >= max_cells) key = std::string("other") + '\0' + "other" + '\0' + std::to_string(d.api_key);
    it = cells_.find(key);
    if (it == cells_.end()) {
      auto made = std::make_unique<cell>();
      const bool folded = key != c.key();
      made->principal = folded ? "other" : std::string(d.principal);
      made->topic = folded ? "other" : std::string(d.resource);
      made->api_key = d.api_key;
      it = cells_.emplace(std::move(key), std::move(made)).first;
    }
  }
  *found = it->second.get();
  return *it->second;
}

void audit_log::on_decision(const policies::decision& d) {
  const bool per_request = settings_.traffic == mode::traffic_mode::per_request;
  const auto what = pa::classify(d, per_request);
  if (what == pa::audit_class::not_audited) return;
  if (what == pa::audit_class::rolled_up) {
    if (settings_.traffic == mode::traffic_mode::off) return;
    cell& c = cell_for(d);
    if (d.kind == policies::decision_kind::traffic) {
      c.requests.fetch_add(1, std::memory_order_relaxed);
      c.bytes.fetch_add(d.bytes, std::memory_order_relaxed);
      c.records.fetch_add(d.records, std::memory_order_relaxed);
    } else {
      for (std::size_t i = 0; i < policies::tally_count; ++i)
        if (d.counts[i]) c.counts[i].fetch_add(d.counts[i], std::memory_order_relaxed);
    }
    if (d.generation) generation_.store(d.generation, std::memory_order_relaxed);
    return;
  }
  if (d.kind == policies::decision_kind::traffic && settings_.traffic == mode::traffic_mode::off) return;
  std::string e;
  e.reserve(512);
  pa::append_event(d, source_, seq_.fetch_add(1, std::memory_order_relaxed), clock::now(), e);
  if (metrics_) metrics_->audit_event(pa::event_type(d));
  push(std::move(e));
}

void audit_log::roll_up(clock::time_point to) {
  std::vector<std::string> events;
  {
    std::lock_guard lk(cells_mu_);
    for (auto& [key, c] : cells_) {
      pa::traffic_row row;
      row.principal = c->principal;
      row.topic = c->topic;
      row.api_key = c->api_key;
      row.requests = c->requests.exchange(0, std::memory_order_relaxed);
      row.bytes = c->bytes.exchange(0, std::memory_order_relaxed);
      row.records = c->records.exchange(0, std::memory_order_relaxed);
      bool any = row.requests || row.bytes || row.records;
      for (std::size_t i = 0; i < policies::tally_count; ++i) {
        row.counts[i] = c->counts[i].exchange(0, std::memory_order_relaxed);
        any = any || row.counts[i];
      }
      if (!any) continue;
      std::string e;
      pa::append_rollup(row, window_start_, to, generation_.load(std::memory_order_relaxed), source_,
                        seq_.fetch_add(1, std::memory_order_relaxed), to, e);
      events.push_back(std::move(e));
    }
  }
  window_start_ = to;
  if (events.empty()) return;
  if (metrics_) metrics_->audit_event("kafka.gateway.traffic", events.size());
  // Rollups are bounded by the rows: they are queued even past the capacity (never dropped).
  std::lock_guard lk(mu_);
  for (auto& e : events) queue_.push_back(std::move(e));
  held_.fetch_add(events.size(), std::memory_order_relaxed);
}

// One pass over the batch: each sink writes what it has not yet written. A sink that fails
// keeps its place (fail: closed) or has the rest dropped and counted (fail: open).
void audit_log::write_pending() {
  const bool closed = fails_closed();
  std::size_t all_done = pending_.size();
  for (std::size_t i = 0; i < sinks_.size(); ++i) {
    auto& s = *sinks_[i];
    std::size_t& done = done_[i];
    if (done < pending_.size()) {
      const std::size_t took = s.write(std::span(pending_).subspan(done));
      if (took > 0 && metrics_) metrics_->audit_written(s.name(), took);
      done += took;
      if (done < pending_.size() && !closed) {
        if (metrics_) metrics_->audit_dropped("sink_failed", pending_.size() - done);
        done = pending_.size();
      }
    }
    all_done = std::min(all_done, done);
  }
  if (all_done == pending_.size()) {
    held_.fetch_sub(pending_.size(), std::memory_order_relaxed);
    pending_.clear();
    std::fill(done_.begin(), done_.end(), 0);
  }
}

void audit_log::update_gate() {
  bool ok = true;
  for (const auto& s : sinks_) {
    const bool up = s->healthy();
    if (metrics_) metrics_->audit_sink_up(s->name(), up);
    ok = ok && up;
  }
  const std::size_t held = held_.load(std::memory_order_relaxed);
  if (metrics_) metrics_->audit_queue(held);
  if (!fails_closed()) return;
  const bool accept = ok && held < settings_.queue_capacity;
  if (accept == accepting_.exchange(accept, std::memory_order_relaxed)) return;
  if (accept)
    log::audit().info("audit trail writing again: Produce and Fetch are served again");
  else
    log::audit().warn("audit trail cannot take events ({}): Produce and Fetch are answered KAFKA_STORAGE_ERROR "
                 "(audit.fail: closed)",
                 trouble());
}

void audit_log::run() {
  const auto tick = std::chrono::milliseconds(200);
  auto next_rollup = std::chrono::steady_clock::now() + settings_.rollup_interval;
  std::chrono::steady_clock::time_point stop_by{};
  for (;;) {
    bool stopping = false;
    {
      std::unique_lock lk(mu_);
      const bool retrying = !pending_.empty();  // a sink failed: try again after a tick
      wake_.wait_until(lk, std::min(next_rollup, std::chrono::steady_clock::now() + tick), [&] {
        return stopping_ || reopen_.load(std::memory_order_relaxed) || (!retrying && !queue_.empty());
      });
      stopping = stopping_;
      if (pending_.empty())
        while (!queue_.empty() && pending_.size() < batch_max) {
          pending_.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
    }
    if (reopen_.exchange(false, std::memory_order_relaxed))
      for (auto& s : sinks_) s->reopen();
    for (auto& s : sinks_) {
      s->poll();
      std::vector<std::string> failed;
      s->take_failed(failed);
      if (failed.empty()) continue;
      // Delivered to this sink's client but not to the cluster: again (closed) or counted (open).
      if (!fails_closed()) {
        if (metrics_) metrics_->audit_dropped("sink_failed", failed.size());
        continue;
      }
      std::lock_guard lk(mu_);
      for (auto it = failed.rbegin(); it != failed.rend(); ++it) queue_.push_front(std::move(*it));
      held_.fetch_add(failed.size(), std::memory_order_relaxed);
    }
    const auto now = std::chrono::steady_clock::now();
    if (now >= next_rollup || stopping) {
      roll_up(clock::now());
      next_rollup = now + settings_.rollup_interval;
    }
    if (!pending_.empty()) write_pending();
    update_gate();
    if (stopping) {
      if (stop_by == std::chrono::steady_clock::time_point{}) stop_by = now + std::chrono::seconds(5);
      bool empty;
      {
        std::lock_guard lk(mu_);
        empty = queue_.empty() && pending_.empty();
      }
      if (empty || now >= stop_by) {
        for (auto& s : sinks_) s->flush(static_cast<int>(std::max<long long>(
                                   0, std::chrono::duration_cast<std::chrono::milliseconds>(stop_by - now).count())));
        if (!empty) log::audit().warn("audit trail: {} event(s) not written at shutdown", held_.load());
        return;
      }
    }
  }
}

std::expected<std::unique_ptr<audit_log>, std::string> make_audit_log(const config::gateway_config& cfg,
                                                                      const std::string& bootstrap,
                                                                      metrics::gateway_metrics* metrics) {
  const auto& a = *cfg.audit;
  std::vector<std::unique_ptr<audit_sink>> sinks;
  if (a.file) {
    auto f = std::make_unique<file_sink>(*a.file);
    if (!f->healthy()) return std::unexpected("audit.file " + a.file->path + ": " + f->last_error());
    sinks.push_back(std::move(f));
  }
  if (a.kafka) {
    std::string servers;
    for (const auto& b : a.kafka->bootstrap) servers += (servers.empty() ? "" : ",") + b.str();
    auto k = std::make_unique<kafka_sink>(a.kafka->topic, servers.empty() ? bootstrap : servers,
                                          upstream_client_settings(cfg));
    if (auto why = k->start(); !why.empty()) return std::unexpected("audit.kafka: " + why);
    sinks.push_back(std::move(k));
  }
  return std::make_unique<audit_log>(a, std::move(sinks), metrics);
}

}  // namespace kgw::gateway::audit
