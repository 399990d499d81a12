// End-to-end tests of field-level encryption with real clients (librdkafka in-process,
// kafka-python as a child process) against the embedded broker:
//   - ingest writes plaintext in all five codecs; the broker's log holds no plaintext of an
//     encrypted field; fraud (may decrypt) reads exactly what ingest wrote; marketing (may
//     decrypt, with a view) reads its masked view; analytics (neither) reads the tokens as stored;
//   - tokens moved to another field, record or topic, flipped bits and forged key ids, written
//     around the gateway, are never delivered as plaintext and are counted;
//   - two gateway processes share keys through the key topic, across restarts of both, and
//     `kafka-gateway keys shred` makes one subject unreadable through both while others stay;
//   - the pkcs11 KMS with a SoftHSM2 token made by the test (KEK generated in it by
//     `kafka-gateway keys new-kek`), a KMS that goes away while running (fails closed, the client
//     retries, recovers when it returns) and KMSs missing at start-up (clear errors).
#include <catch2/catch.hpp>
#include <spdlog/spdlog.h>
#include <signal.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "config/loader.h"
#include "gateway/config_extensions.h"
#include "gateway/gateway.h"
#include "gateway/security/scram.h"
#include "policies/encryption/field_cipher.h"
#include "policies/json/json_doc.h"
#include "tests/e2e/customer_records.h"
#include "tests/e2e/e2e_environment.h"
#include "tests/e2e/rdkafka_client.h"
#include "tests/e2e/subprocess.h"
#include "tests/support/softhsm_token.h"

