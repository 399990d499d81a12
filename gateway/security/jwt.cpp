#include "gateway/security/jwt.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <optional>
#include <utility>

#include "gateway/security/openssl_ptr.h"

namespace kgw::security {
namespace {

using bn_ptr = openssl_ptr<BIGNUM, BN_free>;
using pkey_ctx_ptr = openssl_ptr<EVP_PKEY_CTX, EVP_PKEY_CTX_free>;
using md_ctx_ptr = openssl_ptr<EVP_MD_CTX, EVP_MD_CTX_free>;
using param_bld_ptr = openssl_ptr<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>;
using params_ptr = openssl_ptr<OSSL_PARAM, OSSL_PARAM_free>;
using ecdsa_sig_ptr = openssl_ptr<ECDSA_SIG, ECDSA_SIG_free>;

// OpenSSL reports failures on a per-thread error queue. Left there they would surface in later,
// unrelated calls (a TLS read consulting ERR_get_error), so each entry point removes what it added.
class openssl_error_scope {
 public:
  openssl_error_scope() { ERR_set_mark(); }
  ~openssl_error_scope() { ERR_pop_to_mark(); }
  openssl_error_scope(const openssl_error_scope&) = delete;
  openssl_error_scope& operator=(const openssl_error_scope&) = delete;
};

// Nesting beyond this has no use in a JOSE header, a claim set or a JWKS, and bounds the parser.
constexpr std::size_t max_json_depth = 16;

// Claims are NumericDates clamped to this many seconds (year 2255): a nanosecond system_clock
// ends in 2262, and "never expires" tokens should still convert.
constexpr std::int64_t numeric_date_limit = 9'000'000'000;
// Keeps "date + skew" in range whatever the configuration says.
constexpr std::int64_t max_clock_skew_seconds = 365LL * 24 * 3600;

constexpr std::size_t max_principal_size = 1024;
// Room for SASL extensions next to the largest token.
constexpr std::size_t max_oauthbearer_message_size = max_jwt_size + 16 * 1024;

constexpr int min_rsa_bits = 2048;  // RFC 7518 section 3.3
constexpr int max_rsa_bits = 8192;  // bounds verification cost
constexpr std::size_t max_rsa_exponent_bytes = 8;
constexpr std::size_t p256_coordinate_size = 32;

int base64url_value(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

std::expected<boost::json::object, std::string> parse_json_object(std::string_view text,
                                                                  std::string_view what) {
  boost::json::parse_options options;
  options.max_depth = max_json_depth;
  boost::system::error_code ec;
  boost::json::value value =
      boost::json::parse(boost::json::string_view(text.data(), text.size()), ec, {}, options);
  if (ec) return std::unexpected(std::string(what) + " is not valid JSON");
  if (!value.is_object()) return std::unexpected(std::string(what) + " is not a JSON object");
  return std::move(value.get_object());
}

const boost::json::string* string_member(const boost::json::object& object, std::string_view name) {
  const boost::json::value* v = object.if_contains(boost::json::string_view(name.data(), name.size()));
  return v ? v->if_string() : nullptr;
}

std::string_view view(const boost::json::string& s) { return {s.data(), s.size()}; }

// ---- JWK -> EVP_PKEY ----

struct parsed_key {
  std::string kid;
  jwks::key_type type;
  std::shared_ptr<EVP_PKEY> pkey;
};

std::expected<std::shared_ptr<EVP_PKEY>, std::string> pkey_from_params(const char* key_type,
                                                                       const OSSL_PARAM* params) {
  pkey_ctx_ptr ctx(EVP_PKEY_CTX_new_from_name(nullptr, key_type, nullptr));
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1)
    return std::unexpected("OpenSSL cannot import the key");
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, const_cast<OSSL_PARAM*>(params)) != 1 ||
      !raw)
    return std::unexpected("OpenSSL rejects the key parameters");
  return std::shared_ptr<EVP_PKEY>(raw, EVP_PKEY_free);
}

std::string_view strip_leading_zeros(std::string_view bytes) {
  while (!bytes.empty() && bytes.front() == '\0') bytes.remove_prefix(1);
  return bytes;
}

