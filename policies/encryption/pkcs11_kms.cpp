// The PKCS#11 KMS: see policies/encryption/pkcs11_kms.h.
#include "policies/encryption/pkcs11_kms.h"

#include <dlfcn.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <p11-kit/pkcs11.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <chrono>
#include <map>
#include <shared_mutex>

#include "policies/encryption/field_cipher.h"

namespace kgw::policies::encryption {

// A loaded library. Calls hold `mu` shared; re-initialising it (C_Finalize + C_Initialize, the
// recovery many HSM client libraries need after losing their device, and SoftHSM's way of
// seeing a token that came back) holds it exclusively and starts a new generation, which
// invalidates every session opened before.
struct pkcs11_kms::module {
  std::string path;
  CK_FUNCTION_LIST_PTR f = nullptr;
  std::shared_mutex mu;
  std::uint64_t generation = 0;
  std::chrono::steady_clock::time_point last_reset{};
};

struct pkcs11_kms::session {
  std::uint64_t generation = 0;  // the module's, when opened
  CK_SESSION_HANDLE handle = 0;
  std::map<std::string, CK_OBJECT_HANDLE, std::less<>> keks;  // found by label, kept while the session lives
};

// Why a call failed; lost: the session or token went away (worth a fresh session).
struct pkcs11_kms::failure {
  std::string why;
  bool lost = false;
};

namespace {

std::string rv_text(CK_RV rv) {
  switch (rv) {
    case CKR_PIN_INCORRECT: return "CKR_PIN_INCORRECT (wrong PIN)";
    case CKR_PIN_LOCKED: return "CKR_PIN_LOCKED";
    case CKR_TOKEN_NOT_PRESENT: return "CKR_TOKEN_NOT_PRESENT";
    case CKR_DEVICE_REMOVED: return "CKR_DEVICE_REMOVED";
    case CKR_DEVICE_ERROR: return "CKR_DEVICE_ERROR";
    case CKR_SESSION_CLOSED: return "CKR_SESSION_CLOSED";
    case CKR_SESSION_HANDLE_INVALID: return "CKR_SESSION_HANDLE_INVALID";
    case CKR_USER_NOT_LOGGED_IN: return "CKR_USER_NOT_LOGGED_IN";
    case CKR_KEY_HANDLE_INVALID: return "CKR_KEY_HANDLE_INVALID";
    case CKR_OBJECT_HANDLE_INVALID: return "CKR_OBJECT_HANDLE_INVALID";
    case CKR_ENCRYPTED_DATA_INVALID: return "CKR_ENCRYPTED_DATA_INVALID (tag mismatch)";
    case CKR_MECHANISM_INVALID: return "CKR_MECHANISM_INVALID (the token has no AES-GCM)";
    case CKR_GENERAL_ERROR: return "CKR_GENERAL_ERROR";
    default: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "CKR 0x%lx", static_cast<unsigned long>(rv));
      return buf;
    }
  }
}

// Errors after which the session (or the token behind it) cannot be trusted to work again.
bool session_lost(CK_RV rv) {
  return rv == CKR_SESSION_CLOSED || rv == CKR_SESSION_HANDLE_INVALID || rv == CKR_TOKEN_NOT_PRESENT ||
         rv == CKR_DEVICE_REMOVED || rv == CKR_DEVICE_ERROR || rv == CKR_USER_NOT_LOGGED_IN ||
         rv == CKR_KEY_HANDLE_INVALID || rv == CKR_OBJECT_HANDLE_INVALID || rv == CKR_GENERAL_ERROR ||
         rv == CKR_TOKEN_NOT_RECOGNIZED;
}

// The label field of a token, space padded to 32 bytes.
std::string_view trimmed_label(const CK_UTF8CHAR (&label)[32]) {
  std::string_view s(reinterpret_cast<const char*>(label), sizeof label);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.remove_suffix(1);
  return s;
}

