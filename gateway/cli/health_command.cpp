#include "gateway/cli/health_command.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "config/loader.h"
#include "gateway/cli/http_client.h"
#include "gateway/cli_args.h"
#include "gateway/config_extensions.h"

namespace kgw::gateway {
namespace {

constexpr const char* usage_text =
    "usage: kafka-gateway health [--config FILE] [--ready]\n"
    "       kafka-gateway health --url URL [--token-file FILE] [--ca FILE]\n"
    "\n"
    "Checks a running gateway (a container HEALTHCHECK or probe). Exit 0 healthy, 1 not.\n"
    "  --config FILE      its configuration: with an admin listener, GET /healthz there; without\n"
    "                     one, connect to every listener's bootstrap port (default: the file\n"
    "                     KAFKA_GATEWAY_CONFIG names, as in the container image)\n"
    "  --ready            /readyz instead (config loaded, upstream and KMS reachable): needs the\n"
    "                     admin listener\n"
    "  --url URL          GET this URL instead (http:// or https://); healthy on HTTP 200\n"
    "  --token-file FILE  bearer token for --url\n"
    "  --ca FILE          CA certificate(s) to check an https:// --url with\n";

struct options {
  std::string config, url, token_file, ca;
  bool ready = false, help = false;
};

// Where a probe beside the gateway reaches an address it listens on: a wildcard address means
// this host's loopback.
std::string local_host(const std::string& h) {
  if (h.empty() || h == "0.0.0.0") return "127.0.0.1";
  if (h == "::") return "::1";
  return h;
}

std::string url_host(const std::string& h) { return h.find(':') != std::string::npos ? "[" + h + "]" : h; }

int unhealthy(const std::string& why) {
  std::fprintf(stderr, "health: %s\n", why.c_str());
  return 1;
}

int check_url(const std::string& url, const std::string& token, const std::string& ca, bool verify) {
  auto a = http_get(url, token, ca, verify);
  if (!a) return unhealthy(a.error());
  if (a->status != 200) {
    std::string body = a->body.substr(0, 500);
    while (!body.empty() && body.back() == '\n') body.pop_back();
    return unhealthy(url + ": HTTP " + std::to_string(a->status) + " " + a->reason + (body.empty() ? "" : ": " + body));
  }
  std::printf("%s: ok\n", url.c_str());
  return 0;
}

int check_listeners(const config::gateway_config& c) {
  boost::asio::io_context io;
  for (const auto& l : c.effective_listeners()) {
    const std::string host = local_host(l.listen.host);
    try {
      boost::beast::tcp_stream s(io);
      s.expires_after(std::chrono::seconds(5));
      boost::asio::ip::tcp::resolver resolver(io);
      s.connect(resolver.resolve(host, std::to_string(l.listen.port)));
    } catch (const std::exception& e) {
      return unhealthy("listener " + l.name + " (" + host + ":" + std::to_string(l.listen.port) + "): " + e.what());
    }
  }
  std::printf("every listener accepts connections\n");
  return 0;
}

}  // namespace

int run_health_command(int argc, char** argv) {
  options o;
  cli_args args(argc, argv);
  parsed r;
  while (r && args.next()) {
    const auto a = args.name();
    if (a == "-h" || a == "--help") o.help = true;
    else if (a == "--config") r = args.value_into("--config", o.config);
    else if (a == "--url") r = args.value_into("--url", o.url);
    else if (a == "--token-file") r = args.value_into("--token-file", o.token_file);
    else if (a == "--ca") r = args.value_into("--ca", o.ca);
    else if (a == "--ready") o.ready = true;
    else r = bad("unknown argument " + std::string(args.raw()));
  }
  if (r && o.config.empty() && o.url.empty())
    if (const char* env = std::getenv("KAFKA_GATEWAY_CONFIG"); env && *env) o.config = env;
  if (r && !o.help && o.config.empty() == o.url.empty())
    r = bad("give either --config FILE (or KAFKA_GATEWAY_CONFIG) or --url URL");
  if (r && !o.url.empty() && o.ready) r = bad("--ready goes with --config (give the /readyz URL to --url)");
  if (auto code = early_exit("health", r, o.help, usage_text)) return *code;
  if (!o.url.empty()) {
    std::string token;
    if (!o.token_file.empty()) {
      std::ifstream in(o.token_file);
      if (!in) return unhealthy("cannot read " + o.token_file);
      std::getline(in, token);
    }
    return check_url(o.url, token, o.ca, true);
  }
  auto cfg = config::load_file(o.config, config_extensions());
  if (!cfg) return unhealthy(cfg.error());
  if (!cfg->admin) {
    if (o.ready) return unhealthy("--ready needs the admin listener (an `admin:` section in " + o.config + ")");
    return check_listeners(*cfg);
  }
  const auto& admin = *cfg->admin;
  const std::string url = std::string(admin.tls ? "https://" : "http://") + url_host(local_host(admin.listen.host)) +
                          ":" + std::to_string(admin.listen.port) + (o.ready ? "/readyz" : "/healthz");
  return check_url(url, admin.bearer_token, "", false);
}

}  // namespace kgw::gateway
