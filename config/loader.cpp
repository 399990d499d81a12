// YAML -> gateway_config, strict: unknown keys and wrong types are errors, each reported as
// "file:line:col: message" (the typed reads are config/yaml_reader.h's).
#include "config/loader.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <initializer_list>
#include <set>
#include <tuple>

#include "config/bounded_file.h"
#include "config/log_levels.h"
#include "config/policy_loader.h"
#include "config/yaml_reader.h"

namespace kgw::config {
namespace {

class parser : yaml_reader {
 public:
  parser(std::string source, std::string_view text, const extensions& checks)
      : yaml_reader(std::move(source), text, "scalar"), checks_(checks) {}

  host_port endpoint(const YAML::Node& n, const std::string& what) const { return endpoint(scalar(n, what), n, what); }

  // `at` is the node errors point to.
  host_port endpoint(const std::string& s, const YAML::Node& n, const std::string& what) const {
    const auto colon = s.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == s.size())
      fail(n, what + " must be host:port, got '" + s + "'");
    host_port hp;
    hp.host = s.substr(0, colon);
    if (hp.host.size() > 2 && hp.host.front() == '[' && hp.host.back() == ']') hp.host = hp.host.substr(1, hp.host.size() - 2);
    unsigned port = 0;
    const char* b = s.data() + colon + 1;
    auto [p, ec] = std::from_chars(b, s.data() + s.size(), port);
    if (ec != std::errc{} || p != s.data() + s.size() || port == 0 || port > 65535)
      fail(n, what + " has an invalid port in '" + s + "'");
    hp.port = static_cast<std::uint16_t>(port);
    return hp;
  }

  security_protocol protocol(const YAML::Node& n, const std::string& what) const {
    const std::string s = scalar(n, what);
    const auto p = lookup<security_protocol>(s, {{"PLAINTEXT", security_protocol::plaintext},
                                                 {"SSL", security_protocol::ssl},
                                                 {"SASL_PLAINTEXT", security_protocol::sasl_plaintext},
                                                 {"SASL_SSL", security_protocol::sasl_ssl}});
    if (!p) fail(n, what + " must be one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL, got '" + s + "'");
    return *p;
  }

  std::pair<std::uint16_t, std::uint16_t> port_range(const YAML::Node& n, const std::string& what) const {
    const std::string s = scalar(n, what);
    unsigned a = 0, b = 0;
    const auto dash = s.find('-');
    bool ok = dash != std::string::npos;
    if (ok) {
      auto r1 = std::from_chars(s.data(), s.data() + dash, a);
      auto r2 = std::from_chars(s.data() + dash + 1, s.data() + s.size(), b);
      ok = r1.ec == std::errc{} && r1.ptr == s.data() + dash && r2.ec == std::errc{} && r2.ptr == s.data() + s.size();
    }
    if (!ok || a == 0 || b > 65535 || a > b) fail(n, what + " must be a range FIRST-LAST of ports, got '" + s + "'");
    return {static_cast<std::uint16_t>(a), static_cast<std::uint16_t>(b)};
  }

  // Keys shared by both TLS sides; `side_keys` are the ones only this side has.
  void tls_common(const YAML::Node& t, const std::string& what, tls_settings& s,
                  std::initializer_list<const char*> side_keys) const {
    require_map(t, what);
    std::vector<const char*> allowed{"certificate", "key",     "key_password", "ca",
                                     "min_version", "ciphers", "ciphersuites", "curves"};
    allowed.insert(allowed.end(), side_keys);
    only_keys(t, what, allowed);
    if (auto n = t["certificate"]) s.certificate_pem = secret(n, what + ".certificate", {.bare_is_path = true});
    if (auto n = t["key"]) s.key_pem = secret(n, what + ".key", {.bare_is_path = true});
    if (auto n = t["key_password"]) s.key_password = secret(n, what + ".key_password", {});
    if (auto n = t["ca"]) s.ca_pem = secret(n, what + ".ca", {.bare_is_path = true});
    if (auto n = t["min_version"]) {
      s.min_version = scalar(n, what + ".min_version");
      if (s.min_version != "TLSv1.2" && s.min_version != "TLSv1.3")
        fail(n, what + ".min_version must be TLSv1.2 or TLSv1.3");
    }
    if (auto n = t["ciphers"]) s.ciphers = scalar(n, what + ".ciphers");
    if (auto n = t["ciphersuites"]) s.ciphersuites = scalar(n, what + ".ciphersuites");
    if (auto n = t["curves"]) s.curves = scalar(n, what + ".curves");
    if (s.certificate_pem.empty() != s.key_pem.empty())
      fail(t, what + " needs both 'certificate' and 'key' (or neither)");
  }

