// Issue 9, defects 2-5: configuration that yaml-cpp alone would load leniently (dropping a
// duplicate key or a second document without a word, looping forever on a stray ',', reading
// /dev/zero until memory runs out, passing invalid UTF-8 on) is an error with file:line:col.
#include <catch2/catch.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "config/bounded_file.h"
#include "config/loader.h"
#include "config/policy_loader.h"
#include "policies/registry.h"
#include "tests/support/with_policies.h"

using namespace kgw::config;
namespace fs = std::filesystem;

namespace {

std::string gateway_error(const std::string& yaml) {
  auto c = load_string(yaml, "gw.yaml", kgw::testing::with_policies());
  if (c) FAIL("expected an error for:\n" << yaml);
  return c.error();
}

std::string policy_error(const std::string& yaml) {
  policy_loader l(kgw::policies::section_readers());
  auto e = l.add_string(yaml, "p.yaml");
  if (e) FAIL("expected an error for:\n" << yaml);
  return e.error();
}

struct temp_dir {
  fs::path dir = fs::temp_directory_path() / ("kgw-strict-" + std::to_string(::getpid()));
  temp_dir() { fs::create_directories(dir); }
  ~temp_dir() { fs::remove_all(dir); }
  fs::path write(const std::string& name, const std::string& text) const {
    std::ofstream(dir / name, std::ios::binary) << text;
    return dir / name;
  }
};

const std::string upstream = "upstream: { bootstrap: [k:9092] }\n";

}  // namespace

TEST_CASE("a key given twice is an error at the second one") {
  CHECK(policy_error("views: []\nacls: []\nviews:\n  - { principals: [a], topics: [t], mask: [{field: x, function: null}] }\n") ==
        "p.yaml:3:1: duplicate key 'views' (first at line 1, column 1): YAML would silently drop one of them");
  CHECK(policy_error("views:\n  - principals: [a]\n    topics: [t]\n    mask:\n      - field: email\n        function: partial\n"
                     "        keep_domain: true\n        function: redact\n")
            .starts_with("p.yaml:8:9: duplicate key 'function' (first at line 6, column 9)"));
  CHECK(policy_error("views: [{principals: [a], topics: [t], where: 'x == 1', where: 'x == 2'}]\n")
            .starts_with("p.yaml:1:57: duplicate key 'where' (first at line 1, column 40)"));
  CHECK(gateway_error(upstream + "policies: {}\ngateway: {}\npolicies: {views: []}\n")
            .starts_with("gw.yaml:4:1: duplicate key 'policies' (first at line 2, column 1)"));
  CHECK(gateway_error(upstream + "upstream: { bootstrap: [other:9092] }\n").starts_with("gw.yaml:2:1: duplicate key 'upstream'"));
  // Quoted and plain spellings are the same key.
  CHECK(gateway_error(upstream + "\"upstream\": {bootstrap: [x:1]}\n").starts_with("gw.yaml:2:1: duplicate key 'upstream'"));
  // Inline policies are checked with the gateway file.
  CHECK(gateway_error(upstream + "policies:\n  views: []\n  views: []\n").starts_with("gw.yaml:4:3: duplicate key 'views'"));
  // The same key in different mappings is fine, and so is a repeated list entry.
  policy_loader ok(kgw::policies::section_readers());
  CHECK(ok.add_string("views:\n  - {principals: [a], topics: [t]}\n  - {principals: [b], topics: [t]}\n", "p.yaml"));
}

TEST_CASE("the gateway file holds one YAML document") {
  CHECK(gateway_error(upstream + "---\npolicies: {views: []}\n") ==
        "gw.yaml:2:1: a second YAML document: this file must hold exactly one (remove the '---' line or the rest)");
  CHECK(load_string("---\n" + upstream, "gw.yaml").has_value());       // one document, explicitly started
  CHECK(load_string(upstream + "...\n", "gw.yaml").has_value());       // ended, nothing after
  // Policy files may hold several documents; they merge in order.
  policy_loader l(kgw::policies::section_readers());
  CHECK(l.add_string("views: []\n---\nacls: []\n", "p.yaml"));
}

TEST_CASE("a stray token is an error at once, not an endless stream of empty documents") {
  CHECK(policy_error(",") == "p.yaml:1:1: unexpected ',': not the start of a YAML node");
  CHECK(policy_error(", ") == "p.yaml:1:1: unexpected ',': not the start of a YAML node");
  CHECK(policy_error(",,") == "p.yaml:1:1: unexpected ',': not the start of a YAML node");
  CHECK(policy_error("---\n,") == "p.yaml:2:1: unexpected ',': not the start of a YAML node");
  CHECK(policy_error("views: []\n---\n,\n") == "p.yaml:3:1: unexpected ',': not the start of a YAML node");
  CHECK(policy_error("- a\n,") == "p.yaml:2:1: unexpected ',': not the start of a YAML node");
  CHECK(gateway_error(",") == "gw.yaml:1:1: unexpected ',': not the start of a YAML node");
  // Trailing garbage after the one document is not dropped either.
  CHECK(gateway_error(upstream + ",\n").starts_with("gw.yaml:"));
}