std::expected<std::shared_ptr<EVP_PKEY>, std::string> rsa_key_from_jwk(const boost::json::object& jwk) {
  const auto* n_text = string_member(jwk, "n");
  const auto* e_text = string_member(jwk, "e");
  if (!n_text || !e_text) return std::unexpected("RSA key lacks string \"n\" or \"e\"");
  auto n_bytes = base64url_decode(view(*n_text));
  auto e_bytes = base64url_decode(view(*e_text));
  if (!n_bytes || !e_bytes) return std::unexpected("RSA \"n\" or \"e\" is not valid base64url");
  // RFC 7518 forbids leading zero octets, but some publishers emit one; the value is unchanged.
  std::string_view n = strip_leading_zeros(*n_bytes);
  std::string_view e = strip_leading_zeros(*e_bytes);
  std::size_t n_bits = n.empty() ? 0 : (n.size() - 1) * 8 + std::bit_width(static_cast<unsigned char>(n[0]));
  if (n_bits < min_rsa_bits || n_bits > max_rsa_bits)
    return std::unexpected("RSA modulus is not between 2048 and 8192 bits");
  if (e.empty() || e.size() > max_rsa_exponent_bytes || (static_cast<unsigned char>(e.back()) & 1) == 0 ||
      (e.size() == 1 && static_cast<unsigned char>(e[0]) < 3))
    return std::unexpected("RSA exponent is not an odd number from 3 to 64 bits");

  bn_ptr n_bn(BN_bin2bn(reinterpret_cast<const unsigned char*>(n.data()), static_cast<int>(n.size()), nullptr));
  bn_ptr e_bn(BN_bin2bn(reinterpret_cast<const unsigned char*>(e.data()), static_cast<int>(e.size()), nullptr));
  param_bld_ptr bld(OSSL_PARAM_BLD_new());
  if (!n_bn || !e_bn || !bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n_bn.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e_bn.get()) != 1)
    return std::unexpected("OpenSSL cannot import the key");
  params_ptr params(OSSL_PARAM_BLD_to_param(bld.get()));
  if (!params) return std::unexpected("OpenSSL cannot import the key");
  return pkey_from_params("RSA", params.get());
}

std::expected<std::shared_ptr<EVP_PKEY>, std::string> ec_key_from_jwk(const boost::json::object& jwk) {
  const auto* x_text = string_member(jwk, "x");
  const auto* y_text = string_member(jwk, "y");
  if (!x_text || !y_text) return std::unexpected("EC key lacks string \"x\" or \"y\"");
  auto x = base64url_decode(view(*x_text));
  auto y = base64url_decode(view(*y_text));
  // RFC 7518 section 6.2.1.2: coordinates are always the full field size.
  if (!x || !y || x->size() != p256_coordinate_size || y->size() != p256_coordinate_size)
    return std::unexpected("EC \"x\" or \"y\" is not 32 bytes of base64url");
  std::string point = "\x04" + *x + *y;  // SEC 1 uncompressed point

  param_bld_ptr bld(OSSL_PARAM_BLD_new());
  if (!bld || OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) != 1)
    return std::unexpected("OpenSSL cannot import the key");
  params_ptr params(OSSL_PARAM_BLD_to_param(bld.get()));
  if (!params) return std::unexpected("OpenSSL cannot import the key");
  // An off-curve point would make verification meaningless (invalid-curve attacks); import
  // already refuses one, and the explicit check keeps that true whatever the provider does.
  auto pkey = pkey_from_params("EC", params.get());
  if (!pkey) return std::unexpected("EC point is not a valid P-256 public key");
  pkey_ctx_ptr check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey->get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1)
    return std::unexpected("EC point is not a valid P-256 public key");
  return pkey;
}

std::expected<parsed_key, std::string> key_from_jwk(const boost::json::value& value) {
  const auto* jwk = value.if_object();
  if (!jwk) return std::unexpected("not a JSON object");
  parsed_key out;
  if (const auto* kid = jwk->if_contains("kid")) {
    if (!kid->is_string()) return std::unexpected("\"kid\" is not a string");
    out.kid = std::string(view(kid->get_string()));
  }
  if (const auto* use = jwk->if_contains("use"); use && !(use->is_string() && use->get_string() == "sig"))
    return std::unexpected("\"use\" is not \"sig\"");
  if (const auto* ops = jwk->if_contains("key_ops")) {
    const auto* list = ops->if_array();
    bool verify = list && std::any_of(list->begin(), list->end(), [](const boost::json::value& op) {
                    return op.is_string() && op.get_string() == "verify";
                  });
    if (!verify) return std::unexpected("\"key_ops\" does not include \"verify\"");
  }
  const auto* kty = string_member(*jwk, "kty");
  if (!kty) return std::unexpected("no string \"kty\"");
  const char* expected_alg = nullptr;
  if (*kty == "RSA") {
    out.type = jwks::key_type::rsa;
    expected_alg = "RS256";
  } else if (*kty == "EC") {
    const auto* crv = string_member(*jwk, "crv");
    if (!crv || *crv != "P-256") return std::unexpected("EC curve is not P-256");
    out.type = jwks::key_type::ec_p256;
    expected_alg = "ES256";
  } else {
    return std::unexpected("\"kty\" is neither RSA nor EC");
  }
  // A key published for one algorithm must not be used with another (RFC 7517 section 4.4).
  if (const auto* alg = jwk->if_contains("alg"); alg && !(alg->is_string() && alg->get_string() == expected_alg))
    return std::unexpected(std::string("\"alg\" is not ") + expected_alg);
  auto pkey = out.type == jwks::key_type::rsa ? rsa_key_from_jwk(*jwk) : ec_key_from_jwk(*jwk);
  if (!pkey) return std::unexpected(pkey.error());
  out.pkey = std::move(*pkey);
  return out;
}

