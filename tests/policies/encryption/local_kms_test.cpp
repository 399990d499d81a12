// The key-file KMS: a private file of KEKs loads; anything else is a clear error that never
// shows key bytes; a wrapped data key unwraps only under its own KEK and its own id.
#include <catch2/catch.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "policies/encryption/local_kms.h"

namespace enc = kgw::policies::encryption;
namespace fs = std::filesystem;

namespace {

// 32 bytes 0x01..0x20 and 0x21..0x40, base64.
const std::string kek_a = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";
const std::string kek_b = "ISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+P0A=";

struct key_file {
  fs::path path = fs::temp_directory_path() / ("kgw-kek-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
  explicit key_file(const std::string& text, mode_t mode = 0600) {
    std::ofstream(path) << text;
    ::chmod(path.c_str(), mode);
  }
  ~key_file() { fs::remove(path); }
  static inline int n = 0;
};

std::string load_error(const std::string& text, mode_t mode = 0600) {
  key_file f(text, mode);
  auto k = enc::local_kms::load(f.path.string());
  if (k) FAIL("expected an error for:\n" << text);
  std::string e = k.error();
  CHECK(e.find(kek_a.substr(0, 20)) == std::string::npos);  // never the key's bytes
  // The file's name as F.
  for (auto at = e.find(f.path.string()); at != std::string::npos; at = e.find(f.path.string()))
    e.replace(at, f.path.string().size(), "F");
  return e;
}

}  // namespace

TEST_CASE("local KMS: wraps and unwraps a data key under its KEK and id only") {
  key_file f("# demo KEKs\nkek-a " + kek_a + "\n\n  kek-b\t" + kek_b + "   # the second\n");
  auto kms = enc::local_kms::load(f.path.string());
  REQUIRE(kms);
  auto& k = **kms;
  CHECK(std::string(k.kind()) == "local");
  CHECK(k.key_ids() == std::vector<std::string>{"kek-a", "kek-b"});
  CHECK(k.health());
  enc::key_material dek;
  for (std::size_t i = 0; i < dek.size(); ++i) dek[i] = static_cast<unsigned char>(200 + i);
  const auto wrapped = k.wrap("kek-a", "dek-1", dek);
  REQUIRE(wrapped);
  CHECK(wrapped->find(std::string(reinterpret_cast<const char*>(dek.data()), 8)) == std::string::npos);
  const auto back = k.unwrap("kek-a", "dek-1", *wrapped);
  REQUIRE(back);
  CHECK(*back == dek);
  CHECK(*k.wrap("kek-a", "dek-1", dek) != *wrapped);  // a fresh nonce each time
  // Another id, another KEK, an unknown KEK, a flipped bit, a cut.
  CHECK_FALSE(k.unwrap("kek-a", "dek-2", *wrapped));
  CHECK_FALSE(k.unwrap("kek-b", "dek-1", *wrapped));
  CHECK(k.unwrap("kek-x", "dek-1", *wrapped).error() == "no KEK 'kek-x' in the local KMS");
  CHECK_FALSE(k.wrap("kek-x", "dek-1", dek));
  std::string flipped = *wrapped;
  flipped[20] = static_cast<char>(flipped[20] ^ 1);
  CHECK_FALSE(k.unwrap("kek-a", "dek-1", flipped));
  CHECK_FALSE(k.unwrap("kek-a", "dek-1", wrapped->substr(0, 27)));
}

TEST_CASE("local KMS: a key file open to others or malformed is refused, saying why") {
  CHECK(load_error("kek-a " + kek_a + "\n", 0640) ==
        "KEK file 'F' is open to group or others (mode 0640); it holds the keys to every encrypted field: chmod 600 it");
  CHECK(load_error("kek-a " + kek_a + "\n", 0604).find("(mode 0604)") != std::string::npos);
  CHECK(load_error("kek-a\n") == "F:1: expected '<KEK id> <base64 of 32 bytes>'");
  CHECK(load_error("# c\nkek/a " + kek_a + "\n") == "F:2: a KEK id is 1-64 of A-Z a-z 0-9 . _ -");
  CHECK(load_error("kek-a " + kek_a + "\nkek-a " + kek_b + "\n") == "F:2: KEK 'kek-a' is given twice");
  CHECK(load_error("kek-a " + kek_a.substr(0, 43) + "\n") == "F:1: KEK 'kek-a' is not base64");
  CHECK(load_error("kek-a AQIDBAUGBwgJCgsMDQ4PEA==\n") == "F:1: KEK 'kek-a' must be 32 bytes, got 16");
  CHECK(load_error("# nothing\n\n") == "KEK file 'F' holds no KEK");
  auto missing = enc::local_kms::load("/nonexistent/keks");
  REQUIRE_FALSE(missing);
  CHECK(missing.error() == "KEK file '/nonexistent/keks' cannot be read");
}
