// libFuzzer target: the YAML readers (config/). Input: a selector byte, then YAML text: even, a
// gateway configuration (config::load_string with every extension the gateway passes: policy
// sections, credential, JWKS and principal-mapping checks); odd, a policy document
// (config::policy_loader, then finish()). Properties:
// - never a crash, a hang or an exception out of the loader;
// - every error is "fuzz.yaml:LINE:COL: message" with LINE and COL at least 1 and LINE within
//   the text (one past its last line allowed: the end of the document), and a message.
// Seeds: config/examples/*.yaml and the policy documents under them.
#include <charconv>
#include <string>

#include "config/loader.h"
#include "config/policy_loader.h"
#include "fuzz_check.h"
#include "gateway/config_extensions.h"
#include "policies/registry.h"

using kgw::fuzz::require;

namespace {

void check_error(const std::string& error, std::string_view text) {
  constexpr std::string_view source = "fuzz.yaml:";
  require(error.starts_with(source), "an error does not start with the file name", error);
  std::size_t line = 0, col = 0;
  const char* p = error.data() + source.size();
  const char* end = error.data() + error.size();
  auto l = std::from_chars(p, end, line);
  require(l.ec == std::errc() && l.ptr < end && *l.ptr == ':', "an error without a line", error);
  auto c = std::from_chars(l.ptr + 1, end, col);
  require(c.ec == std::errc() && c.ptr + 1 < end && c.ptr[0] == ':' && c.ptr[1] == ' ', "an error without a column", error);
  require(line >= 1 && col >= 1, "an error at line or column 0", error);
  std::size_t lines = 1;
  for (char ch : text) lines += ch == '\n';
  require(line <= lines + 1, "an error past the last line", error);
  require(c.ptr + 2 < end, "an error without a message", error);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  static const kgw::config::extensions with = kgw::gateway::config_extensions();
  if (data[0] % 2 == 0) {
    const auto c = kgw::config::load_string(text, "fuzz.yaml", with);
    if (!c) check_error(c.error(), text);
    return 0;
  }
  kgw::config::policy_loader loader(kgw::policies::section_readers());
  auto added = loader.add_string(text, "fuzz.yaml");
  if (added) added = loader.finish();
  if (!added) check_error(added.error(), text);
  return 0;
}