TEST_CASE("configuration text must be UTF-8 without control characters") {
  CHECK(gateway_error("gateway:\n  advertised_host: \"ab\xFF\xFE\"\n" + upstream) ==
        "gw.yaml:2:23: invalid UTF-8 (byte 0xFF)");
  CHECK(gateway_error("gateway:\n  advertised_host: h\xC3\n" + upstream) == "gw.yaml:2:21: invalid UTF-8 (byte 0xC3)");
  CHECK(gateway_error("gateway:\n  advertised_host: \xC0\xAF\n" + upstream) == "gw.yaml:2:20: invalid UTF-8 (byte 0xC0)");  // overlong
  CHECK(gateway_error("gateway:\n  advertised_host: a\x07z\n" + upstream) ==
        "gw.yaml:2:21: control character U+0007 is not allowed");
  // Columns count characters: two 2-byte characters before the bad byte.
  CHECK(policy_error("# \xC3\xA9\xC3\xA9\xFF\n") == "p.yaml:1:5: invalid UTF-8 (byte 0xFF)");
  // Escapes that produce what the raw text may not hold.
  CHECK(gateway_error("gateway:\n  advertised_host: \"a\\0b\"\n" + upstream) ==
        "gw.yaml:2:20: a string with control character U+0000 is not allowed (after its escapes)");
  // (yaml-cpp refuses a lone surrogate escape itself.)
  CHECK(gateway_error("gateway:\n  advertised_host: \"a\\uD800\"\n" + upstream) == "gw.yaml:2:28: invalid unicode: 55296");
  CHECK(policy_error("views: [{principals: [\"x\\x1b[31m\"], topics: [t]}]\n")
            .starts_with("p.yaml:1:23: a string with control character U+001B"));
  // What is allowed: a byte order mark, tabs in strings, any printable character, line ends
  // inside block scalars.
  CHECK(load_string("\xEF\xBB\xBF" + upstream + "gateway: {advertised_host: \"caf\xC3\xA9\\t\"}\n", "gw.yaml").has_value());
  policy_loader l(kgw::policies::section_readers());
  CHECK(l.add_string("views:\n  - principals: [\xE2\x9C\x93]\n    topics: [t]\n    where: |\n      x == 1\n"
                           "      and y == 2\n",
                           "p.yaml"));
}

TEST_CASE("files named in configuration must be regular and bounded") {
  temp_dir d;
  // /dev/zero and /dev/urandom never end: refused before a byte is read.
  CHECK(policy_error("hash_key: {file: /dev/zero}\n") == "p.yaml:1:18: hash_key: '/dev/zero' is not a regular file");
  CHECK(gateway_error(upstream + "principals:\n  a:\n    credentials: [{file: /dev/urandom}]\n")
            .find("'/dev/urandom' is not a regular file") != std::string::npos);
  // A FIFO would block the open itself.
  const fs::path fifo = d.dir / "fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK(policy_error("hash_key: {file: " + fifo.string() + "}\n") ==
        "p.yaml:1:18: hash_key: '" + fifo.string() + "' is not a regular file");
  // Larger than the cap (a sparse file: nothing is written).
  const fs::path big = d.write("big.key", "");
  fs::resize_file(big, max_named_file_bytes + 1);
  CHECK(policy_error("hash_key: {file: " + big.string() + "}\n") ==
        "p.yaml:1:18: hash_key: '" + big.string() + "' is larger than 4 MiB");
  // The configuration and policy files themselves.
  auto gw = load_file("/dev/zero");
  REQUIRE_FALSE(gw);
  CHECK(gw.error() == "/dev/zero:1:1: '/dev/zero' is not a regular file");
  policy_loader l(kgw::policies::section_readers());
  CHECK(l.add_file("/dev/zero").error() == "/dev/zero:1:1: policy file: '/dev/zero' is not a regular file");
  const fs::path huge = d.write("huge.yaml", "");
  fs::resize_file(huge, max_config_file_bytes + 1);
  CHECK(load_file(huge.string()).error() == huge.string() + ":1:1: '" + huge.string() + "' is larger than 16 MiB");
  // Within the bounds: read whole, also where fstat says 0 bytes (/proc).
  const fs::path key = d.write("ok.key", "0123456789abcdef0123\n");
  CHECK(read_bounded_file(key.string(), 64) == "0123456789abcdef0123\n");
  CHECK(read_bounded_file(key.string(), 8).error() == "'" + key.string() + "' is larger than 8 bytes");
  auto self = read_bounded_file("/proc/self/status", 1 << 20);
  REQUIRE(self);
  CHECK(self->find("Name:") == 0);
}

TEST_CASE("embedded topics: a name listed twice or not a Kafka topic name is an error, not a broker that fails later") {
  CHECK(gateway_error("upstream:\n  embedded:\n    topics:\n      - { name: t }\n      - { name: t, partitions: 3 }\n") ==
        "gw.yaml:5:17: topic 't' is listed twice");
  CHECK(gateway_error("upstream:\n  embedded:\n    topics: [{ name: \"a b\" }]\n") ==
        "gw.yaml:3:22: topic name 'a b' is not a Kafka topic name (1-249 of a-z A-Z 0-9 . _ -)");
  CHECK(gateway_error("upstream:\n  embedded:\n    topics: [{ name: \"..\" }]\n").starts_with("gw.yaml:3:22: topic name '..'"));
  CHECK(load_string("upstream:\n  embedded:\n    topics: [{ name: a.b_c-1 }, { name: A }]\n", "gw.yaml").has_value());
}