// Modules are loaded once per process and kept: C_Initialize is process-wide in PKCS#11, and
// finalising under another user of the same module would break it.
std::expected<pkcs11_kms::module*, std::string> load_module(const std::string& path) {
  static std::mutex mu;
  static std::map<std::string, std::unique_ptr<pkcs11_kms::module>> loaded;
  std::lock_guard lock(mu);
  if (auto it = loaded.find(path); it != loaded.end()) return it->second.get();
  void* lib = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char* why = ::dlerror();
    return std::unexpected("PKCS#11 module '" + path + "' cannot be loaded: " + (why ? why : "dlopen failed"));
  }
  auto get = reinterpret_cast<CK_C_GetFunctionList>(::dlsym(lib, "C_GetFunctionList"));
  if (!get) {
    ::dlclose(lib);
    return std::unexpected("'" + path + "' is not a PKCS#11 module (no C_GetFunctionList)");
  }
  auto m = std::make_unique<pkcs11_kms::module>();
  m->path = path;
  if (CK_RV rv = get(&m->f); rv != CKR_OK || !m->f) {
    ::dlclose(lib);
    return std::unexpected("PKCS#11 module '" + path + "': C_GetFunctionList: " + rv_text(rv));
  }
  CK_C_INITIALIZE_ARGS args{};
  args.flags = CKF_OS_LOCKING_OK;
  if (CK_RV rv = m->f->C_Initialize(&args); rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
    ::dlclose(lib);
    return std::unexpected("PKCS#11 module '" + path + "': C_Initialize: " + rv_text(rv));
  }
  return loaded.emplace(path, std::move(m)).first->second.get();
}

std::expected<CK_SLOT_ID, std::string> find_token(CK_FUNCTION_LIST_PTR f, const std::string& label) {
  CK_ULONG count = 0;
  if (CK_RV rv = f->C_GetSlotList(CK_TRUE, nullptr, &count); rv != CKR_OK)
    return std::unexpected("C_GetSlotList: " + rv_text(rv));
  std::vector<CK_SLOT_ID> slots(count);
  if (count > 0) {
    if (CK_RV rv = f->C_GetSlotList(CK_TRUE, slots.data(), &count); rv != CKR_OK)
      return std::unexpected("C_GetSlotList: " + rv_text(rv));
    slots.resize(count);
  }
  std::string seen;
  for (CK_SLOT_ID slot : slots) {
    CK_TOKEN_INFO info{};
    if (f->C_GetTokenInfo(slot, &info) != CKR_OK) continue;
    const auto name = trimmed_label(info.label);
    if (name == label) return slot;
    if (!name.empty()) seen += (seen.empty() ? "" : ", ") + std::string(name);
  }
  return std::unexpected("no token labelled '" + label + "'" +
                         (seen.empty() ? std::string(" (no initialised token)") : " (tokens: " + seen + ")"));
}

// Secret AES keys with label `label` (or all of them when label is null).
std::expected<std::vector<CK_OBJECT_HANDLE>, CK_RV> find_keys(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE h,
                                                              const std::string* label) {
  CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
  CK_KEY_TYPE type = CKK_AES;
  std::vector<CK_ATTRIBUTE> tmpl{{CKA_CLASS, &cls, sizeof cls}, {CKA_KEY_TYPE, &type, sizeof type}};
  if (label) tmpl.push_back({CKA_LABEL, const_cast<char*>(label->data()), label->size()});
  if (CK_RV rv = f->C_FindObjectsInit(h, tmpl.data(), tmpl.size()); rv != CKR_OK) return std::unexpected(rv);
  std::vector<CK_OBJECT_HANDLE> out;
  for (;;) {
    std::array<CK_OBJECT_HANDLE, 32> batch;
    CK_ULONG n = 0;
    if (CK_RV rv = f->C_FindObjects(h, batch.data(), batch.size(), &n); rv != CKR_OK) {
      f->C_FindObjectsFinal(h);
      return std::unexpected(rv);
    }
    out.insert(out.end(), batch.begin(), batch.begin() + n);
    if (n < batch.size()) break;
  }
  f->C_FindObjectsFinal(h);
  return out;
}

// One GCM operation inside the token (the caller holds the lock). encrypt: ciphertext | tag of
// `in`; else the plaintext of ciphertext | tag `in`. last: the token's answer.
struct gcm_call {
  bool encrypt;
  std::string_view nonce, aad, in;
};