namespace kgw::e2e {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr const char* topic = "customers";
constexpr int partitions = 3;

std::string source_path(const std::string& relative) {
  return (fs::path(KGW_E2E_SCRIPTS) / "../.." / relative).lexically_normal().string();
}

settings sasl(const std::string& user) {
  return {{"security.protocol", "SASL_PLAINTEXT"},
          {"sasl.mechanisms", "PLAIN"},
          {"sasl.username", user},
          {"sasl.password", user + "-secret"}};
}
settings with(settings s, const settings& more) {
  s.insert(s.end(), more.begin(), more.end());
  return s;
}

struct temp_dir {
  fs::path dir;
  temp_dir() {
    std::string t = (fs::temp_directory_path() / "kgw-enc-XXXXXX").string();
    REQUIRE(::mkdtemp(t.data()));
    dir = t;
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  fs::path write(const std::string& name, const std::string& text, fs::perms mode = fs::perms::owner_read | fs::perms::owner_write) const {
    std::ofstream(dir / name) << text;
    fs::permissions(dir / name, mode);
    return dir / name;
  }
};

// A KEK file for the local KMS: "customers-kek <32 random bytes, base64>", mode 600.
std::string local_kms(const temp_dir& d) {
  std::string bytes(32, '\0');
  std::ifstream("/dev/urandom").read(bytes.data(), 32);
  const std::string text = policies::encryption::encode_base64(bytes);
  d.write("keks", "customers-kek " + text + "\n");
  return "{ local: { key_file: " + (d.dir / "keks").string() + " } }";
}

std::string credential(const std::string& name) {
  return security::to_stored_form(security::make_scram_credential(security::scram_mechanism::sha256, name + "-secret"));
}

// The scenario's configuration: SASL/PLAIN listener on `port`, the four principals, ACLs,
// marketing's view, and `customers` encrypted (email, phone) for fraud and marketing.
std::string scenario_yaml(std::uint16_t port, const std::string& upstream, const std::string& kms,
                          const std::string& rule_extra = "") {
  std::ostringstream y;
  y << "gateway: { advertised_host: 127.0.0.1, workers: 2 }\n"
    << "upstream: " << upstream << "\n"
    << "listeners:\n"
    << "  - name: teams\n"
    << "    listen: 127.0.0.1:" << port << "\n"
    << "    broker_ports: " << port + 1 << "-" << port + 15 << "\n"
    << "    security_protocol: SASL_PLAINTEXT\n"
    << "    sasl: { mechanisms: [PLAIN] }\n"
    << "principals:\n";
  for (const char* p : {"ingest", "fraud", "marketing", "analytics"})
    y << "  " << p << ": { credentials: [\"" << credential(p) << "\"] }\n";
  y << "policies:\n"
    << "  acls:\n"
    << "    - { principals: [ingest], allow: [Write, Describe], topics: [{prefix: customers}] }\n"
    << "    - { principals: [ingest], allow: [IdempotentWrite], cluster: true }\n"
    << "    - { principals: [fraud, marketing, analytics], allow: [Read, Describe], topics: [{prefix: customers}] }\n"
    << "    - { principals: [fraud, marketing, analytics], allow: [Read], groups: [{prefix: e2e-}] }\n"
    << "  views:\n"
    << "    - principals: [marketing]\n"
    << "      topics: [customers]\n"
    << "      mask:\n"
    << "        - { field: email, function: partial, keep_domain: true }\n"
    << "        - { field: phone, function: remove }\n"
    << "  encryption:\n"
    << "    kms: " << kms << "\n"
    << "    topics:\n"
    << "      - topics: [{prefix: customers}]\n"
    << "        kek: customers-kek\n"
    << "        fields: [email, phone]\n"
    << "        decrypt: { principals: [fraud, marketing] }\n"
    << rule_extra;
  return y.str();
}

config::gateway_config load(const std::string& yaml) {
  auto cfg = config::load_string(yaml, "encryption-e2e.yaml", gateway::config_extensions());
  INFO((cfg ? std::string() : cfg.error()));
  REQUIRE(cfg);
  return std::move(*cfg);
}

// A gateway in this process with its own embedded broker.
struct inproc_gateway {
  std::uint16_t port = find_free_port_block(16);
  std::unique_ptr<gateway::gateway> gw;
  explicit inproc_gateway(const std::function<std::string(std::uint16_t)>& yaml) {
    const char* level = std::getenv("KGW_E2E_LOG");
    spdlog::set_level(spdlog::level::from_str(level && *level ? level : "warn"));
    gw = std::make_unique<gateway::gateway>(load(yaml(port)));
    gw->set_embedded_broker_program(KGW_GATEWAY_PROGRAM);
    gw->start();
  }
  ~inproc_gateway() { gw->stop(); }
  std::string bootstrap() const { return "127.0.0.1:" + std::to_string(port); }
};
const char* embedded = "{ embedded: { brokers: 1, topics: [ { name: customers, partitions: 3 }, { name: customers-copy, partitions: 1 } ] } }";

std::vector<key_value> generate(int start, int count) { return generate_customers(start, count, 11); }

// The string value of a top-level field as written (between its quotes, escapes and all), ""
// when absent: what would show if the gateway let plaintext through.
std::string field(const std::string& json, const std::string& name) {
  for (const std::string sep : {"\": \"", "\":\""}) {
    const auto at = json.find("\"" + name + sep);
    if (at == std::string::npos) continue;
    const auto begin = at + name.size() + 1 + sep.size();
    std::size_t end = begin;
    while (end < json.size() && json[end] != '"') end += json[end] == '\\' ? 2 : 1;
    return json.substr(begin, end - begin);
  }
  return "";
}

// The same field's string content, unescaped (what a JSON reader sees).
std::string text_of(const std::string& json, const std::string& name) {
  policies::json::json_doc doc;
  if (!doc.parse(json)) return "<not JSON>";
  const auto n = doc.find_member(policies::json::json_doc::root(), name);
  if (n == policies::json::npos || doc.type(n) != policies::json::json_type::string) return "";
  std::string out;
  doc.string_value(n, out);
  return out;
}

void produce_librdkafka(const std::string& bootstrap, const std::vector<key_value>& rows, const std::string& codec,
                        const std::string& to = topic) {
  producer p(bootstrap, with(sasl("ingest"), {{"compression.codec", codec}, {"linger.ms", "20"}, {"enable.idempotence", "true"}}));
  const auto delivered = p.produce(to, rows, clock::now() + 60s);
  INFO(codec << ": " << (p.errors().empty() ? std::string() : p.errors().front()));
  REQUIRE(delivered.size() == rows.size());
}

std::string hex(const std::string& s) {
  static const char d[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) out += {d[c >> 4], d[c & 15]};
  return out;
}
std::string unhex(const std::string& h) {
  std::string out;
  for (std::size_t i = 0; i + 1 < h.size(); i += 2) out.push_back(static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16)));
  return out;
}