  tls_server_settings tls_server(const YAML::Node& t, const std::string& what) const {
    tls_server_settings s;
    tls_common(t, what, s, {"client_auth", "handshake_timeout"});
    if (s.certificate_pem.empty()) fail(t, what + " needs 'certificate' and 'key'");
    if (auto n = t["client_auth"]) {
      const std::string v = scalar(n, what + ".client_auth");
      const auto mode = lookup<client_auth_mode>(v, {{"none", client_auth_mode::none},
                                                     {"requested", client_auth_mode::requested},
                                                     {"required", client_auth_mode::required}});
      if (!mode) fail(n, what + ".client_auth must be none, requested or required");
      s.client_auth = *mode;
      if (s.client_auth != client_auth_mode::none && s.ca_pem.empty())
        fail(n, what + ".client_auth " + v + " needs 'ca' to verify client certificates");
    }
    if (auto n = t["handshake_timeout"]) s.handshake_timeout = duration(n, what + ".handshake_timeout");
    return s;
  }

  tls_client_settings tls_client(const YAML::Node& t, const std::string& what) const {
    tls_client_settings s;
    tls_common(t, what, s, {"verify_hostname", "server_name"});
    if (auto n = t["verify_hostname"]) s.verify_hostname = boolean(n, what + ".verify_hostname");
    if (auto n = t["server_name"]) s.server_name = scalar(n, what + ".server_name");
    return s;
  }

  static bool known_mechanism(const std::string& m) {
    return m == "PLAIN" || m == "SCRAM-SHA-256" || m == "SCRAM-SHA-512" || m == "OAUTHBEARER";
  }

  sasl_server_settings sasl_server(const YAML::Node& s, const std::string& what) const {
    require_map(s, what);
    only_keys(s, what, {"mechanisms", "oauthbearer", "auth_timeout"});
    sasl_server_settings out;
    const auto mechs = s["mechanisms"];
    if (!mechs) fail(s, what + " needs 'mechanisms' (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER)");
    out.mechanisms = string_list(mechs, what + ".mechanisms");
    if (out.mechanisms.empty()) fail(mechs, what + ".mechanisms must not be empty");
    for (const auto& m : out.mechanisms)
      if (!known_mechanism(m))
        fail(mechs, what + ".mechanisms: unknown mechanism '" + m +
                        "' (supported: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER)");
    const bool wants_oauth = std::find(out.mechanisms.begin(), out.mechanisms.end(), "OAUTHBEARER") != out.mechanisms.end();
    if (auto o = s["oauthbearer"]) {
      if (!wants_oauth) fail(o, what + ".oauthbearer is set but OAUTHBEARER is not in the mechanisms");
      require_map(o, what + ".oauthbearer");
      only_keys(o, what + ".oauthbearer", {"jwks", "issuer", "audience", "principal_claim", "clock_skew"});
      oauthbearer_settings ob;
      const auto jwks = o["jwks"];
      if (!jwks) fail(o, what + ".oauthbearer needs 'jwks' (the JWKS file with the issuer's public keys)");
      ob.jwks_json = secret(jwks, what + ".oauthbearer.jwks", {.bare_is_path = true});
      if (checks_.jwks)
        if (auto ok = checks_.jwks(ob.jwks_json); !ok) fail(jwks, what + ".oauthbearer.jwks: " + ok.error());
      if (auto n = o["issuer"]) ob.issuer = scalar(n, what + ".oauthbearer.issuer");
      if (auto n = o["audience"]) ob.audiences = string_list(n, what + ".oauthbearer.audience");
      if (auto n = o["principal_claim"]) ob.principal_claim = scalar(n, what + ".oauthbearer.principal_claim");
      if (ob.principal_claim.empty()) fail(o, what + ".oauthbearer.principal_claim must not be empty");
      if (auto n = o["clock_skew"])
        ob.clock_skew = std::chrono::duration_cast<std::chrono::seconds>(duration(n, what + ".oauthbearer.clock_skew"));
      out.oauthbearer = std::move(ob);
    } else if (wants_oauth) {
      fail(s, what + ": OAUTHBEARER needs an 'oauthbearer' section with 'jwks'");
    }
    if (auto n = s["auth_timeout"]) out.auth_timeout = duration(n, what + ".auth_timeout");
    return out;
  }

