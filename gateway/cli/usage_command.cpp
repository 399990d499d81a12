#include "gateway/cli/usage_command.h"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gateway/cli/http_client.h"
#include "gateway/cli_args.h"
#include "gateway/usage_report.h"

namespace kgw::gateway {
namespace {

constexpr const char* usage_text =
    "usage: kafka-gateway usage --metrics URL [--over DURATION] [--token-file FILE] [--ca FILE] [--csv]\n"
    "       kafka-gateway usage --audit FILE [--audit FILE ...] [--from TIME] [--to TIME] [--csv]\n"
    "\n"
    "Records and bytes each principal produced and fetched per topic (chargeback).\n"
    "  --metrics URL      a gateway's /metrics (http://127.0.0.1:9644/metrics, or https://)\n"
    "  --over DURATION    two scrapes that far apart (30s, 5m, 1h): the period's use; without it,\n"
    "                     the totals since the gateway started\n"
    "  --token-file FILE  the admin listener's bearer token\n"
    "  --ca FILE          CA certificate(s) to check an https:// admin listener with\n"
    "  --audit FILE       audit trail file(s) (JSON lines); several instances' files add up\n"
    "  --from, --to TIME  the period, as the events write time (2026-12-01T00:00:00Z); rollups\n"
    "                     count when their window lies inside it\n"
    "  --csv              principal,topic,api,records,bytes instead of a table\n";

struct options {
  std::string metrics, token_file, ca, from, to;
  std::vector<std::string> audit;
  std::chrono::milliseconds over{0};
  bool csv = false, help = false;
};

std::optional<std::chrono::milliseconds> duration_of(std::string_view s) {
  std::size_t n = 0;
  while (n < s.size() && s[n] >= '0' && s[n] <= '9') ++n;
  if (n == 0) return std::nullopt;
  const long long v = std::stoll(std::string(s.substr(0, n)));
  const std::string_view unit = s.substr(n);
  if (unit == "ms") return std::chrono::milliseconds(v);
  if (unit == "s" || unit.empty()) return std::chrono::seconds(v);
  if (unit == "m") return std::chrono::minutes(v);
  if (unit == "h") return std::chrono::hours(v);
  return std::nullopt;
}

parsed parse(int argc, char** argv, options& o) {
  cli_args args(argc, argv);
  while (args.next()) {
    const auto a = args.name();
    auto value = [&](const char* what, std::string& into) { return args.value_into(what, into); };
    parsed r;
    std::string v;
    if (a == "-h" || a == "--help") o.help = true;
    else if (a == "--metrics") r = value("--metrics", o.metrics);
    else if (a == "--token-file") r = value("--token-file", o.token_file);
    else if (a == "--ca") r = value("--ca", o.ca);
    else if (a == "--from") r = value("--from", o.from);
    else if (a == "--to") r = value("--to", o.to);
    else if (a == "--csv") o.csv = true;
    else if (a == "--audit") {
      r = value("--audit", v);
      o.audit.push_back(v);
    } else if (a == "--over") {
      r = value("--over", v);
      if (r) {
        auto d = duration_of(v);
        if (!d || d->count() <= 0) return bad("--over needs a duration such as 30s, 5m or 1h");
        o.over = *d;
      }
    } else {
      return bad("unknown argument " + std::string(args.raw()));
    }
    if (!r) return r;
  }
  if (o.help) return {};
  if (o.metrics.empty() == o.audit.empty()) return bad("give either --metrics URL or --audit FILE");
  if (!o.metrics.empty() && (!o.from.empty() || !o.to.empty())) return bad("--from/--to go with --audit");
  if (!o.audit.empty() && o.over.count() > 0) return bad("--over goes with --metrics");
  return {};
}

std::expected<std::string, std::string> read_whole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::unexpected("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::expected<usage_table, std::string> scrape(const options& o, const std::string& token) {
  auto body = http_get_body(o.metrics, token, o.ca);
  if (!body) return std::unexpected(body.error());
  auto t = usage_from_metrics(*body);
  if (!t) return std::unexpected(o.metrics + ": " + t.error());
  return t;
}

}  // namespace

int run_usage_command(int argc, char** argv) {
  options o;
  const auto args = parse(argc, argv, o);
  if (auto code = early_exit("usage", args, o.help, usage_text)) return *code;
  usage_table table;
  if (!o.audit.empty()) {
    for (const auto& f : o.audit) {
      auto text = read_whole(f);
      if (!text) {
        std::fprintf(stderr, "usage: %s\n", text.error().c_str());
        return 1;
      }
      if (auto added = add_usage_from_audit(*text, o.from, o.to, table); !added) {
        std::fprintf(stderr, "usage: %s: %s\n", f.c_str(), added.error().c_str());
        return 1;
      }
    }
  } else {
    std::string token;
    if (!o.token_file.empty()) {
      auto t = read_whole(o.token_file);
      if (!t) {
        std::fprintf(stderr, "usage: %s\n", t.error().c_str());
        return 1;
      }
      token = *t;
      while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();
    }
    auto first = scrape(o, token);
    if (!first) {
      std::fprintf(stderr, "usage: %s\n", first.error().c_str());
      return 1;
    }
    table = std::move(*first);
    if (o.over.count() > 0) {
      std::this_thread::sleep_for(o.over);
      auto second = scrape(o, token);
      if (!second) {
        std::fprintf(stderr, "usage: %s\n", second.error().c_str());
        return 1;
      }
      table = usage_between(table, *second);
    }
  }
  std::fputs(format_usage(table, o.csv).c_str(), stdout);
  return 0;
}

}  // namespace kgw::gateway