void produce_python(const std::string& bootstrap, const std::vector<key_value>& rows, const std::string& codec) {
  std::string in;
  for (const auto& [k, v] : rows) in += hex(k) + " " + hex(v) + "\n";
  const auto r = run_process({KGW_E2E_PYTHON, source_path("tests/e2e/encryption_python_client.py"), "produce",
                              "--bootstrap", bootstrap, "--topic", topic, "--username", "ingest", "--password",
                              "ingest-secret", "--compression", codec},
                             in, 90s);
  INFO(r.describe());
  REQUIRE(r.exit_code == 0);
  REQUIRE(static_cast<std::size_t>(std::count(r.out.begin(), r.out.end(), 'P')) >= rows.size());
}

std::vector<record> consume_python(const std::string& bootstrap, const std::string& user, std::size_t count) {
  const auto r = run_process({KGW_E2E_PYTHON, source_path("tests/e2e/encryption_python_client.py"), "consume",
                              "--bootstrap", bootstrap, "--topic", topic, "--username", user, "--password",
                              user + "-secret", "--count", std::to_string(count), "--timeout", "60"},
                             "", 90s);
  INFO(r.describe());
  REQUIRE(r.exit_code == 0);
  std::vector<record> out;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    if (!line.starts_with("C ")) continue;
    std::istringstream f(line.substr(2));
    record rec;
    std::string k, v;
    f >> rec.partition >> rec.offset >> k >> v;
    rec.key = unhex(k);
    rec.value = unhex(v);
    out.push_back(std::move(rec));
  }
  return out;
}

// Reads `topic` from the start until `count` records (or the deadline); group empty: assign.
std::vector<record> consume(const std::string& bootstrap, const settings& s, std::size_t count,
                            const std::string& group = "", const std::string& from = topic,
                            std::chrono::milliseconds settle = 1s) {
  consumer c(bootstrap, group, s);
  if (group.empty()) c.assign_all(from, from == topic ? partitions : 1);
  else c.subscribe({from});
  std::vector<record> out;
  std::array<consumer*, 1> one{&c};
  poll_until(one, [&](std::size_t, record&& r) { out.push_back(std::move(r)); }, [&] { return out.size() >= count; },
             clock::now() + 60s);
  // A little more: a duplicate or an extra record would show up now.
  poll_until(one, [&](std::size_t, record&& r) { out.push_back(std::move(r)); }, [] { return false; },
             clock::now() + settle);
  c.close();
  return out;
}

// "" when `got` holds exactly `want` (by key, each once, byte-identical values).
std::string exactly(const std::vector<key_value>& want, const std::vector<record>& got) {
  std::map<std::string, std::string> w(want.begin(), want.end());
  std::map<std::string, int> seen;
  std::ostringstream problems;
  int shown = 0;
  for (const auto& r : got) {
    if (++seen[r.key] > 1 && shown++ < 5) problems << "key " << r.key << " delivered twice\n";
    auto it = w.find(r.key);
    if (it == w.end()) {
      if (shown++ < 5) problems << "unexpected key " << r.key << ": " << r.value << "\n";
    } else if (it->second != r.value && shown++ < 5) {
      problems << "key " << r.key << ":\n  got  " << r.value << "\n  want " << it->second << "\n";
    }
  }
  for (const auto& [k, v] : w)
    if (!seen.contains(k) && shown++ < 5) problems << "key " << k << " missing\n";
  if (got.size() != want.size()) problems << "got " << got.size() << " records, want " << want.size() << "\n";
  return problems.str();
}

}  // namespace

