// The key-file KMS: see policies/encryption/local_kms.h.
#include "policies/encryption/local_kms.h"

#include <openssl/crypto.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>

#include "config/bounded_file.h"
#include "policies/encryption/field_cipher.h"

namespace kgw::policies::encryption {
namespace {

bool blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

}  // namespace

std::expected<std::unique_ptr<local_kms>, std::string> local_kms::load(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::unexpected("KEK file '" + path + "' cannot be read");
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return std::unexpected("KEK file '" + path + "' is open to group or others (mode " + mode +
                           "); it holds the keys to every encrypted field: chmod 600 it");
  }
  auto text = config::read_bounded_file(path, config::max_named_file_bytes);
  if (!text) return std::unexpected("KEK file: " + text.error());
  auto out = std::unique_ptr<local_kms>(new local_kms());
  std::string_view rest = *text;
  for (int line = 1; !rest.empty(); ++line) {
    const auto end = rest.find('\n');
    std::string_view l = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    if (const auto hash = l.find('#'); hash != std::string_view::npos) l = l.substr(0, hash);
    while (!l.empty() && blank(l.front())) l.remove_prefix(1);
    while (!l.empty() && blank(l.back())) l.remove_suffix(1);
    if (l.empty()) continue;
    const std::string where = path + ":" + std::to_string(line) + ": ";
    auto gap = l.find_first_of(" \t");
    if (gap == std::string_view::npos) return std::unexpected(where + "expected '<KEK id> <base64 of 32 bytes>'");
    const std::string_view id = l.substr(0, gap);
    std::string_view key = l.substr(gap);
    while (!key.empty() && blank(key.front())) key.remove_prefix(1);
    if (!valid_key_id(id)) return std::unexpected(where + "a KEK id is 1-64 of A-Z a-z 0-9 . _ -");
    if (out->keks_.contains(id)) return std::unexpected(where + "KEK '" + std::string(id) + "' is given twice");
    auto bytes = decode_base64(key);
    // The key's bytes are never put in a message: only how many there were.
    if (!bytes) return std::unexpected(where + "KEK '" + std::string(id) + "' is not base64");
    if (bytes->size() != 32) {
      const auto n = bytes->size();
      OPENSSL_cleanse(bytes->data(), bytes->size());
      return std::unexpected(where + "KEK '" + std::string(id) + "' must be 32 bytes, got " + std::to_string(n));
    }
    key_material k;
    std::copy(bytes->begin(), bytes->end(), reinterpret_cast<char*>(k.data()));
    OPENSSL_cleanse(bytes->data(), bytes->size());
    out->keks_.emplace(std::string(id), k);
    OPENSSL_cleanse(k.data(), k.size());
  }
  if (out->keks_.empty()) return std::unexpected("KEK file '" + path + "' holds no KEK");
  return out;
}

local_kms::~local_kms() {
  for (auto& [id, k] : keks_) OPENSSL_cleanse(k.data(), k.size());
}

std::vector<std::string> local_kms::key_ids() const {
  std::vector<std::string> ids;
  for (const auto& [id, k] : keks_) ids.push_back(id);
  return ids;
}

std::expected<std::string, std::string> local_kms::wrap(std::string_view kek_id, std::string_view dek_id,
                                                        const key_material& dek) const {
  const auto it = keks_.find(kek_id);
  if (it == keks_.end()) return std::unexpected("no KEK '" + std::string(kek_id) + "' in the local KMS");
  const std::string_view plain(reinterpret_cast<const char*>(dek.data()), dek.size());
  return aead_seal(it->second, dek_wrap_context(kek_id, dek_id), plain);
}

std::expected<key_material, std::string> local_kms::unwrap(std::string_view kek_id, std::string_view dek_id,
                                                           std::string_view wrapped) const {
  const auto it = keks_.find(kek_id);
  if (it == keks_.end()) return std::unexpected("no KEK '" + std::string(kek_id) + "' in the local KMS");
  auto plain = aead_open(it->second, dek_wrap_context(kek_id, dek_id), wrapped);
  if (!plain) return std::unexpected("data key " + std::string(dek_id) + " " + plain.error());
  if (plain->size() != 32) {
    OPENSSL_cleanse(plain->data(), plain->size());
    return std::unexpected("data key " + std::string(dek_id) + " unwraps to " + std::to_string(plain->size()) +
                           " bytes, not 32");
  }
  key_material k;
  std::copy(plain->begin(), plain->end(), reinterpret_cast<char*>(k.data()));
  OPENSSL_cleanse(plain->data(), plain->size());
  return k;
}

}  // namespace kgw::policies::encryption
