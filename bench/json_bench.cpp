// json_bench: the JSON work of masking and row filtering, on the benchmark's records
// (bench_records.h), the project's parser against simdjson (Debian's libsimdjson-dev), one
// thread, no I/O. Per record each parser must validate the record and find email, phone, name
// and consent.marketing; what each can give back differs, and the table says so:
//   kgw json_doc   validates all of it (RFC 8259, UTF-8), gives each value's byte span in the
//                  record (masks edit in place, the rest of the record is copied as it is)
//   simdjson dom   validates all of it, gives the values (strings unescaped into its own
//                  buffer): no spans, so masking would re-serialize the whole record
//   simdjson od    On-Demand: UTF-8 and structure checked, values only where visited; gives
//                  spans (raw_json_token); skipped values (ltv, notes) are not validated
// Usage: json_bench [--record-size B] [--seconds S]
#include <simdjson.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "bench/bench_records.h"
#include "policies/json/json_doc.h"

#define KGW_STR2(x) #x
#define KGW_STR(x) KGW_STR2(x)

namespace {

using clock_type = std::chrono::steady_clock;

struct result {
  double ns_per_record = 0;
  double mb_per_s = 0;
  std::size_t found = 0;  // fields found per pass (a check that each parser did the work)
};

template <class F>
result measure(const std::vector<kgw::bench::bench_record>& pool, double seconds, F&& one) {
  std::size_t bytes = 0, records = 0, found = 0;
  for (std::size_t i = 0; i < pool.size(); ++i) found += one(i);  // warm-up, and the per-pass count
  const auto start = clock_type::now();
  const auto until = start + std::chrono::duration<double>(seconds);
  std::size_t sink = 0;
  while (clock_type::now() < until) {
    for (std::size_t i = 0; i < pool.size(); ++i) sink += one(i);
    records += pool.size();
    for (const auto& r : pool) bytes += r.value.size();
  }
  const double s = std::chrono::duration<double>(clock_type::now() - start).count();
  if (sink == 0) std::puts("");  // keeps the work observable
  return {s * 1e9 / static_cast<double>(records), static_cast<double>(bytes) / s / 1e6, found};
}

}  // namespace

int main(int argc, char** argv) {
  int record_size = 1024;
  double seconds = 2.0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--record-size") record_size = std::atoi(argv[i + 1]);
    else if (a == "--seconds") seconds = std::atof(argv[i + 1]);
    else {
      std::fprintf(stderr, "usage: json_bench [--record-size B] [--seconds S]\n");
      return 2;
    }
  }
  const auto pool = kgw::bench::make_records(record_size);
  // simdjson reads SIMDJSON_PADDING bytes past the end: padded copies, made before timing.
  std::vector<simdjson::padded_string> padded;
  padded.reserve(pool.size());
  for (const auto& r : pool) padded.emplace_back(r.value);

  using kgw::policies::json::json_doc;
  using kgw::policies::json::npos;
  json_doc doc;
  const result ours = measure(pool, seconds, [&](std::size_t i) -> std::size_t {
    if (!doc.parse(pool[i].value)) return 0;
    std::size_t n = 0;
    for (const char* k : {"email", "phone", "name"}) n += doc.find_member(json_doc::root(), k) != npos;
    const auto consent = doc.find_member(json_doc::root(), "consent");
    n += consent != npos && doc.find_member(consent, "marketing") != npos;
    return n;
  });

  simdjson::dom::parser dom;
  const result with_dom = measure(pool, seconds, [&](std::size_t i) -> std::size_t {
    simdjson::dom::element e;
    if (dom.parse(padded[i]).get(e)) return 0;
    std::size_t n = 0;
    std::string_view s;
    for (const char* k : {"email", "phone", "name"}) n += !e[k].get(s);
    bool b;
    n += !e["consent"]["marketing"].get(b);
    return n;
  });

  simdjson::ondemand::parser od;
  const result with_od = measure(pool, seconds, [&](std::size_t i) -> std::size_t {
    simdjson::ondemand::document d;
    if (od.iterate(padded[i]).get(d)) return 0;
    simdjson::ondemand::object o;
    if (d.get_object().get(o)) return 0;
    std::size_t n = 0;
    for (auto field : o) {
      std::string_view key;
      if (field.unescaped_key().get(key)) return 0;
      if (key == "email" || key == "phone" || key == "name") {
        std::string_view span;
        if (!field.value().raw_json_token().get(span)) ++n;
      } else if (key == "consent") {
        bool b;
        if (!field.value()["marketing"].get(b)) ++n;
      }
    }
    return n;
  });

  std::printf("json_bench: %zu records of %d B, %.1f s per parser, one thread (simdjson %s, %s)\n", pool.size(),
              record_size, seconds, KGW_STR(SIMDJSON_VERSION), simdjson::get_active_implementation()->name().data());
  std::printf("| parser | ns per record | MB/s | fields found per pass | validates | spans for in-place edits |\n");
  std::printf("|---|---:|---:|---:|---|---|\n");
  std::printf("| kgw json_doc | %.0f | %.0f | %zu | all | yes |\n", ours.ns_per_record, ours.mb_per_s, ours.found);
  std::printf("| simdjson dom | %.0f | %.0f | %zu | all | no |\n", with_dom.ns_per_record, with_dom.mb_per_s, with_dom.found);
  std::printf("| simdjson on-demand | %.0f | %.0f | %zu | UTF-8, structure; visited values | yes |\n",
              with_od.ns_per_record, with_od.mb_per_s, with_od.found);
  return 0;
}