TEST_CASE("encryption: five codecs from librdkafka and kafka-python, the broker holds no plaintext, fraud reads "
          "what ingest wrote, marketing its masked view, analytics the tokens") {
  temp_dir d;
  const std::string kms = local_kms(d);
  inproc_gateway g([&](std::uint16_t port) { return scenario_yaml(port, embedded, kms); });
  std::vector<key_value> all;
  int next = 0;
  for (const char* codec : {"none", "gzip", "snappy", "lz4", "zstd"}) {
    auto rows = generate(next, 200);
    next += 200;
    produce_librdkafka(g.bootstrap(), rows, codec);
    all.insert(all.end(), rows.begin(), rows.end());
  }
  for (const char* codec : {"gzip", "zstd"}) {  // kafka-python as a producer too
    auto rows = generate(next, 100);
    next += 100;
    produce_python(g.bootstrap(), rows, codec);
    all.insert(all.end(), rows.begin(), rows.end());
  }
  const std::map<std::string, std::string> written(all.begin(), all.end());

  // What the broker stores, read from it directly: tokens, never the plaintext.
  const auto raw = consume(g.gw->upstream_bootstrap(), {}, all.size());
  REQUIRE(raw.size() == all.size());
  std::size_t tokens = 0;
  std::map<std::string, std::string> stored;
  for (const auto& r : raw) {
    const std::string& plain = written.at(r.key);
    for (const char* f : {"email", "phone"}) {
      const std::string secret = field(plain, f);
      if (secret.empty()) continue;
      INFO("customer " << r.key << " field " << f);
      CHECK(r.value.find(secret) == std::string::npos);
      CHECK(field(r.value, f).starts_with("kgw1:k"));
      ++tokens;
    }
    CHECK(field(r.value, "name") == field(plain, "name"));  // the rest as written
    stored[r.key] = r.value;
  }
  CHECK(tokens >= all.size());
  CHECK(g.gw->governance().fields_encrypted == tokens);

  // fraud: exactly what ingest wrote, through librdkafka in a group and through kafka-python.
  CHECK(exactly(all, consume(g.bootstrap(), sasl("fraud"), all.size(), "e2e-fraud")) == "");
  CHECK(exactly(all, consume_python(g.bootstrap(), "fraud", all.size())) == "");
  CHECK(g.gw->governance().fields_undecryptable == 0);

  // marketing: decrypted, then its view: e-mail as ***@domain, no phone.
  const auto marketing = consume(g.bootstrap(), sasl("marketing"), all.size(), "e2e-marketing");
  CHECK(marketing.size() == all.size());
  std::size_t wrong = 0;
  for (const auto& r : marketing) {
    const std::string& plain = written.at(r.key);
    const std::string email = text_of(plain, "email");
    const std::string want = "***" + email.substr(email.rfind('@'));
    if (text_of(r.value, "email") != want || r.value.find("\"phone\"") != std::string::npos ||
        r.value.find("kgw1:") != std::string::npos || field(r.value, "name") != field(plain, "name")) {
      if (wrong++ < 3) UNSCOPED_INFO("marketing got " << r.value << " for " << plain);
    }
  }
  CHECK(wrong == 0);

  // analytics may not decrypt: the tokens as the broker stores them.
  const auto analytics = consume(g.bootstrap(), sasl("analytics"), all.size(), "e2e-analytics");
  CHECK(exactly(std::vector<key_value>(stored.begin(), stored.end()), analytics) == "");
}