  listener_config listener(const YAML::Node& l, std::size_t index, const gateway_config& c) const {
    const std::string at = "listeners[" + std::to_string(index) + "]";
    require_map(l, at);
    only_keys(l, at,
              {"name", "listen", "advertised_host", "broker_ports", "security_protocol", "tls", "sasl",
               "principal_mapping_rules", "max_connections"});
    listener_config out;
    out.name = l["name"] ? scalar(l["name"], at + ".name") : "listener-" + std::to_string(index);
    if (out.name.empty()) fail(l["name"], at + ".name must not be empty");
    const std::string what = "listener '" + out.name + "'";
    if (!l["listen"]) fail(l, what + " needs 'listen' (host:port)");
    out.listen = endpoint(l["listen"], what + " listen");
    out.advertised_host = l["advertised_host"] ? scalar(l["advertised_host"], what + " advertised_host") : c.advertised_host;
    if (out.advertised_host.empty()) fail(l, what + " advertised_host must not be empty");
    if (!l["broker_ports"]) fail(l, what + " needs 'broker_ports' (FIRST-LAST, one port per upstream broker)");
    std::tie(out.broker_port_first, out.broker_port_last) = port_range(l["broker_ports"], what + " broker_ports");
    if (auto n = l["security_protocol"]) out.protocol = protocol(n, what + " security_protocol");
    const auto tls = l["tls"];
    if (uses_tls(out.protocol)) {
      if (!tls) fail(l, what + " uses " + security_protocol_name(out.protocol) + " and needs a 'tls' section");
      out.tls = tls_server(tls, what + " tls");
    } else if (tls) {
      fail(tls, what + " has a 'tls' section but security_protocol is " + security_protocol_name(out.protocol));
    }
    const auto sasl = l["sasl"];
    if (uses_sasl(out.protocol)) {
      if (!sasl) fail(l, what + " uses " + security_protocol_name(out.protocol) + " and needs a 'sasl' section");
      out.sasl = sasl_server(sasl, what + " sasl");
    } else if (sasl) {
      fail(sasl, what + " has a 'sasl' section but security_protocol is " + security_protocol_name(out.protocol));
    }
    if (auto n = l["principal_mapping_rules"]) {
      if (!uses_tls(out.protocol)) fail(n, what + ": principal_mapping_rules apply to TLS client certificates only");
      out.principal_mapping_rules = string_list(n, what + " principal_mapping_rules");
      if (checks_.principal_mapping)
        if (auto ok = checks_.principal_mapping(out.principal_mapping_rules); !ok)
          fail(n, what + " principal_mapping_rules: " + ok.error());
    }
    if (auto n = l["max_connections"])
      out.max_connections = static_cast<int>(integer(n, what + " max_connections", 1, 10000000));
    return out;
  }

