#include "gateway/security/scram.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <climits>
#include <stdexcept>
#include <utility>
#include <vector>

#include "gateway/security/plain.h"

namespace kgw::security {
namespace {

constexpr std::string_view sha256_name = "SCRAM-SHA-256";
constexpr std::string_view sha512_name = "SCRAM-SHA-512";

// ---- crypto primitives (OpenSSL failures here mean out of memory or a broken library) ----

const EVP_MD* digest_of(scram_mechanism m) {
  return m == scram_mechanism::sha256 ? EVP_sha256() : EVP_sha512();
}

int checked_int(std::size_t n) {
  if (n > static_cast<std::size_t>(INT_MAX)) throw std::length_error("SCRAM input too large");
  return static_cast<int>(n);
}

const unsigned char* bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

std::string hmac(const EVP_MD* md, std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (HMAC(md, key.data(), checked_int(key.size()), bytes(data), data.size(), out, &len) == nullptr)
    throw std::runtime_error("OpenSSL HMAC failed");
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string hmac(scram_mechanism m, std::string_view key, std::string_view data) {
  return hmac(digest_of(m), key, data);
}

std::string hash(scram_mechanism m, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out, &len, digest_of(m), nullptr) != 1)
    throw std::runtime_error("OpenSSL digest failed");
  return std::string(reinterpret_cast<const char*>(out), len);
}

// Hi(password, salt, i) of RFC 5802 is PBKDF2 with the hash's output length.
std::string salted_password(scram_mechanism m, std::string_view password, std::string_view salt,
                            std::uint32_t iterations) {
  std::string out(scram_hash_size(m), '\0');
  if (PKCS5_PBKDF2_HMAC(password.data(), checked_int(password.size()), bytes(salt), checked_int(salt.size()),
                        checked_int(iterations), digest_of(m), checked_int(out.size()),
                        reinterpret_cast<unsigned char*>(out.data())) != 1)
    throw std::runtime_error("OpenSSL PBKDF2 failed");
  return out;
}

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), checked_int(n)) != 1)
    throw std::runtime_error("OpenSSL RAND_bytes failed");
  return out;
}

