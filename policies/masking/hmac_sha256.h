#pragma once
// HMAC-SHA-256 for `hash` masks, through OpenSSL's EVP_MAC. Each thread keeps one keyed
// context and re-initializes it per message (OpenSSL reuses the key schedule when the key is
// unchanged), so a token costs the hash work and no allocation.
// Threading: the functions use a thread_local context; safe from any thread.
#include <array>
#include <optional>
#include <string_view>

namespace kgw::policies::masking {

using sha256_digest = std::array<unsigned char, 32>;

// HMAC-SHA-256(key, data). A key is any byte string (an empty key is allowed by HMAC, but
// topic_view refuses to compile `hash` masks without one). nullopt only when OpenSSL cannot
// provide HMAC/SHA-256 (callers then fail closed).
std::optional<sha256_digest> hmac_sha256(std::string_view key, std::string_view data);

// The same as 64 lowercase hex characters, written to out[0..64). false: as above.
bool hmac_sha256_hex(std::string_view key, std::string_view data, char* out);

}  // namespace kgw::policies::masking