  void listeners_section(const YAML::Node& ls, gateway_config& c) const {
    if (!ls.IsSequence() || ls.size() == 0) fail(ls, "'listeners' must be a non-empty list");
    std::size_t i = 0;
    for (const auto& l : ls) {
      auto out = listener(l, i++, c);
      for (const auto& other : c.listeners) {
        if (other.name == out.name) fail(l, "listener name '" + out.name + "' is used twice");
        auto overlaps = [](std::uint16_t p, const listener_config& x) {
          return p >= x.broker_port_first && p <= x.broker_port_last;
        };
        if (other.listen.port == out.listen.port)
          fail(l["listen"], "listener '" + out.name + "' listens on the same port as '" + other.name + "'");
        if (overlaps(out.listen.port, other) || overlaps(other.listen.port, out))
          fail(l["listen"], "listener '" + out.name + "': a listen port is inside the other listener's broker_ports ('" + other.name + "')");
        if (out.broker_port_first <= other.broker_port_last && other.broker_port_first <= out.broker_port_last)
          fail(l["broker_ports"], "listener '" + out.name + "' broker_ports overlap those of '" + other.name + "'");
      }
      if (out.listen.port >= out.broker_port_first && out.listen.port <= out.broker_port_last)
        fail(l["listen"], "listener '" + out.name + "' listen port must not be inside its broker_ports");
      c.listeners.push_back(std::move(out));
    }
  }

  void principals_section(const YAML::Node& ps, gateway_config& c) const {
    require_map(ps, "'principals'");
    for (const auto& kv : ps) {
      principal_config p;
      p.name = nonempty(kv.first, "principal name");
      const std::string what = "principal '" + p.name + "'";
      const auto& body = kv.second;
      if (!body.IsNull()) {
        require_map(body, what);
        only_keys(body, what, {"teams", "attributes", "credentials"});
        if (auto t = body["teams"]) p.teams = string_list(t, what + " teams");
        if (auto a = body["attributes"]) {
          require_map(a, what + " attributes");
          for (const auto& av : a) p.attributes[scalar(av.first, "attribute name")] = scalar(av.second, what + " attribute");
        }
        if (auto cr = body["credentials"]) {
          if (!cr.IsSequence()) fail(cr, what + " credentials must be a list of stored forms from 'kafka-gateway passwd'");
          for (const auto& e : cr) {
            auto text = secret(e, what + " credential", {});
            while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();  // from a file
            if (checks_.credential)
              if (auto ok = checks_.credential(text); !ok) fail(e, what + " credential: " + ok.error());
            p.credentials.push_back(std::move(text));
          }
        }
      }
      if (c.principals.contains(p.name)) fail(kv.first, what + " is defined twice");
      c.principals.emplace(p.name, std::move(p));
    }
  }

  void upstream_security(const YAML::Node& u, gateway_config& c) const {
    if (auto n = u["security_protocol"]) c.upstream_protocol = protocol(n, "upstream.security_protocol");
    const auto tls = u["tls"];
    const auto sasl = u["sasl"];
    if (c.embedded && c.upstream_protocol != security_protocol::plaintext)
      fail(u["security_protocol"], "the embedded broker speaks PLAINTEXT only");
    if (uses_tls(c.upstream_protocol))
      c.upstream_tls = tls ? tls_client(tls, "upstream.tls") : tls_client_settings{};
    else if (tls)
      fail(tls, std::string("upstream has a 'tls' section but security_protocol is ") + security_protocol_name(c.upstream_protocol));
    if (uses_sasl(c.upstream_protocol)) {
      if (!sasl) fail(u, "upstream uses " + std::string(security_protocol_name(c.upstream_protocol)) + " and needs a 'sasl' section");
      require_map(sasl, "upstream.sasl");
      only_keys(sasl, "upstream.sasl", {"mechanism", "username", "password"});
      upstream_sasl_settings s;
      if (!sasl["mechanism"] || !sasl["username"] || !sasl["password"])
        fail(sasl, "upstream.sasl needs 'mechanism', 'username' and 'password'");
      s.mechanism = scalar(sasl["mechanism"], "upstream.sasl.mechanism");
      if (s.mechanism != "PLAIN" && s.mechanism != "SCRAM-SHA-256" && s.mechanism != "SCRAM-SHA-512")
        fail(sasl["mechanism"], "upstream.sasl.mechanism must be PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512");
      s.username = scalar(sasl["username"], "upstream.sasl.username");
      s.password = secret(sasl["password"], "upstream.sasl.password", {});
      while (!s.password.empty() && (s.password.back() == '\n' || s.password.back() == '\r')) s.password.pop_back();
      if (s.username.empty() || s.password.empty()) fail(sasl, "upstream.sasl username and password must not be empty");
      c.upstream_sasl = std::move(s);
    } else if (sasl) {
      fail(sasl, std::string("upstream has a 'sasl' section but security_protocol is ") + security_protocol_name(c.upstream_protocol));
    }
  }