TEST_CASE("encryption: tokens moved to another field, record or topic, flipped or forged, are never plaintext") {
  temp_dir d;
  const std::string kms = local_kms(d);
  inproc_gateway g([&](std::uint16_t port) { return scenario_yaml(port, embedded, kms); });
  const std::vector<key_value> rows{{"a", R"({"id": 1, "email": "ada@example.com", "phone": "+47 1"})"},
                                    {"b", R"({"id": 2, "email": "bo@example.com", "phone": "+47 2"})"}};
  produce_librdkafka(g.bootstrap(), rows, "none");
  produce_librdkafka(g.bootstrap(), {{"a", R"({"id": 1, "email": "ada@copy.example.com"})"}}, "none", "customers-copy");
  const auto raw = consume(g.gw->upstream_bootstrap(), {}, 2);
  const auto copy = consume(g.gw->upstream_bootstrap(), {}, 1, "", "customers-copy");
  REQUIRE(raw.size() == 2);
  REQUIRE(copy.size() == 1);
  std::map<std::string, std::string> v;
  for (const auto& r : raw) v[r.key] = r.value;
  const std::string a_email = field(v["a"], "email"), a_phone = field(v["a"], "phone"), b_email = field(v["b"], "email");
  auto token_json = [](const std::string& email, const std::string& phone) {
    return R"({"id": 9, "email": ")" + email + R"(", "phone": ")" + phone + R"("})";
  };
  std::string flipped = a_email;
  flipped[flipped.size() - 6] = flipped[flipped.size() - 6] == 'A' ? 'B' : 'A';
  std::string forged = a_email;
  forged.replace(5, 33, "k" + std::string(32, '0'));
  // Written straight to the broker, around the gateway, keyed so each lands on a governed topic.
  const std::vector<key_value> tampered{
      {"a", token_json(a_phone, a_email)},                 // swapped fields, same record key
      {"b", token_json(a_email, field(v["b"], "phone"))},  // a's e-mail token in record b
      {"a", token_json(flipped, a_phone)},                 // a flipped bit
      {"a", token_json(forged, a_phone)},                  // a key id nobody stored
      {"a", token_json(field(copy[0].value, "email"), a_phone)},  // from another topic
      {"a", R"({"id": 9, "email": "plain@example.com", "phone": "+47 9"})"},  // plaintext
  };
  {
    producer direct(g.gw->upstream_bootstrap());
    REQUIRE(direct.produce(topic, tampered, clock::now() + 30s).size() == tampered.size());
  }
  // Long enough for the forged key id: unknown, the partition is retried (KAFKA_STORAGE_ERROR)
  // while the gateway reads its key topic again, then the id is missing for good.
  const auto fraud = consume(g.bootstrap(), sasl("fraud"), rows.size(), "e2e-fraud-tamper", topic, 5s);
  CHECK(exactly(rows, fraud) == "");  // the two real records; every tampered one dropped
  const auto stats = g.gw->governance();
  CHECK(stats.records_undecryptable_dropped == tampered.size());
  CHECK(stats.fields_undecryptable >= tampered.size());
  // Token readers: tokens as stored, and the plaintext written around the gateway redacted.
  const auto analytics = consume(g.bootstrap(), sasl("analytics"), rows.size() + tampered.size(), "e2e-analytics-tamper");
  CHECK(analytics.size() == rows.size() + tampered.size());
  for (const auto& r : analytics) {
    CHECK(r.value.find("example.com") == std::string::npos);
    CHECK(r.value.find("+47") == std::string::npos);
  }
}

