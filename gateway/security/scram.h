#pragma once
// SCRAM-SHA-256 / SCRAM-SHA-512 (RFC 5802, RFC 7677) as Kafka speaks it: the stored credential
// format, a server for client logins, a client for the gateway's own upstream logins, and the
// password check used by SASL/PLAIN. No sockets: callers move the SASL bytes.
// Like Kafka, passwords are used as UTF-8 bytes without SASLprep.
// Threading: free functions are thread-safe; a scram_server or scram_client is one exchange on
// one connection and must not be shared between threads.
#include <cstddef>
#include <cstdint>
#include <expected>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace kgw::security {

enum class scram_mechanism { sha256, sha512 };

// Kafka's limits (KIP-554): brokers refuse to store credentials outside this range, so a server
// asking for more is hostile or broken, and each iteration costs CPU on every login.
inline constexpr std::uint32_t scram_min_iterations = 4096;
inline constexpr std::uint32_t scram_max_iterations = 16384;

// "SCRAM-SHA-256" / "SCRAM-SHA-512", case-sensitive as in Kafka.
std::optional<scram_mechanism> scram_mechanism_from_name(std::string_view name);
std::string_view scram_mechanism_name(scram_mechanism mechanism);
// Bytes of the mechanism's hash: 32 or 64; stored_key, server_key and proofs have this length.
std::size_t scram_hash_size(scram_mechanism mechanism);

// What the gateway stores: salted keys, never the password.
struct scram_credential {
  scram_mechanism mechanism;
  std::uint32_t iterations;
  std::string salt;        // raw bytes
  std::string stored_key;  // raw bytes, H(ClientKey)
  std::string server_key;  // raw bytes
};

// One line: "SCRAM-SHA-512:iterations=4096:salt=<base64>:stored_key=<base64>:server_key=<base64>".
std::string to_stored_form(const scram_credential& credential);
// Accepts the fields after the mechanism in any order, each exactly once. Errors name the defect
// but never echo key material.
std::expected<scram_credential, std::string> parse_stored_form(std::string_view text);

// Random 32-byte salt from RAND_bytes. Throws std::invalid_argument if iterations are outside
// [scram_min_iterations, scram_max_iterations] (or the salt is empty), std::runtime_error if
// OpenSSL fails.
scram_credential make_scram_credential(scram_mechanism mechanism, std::string_view password,
                                       std::uint32_t iterations = scram_min_iterations);
scram_credential make_scram_credential(scram_mechanism mechanism, std::string_view password,
                                       std::uint32_t iterations, std::string_view salt);

// For SASL/PLAIN: PBKDF2 with the stored salt and iterations, then compares StoredKey in constant
// time. False as well for a credential with out-of-range iterations or wrong key lengths.
bool verify_password(const scram_credential& credential, std::string_view password);

// Stands in for a user that does not exist: the salt is derived from the username with a
// per-process key (stable across attempts, unpredictable from outside) and no known password
// matches. The SCRAM server uses it for unknown users; for PLAIN, run verify_password() against it
// so an unknown user costs the same PBKDF2 time as a wrong password.
scram_credential decoy_scram_credential(scram_mechanism mechanism, std::string_view username);

// Server side of one SCRAM exchange, as Kafka brokers do it. An unknown user gets a server-first
// with a salt derived from the username (stable across attempts), and fails at the final step with
// the same message as a wrong password, so neither the message nor the step reveals which users exist.
class scram_server {
 public:
  // Called once, from on_message(client-first); the credential is copied, so the pointer only
  // needs to stay valid during the call. nullptr: unknown user.
  using lookup_fn = std::function<const scram_credential*(std::string_view username)>;

  scram_server(scram_mechanism mechanism, lookup_fn lookup);  // random server nonce
  // For tests: the server's part of the nonce. Throws std::invalid_argument unless it is
  // non-empty printable ASCII without ','.
  scram_server(scram_mechanism mechanism, lookup_fn lookup, std::string server_nonce);

  enum class state { need_more, succeeded, failed };
  struct step {
    state st;
    std::string reply;  // bytes for the client (server-first or server-final); empty when failed
    std::string error;  // failed: reason safe to show the client and log (no secrets)
  };
  // Call with client-first, then client-final. After success or failure every call fails.
  step on_message(std::string_view client_message);
  // After succeeded: the authenticated user (saslname decoded). Empty before that.
  const std::string& username() const { return authenticated_; }

 private:
  step on_client_first(std::string_view message);
  step on_client_final(std::string_view message);
  step fail(std::string error);

  enum class phase { expect_client_first, expect_client_final, finished };

  scram_mechanism mechanism_;
  lookup_fn lookup_;
  std::string server_nonce_;
  phase phase_ = phase::expect_client_first;
  bool user_known_ = false;
  scram_credential credential_{};  // the user's, or a decoy for an unknown user
  std::string user_;
  std::string gs2_header_;  // e.g. "n,,"; the client-final's c= must carry exactly this
  std::string client_first_bare_;
  std::string server_first_;
  std::string nonce_;  // client nonce + server nonce
  std::string authenticated_;
};

// Client side, used by the gateway to log in to upstream brokers with its service credentials.
// Calls go first_message(), final_message(), verify_server_final(), in that order.
class scram_client {
 public:
  scram_client(scram_mechanism mechanism, std::string username, std::string password);  // random nonce
  // For tests. Throws std::invalid_argument unless the nonce is non-empty printable ASCII without ','.
  scram_client(scram_mechanism mechanism, std::string username, std::string password, std::string nonce);

  std::string first_message();  // "n,,n=user,r=nonce"
  // Client-final with proof. Checks the server nonce extends ours and the iteration count is within
  // [scram_min_iterations, scram_max_iterations].
  std::expected<std::string, std::string> final_message(std::string_view server_first);
  // Checks the v= server signature in constant time; "e=..." becomes an error.
  std::expected<void, std::string> verify_server_final(std::string_view server_final);

 private:
  enum class phase { initial, sent_first, sent_final, finished };

  scram_mechanism mechanism_;
  std::string username_;
  std::string password_;
  std::string nonce_;
  phase phase_ = phase::initial;
  std::string client_first_bare_;
  std::string expected_server_signature_;
};

}  // namespace kgw::security