// Key ids come from the identity provider; only plain short ones are echoed into logs.
std::string describe_key(std::size_t index, const boost::json::value& value) {
  std::string out = "key " + std::to_string(index);
  const auto* jwk = value.if_object();
  const auto* kid = jwk ? string_member(*jwk, "kid") : nullptr;
  if (kid && !kid->empty() && kid->size() <= 64 &&
      std::all_of(kid->begin(), kid->end(), [](char c) { return c >= 0x20 && c < 0x7f && c != '"'; }))
    out += " (kid \"" + std::string(view(*kid)) + "\")";
  return out;
}

// ---- signatures ----

// JOSE carries ECDSA signatures as R || S (RFC 7518 section 3.4); OpenSSL verifies DER.
std::optional<std::string> jose_ecdsa_to_der(std::string_view raw) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(raw.data());
  ecdsa_sig_ptr sig(ECDSA_SIG_new());
  bn_ptr r(BN_bin2bn(bytes, static_cast<int>(p256_coordinate_size), nullptr));
  bn_ptr s(BN_bin2bn(bytes + p256_coordinate_size, static_cast<int>(p256_coordinate_size), nullptr));
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) return std::nullopt;
  r.release();  // owned by sig now
  s.release();
  int size = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (size <= 0) return std::nullopt;
  std::string der(static_cast<std::size_t>(size), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_ECDSA_SIG(sig.get(), &out) != size) return std::nullopt;
  return der;
}

bool verify_sha256(EVP_PKEY* pkey, std::string_view signing_input, std::string_view signature) {
  md_ctx_ptr ctx(EVP_MD_CTX_new());
  // RSA keys default to PKCS#1 v1.5 padding, which is what RS256 is.
  if (!ctx || EVP_DigestVerifyInit_ex(ctx.get(), nullptr, "SHA256", nullptr, nullptr, pkey, nullptr) != 1)
    return false;
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                          reinterpret_cast<const unsigned char*>(signing_input.data()),
                          signing_input.size()) == 1;
}

// ---- claims ----

enum class rounding { down, up };

// NumericDate (RFC 7519 section 2): seconds, possibly fractional. Rounded so that fractions
// never extend validity: expiry down, start times up.
std::optional<std::int64_t> numeric_date(const boost::json::value& value, rounding mode) {
  if (value.is_int64()) return std::clamp(value.get_int64(), -numeric_date_limit, numeric_date_limit);
  if (value.is_uint64())
    return static_cast<std::int64_t>(std::min<std::uint64_t>(value.get_uint64(), numeric_date_limit));
  if (value.is_double()) {
    double d = value.get_double();
    if (!std::isfinite(d)) return std::nullopt;
    d = mode == rounding::down ? std::floor(d) : std::ceil(d);
    return static_cast<std::int64_t>(
        std::clamp(d, static_cast<double>(-numeric_date_limit), static_cast<double>(numeric_date_limit)));
  }
  return std::nullopt;
}

std::expected<void, std::string> check_audience(const boost::json::object& claims,
                                                const std::vector<std::string>& accepted) {
  const auto* aud = claims.if_contains("aud");
  if (!aud) return std::unexpected("token has no \"aud\" claim");
  auto accepted_one = [&](const boost::json::string& value) {
    return std::find(accepted.begin(), accepted.end(), view(value)) != accepted.end();
  };
  if (const auto* single = aud->if_string()) {
    if (accepted_one(*single)) return {};
    return std::unexpected("token audience is not accepted");
  }
  const auto* list = aud->if_array();
  if (!list) return std::unexpected("token \"aud\" claim is not a string or an array of strings");
  bool found = false;
  for (const auto& entry : *list) {
    const auto* s = entry.if_string();
    if (!s) return std::unexpected("token \"aud\" claim is not a string or an array of strings");
    found = found || accepted_one(*s);
  }
  if (!found) return std::unexpected("token audience is not accepted");
  return {};
}