  void gateway_section(const YAML::Node& g, gateway_config& c) const {
    require_map(g, "'gateway'");
    only_keys(g, "'gateway'",
              {"listen", "advertised_host", "broker_ports", "workers", "max_frame_size", "max_buffered_requests",
               "idle_timeout", "upstream_connect_timeout", "log_level", "request_read_timeout",
               "response_write_timeout", "failed_authentication_delay", "auth_threads", "max_connections", "transform_cache"});
    if (auto n = g["listen"]) c.listen = endpoint(n, "gateway.listen");
    if (auto n = g["advertised_host"]) {
      c.advertised_host = nonempty(n, "gateway.advertised_host");
    }
    if (auto n = g["broker_ports"]) std::tie(c.broker_port_first, c.broker_port_last) = port_range(n, "gateway.broker_ports");
    if (auto n = g["workers"]) c.workers = static_cast<int>(integer(n, "gateway.workers", 0, 1024));
    if (auto n = g["max_frame_size"]) {
      c.max_frame_bytes = size_bytes(n, "gateway.max_frame_size");
      if (c.max_frame_bytes < 1024 || c.max_frame_bytes > (1ull << 31) - 1)
        fail(n, "gateway.max_frame_size must be between 1KiB and 2GiB");
    }
    if (auto n = g["max_buffered_requests"]) {
      c.max_buffered_request_bytes = size_bytes(n, "gateway.max_buffered_requests");
      if (c.max_buffered_request_bytes < c.max_frame_bytes)
        fail(n, "gateway.max_buffered_requests must be at least gateway.max_frame_size (" +
                    std::to_string(c.max_frame_bytes) + " bytes), or a request of that size could never arrive");
    } else {
      c.max_buffered_request_bytes = std::max(c.max_buffered_request_bytes, c.max_frame_bytes);
    }
    if (auto n = g["transform_cache"]) c.transform_cache_bytes = size_bytes(n, "gateway.transform_cache");
    if (auto n = g["idle_timeout"]) c.idle_timeout = duration(n, "gateway.idle_timeout");
    if (auto n = g["upstream_connect_timeout"])
      c.upstream_connect_timeout = duration(n, "gateway.upstream_connect_timeout");
    if (auto n = g["request_read_timeout"]) c.request_read_timeout = duration(n, "gateway.request_read_timeout");
    if (auto n = g["response_write_timeout"])
      c.response_write_timeout = duration(n, "gateway.response_write_timeout");
    if (auto n = g["failed_authentication_delay"]) {
      c.failed_authentication_delay = duration(n, "gateway.failed_authentication_delay");
      if (c.failed_authentication_delay >= c.idle_timeout && c.idle_timeout.count() > 0)
        fail(n, "gateway.failed_authentication_delay must be shorter than gateway.idle_timeout");
    }
    if (auto n = g["auth_threads"]) c.auth_threads = static_cast<int>(integer(n, "gateway.auth_threads", 0, 256));
    if (auto n = g["max_connections"])
      c.max_connections = static_cast<int>(integer(n, "gateway.max_connections", 1, 10000000));
    if (auto n = g["log_level"]) {
      c.log_level = scalar(n, "gateway.log_level");
      if (auto l = parse_log_levels(c.log_level); !l) fail(n, "gateway.log_level: " + l.error());
    }
    if (c.listen.port >= c.broker_port_first && c.listen.port <= c.broker_port_last)
      fail(g["listen"] ? g["listen"] : g, "gateway.listen port must not be inside gateway.broker_ports");
  }