std::expected<std::string, std::string> run_gcm(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE key,
                                                const gcm_call& c, CK_RV& last) {
  CK_GCM_PARAMS params{};
  params.pIv = reinterpret_cast<CK_BYTE_PTR>(const_cast<char*>(c.nonce.data()));
  params.ulIvLen = c.nonce.size();
  params.ulIvBits = c.nonce.size() * 8;
  params.pAAD = reinterpret_cast<CK_BYTE_PTR>(const_cast<char*>(c.aad.data()));
  params.ulAADLen = c.aad.size();
  params.ulTagBits = tag_bytes * 8;
  CK_MECHANISM mech{CKM_AES_GCM, &params, sizeof params};
  auto* in = reinterpret_cast<CK_BYTE_PTR>(const_cast<char*>(c.in.data()));
  std::string out(c.in.size() + tag_bytes, '\0');
  CK_ULONG out_len = out.size();
  last = c.encrypt ? f->C_EncryptInit(h, &mech, key) : f->C_DecryptInit(h, &mech, key);
  if (last != CKR_OK) return std::unexpected(std::string(c.encrypt ? "C_EncryptInit: " : "C_DecryptInit: ") + rv_text(last));
  last = c.encrypt ? f->C_Encrypt(h, in, c.in.size(), reinterpret_cast<CK_BYTE_PTR>(out.data()), &out_len)
                   : f->C_Decrypt(h, in, c.in.size(), reinterpret_cast<CK_BYTE_PTR>(out.data()), &out_len);
  if (last != CKR_OK) {
    OPENSSL_cleanse(out.data(), out.size());
    return std::unexpected(std::string(c.encrypt ? "C_Encrypt: " : "C_Decrypt: ") + rv_text(last));
  }
  out.resize(out_len);
  return out;
}
}  // namespace

pkcs11_kms::pkcs11_kms(pkcs11_settings settings, module* m) : settings_(std::move(settings)), module_(m) {}

pkcs11_kms::~pkcs11_kms() {
  std::shared_lock m(module_->mu);
  if (session_ && session_->generation == module_->generation) module_->f->C_CloseSession(session_->handle);
  OPENSSL_cleanse(settings_.pin.data(), settings_.pin.size());
}

std::expected<std::unique_ptr<pkcs11_kms>, std::string> pkcs11_kms::open(const pkcs11_settings& settings) {
  if (settings.module.empty()) return std::unexpected(std::string("the pkcs11 KMS needs 'module' (the PKCS#11 library)"));
  if (settings.token_label.empty()) return std::unexpected(std::string("the pkcs11 KMS needs 'token' (its label)"));
  auto m = load_module(settings.module);
  if (!m) return std::unexpected(m.error());
  auto kms = std::unique_ptr<pkcs11_kms>(new pkcs11_kms(settings, *m));
  if (auto ok = kms->health(); !ok) return std::unexpected(ok.error());
  return kms;
}

std::expected<pkcs11_kms::session*, pkcs11_kms::failure> pkcs11_kms::live() const {
  if (session_ && session_->generation == module_->generation) return session_.get();
  session_.reset();  // from an earlier generation: its handle means nothing now
  CK_FUNCTION_LIST_PTR f = module_->f;
  const std::string where = "PKCS#11 token '" + settings_.token_label + "': ";
  auto slot = find_token(f, settings_.token_label);
  if (!slot) return std::unexpected(failure{where + slot.error(), true});
  auto s = std::make_unique<session>();
  s->generation = module_->generation;
  if (CK_RV rv = f->C_OpenSession(*slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr, &s->handle);
      rv != CKR_OK)
    return std::unexpected(failure{where + "C_OpenSession: " + rv_text(rv), session_lost(rv)});
  // PKCS#11 keeps one login per application and token: while another session of this process
  // is logged in, C_Login answers USER_ALREADY_LOGGED_IN without checking the PIN.
  auto* pin = reinterpret_cast<CK_UTF8CHAR_PTR>(const_cast<char*>(settings_.pin.data()));
  if (CK_RV rv = f->C_Login(s->handle, CKU_USER, pin, settings_.pin.size());
      rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
    f->C_CloseSession(s->handle);
    return std::unexpected(failure{where + "login: " + rv_text(rv), session_lost(rv)});
  }
  session_ = std::move(s);
  return session_.get();
}