bool is_control(char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }

}  // namespace

std::expected<std::string, std::string> base64url_decode(std::string_view text) {
  if (text.size() % 4 == 1) return std::unexpected("invalid base64url length");
  std::string out;
  out.reserve(text.size() / 4 * 3 + 2);
  std::uint32_t pending = 0;  // bits not yet emitted, right-aligned
  int pending_bits = 0;
  for (char c : text) {
    int v = base64url_value(static_cast<unsigned char>(c));
    if (v < 0) return std::unexpected("invalid base64url character");
    pending = (pending << 6) | static_cast<std::uint32_t>(v);
    pending_bits += 6;
    if (pending_bits >= 8) {
      pending_bits -= 8;
      out.push_back(static_cast<char>((pending >> pending_bits) & 0xff));
      pending &= (1u << pending_bits) - 1;
    }
  }
  if (pending != 0) return std::unexpected("non-zero trailing bits in base64url");
  return out;
}

std::expected<jwks, std::string> jwks::parse(std::string_view json) {
  openssl_error_scope errors;
  if (json.size() > max_jwks_size) return std::unexpected("JWKS document is larger than 1 MiB");
  auto document = parse_json_object(json, "JWKS document");
  if (!document) return std::unexpected(document.error());
  const auto* keys = document->if_contains("keys");
  const auto* list = keys ? keys->if_array() : nullptr;
  if (!list) return std::unexpected("JWKS document has no \"keys\" array");
  if (list->size() > max_jwks_keys) return std::unexpected("JWKS document has more than 100 keys");
  jwks result;
  for (std::size_t i = 0; i < list->size(); ++i) {
    auto key = key_from_jwk((*list)[i]);
    if (!key) {
      result.skipped_.push_back(describe_key(i, (*list)[i]) + ": " + key.error());
      continue;
    }
    result.keys_.push_back({std::move(key->kid), key->type, std::move(key->pkey)});
  }
  if (result.keys_.empty()) return std::unexpected("JWKS document has no usable RS256 or ES256 signature key");
  return result;
}

jwt_validator::jwt_validator(jwks keys, jwt_rules rules) : keys_(std::move(keys)), rules_(std::move(rules)) {}

