#include "gateway/security/plain.h"

#include <cstddef>

namespace kgw::security {

bool is_valid_utf8(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    const unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    // Lead byte gives the length and the allowed range of the first continuation byte, which is
    // what rules out overlong forms, surrogates and code points past U+10FFFF (RFC 3629 table).
    std::size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c == 0xE0) {
      len = 3, lo = 0xA0;
    } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
      len = 3;
    } else if (c == 0xED) {
      len = 3, hi = 0x9F;
    } else if (c == 0xF0) {
      len = 4, lo = 0x90;
    } else if (c >= 0xF1 && c <= 0xF3) {
      len = 4;
    } else if (c == 0xF4) {
      len = 4, hi = 0x8F;
    } else {
      return false;
    }
    if (n - i < len) return false;
    if (p[i + 1] < lo || p[i + 1] > hi) return false;
    for (std::size_t k = 2; k < len; ++k)
      if (p[i + k] < 0x80 || p[i + k] > 0xBF) return false;
    i += len;
  }
  return true;
}

std::expected<plain_credentials, std::string> parse_plain_message(std::string_view message) {
  const auto first = message.find('\0');
  const auto second = first == std::string_view::npos ? first : message.find('\0', first + 1);
  if (second == std::string_view::npos || message.find('\0', second + 1) != std::string_view::npos) {
    std::size_t nuls = 0;
    for (char c : message) nuls += c == '\0';
    return std::unexpected("Invalid SASL/PLAIN response: expected 3 tokens separated by NUL, got " +
                           std::to_string(nuls + 1));
  }
  plain_credentials out{std::string(message.substr(0, first)),
                        std::string(message.substr(first + 1, second - first - 1)),
                        std::string(message.substr(second + 1))};
  if (out.username.empty()) return std::unexpected("Authentication failed: username not specified");
  if (out.password.empty()) return std::unexpected("Authentication failed: password not specified");
  // No length cap at 255 octets (RFC 4616): Kafka has none, and some services use long tokens
  // (e.g. Azure Event Hubs connection strings) as PLAIN passwords.
  if (!is_valid_utf8(out.authzid) || !is_valid_utf8(out.username) || !is_valid_utf8(out.password))
    return std::unexpected("Invalid SASL/PLAIN response: not valid UTF-8");
  if (!out.authzid.empty() && out.authzid != out.username)
    return std::unexpected(
        "Authentication failed: Client requested an authorization id that is different from username");
  return out;
}

std::string make_plain_message(std::string_view username, std::string_view password) {
  std::string out;
  out.reserve(2 + username.size() + password.size());
  out.push_back('\0');
  out.append(username);
  out.push_back('\0');
  out.append(password);
  return out;
}

}  // namespace kgw::security