  void admin_section(const YAML::Node& a, gateway_config& c) const {
    admin_settings s;
    if (!a.IsNull()) {  // `admin:` alone: the defaults
      require_map(a, "'admin'");
      only_keys(a, "'admin'", {"listen", "bearer_token", "tls", "max_principals", "max_topics"});
      if (auto n = a["listen"]) s.listen = endpoint(n, "admin.listen");
      if (auto n = a["bearer_token"]) {
        s.bearer_token = secret(n, "admin.bearer_token", {});
        while (!s.bearer_token.empty() && (s.bearer_token.back() == '\n' || s.bearer_token.back() == '\r'))
          s.bearer_token.pop_back();
        if (s.bearer_token.empty()) fail(n, "admin.bearer_token must not be empty");
      }
      if (auto n = a["tls"]) s.tls = tls_server(n, "admin.tls");
      if (auto n = a["max_principals"]) s.max_principals = integer(n, "admin.max_principals", 1, 100000);
      if (auto n = a["max_topics"]) s.max_topics = integer(n, "admin.max_topics", 1, 100000);
    }
    for (const auto& l : c.effective_listeners())
      if (l.listen.port == s.listen.port || (s.listen.port >= l.broker_port_first && s.listen.port <= l.broker_port_last))
        fail(a["listen"] ? a["listen"] : a, "admin.listen port " + std::to_string(s.listen.port) +
                                                 " is one of listener '" + l.name + "''s ports");
    c.admin = std::move(s);
  }

  void audit_section(const YAML::Node& a, gateway_config& c) const {
    audit_settings s;
    require_map(a, "'audit'");
    only_keys(a, "'audit'", {"instance", "traffic", "rollup_interval", "queue_capacity", "fail", "file", "kafka"});
    if (auto n = a["instance"]) s.instance = nonempty(n, "audit.instance");
    if (auto n = a["traffic"]) {
      const auto v = scalar(n, "audit.traffic");
      if (v == "rollup") s.traffic = audit_settings::traffic_mode::rollup;
      else if (v == "per_request") s.traffic = audit_settings::traffic_mode::per_request;
      else if (v == "off") s.traffic = audit_settings::traffic_mode::off;
      else fail(n, "audit.traffic must be rollup, per_request or off");
    }
    if (auto n = a["rollup_interval"]) {
      s.rollup_interval = duration(n, "audit.rollup_interval");
      if (s.rollup_interval < std::chrono::seconds(1)) fail(n, "audit.rollup_interval must be at least 1s");
    }
    if (auto n = a["queue_capacity"]) s.queue_capacity = integer(n, "audit.queue_capacity", 1, 10000000);
    if (auto n = a["fail"]) {
      const auto v = scalar(n, "audit.fail");
      if (v == "open") s.fail = audit_settings::fail_mode::open;
      else if (v == "closed") s.fail = audit_settings::fail_mode::closed;
      else fail(n, "audit.fail must be open or closed");
    }
    if (auto f = a["file"]) {
      require_map(f, "'audit.file'");
      only_keys(f, "'audit.file'", {"path", "max_size", "keep"});
      audit_settings::file_sink fs;
      if (!f["path"]) fail(f, "audit.file needs a path");
      fs.path = nonempty(f["path"], "audit.file.path");
      if (std::filesystem::path p(fs.path); p.is_relative())  // as every path of the file: from its directory
        fs.path = (std::filesystem::path(source()).parent_path() / p).string();
      if (auto n = f["max_size"]) fs.max_bytes = size_bytes(n, "audit.file.max_size");
      if (auto n = f["keep"]) fs.keep = static_cast<int>(integer(n, "audit.file.keep", 1, 1000));
      s.file = std::move(fs);
    }
    if (auto k = a["kafka"]) {
      audit_settings::kafka_sink ks;
      if (!k.IsNull()) {  // `kafka:` alone: the defaults
        require_map(k, "'audit.kafka'");
        only_keys(k, "'audit.kafka'", {"topic", "bootstrap"});
        if (auto n = k["topic"]) ks.topic = nonempty(n, "audit.kafka.topic");
        if (auto n = k["bootstrap"])
          for (const auto& b : string_list(n, "audit.kafka.bootstrap")) ks.bootstrap.push_back(endpoint(b, n, "audit.kafka.bootstrap"));
      }
      s.kafka = std::move(ks);
    }
    if (!s.file && !s.kafka) fail(a, "audit needs a sink: file, kafka or both");
    c.audit = std::move(s);
  }