std::expected<jwt_identity, std::string> jwt_validator::validate(std::string_view token,
                                                                 std::chrono::system_clock::time_point now) const {
  openssl_error_scope errors;
  if (token.empty()) return std::unexpected("token is empty");
  if (token.size() > max_jwt_size) return std::unexpected("token is larger than 64 KiB");
  const auto first_dot = token.find('.');
  const auto second_dot = first_dot == token.npos ? token.npos : token.find('.', first_dot + 1);
  if (second_dot == token.npos || token.find('.', second_dot + 1) != token.npos)
    return std::unexpected("token is not a compact JWS (three dot-separated parts)");
  const std::string_view header_part = token.substr(0, first_dot);
  const std::string_view payload_part = token.substr(first_dot + 1, second_dot - first_dot - 1);
  const std::string_view signature_part = token.substr(second_dot + 1);

  auto header_json = base64url_decode(header_part);
  if (!header_json) return std::unexpected("token header is not valid base64url");
  auto header = parse_json_object(*header_json, "token header");
  if (!header) return std::unexpected(header.error());

  // The algorithm is fixed by the key type we expect, never trusted beyond this allow-list: that
  // is what defeats "none" and HS256-with-the-public-key.
  const auto* alg = string_member(*header, "alg");
  if (!alg) return std::unexpected("token header has no string \"alg\"");
  jwks::key_type type;
  if (*alg == "RS256")
    type = jwks::key_type::rsa;
  else if (*alg == "ES256")
    type = jwks::key_type::ec_p256;
  else
    return std::unexpected("token algorithm is not RS256 or ES256");
  // RFC 7515 section 4.1.11: extensions listed in "crit" must be understood; none is.
  if (header->contains("crit")) return std::unexpected("token header has critical extensions (crit)");

  std::vector<const jwks::key*> candidates;
  if (const auto* kid = header->if_contains("kid")) {
    if (!kid->is_string()) return std::unexpected("token \"kid\" is not a string");
    bool known = false;
    for (const auto& key : keys_.keys_) {
      if (key.kid != view(kid->get_string())) continue;
      known = true;
      if (key.type == type) candidates.push_back(&key);
    }
    if (!known) return std::unexpected("token \"kid\" names no key in the JWKS");
    if (candidates.empty()) return std::unexpected("token algorithm does not fit the key named by \"kid\"");
  } else {
    for (const auto& key : keys_.keys_)
      if (key.type == type) candidates.push_back(&key);
    if (candidates.empty()) return std::unexpected("token algorithm does not fit any key in the JWKS");
  }

  auto signature = base64url_decode(signature_part);
  if (!signature) return std::unexpected("token signature is not valid base64url");
  if (type == jwks::key_type::ec_p256) {
    if (signature->size() != 2 * p256_coordinate_size) return std::unexpected("token signature is invalid");
    auto der = jose_ecdsa_to_der(*signature);
    if (!der) return std::unexpected("token signature is invalid");
    *signature = std::move(*der);
  }
  const std::string_view signing_input = token.substr(0, second_dot);
  const bool verified = std::any_of(candidates.begin(), candidates.end(), [&](const jwks::key* key) {
    return verify_sha256(key->pkey.get(), signing_input, *signature);
  });
  if (!verified) return std::unexpected("token signature is invalid");

  // Claims are only looked at once the signature vouches for them.
  auto claims_json = base64url_decode(payload_part);
  if (!claims_json) return std::unexpected("token payload is not valid base64url");
  auto claims = parse_json_object(*claims_json, "token claim set");
  if (!claims) return std::unexpected(claims.error());

  const std::int64_t now_s = std::chrono::floor<std::chrono::seconds>(now.time_since_epoch()).count();
  const std::int64_t skew = std::clamp<std::int64_t>(rules_.clock_skew.count(), 0, max_clock_skew_seconds);

  const auto* exp_value = claims->if_contains("exp");
  if (!exp_value) return std::unexpected("token has no \"exp\" claim");
  const auto exp = numeric_date(*exp_value, rounding::down);
  if (!exp) return std::unexpected("token \"exp\" claim is not a number");
  if (now_s >= *exp + skew) return std::unexpected("token has expired");
  if (const auto* nbf_value = claims->if_contains("nbf")) {
    const auto nbf = numeric_date(*nbf_value, rounding::up);
    if (!nbf) return std::unexpected("token \"nbf\" claim is not a number");
    if (*nbf > now_s + skew) return std::unexpected("token is not valid yet (nbf)");
  }
  if (const auto* iat_value = claims->if_contains("iat")) {
    const auto iat = numeric_date(*iat_value, rounding::up);
    if (!iat) return std::unexpected("token \"iat\" claim is not a number");
    if (*iat > now_s + skew) return std::unexpected("token is issued in the future (iat)");
  }

  if (!rules_.issuer.empty()) {
    const auto* iss = string_member(*claims, "iss");
    if (!iss || view(*iss) != rules_.issuer) return std::unexpected("token issuer is not accepted");
  }
  if (!rules_.audiences.empty()) {
    if (auto audience = check_audience(*claims, rules_.audiences); !audience)
      return std::unexpected(audience.error());
  }

  const auto* principal = string_member(*claims, rules_.principal_claim);
  if (!principal || principal->empty())
    return std::unexpected("token has no non-empty string claim \"" + rules_.principal_claim + "\"");
  // The principal ends up in logs and ACL decisions; control characters have no business there.
  if (principal->size() > max_principal_size || std::any_of(principal->begin(), principal->end(), is_control))
    return std::unexpected("token claim \"" + rules_.principal_claim +
                           "\" is longer than 1024 bytes or has control characters");

  return jwt_identity{std::string(view(*principal)),
                      std::chrono::system_clock::time_point(std::chrono::seconds(*exp))};
}