namespace {

// A kafka-gateway process on `port` with config file `path`; ready once it accepts connections.
struct gateway_process {
  std::uint16_t port;
  std::unique_ptr<child_process> p;
  gateway_process(const fs::path& path, std::uint16_t at) : port(at) { start(path); }
  void start(const fs::path& path) {
    p = std::make_unique<child_process>(std::vector<std::string>{KGW_GATEWAY_PROGRAM, "--config", path.string()}, "");
    const auto deadline = clock::now() + 30s;
    bool up = false;
    while (!up && clock::now() < deadline && p->running()) {
      p->pump(50ms);
      up = p->err().find("gateway running") != std::string::npos || p->out().find("gateway running") != std::string::npos;
    }
    INFO(p->err());
    REQUIRE(up);
  }
  void stop() {
    p->signal(SIGTERM);
    const auto& r = p->finish(clock::now() + 15s);
    INFO(r.describe());
    CHECK(r.exit_code == 0);
  }
  std::string bootstrap() const { return "127.0.0.1:" + std::to_string(port); }
};

std::vector<key_value> without(const std::vector<key_value>& rows, const std::string& key) {
  std::vector<key_value> out;
  for (const auto& r : rows)
    if (r.first != key) out.push_back(r);
  return out;
}

}  // namespace

TEST_CASE("encryption: two gateway processes share keys through the key topic across restarts, and keys shred "
          "makes one subject unreadable through both") {
  temp_dir d;
  const std::string kms = local_kms(d);
  child_process cluster({KGW_GATEWAY_PROGRAM, "dev-cluster", "--brokers", "1", "--topic", "customers:3"}, "");
  std::string broker;
  REQUIRE(pump_until({&cluster}, [&] { return cluster.out().find('\n') != std::string::npos; }, clock::now() + 20s));
  broker = cluster.out().substr(0, cluster.out().find('\n'));
  const std::string upstream = "{ bootstrap: [" + broker + "] }";
  const std::string per_subject = "        subject: id\n";
  const auto p1 = find_free_port_block(16), p2 = find_free_port_block(16);
  const auto f1 = d.write("gw1.yaml", scenario_yaml(p1, upstream, kms, per_subject));
  const auto f2 = d.write("gw2.yaml", scenario_yaml(p2, upstream, kms, per_subject));
  gateway_process one(f1, p1), two(f2, p2);

  auto first = generate(0, 150);
  produce_librdkafka(one.bootstrap(), first, "lz4");
  CHECK(exactly(first, consume(two.bootstrap(), sasl("fraud"), first.size())) == "");

  // Both restart: the keys are in the key topic, not in either process.
  one.stop();
  two.stop();
  one.start(f1);
  two.start(f2);
  auto second = generate(150, 50);
  produce_librdkafka(two.bootstrap(), second, "zstd");
  auto all = first;
  all.insert(all.end(), second.begin(), second.end());
  CHECK(exactly(all, consume(one.bootstrap(), sasl("fraud"), all.size())) == "");

  // One key per subject (customer id).
  const auto listed = run_process({KGW_GATEWAY_PROGRAM, "keys", "list", "--config", f1.string()}, "", 30s);
  INFO(listed.describe());
  REQUIRE(listed.exit_code == 0);
  CHECK(std::count(listed.out.begin(), listed.out.end(), '\n') == static_cast<long>(all.size()));

  // Shred customer 17: gone through both instances (on_error: drop), everyone else intact.
  const auto shred = run_process({KGW_GATEWAY_PROGRAM, "keys", "shred", "--config", f2.string(), "--topic", topic,
                                  "--subject", "17"},
                                 "", 30s);
  INFO(shred.describe());
  REQUIRE(shred.exit_code == 0);
  CHECK(shred.out == "shredded 1 key(s) of subject 17 on topic customers\n");
  // Each instance follows the key topic once a second: within a few seconds both stop.
  const auto rest = without(all, "17");
  for (auto* g : {&one, &two}) {
    INFO("through " << g->bootstrap());
    std::string problems = "not tried";
    for (const auto deadline = clock::now() + 10s; !problems.empty() && clock::now() < deadline;)
      problems = exactly(rest, consume(g->bootstrap(), sasl("fraud"), rest.size()));
    CHECK(problems == "");
  }
  // A restarted instance reads the tombstone at start-up: still gone.
  two.stop();
  two.start(f2);
  CHECK(exactly(rest, consume(two.bootstrap(), sasl("fraud"), rest.size())) == "");
  one.stop();
  two.stop();
  cluster.signal(SIGTERM);
  cluster.finish(clock::now() + 10s);
}

