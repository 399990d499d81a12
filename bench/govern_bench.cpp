// govern_bench: the user-space CPU of governing Fetch records on one thread, no sockets: one
// partition's records field (batches of JSON customer records as gateway_bench writes them, email
// and phone encrypted on produce) through the record governor, the way a governed Fetch response
// goes (CRC check, decode, the stages, re-encode, CRC), per mode:
//   decrypt   the reader may decrypt: both fields opened (AES-256-GCM), the batch re-encoded
//   tokens    the reader may not: the tokens go as stored, the batch is copied unchanged
//   fields    each encrypted field opened by itself, no JSON, no batches
// gateway_bench's gateway CPU per GB moves with the machine's kernel and scheduling noise by
// 20% and more from run to run; this does not, so it is what to compare two builds of the
// record path with. Reported: thread CPU per record and per GB of records read, and the fields
// each pass opened (checked: every field of every record, so nothing is measured that did not
// happen).
// Usage: govern_bench [--seconds S] [--batches B] [--batch-records N] [--mode decrypt|tokens|fields]
//                     [--passes P]
// --mode: that one only, for a profiler. --passes: exactly P timed passes instead of --seconds,
// for an instruction count that does not move with the machine (valgrind --tool=callgrind
// --toggle-collect='*record_governor::govern*'). Built with the gateway, run by hand.
// Keys: the tests' in-process KMS and key store (tests/support), so nothing else is started.
// Threading: single-threaded, but the key manager follows its (in-memory) store on its own thread.
#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "bench/bench_records.h"
#include "policies/encryption/field_stages.h"
#include "policies/record_governor.h"
#include "protocol/record_batch.h"
#include "tests/support/memory_key_store.h"
#include "tests/support/test_kms.h"

namespace {

namespace enc = kgw::policies::encryption;
namespace proto = kgw::protocol;
using namespace std::chrono_literals;

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "govern_bench: %s\n", msg.c_str());
  std::exit(1);
}

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

proto::bytes_view bytes(std::string_view s) { return {reinterpret_cast<const std::byte*>(s.data()), s.size()}; }