  void upstream_section(const YAML::Node& u, gateway_config& c) const {
    require_map(u, "'upstream'");
    only_keys(u, "'upstream'", {"bootstrap", "embedded", "security_protocol", "tls", "sasl"});
    const auto bs = u["bootstrap"];
    const auto em = u["embedded"];
    if (bs && em) fail(em, "upstream: give either 'bootstrap' or 'embedded', not both");
    if (!bs && !em) fail(u, "upstream needs 'bootstrap' (real brokers) or 'embedded' (a broker the gateway runs for demos and tests)");
    if (bs) {
      if (bs.IsScalar()) {
        // Also accept a comma-separated string, the way Kafka clients take bootstrap.servers.
        std::string s = bs.Scalar();
        std::size_t start = 0;
        while (start <= s.size()) {
          auto comma = s.find(',', start);
          if (comma == std::string::npos) comma = s.size();
          std::string item = s.substr(start, comma - start);
          if (!item.empty()) c.upstream_bootstrap.push_back(endpoint(item, bs, "upstream.bootstrap"));
          start = comma + 1;
        }
      } else if (bs.IsSequence()) {
        for (const auto& e : bs) c.upstream_bootstrap.push_back(endpoint(e, "upstream.bootstrap entry"));
      } else {
        fail(bs, "upstream.bootstrap must be a list of host:port");
      }
      if (c.upstream_bootstrap.empty()) fail(bs, "upstream.bootstrap must list at least one broker");
    }
    if (em) {
      require_map(em, "upstream.embedded");
      only_keys(em, "upstream.embedded", {"brokers", "topics"});
      embedded_upstream e;
      if (auto n = em["brokers"]) e.brokers = static_cast<int>(integer(n, "upstream.embedded.brokers", 1, 16));
      if (auto ts = em["topics"]) {
        if (!ts.IsSequence()) fail(ts, "upstream.embedded.topics must be a list");
        for (const auto& t : ts) {
          require_map(t, "topic");
          only_keys(t, "topic", {"name", "partitions"});
          topic_spec spec;
          if (!t["name"]) fail(t, "topic needs a 'name'");
          spec.name = nonempty(t["name"], "topic name");
          // Kafka's rule for topic names; the broker would refuse anything else.
          if (spec.name.size() > 249 || spec.name == "." || spec.name == ".." ||
              spec.name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
                  std::string::npos)
            fail(t["name"], "topic name '" + spec.name + "' is not a Kafka topic name (1-249 of a-z A-Z 0-9 . _ -)");
          for (const auto& other : e.topics)
            if (other.name == spec.name) fail(t["name"], "topic '" + spec.name + "' is listed twice");
          if (auto p = t["partitions"]) spec.partitions = static_cast<int>(integer(p, "topic partitions", 1, 10000));
          e.topics.push_back(std::move(spec));
        }
      }
      c.embedded = std::move(e);
    }
    upstream_security(u, c);
  }