// Runs op on a live session. A lost session is retried on a fresh one; if that is lost too, the
// module is re-initialised (at most once a second, for every instance using it) and op runs
// once more. Whatever still fails is the answer: the caller fails closed.
template <class T>
std::expected<T, std::string> pkcs11_kms::call(
    const std::function<std::expected<T, failure>(module&, session&)>& op) const {
  std::lock_guard lock(mu_);
  failure last;
  for (int attempt = 0; attempt < 3; ++attempt) {
    std::uint64_t seen = 0;
    {
      std::shared_lock m(module_->mu);
      seen = module_->generation;
      auto s = live();
      if (s) {
        auto out = op(*module_, **s);
        if (out) return std::move(*out);
        last = std::move(out.error());
      } else {
        last = std::move(s.error());
      }
      if (!last.lost) return std::unexpected(std::move(last.why));
      session_.reset();  // not closed: the token it belonged to is gone
    }
    if (attempt == 1) {
      std::unique_lock m(module_->mu);
      const auto now = std::chrono::steady_clock::now();
      if (module_->generation == seen && now - module_->last_reset >= std::chrono::seconds(1)) {
        module_->f->C_Finalize(nullptr);
        CK_C_INITIALIZE_ARGS args{};
        args.flags = CKF_OS_LOCKING_OK;
        const CK_RV rv = module_->f->C_Initialize(&args);
        ++module_->generation;
        module_->last_reset = now;
        if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED)
          return std::unexpected(last.why + "; re-initialising the module: " + rv_text(rv));
      }
    }
  }
  return std::unexpected(std::move(last.why));
}

std::vector<std::string> pkcs11_kms::key_ids() const {
  auto ids = call<std::vector<std::string>>([](module& m, session& s)
                                                -> std::expected<std::vector<std::string>, failure> {
    CK_FUNCTION_LIST_PTR f = m.f;
    auto keys = find_keys(f, s.handle, nullptr);
    if (!keys) return std::unexpected(failure{"finding keys: " + rv_text(keys.error()), session_lost(keys.error())});
    std::vector<std::string> out;
    for (CK_OBJECT_HANDLE k : *keys) {
      CK_ATTRIBUTE a{CKA_LABEL, nullptr, 0};
      if (f->C_GetAttributeValue(s.handle, k, &a, 1) != CKR_OK || a.ulValueLen == CK_UNAVAILABLE_INFORMATION) continue;
      std::string label(a.ulValueLen, '\0');
      a.pValue = label.data();
      if (f->C_GetAttributeValue(s.handle, k, &a, 1) != CKR_OK) continue;
      if (valid_key_id(label)) out.push_back(std::move(label));
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  });
  return ids ? std::move(*ids) : std::vector<std::string>{};
}

std::expected<std::string, std::string> pkcs11_kms::gcm(std::string_view kek_id, bool encrypt, std::string_view nonce,
                                                        std::string_view aad, std::string_view in) const {
  const std::string label(kek_id);
  return call<std::string>([&](module& m, session& s) -> std::expected<std::string, failure> {
    CK_FUNCTION_LIST_PTR f = m.f;
    auto key = s.keks.find(label);
    if (key == s.keks.end()) {
      auto found = find_keys(f, s.handle, &label);
      if (!found)
        return std::unexpected(failure{"finding KEK '" + label + "': " + rv_text(found.error()), session_lost(found.error())});
      if (found->size() != 1)
        return std::unexpected(failure{found->empty() ? "no KEK '" + label + "' in token '" + settings_.token_label + "'"
                                                      : "token '" + settings_.token_label +
                                                            "' holds several keys labelled '" + label +
                                                            "'; a KEK id must name one"});
      key = s.keks.emplace(label, found->front()).first;
    }
    CK_RV rv = CKR_OK;
    auto out = run_gcm(f, s.handle, key->second, {encrypt, nonce, aad, in}, rv);
    if (!out) return std::unexpected(failure{std::move(out.error()), session_lost(rv)});
    return std::move(*out);
  });
}

std::expected<std::string, std::string> pkcs11_kms::wrap(std::string_view kek_id, std::string_view dek_id,
                                                         const key_material& dek) const {
  std::string nonce(nonce_bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(nonce.data()), static_cast<int>(nonce.size())) != 1)
    return std::unexpected(std::string("no random nonce (RAND_bytes failed)"));
  const std::string_view plain(reinterpret_cast<const char*>(dek.data()), dek.size());
  auto sealed = gcm(kek_id, true, nonce, dek_wrap_context(kek_id, dek_id), plain);
  if (!sealed) return std::unexpected("wrapping data key " + std::string(dek_id) + ": " + sealed.error());
  return nonce + *sealed;
}

