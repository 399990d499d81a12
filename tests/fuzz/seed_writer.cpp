// Writes the fuzz targets' seed corpora, generated at build time (nothing binary is committed):
//   seed_writer OUT_DIR EXAMPLES_DIR
// makes OUT_DIR/<target>/ for each target (fuzz_targets.cmake) and fills it from the schema's
// sample messages (protocol/samples.h: every API x version x variant, as the round-trip tests
// use them), valid batches of every codec, governed Fetch responses, and config/examples (the
// YAML files and the predicates of their views). ctest runs it before the fuzzers.
// Threading: a single-threaded program.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "governed_fetch_input.h"
#include "message_types.h"
#include "protocol/api_keys.h"
#include "protocol/compression.h"
#include "protocol/frames.h"
#include "protocol/record_batch.h"
#include "protocol/testing/sample_values.h"
#include "tests/protocol/record_batch_checks.h"

namespace fs = std::filesystem;
namespace proto = kgw::protocol;
using bytes = std::vector<std::byte>;

namespace {

class corpus {
 public:
  corpus(const fs::path& root, const std::string& target) : dir_(root / target) {
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  ~corpus() { std::cout << dir_.filename().string() << ": " << n_ << " seeds\n"; }
  void add(const void* data, std::size_t size) {
    std::ofstream(dir_ / ("seed-" + std::to_string(n_++)), std::ios::binary)
        .write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  void add(const bytes& b) { add(b.data(), b.size()); }
  void add(std::string_view s) { add(s.data(), s.size()); }

 private:
  fs::path dir_;
  std::size_t n_ = 0;
};

bytes prefixed(std::initializer_list<std::uint8_t> head, const bytes& body) {
  bytes out;
  for (auto b : head) out.push_back(static_cast<std::byte>(b));
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

bytes be16_then(std::int16_t a, std::int16_t b, const bytes& body) {
  return prefixed({static_cast<std::uint8_t>(a >> 8), static_cast<std::uint8_t>(a), static_cast<std::uint8_t>(b >> 8),
                   static_cast<std::uint8_t>(b)},
                  body);
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// fn(message, version, variant) for each sample of every API's request (Responses: response),
// every version, every variant.
template <bool Responses, class F>
void for_each_sample(F&& fn) {
  for (const auto& api : proto::all_apis()) {
    auto each = [&]<class M>(std::type_identity<M>) {
      for (std::int16_t v = M::min_version; v <= M::max_version; ++v)
        for (int variant = 0; variant < proto::testing::sample_variants; ++variant) {
          M msg;
          proto::testing::fill_sample(msg, v, variant);
          fn(msg, v, variant);
        }
    };
    if constexpr (Responses)
      kgw::fuzz::with_response(api.key, each);
    else
      kgw::fuzz::with_request(api.key, each);
  }
}

// Every request as a frame without its size.
void requests(const fs::path& out) {
  corpus c(out, "request_codec");
  for_each_sample<false>([&](const auto& msg, std::int16_t v, int variant) {
    c.add(proto::encode_request(msg, v, 1000 + variant, "seed-client", false).flatten());
  });
}

// Every response (API key, version, frame without size), address-bearing ones with broker ids
// that fit the test rewriter's ports.
void responses(const fs::path& out) {
  corpus c(out, "response_rewrite");
  for_each_sample<true>([&]<class M>(const M& sample, std::int16_t v, int variant) {
    M msg = sample;
    if constexpr (requires { msg.brokers; })
      for (std::size_t i = 0; i < msg.brokers.size(); ++i) {
        auto& b = msg.brokers[i];
        if constexpr (requires { b.node_id; })
          b.node_id = static_cast<std::int32_t>(i);
        else
          b.broker_id = static_cast<std::int32_t>(i);
      }
    if constexpr (requires { msg.node_endpoints; })
      for (std::size_t i = 0; i < msg.node_endpoints.size(); ++i)
        msg.node_endpoints[i].node_id = static_cast<std::int32_t>(i + 1);
    if constexpr (requires { msg.coordinators; }) {
      msg.node_id = 2;
      msg.error_code = 0;
      for (auto& co : msg.coordinators) co.node_id = 3, co.error_code = 0;
    }
    c.add(be16_then(M::api_key, v, proto::encode_response(msg, v, 2000 + variant, false).flatten()));
  });
}

// Valid batches of every codec, as records fields (mode 0 and 1), and their compressed payloads.
void batches(const fs::path& out) {
  corpus c(out, "record_batch");
  for (const auto& b : proto::testing::valid_batches()) {
    c.add(prefixed({0}, b));
    c.add(prefixed({1}, b));
    const auto h = proto::read_batch_header(b);
    if (h && h->codec() != proto::compression_codec::none)
      c.add(prefixed({static_cast<std::uint8_t>(2 | (static_cast<int>(h->codec()) << 2))},
                     bytes(b.begin() + proto::batch_v2_header_size, b.end())));
  }
}

const std::vector<std::string_view> record_values = {
    R"({"id": 1, "keep": true, "email": "a@example.com", "phone": "555-0100"})",
    R"({"id": 2, "keep": false, "email": "b@example.com"})",
    R"({"id": 3, "keep": true, "keep": false, "email": "c@example.com", "email": "d@example.com"})",
    R"({"id": 4, "keep": true, "address": {"street": "1 Main", "city": "Springfield"}, "items": [{"sku": "x", "card": "4111111111111111"}]})",
    R"({"id": 5, "keep": true, "em\u0061il": "e@example.com", "consent": {"marketing": true}, "region": "US-WEST"})",
    R"(not json at all)",
    R"([1, 2.5e3, -0, null, true, "\ud83d\ude00", {"": ""}])",
    R"("a string \"with\" escapes \u00e9")",
};

// Governed Fetch responses of every version and codec: built (mode 1) and as raw bodies (mode 0).
void governed(const fs::path& out) {
  corpus c(out, "governed_fetch");
  std::string lines;
  for (auto v : record_values) lines += std::string(v) + "\n";
  lines.pop_back();
  for (std::int16_t v = 0; v <= proto::fetch_response::max_version; ++v)
    for (int codec = 0; codec < 5; ++codec) {
      const auto head = {static_cast<std::uint8_t>(0), static_cast<std::uint8_t>(v), static_cast<std::uint8_t>(codec)};
      c.add(prefixed({1, static_cast<std::uint8_t>(v), static_cast<std::uint8_t>(codec)},
                     bytes(reinterpret_cast<const std::byte*>(lines.data()),
                           reinterpret_cast<const std::byte*>(lines.data() + lines.size()))));
      c.add(prefixed(head, kgw::fuzz::orders_fetch_response(v, static_cast<proto::compression_codec>(codec),
                                                            kgw::fuzz::split_lines(lines))));
    }
}

void json_values(const fs::path& out) {
  corpus c(out, "json");
  for (auto v : record_values) c.add(v);
}

// The predicates of the examples' views and of the README, each with a record.
void predicates(const fs::path& out, const fs::path& examples) {
  corpus c(out, "row_filter");
  std::vector<std::string> preds = {
      R"(consent.marketing == true and region in ["US-WEST", "US-EAST"])",
      R"(not (ltv < 100) or exists(key.id))",
      R"(items[*].sku in principal.teams and headers.h == "x")",
      R"(principal.name == "alice" and timestamp >= 1700000000000)",
      R"(value.keep != false and key == 'k' and region == principal.territory)",
      R"(headers["any-name"] exists or id <= 3.5e0)",
  };
  const std::regex where(R"(where:\s*(.*?)\s*(#.*)?$)");
  for (const auto& e : fs::recursive_directory_iterator(examples)) {
    if (e.path().extension() != ".yaml") continue;
    std::istringstream in(read_file(e.path()));
    for (std::string line; std::getline(in, line);)
      if (std::smatch m; std::regex_search(line, m, where)) preds.push_back(m[1]);
  }
  for (const auto& p : preds)
    for (auto v : record_values) {
      std::string s = p + '\0' + std::string(v) + '\0' + R"({"id": 7})" + '\0' + "x";
      c.add(s);
    }
}

// SASL exchanges: each frame with a 2-byte length.
void sasl(const fs::path& out) {
  corpus c(out, "sasl");
  auto framed = [](const std::vector<bytes>& frames) {
    bytes all;
    for (const auto& f : frames) {
      all.push_back(static_cast<std::byte>(f.size() >> 8));
      all.push_back(static_cast<std::byte>(f.size()));
      all.insert(all.end(), f.begin(), f.end());
    }
    return all;
  };
  auto text = [](std::string_view s) { return bytes(reinterpret_cast<const std::byte*>(s.data()), reinterpret_cast<const std::byte*>(s.data() + s.size())); };
  auto handshake = [](std::string_view mech, std::int16_t v) {
    proto::sasl_handshake_request r;
    r.mechanism = mech;
    return proto::encode_request(r, v, 1, "seed-client", false).flatten();
  };
  auto authenticate = [](std::string_view token, std::int16_t v) {
    proto::sasl_authenticate_request r;
    r.auth_bytes = proto::as_bytes(token);
    return proto::encode_request(r, v, 2, "seed-client", false).flatten();
  };
  const std::string good("\0alice\0alice-secret", 19), wrong("\0alice\0wrong", 11), nocreds("\0nocreds\0x", 10);
  proto::api_versions_request av;
  const bytes versions = proto::encode_request(av, 3, 0, "seed-client", false).flatten();
  for (std::int16_t v = 0; v <= 2; ++v) {
    c.add(framed({versions, handshake("PLAIN", 1), authenticate(good, v)}));
    c.add(framed({handshake("PLAIN", 1), authenticate(wrong, v)}));
    c.add(framed({handshake("PLAIN", 1), authenticate(nocreds, v)}));
    c.add(framed({handshake("SCRAM-SHA-256", 1), authenticate("n,,n=alice,r=fyko+d2lbbFgONRv9qkxdawL", v)}));
    c.add(framed({handshake("SCRAM-SHA-512", 1), authenticate("n,,n=nocreds,r=abc", v), authenticate("c=biws,r=abc,p=AAAA", v)}));
  }
  c.add(framed({handshake("PLAIN", 0), text(good)}));
  c.add(framed({handshake("PLAIN", 0), text(wrong)}));
  c.add(framed({handshake("SCRAM-SHA-512", 0), text("n,,n=alice,r=abc")}));
  c.add(framed({handshake("GSSAPI", 1)}));
}

// config/examples: each YAML file as a gateway configuration (0) and as a policy document (1).
void configs(const fs::path& out, const fs::path& examples) {
  corpus c(out, "config");
  for (const auto& e : fs::recursive_directory_iterator(examples)) {
    if (e.path().extension() != ".yaml") continue;
    const std::string text = read_file(e.path());
    for (char selector : {'\0', '\1'}) c.add(std::string(1, selector) + text);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: seed_writer OUT_DIR EXAMPLES_DIR\n";
    return 2;
  }
  const fs::path out = argv[1], examples = argv[2];
  requests(out);
  responses(out);
  batches(out);
  governed(out);
  json_values(out);
  predicates(out, examples);
  sasl(out);
  configs(out, examples);
  return 0;
}