  // `policies:` is a policy document inline (a mapping), or the policy files and directories
  // to load (a string or a list of them, relative to this file's directory). Documents merge in
  // order: see config/policy_loader.h.
  void policies_section(const YAML::Node& p, gateway_config& c) const {
    policy_loader loader(checks_.policy_sections);
    auto check = [](std::expected<void, std::string> done) {
      if (!done) throw yaml_failure{std::move(done.error())};
    };
    if (p.IsMap()) {
      check(loader.add_node(p, source(), text()));
    } else if (p.IsScalar() || p.IsSequence()) {
      std::vector<YAML::Node> entries;
      if (p.IsScalar())
        entries.push_back(p);
      else
        for (const auto& e : p) entries.push_back(e);
      if (entries.empty()) fail(p, "'policies' must name at least one policy file or directory");
      std::vector<std::string> paths;
      for (const auto& e : entries) {
        std::filesystem::path path(scalar(e, "policies entry"));
        if (path.empty()) fail(e, "policies entry must not be empty");
        if (path.is_relative()) path = std::filesystem::path(source()).parent_path() / path;
        paths.push_back(path.string());
        auto files = policy_files(path.string());
        if (!files) fail(e, "policies: " + files.error());
        for (const auto& f : *files) check(loader.add_file(f));
      }
      check(loader.finish());
      c.policies = std::move(loader.result());
      c.policies.paths = std::move(paths);
      return;
    } else {
      fail(p, "'policies' must be a policy document (a mapping) or policy files and directories (a string or a list)");
    }
    check(loader.finish());
    c.policies = std::move(loader.result());
  }

  gateway_config parse(const YAML::Node& root) const {
    gateway_config c;
    c.source = source();
    if (!root.IsDefined() || root.IsNull()) throw yaml_failure{source() + ":1:1: empty configuration"};
    require_map(root, "the configuration");
    only_keys(root, "the configuration", {"gateway", "listeners", "principals", "upstream", "policies", "admin", "audit"});
    if (auto g = root["gateway"]) gateway_section(g, c);
    if (auto ls = root["listeners"]) {
      if (auto g = root["gateway"]; g && (g["listen"] || g["broker_ports"]))
        fail(g["listen"] ? g["listen"] : g["broker_ports"],
             "gateway.listen and gateway.broker_ports are the one-listener shorthand; with 'listeners' give them per listener");
      listeners_section(ls, c);
    }
    if (auto ps = root["principals"]) principals_section(ps, c);
    if (auto u = root["upstream"])
      upstream_section(u, c);
    else
      fail(root, "missing 'upstream' section");
    if (auto p = root["policies"]) policies_section(p, c);
    if (auto a = root["admin"]) admin_section(a, c);
    if (auto a = root["audit"]) audit_section(a, c);
    return c;
  }

 private:
  const extensions& checks_;
};

}  // namespace

std::expected<gateway_config, std::string> load_string(std::string_view yaml, const std::string& source_name,
                                                       const extensions& checks) {
  try {
    const auto docs = load_yaml_documents(yaml, source_name, true);
    return parser(source_name, yaml, checks).parse(docs.empty() ? YAML::Node() : docs.front());
  } catch (const yaml_failure& e) {
    return std::unexpected(e.message);
  } catch (const YAML::Exception& e) {
    return std::unexpected(syntax_error_message(source_name, e));  // yaml-cpp syntax errors carry a mark too
  }
}

std::expected<gateway_config, std::string> load_file(const std::string& path, const extensions& checks) {
  const auto text = read_bounded_file(path, max_config_file_bytes);
  if (!text) return std::unexpected(path + ":1:1: " + text.error());
  return load_string(*text, path, checks);
}

}  // namespace kgw::config