// Runs `pass` exactly `fixed` times, or (fixed 0) until `seconds` of this thread's CPU went by;
// the passes run and the thread CPU seconds they took.
template <class Pass>
std::pair<std::uint64_t, double> timed_passes(Pass&& pass, long fixed, double seconds) {
  std::uint64_t passes = 0;
  const double t0 = thread_cpu_seconds();
  double t = t0;
  do {
    pass();
    ++passes;
    if (passes % 16 == 0) t = thread_cpu_seconds();
  } while (fixed > 0 ? passes < static_cast<std::uint64_t>(fixed) : t - t0 < seconds);
  return {passes, thread_cpu_seconds() - t0};
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 2;
  int batches = 8, batch_records = 64;
  std::string only;  // one mode (for a profiler), or all
  long fixed_passes = 0;  // instead of --seconds: exactly this many passes (for callgrind)
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc)
      die("usage: govern_bench [--seconds S] [--batches B] [--batch-records N] [--mode decrypt|tokens|fields] "
          "[--passes P]");
    const char* v = argv[++i];
    if (a == "--seconds") seconds = std::atof(v);
    else if (a == "--batches") batches = std::atoi(v);
    else if (a == "--batch-records") batch_records = std::atoi(v);
    else if (a == "--mode") only = v;
    else if (a == "--passes") fixed_passes = std::atol(v);
    else die("unknown argument " + a);
  }
  if (seconds <= 0 || batches < 1 || batch_records < 1) die("arguments must be positive");

  const std::string topic = "bench-encrypt";
  kgw::policies::encryption_rule rule;
  rule.kek = "kek-1";
  rule.fields = {"email", "phone"};
  auto compiled = enc::compiled_rule::compile(rule);
  if (!compiled) die(compiled.error());
  enc::key_limits limits;
  limits.follow_interval = 20ms;
  auto keys = std::make_shared<enc::key_manager>(
      std::make_shared<kgw::testing::test_kms>(),
      std::make_unique<kgw::testing::memory_key_store>(std::make_shared<kgw::testing::shared_key_log>()), limits);
  if (auto s = keys->start(); !s) die(s.error());

  // The records, sealed as the produce path seals them (keys made when the sealer asks).
  const auto pool = kgw::bench::make_records(1024);
  kgw::policies::record_arena arena;
  std::vector<std::string> sealed;
  const int total = batches * batch_records;
  for (int i = 0; i < total; ++i) {
    kgw::policies::record_in in;
    in.value = pool[static_cast<std::size_t>(i) % pool.size()].value;
    kgw::policies::record_result out;
    for (int attempt = 0;; ++attempt) {
      std::vector<enc::key_scope> missing;
      enc::record_sealer(**compiled, topic, *keys, missing).apply(in, out, arena);
      if (out.what != kgw::policies::verdict::retry) break;
      if (attempt > 0) die("no data key after preparing one");
      std::promise<std::expected<void, std::string>> made;
      keys->prepare(missing, [&](std::expected<void, std::string> r) { made.set_value(std::move(r)); });
      if (auto r = made.get_future().get(); !r) die(r.error());
    }
    if (!out.value_changed || !out.value) die("the sealer left a record as it was");
    sealed.emplace_back(*out.value);
  }

  // One partition's records field: `batches` uncompressed v2 batches, offsets running on.
  std::vector<std::byte> field;
  for (int b = 0; b < batches; ++b) {
    std::vector<proto::record_to_write> w(static_cast<std::size_t>(batch_records));
    for (int r = 0; r < batch_records; ++r) {
      w[static_cast<std::size_t>(r)].offset_delta = r;
      w[static_cast<std::size_t>(r)].value = bytes(sealed[static_cast<std::size_t>(b * batch_records + r)]);
    }
    proto::batch_header h;
    h.base_offset = static_cast<std::int64_t>(b) * batch_records;
    h.last_offset_delta = batch_records - 1;
    h.base_timestamp = h.max_timestamp = 1'700'000'000'000;
    if (auto e = proto::encode_batch(h, false, w, field); !e) die(e.error());
  }

  std::printf("govern_bench: %d batches x %d records (%.0f KiB records field), %.1f s per mode, one thread\n", batches,
              batch_records, static_cast<double>(field.size()) / 1024, seconds);
  std::printf("| mode | ns per record | CPU-s per GB read | fields opened per pass |\n|---|---:|---:|---:|\n");
  for (auto m : {enc::record_opener::mode::decrypt, enc::record_opener::mode::token}) {
    const char* name = m == enc::record_opener::mode::decrypt ? "decrypt" : "tokens";
    if (!only.empty() && only != name) continue;
    auto opener = enc::record_opener::compile(*compiled, topic, m, "govern-bench-hash-key (not a secret)", keys);
    if (!opener) die(opener.error());
    const kgw::policies::record_stage* stage = opener->get();
    kgw::policies::record_governor governor;
    std::vector<std::byte> out;
    out.reserve(field.size() * 2);
    auto pass = [&] {
      out.clear();
      kgw::policies::tally_counts counts{};
      auto r = governor.govern(field, std::span(&stage, 1), out, counts);
      if (!r) die("govern: " + r.error().why);
      return counts[static_cast<std::size_t>(kgw::policies::tally::fields_decrypted)];
    };
    // Warm up: a key the manager has not read back from its store yet is a retry.
    for (int i = 0; i < 100; ++i) {
      kgw::policies::tally_counts ignored{};
      if (governor.govern(field, std::span(&stage, 1), out, ignored)) break;
      std::this_thread::sleep_for(20ms);
    }
    const std::uint64_t opened = pass();
    const std::uint64_t want = m == enc::record_opener::mode::decrypt ? 2u * static_cast<std::uint64_t>(total) : 0;
    if (opened != want) die("a pass opened " + std::to_string(opened) + " fields, expected " + std::to_string(want));
    const auto [passes, t] = timed_passes(pass, fixed_passes, seconds);
    const double records = static_cast<double>(passes) * total;
    std::printf("| %s | %.0f | %.3f | %llu |\n", name,
                t / records * 1e9, t / (static_cast<double>(passes) * static_cast<double>(field.size()) / 1e9),
                static_cast<unsigned long long>(opened));
  }
  // The fields alone: each token opened by itself (open_token_append: split, base64, associated
  // data, AES-256-GCM through EVP), without JSON or batches. The gap to `decrypt` is the rest of
  // the record path.
  if (only.empty() || only == "fields") {
    struct field_token {
      std::string_view field, text;
      std::shared_ptr<const enc::data_key> key;
    };
    std::vector<field_token> tokens;
    for (const auto& v : sealed)
      for (std::string_view f : {"email", "phone"}) {
        const std::string quoted = "\"" + std::string(f) + "\":\"";
        const auto at = v.find(quoted);
        const auto end = at == std::string::npos ? at : v.find('"', at + quoted.size());
        if (end == std::string::npos) die("no " + std::string(f) + " token in a sealed record");
        const std::string_view text = std::string_view(v).substr(at + quoted.size(), end - at - quoted.size());
        const auto id = enc::token_key_id(text);
        auto k = id ? keys->opening_key(*id) : enc::opened_key{};
        if (k.state != enc::key_state::ready) die("the key of a sealed field is not ready");
        tokens.push_back({f, text, std::move(k.key)});
      }
    std::string plain;
    const auto [passes, t] = timed_passes(
        [&] {
          for (const auto& tok : tokens) {
            plain.clear();
            if (!enc::open_token_append(*tok.key, {topic, tok.field, std::nullopt}, tok.text, plain))
              die("a field did not open");
          }
        },
        fixed_passes, seconds);
    std::printf("| fields alone (the record's two, open_token_append) | %.0f | - | %zu |\n",
                t / (static_cast<double>(passes) * total) * 1e9, tokens.size());
  }
  keys->stop();
  return 0;
}