std::expected<key_material, std::string> pkcs11_kms::unwrap(std::string_view kek_id, std::string_view dek_id,
                                                            std::string_view wrapped) const {
  if (wrapped.size() != nonce_bytes + key_bytes + tag_bytes)
    return std::unexpected("data key " + std::string(dek_id) + ": wrapped form has " + std::to_string(wrapped.size()) +
                           " bytes, not " + std::to_string(nonce_bytes + key_bytes + tag_bytes));
  auto plain = gcm(kek_id, false, wrapped.substr(0, nonce_bytes), dek_wrap_context(kek_id, dek_id),
                   wrapped.substr(nonce_bytes));
  if (!plain)
    return std::unexpected("data key " + std::string(dek_id) + " does not unwrap under KEK '" + std::string(kek_id) +
                           "': " + plain.error());
  key_material k;
  const bool right_size = plain->size() == k.size();
  if (right_size) std::copy(plain->begin(), plain->end(), reinterpret_cast<char*>(k.data()));
  OPENSSL_cleanse(plain->data(), plain->size());
  if (!right_size) return std::unexpected("data key " + std::string(dek_id) + " unwraps to the wrong size");
  return k;
}

std::expected<void, std::string> pkcs11_kms::health() const {
  auto ok = call<bool>([&](module& m, session& s) -> std::expected<bool, failure> {
    CK_FUNCTION_LIST_PTR f = m.f;
    CK_SESSION_INFO info{};
    if (CK_RV rv = f->C_GetSessionInfo(s.handle, &info); rv != CKR_OK)
      return std::unexpected(failure{"PKCS#11 token '" + settings_.token_label + "': " + rv_text(rv), true});
    if (info.state != CKS_RW_USER_FUNCTIONS && info.state != CKS_RO_USER_FUNCTIONS)
      return std::unexpected(failure{"PKCS#11 token '" + settings_.token_label + "': the session is not logged in", true});
    return true;
  });
  if (!ok) return std::unexpected(ok.error());
  return {};
}

std::expected<void, std::string> pkcs11_kms::generate_kek(std::string_view id) const {
  if (!valid_key_id(id)) return std::unexpected(std::string("a KEK id is 1-64 of A-Z a-z 0-9 . _ -"));
  const std::string label(id);
  auto made = call<bool>([&](module& m, session& s) -> std::expected<bool, failure> {
    CK_FUNCTION_LIST_PTR f = m.f;
    auto existing = find_keys(f, s.handle, &label);
    if (!existing)
      return std::unexpected(failure{"finding KEK '" + label + "': " + rv_text(existing.error()), session_lost(existing.error())});
    if (!existing->empty())
      return std::unexpected(failure{"token '" + settings_.token_label + "' already holds KEK '" + label + "'"});
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE type = CKK_AES;
    CK_ULONG len = key_bytes;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_ATTRIBUTE tmpl[] = {
        {CKA_CLASS, &cls, sizeof cls},     {CKA_KEY_TYPE, &type, sizeof type},
        {CKA_VALUE_LEN, &len, sizeof len}, {CKA_LABEL, const_cast<char*>(label.data()), label.size()},
        {CKA_TOKEN, &yes, sizeof yes},     {CKA_PRIVATE, &yes, sizeof yes},
        {CKA_SENSITIVE, &yes, sizeof yes}, {CKA_EXTRACTABLE, &no, sizeof no},
        {CKA_ENCRYPT, &yes, sizeof yes},   {CKA_DECRYPT, &yes, sizeof yes},
        {CKA_WRAP, &no, sizeof no},        {CKA_UNWRAP, &no, sizeof no},
    };
    CK_MECHANISM mech{CKM_AES_KEY_GEN, nullptr, 0};
    CK_OBJECT_HANDLE key = 0;
    if (CK_RV rv = f->C_GenerateKey(s.handle, &mech, tmpl, sizeof tmpl / sizeof tmpl[0], &key); rv != CKR_OK)
      return std::unexpected(failure{"generating KEK '" + label + "': " + rv_text(rv), session_lost(rv)});
    s.keks.emplace(label, key);
    return true;
  });
  if (!made) return std::unexpected(made.error());
  return {};
}

}  // namespace kgw::policies::encryption