TEST_CASE("encryption: KEKs in a SoftHSM2 token, a token that goes away fails closed and recovers, a KMS "
          "missing at start-up is a clear error") {
  testing::softhsm_token token("kgw-e2e");  // SOFTHSM2_CONF now points at it, for children too
  temp_dir d;
  const std::string kms = "{ pkcs11: { module: " + std::string(testing::softhsm_token::module()) + ", token: " +
                          token.label() + ", pin: { env: KGW_E2E_HSM_PIN } } }";
  ::setenv("KGW_E2E_HSM_PIN", token.pin().c_str(), 1);
  const auto cfg_file = d.write("gw.yaml", scenario_yaml(find_free_port_block(16), embedded, kms, "        subject: id\n"));
  const auto made = run_process({KGW_GATEWAY_PROGRAM, "keys", "new-kek", "--config", cfg_file.string(), "--kek",
                                 "customers-kek"},
                                "", 30s);
  INFO(made.describe());
  REQUIRE(made.exit_code == 0);
  CHECK(made.out == "KEK customers-kek generated in token kgw-e2e\n");

  {
    inproc_gateway g([&](std::uint16_t port) { return scenario_yaml(port, embedded, kms, "        subject: id\n"); });
    const auto rows = generate(0, 100);
    produce_librdkafka(g.bootstrap(), rows, "zstd");
    CHECK(exactly(rows, consume(g.bootstrap(), sasl("fraud"), rows.size())) == "");

    // The token's store goes away: a new subject needs a new key, which cannot be made; the
    // producer gets a retriable error and keeps trying; once the token is back it is written.
    const auto aside = token.dir() / "tokens-away";
    fs::rename(token.tokens(), aside);
    fs::create_directory(token.tokens());
    const std::vector<key_value> late{{"900", R"({"id": 900, "email": "late@example.com", "phone": "+47 900"})"}};
    auto sent = std::async(std::launch::async, [&] {
      producer p(g.bootstrap(), with(sasl("ingest"), {{"message.timeout.ms", "60000"}, {"enable.idempotence", "true"}}));
      return p.produce(topic, late, clock::now() + 70s).size();
    });
    std::this_thread::sleep_for(4s);
    CHECK(sent.wait_for(0s) == std::future_status::timeout);  // not acknowledged while the KMS is away
    // Keys already opened keep serving reads meanwhile.
    CHECK(exactly(rows, consume(g.bootstrap(), sasl("fraud"), rows.size())) == "");
    fs::remove(token.tokens());
    fs::rename(aside, token.tokens());
    REQUIRE(sent.wait_for(60s) == std::future_status::ready);
    CHECK(sent.get() == 1);
    auto all = rows;
    all.insert(all.end(), late.begin(), late.end());
    CHECK(exactly(all, consume(g.bootstrap(), sasl("fraud"), all.size())) == "");
  }  // the gateway logs out of the token (PKCS#11 keeps one login per process, which would
     // otherwise let the wrong PIN below through unchecked)

  // Missing at start-up: a clear error, the gateway does not start.
  auto refused = [&](const std::string& bad_kms) -> std::string {
    gateway::gateway bad(load(scenario_yaml(find_free_port_block(16), embedded, bad_kms)));
    bad.set_embedded_broker_program(KGW_GATEWAY_PROGRAM);
    try {
      bad.start();
    } catch (const std::exception& e) {
      bad.stop();
      return e.what();
    }
    bad.stop();
    return "started";
  };
  ::setenv("KGW_E2E_HSM_PIN", "0000", 1);
  CHECK(refused(kms).find("pkcs11 KMS: PKCS#11 token 'kgw-e2e': login: CKR_PIN_INCORRECT (wrong PIN)") !=
        std::string::npos);
  CHECK(refused("{ local: { key_file: " + (d.dir / "absent").string() + " } }").find("cannot be read") !=
        std::string::npos);
}

}  // namespace kgw::e2e