bool equal_constant_time(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string xor_bytes(std::string_view a, std::string_view b) {
  std::string out(a);
  for (std::size_t i = 0; i < out.size() && i < b.size(); ++i) out[i] = static_cast<char>(out[i] ^ b[i]);
  return out;
}

// ---- base64 (RFC 4648, standard alphabet, padded). Decoding is strict: wrong length, stray
// characters, misplaced padding and non-zero unused bits all fail, so each value has one spelling.

constexpr char b64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64_encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const std::uint32_t n = std::uint32_t(std::uint8_t(in[i])) << 16 | std::uint32_t(std::uint8_t(in[i + 1])) << 8 |
                            std::uint8_t(in[i + 2]);
    out += b64_alphabet[n >> 18];
    out += b64_alphabet[(n >> 12) & 63];
    out += b64_alphabet[(n >> 6) & 63];
    out += b64_alphabet[n & 63];
  }
  if (const std::size_t rest = in.size() - i; rest > 0) {
    std::uint32_t n = std::uint32_t(std::uint8_t(in[i])) << 16;
    if (rest == 2) n |= std::uint32_t(std::uint8_t(in[i + 1])) << 8;
    out += b64_alphabet[n >> 18];
    out += b64_alphabet[(n >> 12) & 63];
    out += rest == 2 ? b64_alphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

std::optional<std::string> base64_decode(std::string_view in) {
  if (in.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(in.size() / 4 * 3);
  for (std::size_t i = 0; i < in.size(); i += 4) {
    const bool last = i + 4 == in.size();
    int v[4];
    int pad = 0;
    for (int j = 0; j < 4; ++j) {
      const char c = in[i + j];
      if (c == '=') {
        if (!last || j < 2) return std::nullopt;
        v[j] = 0;
        ++pad;
      } else {
        if (pad > 0) return std::nullopt;  // data after padding
        v[j] = base64_value(c);
        if (v[j] < 0) return std::nullopt;
      }
    }
    if ((pad == 2 && (v[1] & 0x0f) != 0) || (pad == 1 && (v[2] & 0x03) != 0)) return std::nullopt;
    const std::uint32_t n = std::uint32_t(v[0]) << 18 | std::uint32_t(v[1]) << 12 | std::uint32_t(v[2]) << 6 |
                            std::uint32_t(v[3]);
    out += static_cast<char>(n >> 16);
    if (pad < 2) out += static_cast<char>((n >> 8) & 0xff);
    if (pad < 1) out += static_cast<char>(n & 0xff);
  }
  return out;
}

// ---- SCRAM message syntax (RFC 5802 section 7) ----

// Attribute values never contain ',', so a message splits cleanly; empty pieces are kept so that
// ",," and trailing commas are caught as malformed.
std::vector<std::string_view> split_attributes(std::string_view message) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (true) {
    const auto comma = message.find(',', start);
    out.push_back(message.substr(start, comma == std::string_view::npos ? comma : comma - start));
    if (comma == std::string_view::npos) return out;
    start = comma + 1;
  }
}

bool has_attribute(std::string_view attr, char name) {
  return attr.size() >= 2 && attr[0] == name && attr[1] == '=';
}

// printable = %x21-2B / %x2D-7E: visible ASCII without ','.
bool valid_nonce(std::string_view nonce) {
  if (nonce.empty()) return false;
  for (char c : nonce)
    if (c < 0x21 || c > 0x7e || c == ',') return false;
  return true;
}

// Extension attributes: Kafka's are words ("tokenauth=true"), RFC 5802's single letters; both fit.
bool parse_extension(std::string_view attr, std::string_view& key, std::string_view& value) {
  const auto eq = attr.find('=');
  if (eq == 0 || eq == std::string_view::npos || eq + 1 == attr.size()) return false;
  key = attr.substr(0, eq);
  value = attr.substr(eq + 1);
  for (char c : key)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
  for (char c : value)
    if (c == '\0') return false;
  return true;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// saslname: ',' and '=' travel as "=2C" and "=3D"; any other '=' is an error.
std::string encode_saslname(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (char c : name) {
    if (c == ',')
      out += "=2C";
    else if (c == '=')
      out += "=3D";
    else
      out += c;
  }
  return out;
}

std::expected<std::string, std::string> decode_saslname(std::string_view encoded) {
  if (encoded.empty()) return std::unexpected("empty name");
  std::string out;
  out.reserve(encoded.size());
  for (std::size_t i = 0; i < encoded.size(); ++i) {
    const char c = encoded[i];
    if (c == '\0') return std::unexpected("NUL in name");
    if (c != '=') {
      out += c;
      continue;
    }
    const auto code = encoded.substr(i + 1, 2);
    if (code == "2C")
      out += ',';
    else if (code == "3D")
      out += '=';
    else
      return std::unexpected("bad '=' escape in name (only =2C and =3D are allowed)");
    i += 2;
  }
  if (!is_valid_utf8(out)) return std::unexpected("name is not valid UTF-8");
  return out;
}

// Digits only (no sign, no spaces). Saturates instead of overflowing, so a huge count reads as
// out of range rather than as garbage.
std::optional<std::uint64_t> parse_count(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v > (UINT64_MAX - 9) / 10 ? UINT64_MAX : v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return v;
}

// Digits are safe to echo; the cap keeps a hostile peer from filling the log.
std::string shorten(std::string_view digits) {
  return digits.size() <= 20 ? std::string(digits) : std::string(digits.substr(0, 20)) + "...";
}

bool iterations_in_range(std::uint64_t n) { return n >= scram_min_iterations && n <= scram_max_iterations; }

std::string random_nonce() { return base64_encode(random_bytes(24)); }  // 32 chars, no padding

// Keyed per process so an unknown user's decoy salt is stable across attempts (a changing salt
// would reveal that the user does not exist) yet unpredictable from outside.
const std::string& decoy_key() {
  static const std::string key = random_bytes(32);
  return key;
}

bool usable_credential(const scram_credential& c, scram_mechanism m) {
  return c.mechanism == m && iterations_in_range(c.iterations) && !c.salt.empty() &&
         c.stored_key.size() == scram_hash_size(m) && c.server_key.size() == scram_hash_size(m);
}

std::string invalid_credentials(scram_mechanism m) {
  return "Authentication failed during authentication due to invalid credentials with SASL mechanism " +
         std::string(scram_mechanism_name(m));
}

}  // namespace

// ---- mechanism names ----

std::optional<scram_mechanism> scram_mechanism_from_name(std::string_view name) {
  if (name == sha256_name) return scram_mechanism::sha256;
  if (name == sha512_name) return scram_mechanism::sha512;
  return std::nullopt;
}

std::string_view scram_mechanism_name(scram_mechanism mechanism) {
  return mechanism == scram_mechanism::sha256 ? sha256_name : sha512_name;
}

std::size_t scram_hash_size(scram_mechanism mechanism) { return mechanism == scram_mechanism::sha256 ? 32 : 64; }

// ---- credentials ----

scram_credential make_scram_credential(scram_mechanism mechanism, std::string_view password,
                                       std::uint32_t iterations, std::string_view salt) {
  if (!iterations_in_range(iterations))
    throw std::invalid_argument("SCRAM iterations must be " + std::to_string(scram_min_iterations) + ".." +
                                std::to_string(scram_max_iterations));
  if (salt.empty()) throw std::invalid_argument("SCRAM salt must not be empty");
  const std::string salted = salted_password(mechanism, password, salt, iterations);
  return scram_credential{mechanism, iterations, std::string(salt),
                          hash(mechanism, hmac(mechanism, salted, "Client Key")),
                          hmac(mechanism, salted, "Server Key")};
}

scram_credential make_scram_credential(scram_mechanism mechanism, std::string_view password,
                                       std::uint32_t iterations) {
  return make_scram_credential(mechanism, password, iterations, random_bytes(32));
}

bool verify_password(const scram_credential& credential, std::string_view password) {
  if (!usable_credential(credential, credential.mechanism)) return false;
  const std::string salted = salted_password(credential.mechanism, password, credential.salt, credential.iterations);
  const std::string stored_key = hash(credential.mechanism, hmac(credential.mechanism, salted, "Client Key"));
  return equal_constant_time(stored_key, credential.stored_key);
}

std::string to_stored_form(const scram_credential& c) {
  return std::string(scram_mechanism_name(c.mechanism)) + ":iterations=" + std::to_string(c.iterations) +
         ":salt=" + base64_encode(c.salt) + ":stored_key=" + base64_encode(c.stored_key) +
         ":server_key=" + base64_encode(c.server_key);
}

std::expected<scram_credential, std::string> parse_stored_form(std::string_view text) {
  auto error = [](std::string what) {
    return std::unexpected("invalid SCRAM credential: " + std::move(what));
  };
  for (char c : text)
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') return error("contains whitespace");
  const auto colon = text.find(':');
  const auto mechanism = scram_mechanism_from_name(text.substr(0, colon));
  if (!mechanism) return error("must start with SCRAM-SHA-256: or SCRAM-SHA-512:");
  if (colon == std::string_view::npos) return error("missing iterations, salt, stored_key and server_key");

  std::optional<std::string_view> fields[4];  // iterations, salt, stored_key, server_key
  constexpr std::string_view names[4] = {"iterations", "salt", "stored_key", "server_key"};
  std::string_view rest = text.substr(colon + 1);
  while (true) {
    const auto next = rest.find(':');
    const std::string_view field = rest.substr(0, next);
    const auto eq = field.find('=');
    const std::string_view key = field.substr(0, eq);
    std::size_t slot = 0;
    while (slot < 4 && names[slot] != key) ++slot;
    // Only the name before '=' is ever echoed: values may be key material.
    if (eq == std::string_view::npos) return error("field without '=' (expected iterations=, salt=, stored_key=, server_key=)");
    if (slot == 4) return error("unknown field '" + std::string(key) + "'");
    if (fields[slot]) return error(std::string(key) + " given twice");
    fields[slot] = field.substr(eq + 1);
    if (next == std::string_view::npos) break;
    rest = rest.substr(next + 1);
  }
  for (std::size_t i = 0; i < 4; ++i)
    if (!fields[i]) return error("missing " + std::string(names[i]));

  const auto iterations = parse_count(*fields[0]);
  if (!iterations) return error("iterations is not a number");
  if (!iterations_in_range(*iterations))
    return error("iterations must be " + std::to_string(scram_min_iterations) + ".." +
                 std::to_string(scram_max_iterations) + ", got " + shorten(*fields[0]));
  scram_credential out{*mechanism, static_cast<std::uint32_t>(*iterations), {}, {}, {}};
  std::string* targets[3] = {&out.salt, &out.stored_key, &out.server_key};
  for (std::size_t i = 1; i < 4; ++i) {
    auto decoded = base64_decode(*fields[i]);
    if (!decoded) return error(std::string(names[i]) + " is not valid base64");
    *targets[i - 1] = std::move(*decoded);
  }
  if (out.salt.empty()) return error("salt is empty");
  const std::size_t want = scram_hash_size(*mechanism);
  if (out.stored_key.size() != want || out.server_key.size() != want)
    return error("stored_key and server_key must be " + std::to_string(want) + " bytes for " +
                 std::string(scram_mechanism_name(*mechanism)));
  return out;
}

scram_credential decoy_scram_credential(scram_mechanism m, std::string_view user) {
  std::string label(scram_mechanism_name(m));
  label += '\0';
  label += user;
  scram_credential c{m, scram_min_iterations, {}, {}, {}};
  c.salt = hmac(EVP_sha256(), decoy_key(), "salt:" + label);
  c.stored_key = hmac(m, decoy_key(), "stored_key:" + label);
  c.server_key = hmac(m, decoy_key(), "server_key:" + label);
  return c;
}

// ---- server ----

scram_server::scram_server(scram_mechanism mechanism, lookup_fn lookup)
    : scram_server(mechanism, std::move(lookup), random_nonce()) {}

scram_server::scram_server(scram_mechanism mechanism, lookup_fn lookup, std::string server_nonce)
    : mechanism_(mechanism), lookup_(std::move(lookup)), server_nonce_(std::move(server_nonce)) {
  if (!valid_nonce(server_nonce_)) throw std::invalid_argument("SCRAM server nonce must be printable ASCII without ','");
}

scram_server::step scram_server::fail(std::string error) {
  phase_ = phase::finished;
  return step{state::failed, {}, std::move(error)};
}

scram_server::step scram_server::on_message(std::string_view client_message) {
  switch (phase_) {
    case phase::expect_client_first:
      return on_client_first(client_message);
    case phase::expect_client_final:
      return on_client_final(client_message);
    case phase::finished:
      break;
  }
  return step{state::failed, {}, "SCRAM exchange already finished; a new authentication needs a new exchange"};
}

scram_server::step scram_server::on_client_first(std::string_view message) {
  auto malformed = [this](std::string_view what) {
    return fail("Invalid SCRAM client first message: " + std::string(what));
  };
  // GS2 header: cbind-flag "," [authzid] ",". "y" means the client could bind to the channel but
  // thinks we cannot, which is true (no -PLUS mechanisms), so it is accepted like "n".
  if (message.starts_with("p="))
    return malformed("channel binding (p=) is not supported; use a SCRAM mechanism without -PLUS");
  if (message.size() < 2 || (message[0] != 'n' && message[0] != 'y') || message[1] != ',')
    return malformed("must start with a GS2 header 'n,' or 'y,'");
  const auto header_end = message.find(',', 2);
  if (header_end == std::string_view::npos) return malformed("truncated GS2 header");
  const std::string_view authz_attr = message.substr(2, header_end - 2);
  std::string authzid;
  if (!authz_attr.empty()) {
    if (!has_attribute(authz_attr, 'a')) return malformed("GS2 authorization id must be a=<name>");
    auto decoded = decode_saslname(authz_attr.substr(2));
    if (!decoded) return malformed("authorization id: " + decoded.error());
    authzid = std::move(*decoded);
  }

  const std::string_view bare = message.substr(header_end + 1);
  const auto attrs = split_attributes(bare);
  std::size_t i = 0;
  if (has_attribute(attrs[i], 'm')) return malformed("mandatory extension (m=) is not supported");
  if (!has_attribute(attrs[i], 'n')) return malformed("missing username (n=)");
  auto user = decode_saslname(attrs[i].substr(2));
  if (!user) return malformed("username: " + user.error());
  ++i;
  if (i >= attrs.size() || !has_attribute(attrs[i], 'r')) return malformed("missing nonce (r=)");
  const std::string_view client_nonce = attrs[i].substr(2);
  if (!valid_nonce(client_nonce)) return malformed("nonce must be printable ASCII without ','");
  for (++i; i < attrs.size(); ++i) {
    std::string_view key, value;
    if (!parse_extension(attrs[i], key, value)) return malformed("malformed extension attribute");
    // Kafka's delegation-token login; the gateway has no tokens to check it against. Like Kafka,
    // only "true" asks for it.
    if (key == "tokenauth" && iequals(value, "true"))
      return fail("Authentication failed: delegation token authentication (tokenauth) is not supported by this gateway");
  }
  if (!authzid.empty() && authzid != *user)
    return fail("Authentication failed: Client requested an authorization id that is different from username");

  const scram_credential* found = lookup_(*user);
  user_known_ = found != nullptr && usable_credential(*found, mechanism_);
  credential_ = user_known_ ? *found : decoy_scram_credential(mechanism_, *user);
  user_ = std::move(*user);
  gs2_header_ = std::string(message.substr(0, header_end + 1));
  client_first_bare_ = std::string(bare);
  nonce_ = std::string(client_nonce) + server_nonce_;
  server_first_ = "r=" + nonce_ + ",s=" + base64_encode(credential_.salt) + ",i=" + std::to_string(credential_.iterations);
  phase_ = phase::expect_client_final;
  return step{state::need_more, server_first_, {}};
}

scram_server::step scram_server::on_client_final(std::string_view message) {
  auto malformed = [this](std::string_view what) {
    return fail("Invalid SCRAM client final message: " + std::string(what));
  };
  // channel-binding "," nonce ["," extensions] "," proof
  const auto attrs = split_attributes(message);
  if (attrs.size() < 3) return malformed("expected c=, r= and p= attributes");
  if (!has_attribute(attrs[0], 'c')) return malformed("missing channel binding (c=)");
  if (!has_attribute(attrs[1], 'r')) return malformed("missing nonce (r=)");
  if (!has_attribute(attrs.back(), 'p')) return malformed("missing proof (p=) as the last attribute");
  for (std::size_t i = 2; i + 1 < attrs.size(); ++i) {
    std::string_view key, value;
    if (!parse_extension(attrs[i], key, value)) return malformed("malformed extension attribute");
  }
  const auto binding = base64_decode(attrs[0].substr(2));
  if (!binding) return malformed("channel binding is not valid base64");
  // Without channel binding, c= carries the GS2 header itself; a different one means the header
  // was tampered with in transit.
  if (*binding != gs2_header_) return malformed("channel binding does not match the GS2 header");
  // RFC 5802 wants exactly the combined nonce. Kafka brokers accept any nonce that ends with it
  // (ScramSaslServer: endsWith), and librdkafka relies on that: it sends its own nonce followed
  // by the combined one. Freshness holds either way: the server's part must be there and the
  // proof covers the message as sent.
  if (!attrs[1].substr(2).ends_with(nonce_)) return malformed("nonce does not match");
  const auto proof = base64_decode(attrs.back().substr(2));
  if (!proof) return malformed("proof is not valid base64");
  if (proof->size() != scram_hash_size(mechanism_)) return malformed("proof has the wrong length");

  const std::string_view without_proof = message.substr(0, static_cast<std::size_t>(attrs.back().data() - message.data()) - 1);
  std::string auth_message = client_first_bare_;
  auth_message += ',';
  auth_message += server_first_;
  auth_message += ',';
  auth_message += without_proof;
  // ClientKey = ClientProof XOR HMAC(StoredKey, AuthMessage); the client knows the password iff
  // H(ClientKey) == StoredKey. The decoy path does the same work so timing does not tell.
  const std::string client_signature = hmac(mechanism_, credential_.stored_key, auth_message);
  const std::string client_key = xor_bytes(*proof, client_signature);
  const bool proof_ok = equal_constant_time(hash(mechanism_, client_key), credential_.stored_key);
  if (!proof_ok || !user_known_) return fail(invalid_credentials(mechanism_));

  phase_ = phase::finished;
  authenticated_ = std::move(user_);
  return step{state::succeeded, "v=" + base64_encode(hmac(mechanism_, credential_.server_key, auth_message)), {}};
}

// ---- client ----

scram_client::scram_client(scram_mechanism mechanism, std::string username, std::string password)
    : scram_client(mechanism, std::move(username), std::move(password), random_nonce()) {}

scram_client::scram_client(scram_mechanism mechanism, std::string username, std::string password, std::string nonce)
    : mechanism_(mechanism), username_(std::move(username)), password_(std::move(password)), nonce_(std::move(nonce)) {
  if (!valid_nonce(nonce_)) throw std::invalid_argument("SCRAM client nonce must be printable ASCII without ','");
}

std::string scram_client::first_message() {
  client_first_bare_ = "n=" + encode_saslname(username_) + ",r=" + nonce_;
  phase_ = phase::sent_first;
  return "n,," + client_first_bare_;
}

std::expected<std::string, std::string> scram_client::final_message(std::string_view server_first) {
  auto malformed = [](std::string_view what) {
    return std::unexpected("invalid SCRAM server first message: " + std::string(what));
  };
  if (phase_ != phase::sent_first) return std::unexpected("SCRAM client: final_message() must follow first_message()");
  phase_ = phase::finished;  // any error below ends the exchange

  // [reserved-mext ","] nonce "," salt "," iteration-count ["," extensions]
  const auto attrs = split_attributes(server_first);
  if (has_attribute(attrs[0], 'e')) return std::unexpected("server rejected authentication: " + std::string(attrs[0].substr(2)));
  if (has_attribute(attrs[0], 'm')) return malformed("server requires an unsupported mandatory extension (m=)");
  if (attrs.size() < 3) return malformed("expected r=, s= and i= attributes");
  if (!has_attribute(attrs[0], 'r')) return malformed("missing nonce (r=)");
  if (!has_attribute(attrs[1], 's')) return malformed("missing salt (s=)");
  if (!has_attribute(attrs[2], 'i')) return malformed("missing iteration count (i=)");
  const std::string_view nonce = attrs[0].substr(2);
  // The server must extend our nonce with its own part; anything else is a replay or a bug.
  if (!nonce.starts_with(nonce_) || nonce.size() == nonce_.size() || !valid_nonce(nonce))
    return malformed("server nonce does not extend the client nonce");
  const auto salt = base64_decode(attrs[1].substr(2));
  if (!salt) return malformed("salt is not valid base64");
  if (salt->empty()) return malformed("salt is empty");
  const auto iterations = parse_count(attrs[2].substr(2));
  if (!iterations) return malformed("iteration count is not a number");
  if (!iterations_in_range(*iterations))
    return malformed("iteration count " + shorten(attrs[2].substr(2)) + " is outside " +
                     std::to_string(scram_min_iterations) + ".." + std::to_string(scram_max_iterations));
  for (std::size_t i = 3; i < attrs.size(); ++i) {
    std::string_view key, value;
    if (!parse_extension(attrs[i], key, value)) return malformed("malformed extension attribute");
  }

  const std::string salted = salted_password(mechanism_, password_, *salt, static_cast<std::uint32_t>(*iterations));
  const std::string client_key = hmac(mechanism_, salted, "Client Key");
  const std::string stored_key = hash(mechanism_, client_key);
  const std::string without_proof = "c=biws,r=" + std::string(nonce);  // biws = base64("n,,")
  const std::string auth_message = client_first_bare_ + "," + std::string(server_first) + "," + without_proof;
  const std::string proof = xor_bytes(client_key, hmac(mechanism_, stored_key, auth_message));
  expected_server_signature_ = hmac(mechanism_, hmac(mechanism_, salted, "Server Key"), auth_message);
  phase_ = phase::sent_final;
  return without_proof + ",p=" + base64_encode(proof);
}

std::expected<void, std::string> scram_client::verify_server_final(std::string_view server_final) {
  if (phase_ != phase::sent_final)
    return std::unexpected("SCRAM client: verify_server_final() must follow a successful final_message()");
  phase_ = phase::finished;
  // (server-error / verifier) ["," extensions]
  const std::string_view first = server_final.substr(0, server_final.find(','));
  if (has_attribute(first, 'e')) return std::unexpected("server rejected authentication: " + std::string(first.substr(2)));
  if (!has_attribute(first, 'v')) return std::unexpected("invalid SCRAM server final message: missing verifier (v=)");
  const auto signature = base64_decode(first.substr(2));
  if (!signature) return std::unexpected("invalid SCRAM server final message: verifier is not valid base64");
  if (!equal_constant_time(*signature, expected_server_signature_))
    return std::unexpected("SCRAM server signature does not match: the server does not know our credential");
  return {};
}

}  // namespace kgw::security
