#pragma once
// SASL/PLAIN (RFC 4616) message handling, as Kafka brokers do it. The password is checked
// elsewhere: verify_password() in scram.h checks it against a stored SCRAM credential.
// Threading: pure functions, safe from any thread.
#include <expected>
#include <string>
#include <string_view>

namespace kgw::security {

struct plain_credentials {
  std::string authzid;  // empty unless the client asked for one; then equal to username
  std::string username;
  std::string password;
};

// Server side: "[authzid] NUL authcid NUL passwd". Rejects a wrong NUL count, an empty username or
// password, invalid UTF-8, and an authzid other than the username (as Kafka does). Error messages
// never contain the password.
std::expected<plain_credentials, std::string> parse_plain_message(std::string_view message);

// Client side: "\0user\0pass" (no authzid).
std::string make_plain_message(std::string_view username, std::string_view password);

// Strict UTF-8 (no overlong forms, surrogates or code points above U+10FFFF). SASL text fields
// (RFC 4616, RFC 5802) must be UTF-8, and usernames end up in logs and ACL principals.
bool is_valid_utf8(std::string_view text);

}  // namespace kgw::security