std::expected<oauthbearer_client_response, std::string> parse_oauthbearer_client_response(
    std::string_view message) {
  if (message.size() > max_oauthbearer_message_size) return std::unexpected("OAUTHBEARER message is too large");
  if (message.starts_with("p=")) return std::unexpected("OAUTHBEARER does not support channel binding");
  // gs2-header = gs2-cb-flag "," [ "a=" saslname ] ","
  if (message.size() < 2 || (message[0] != 'n' && message[0] != 'y') || message[1] != ',')
    return std::unexpected("OAUTHBEARER message does not start with a gs2 header");
  oauthbearer_client_response out;
  std::size_t pos = 2;
  if (message.substr(pos).starts_with("a=")) {
    const auto end = message.find(',', pos + 2);
    if (end == message.npos) return std::unexpected("OAUTHBEARER gs2 header is not terminated");
    const std::string_view name = message.substr(pos + 2, end - pos - 2);
    if (name.empty()) return std::unexpected("OAUTHBEARER authzid is empty");
    for (std::size_t i = 0; i < name.size(); ++i) {
      if (name[i] == '=') {
        // RFC 5801 saslname: "," and "=" travel as "=2C" and "=3D".
        const std::string_view escape = name.substr(i, 3);
        if (escape == "=2C")
          out.authzid.push_back(',');
        else if (escape == "=3D")
          out.authzid.push_back('=');
        else
          return std::unexpected("OAUTHBEARER authzid has an invalid escape");
        i += 2;
      } else if (is_control(name[i])) {
        return std::unexpected("OAUTHBEARER authzid has control characters");
      } else {
        out.authzid.push_back(name[i]);
      }
    }
    pos = end + 1;
  } else if (pos < message.size() && message[pos] == ',') {
    ++pos;
  } else {
    return std::unexpected("OAUTHBEARER gs2 header is malformed");
  }

  // kvsep *(key "=" value kvsep) kvsep
  if (pos >= message.size() || message[pos] != '\x01')
    return std::unexpected("OAUTHBEARER message has no separator after the gs2 header");
  ++pos;
  bool have_auth = false;
  for (;;) {
    if (pos >= message.size()) return std::unexpected("OAUTHBEARER message is not terminated");
    if (message[pos] == '\x01') {
      if (pos + 1 != message.size()) return std::unexpected("OAUTHBEARER message has data after its end");
      break;
    }
    const auto end = message.find('\x01', pos);
    if (end == message.npos) return std::unexpected("OAUTHBEARER message is not terminated");
    const std::string_view pair = message.substr(pos, end - pos);
    pos = end + 1;
    const auto eq = pair.find('=');
    if (eq == pair.npos) return std::unexpected("OAUTHBEARER key/value pair has no \"=\"");
    const std::string_view key = pair.substr(0, eq);
    const std::string_view value = pair.substr(eq + 1);
    // key = 1*ALPHA; value = *(VCHAR / SP / HTAB / CR / LF)
    if (key.empty() || !std::all_of(key.begin(), key.end(), [](char c) {
          return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
        }))
      return std::unexpected("OAUTHBEARER key is not alphabetic");
    if (!std::all_of(value.begin(), value.end(), [](char c) {
          return (c >= 0x21 && c <= 0x7e) || c == ' ' || c == '\t' || c == '\r' || c == '\n';
        }))
      return std::unexpected("OAUTHBEARER value has invalid characters");
    if (key != "auth") continue;  // SASL extensions (KIP-342) carry nothing the gateway uses
    if (have_auth) return std::unexpected("OAUTHBEARER message has more than one auth value");
    have_auth = true;
    // RFC 6750: "Bearer" 1*SP b64token; auth schemes are case-insensitive (RFC 7235).
    constexpr std::string_view scheme = "bearer";
    if (value.size() <= scheme.size() || value[scheme.size()] != ' ' ||
        !std::equal(scheme.begin(), scheme.end(), value.begin(),
                    [](char a, char b) { return a == (b >= 'A' && b <= 'Z' ? b - 'A' + 'a' : b); }))
      return std::unexpected("OAUTHBEARER auth value is not a Bearer credential");
    std::string_view token = value.substr(scheme.size());
    token.remove_prefix(std::min(token.find_first_not_of(' '), token.size()));
    const auto body_end = std::min(token.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                                           "0123456789-._~+/"),
                                   token.size());
    if (body_end == 0 || token.find_first_not_of('=', body_end) != token.npos)
      return std::unexpected("OAUTHBEARER bearer token is empty or has invalid characters");
    out.token = std::string(token);
  }
  if (!have_auth) return std::unexpected("OAUTHBEARER message has no auth value");
  return out;
}

std::expected<std::string, std::string> parse_oauthbearer_initial_response(std::string_view message) {
  auto response = parse_oauthbearer_client_response(message);
  if (!response) return std::unexpected(response.error());
  return std::move(response->token);
}

}  // namespace kgw::security
