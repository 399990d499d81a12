// The PKCS#11 KMS against SoftHSM2, with a token the test initialises: KEKs are made inside the
// token and never leave it; wrapped data keys unwrap only under their KEK and id; a wrong PIN,
// an unknown token or module is a clear error; a token that goes away fails calls and is used
// again when it comes back.
#include <catch2/catch.hpp>
#include <p11-kit/pkcs11.h>
#include <dlfcn.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "policies/encryption/field_cipher.h"
#include "policies/encryption/pkcs11_kms.h"
#include "tests/support/softhsm_token.h"

namespace enc = kgw::policies::encryption;

namespace {

// One token per process: a PKCS#11 module reads its configuration once, at C_Initialize.
kgw::testing::softhsm_token& token() {
  static kgw::testing::softhsm_token t("kgw-unit");
  return t;
}

enc::pkcs11_settings settings() { return {kgw::testing::softhsm_token::module(), token().label(), token().pin()}; }

enc::key_material sample_dek() {
  enc::key_material k;
  for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<unsigned char>(0xa0 + i);
  return k;
}

}  // namespace

// First in this file: PKCS#11 keeps one login per process and token, so while another session of
// the process is logged in a wrong PIN cannot be noticed (C_Login answers "already logged in").
TEST_CASE("pkcs11 KMS: a wrong PIN, token or module is a clear error") {
  auto s = settings();
  s.pin = "0000";
  auto wrong_pin = enc::pkcs11_kms::open(s);
  REQUIRE_FALSE(wrong_pin);
  CHECK(wrong_pin.error().find("wrong PIN") != std::string::npos);
  CHECK(wrong_pin.error().find("0000") == std::string::npos);

  s = settings();
  s.token_label = "no-such-token";
  auto no_token = enc::pkcs11_kms::open(s);
  REQUIRE_FALSE(no_token);
  CHECK(no_token.error().find("no token labelled 'no-such-token' (tokens: " + token().label()) != std::string::npos);

  s = settings();
  s.module = "/nonexistent/libpkcs11.so";
  auto no_module = enc::pkcs11_kms::open(s);
  REQUIRE_FALSE(no_module);
  CHECK(no_module.error().find("PKCS#11 module '/nonexistent/libpkcs11.so' cannot be loaded") != std::string::npos);

  s = settings();
  s.module = "libc.so.6";
  auto not_pkcs11 = enc::pkcs11_kms::open(s);
  REQUIRE_FALSE(not_pkcs11);
  CHECK(not_pkcs11.error().find("is not a PKCS#11 module") != std::string::npos);
}

TEST_CASE("pkcs11 KMS: KEKs made in the token wrap and unwrap data keys bound to their ids") {
  auto opened = enc::pkcs11_kms::open(settings());
  REQUIRE(opened);
  auto& kms = **opened;
  CHECK(std::string(kms.kind()) == "pkcs11");
  CHECK(kms.health());
  REQUIRE(kms.generate_kek("kek-wrap-1"));
  REQUIRE(kms.generate_kek("kek-wrap-2"));
  const auto again = kms.generate_kek("kek-wrap-1");
  REQUIRE_FALSE(again);
  CHECK(again.error().find("already holds KEK 'kek-wrap-1'") != std::string::npos);
  CHECK_FALSE(kms.generate_kek("bad id"));
  const auto ids = kms.key_ids();
  CHECK(std::find(ids.begin(), ids.end(), "kek-wrap-1") != ids.end());
  CHECK(std::find(ids.begin(), ids.end(), "kek-wrap-2") != ids.end());

  const auto dek = sample_dek();
  const auto wrapped = kms.wrap("kek-wrap-1", "dek-7", dek);
  REQUIRE(wrapped);
  CHECK(wrapped->size() == enc::nonce_bytes + 32 + enc::tag_bytes);
  CHECK(wrapped->find(std::string(reinterpret_cast<const char*>(dek.data()), 8)) == std::string::npos);
  const auto back = kms.unwrap("kek-wrap-1", "dek-7", *wrapped);
  REQUIRE(back);
  CHECK(*back == dek);
  // Fresh nonce per wrap.
  CHECK(*kms.wrap("kek-wrap-1", "dek-7", dek) != *wrapped);

  // Bound to its id and its KEK; any flipped bit fails.
  CHECK_FALSE(kms.unwrap("kek-wrap-1", "dek-8", *wrapped));
  CHECK_FALSE(kms.unwrap("kek-wrap-2", "dek-7", *wrapped));
  for (std::size_t i : {std::size_t{0}, enc::nonce_bytes + 3, wrapped->size() - 1}) {
    std::string bad = *wrapped;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    CHECK_FALSE(kms.unwrap("kek-wrap-1", "dek-7", bad));
  }
  const auto unknown = kms.wrap("kek-missing", "dek-1", dek);
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().find("no KEK 'kek-missing'") != std::string::npos);
  CHECK_FALSE(kms.unwrap("kek-wrap-1", "dek-7", wrapped->substr(1)));

  // A second KMS on the same token (another gateway instance) unwraps what the first wrapped.
  auto other = enc::pkcs11_kms::open(settings());
  REQUIRE(other);
  const auto shared = (*other)->unwrap("kek-wrap-1", "dek-7", *wrapped);
  REQUIRE(shared);
  CHECK(*shared == dek);
}

TEST_CASE("pkcs11 KMS: the KEK's value cannot be read out of the token") {
  auto opened = enc::pkcs11_kms::open(settings());
  REQUIRE(opened);
  REQUIRE((*opened)->generate_kek("kek-sealed"));
  // Ask the token directly, as any PKCS#11 application could.
  void* lib = ::dlopen(kgw::testing::softhsm_token::module(), RTLD_NOW);
  REQUIRE(lib);
  auto get = reinterpret_cast<CK_C_GetFunctionList>(::dlsym(lib, "C_GetFunctionList"));
  CK_FUNCTION_LIST_PTR f = nullptr;
  REQUIRE(get(&f) == CKR_OK);
  CK_ULONG n = 8;
  CK_SLOT_ID slots[8];
  REQUIRE(f->C_GetSlotList(CK_TRUE, slots, &n) == CKR_OK);
  CK_SESSION_HANDLE h = 0;
  bool found = false;
  for (CK_ULONG i = 0; i < n && !found; ++i) {
    CK_TOKEN_INFO info{};
    if (f->C_GetTokenInfo(slots[i], &info) != CKR_OK) continue;
    if (std::string(reinterpret_cast<char*>(info.label), sizeof info.label).rfind(token().label(), 0) != 0) continue;
    REQUIRE(f->C_OpenSession(slots[i], CKF_SERIAL_SESSION, nullptr, nullptr, &h) == CKR_OK);
    found = true;
  }
  REQUIRE(found);
  auto pin = token().pin();
  const CK_RV login = f->C_Login(h, CKU_USER, reinterpret_cast<CK_UTF8CHAR_PTR>(pin.data()), pin.size());
  REQUIRE((login == CKR_OK || login == CKR_USER_ALREADY_LOGGED_IN));
  std::string label = "kek-sealed";
  CK_ATTRIBUTE find{CKA_LABEL, label.data(), label.size()};
  REQUIRE(f->C_FindObjectsInit(h, &find, 1) == CKR_OK);
  CK_OBJECT_HANDLE key = 0;
  CK_ULONG count = 0;
  REQUIRE(f->C_FindObjects(h, &key, 1, &count) == CKR_OK);
  f->C_FindObjectsFinal(h);
  REQUIRE(count == 1);
  unsigned char value[64];
  CK_ATTRIBUTE read{CKA_VALUE, value, sizeof value};
  CHECK(f->C_GetAttributeValue(h, key, &read, 1) == CKR_ATTRIBUTE_SENSITIVE);
  CK_BBOOL extractable = CK_TRUE, sensitive = CK_FALSE;
  CK_ATTRIBUTE flags[] = {{CKA_EXTRACTABLE, &extractable, sizeof extractable}, {CKA_SENSITIVE, &sensitive, sizeof sensitive}};
  REQUIRE(f->C_GetAttributeValue(h, key, flags, 2) == CKR_OK);
  CHECK(extractable == CK_FALSE);
  CHECK(sensitive == CK_TRUE);
  f->C_CloseSession(h);
}

TEST_CASE("pkcs11 KMS: a token that goes away fails closed and is used again when it returns") {
  auto opened = enc::pkcs11_kms::open(settings());
  REQUIRE(opened);
  auto& kms = **opened;
  REQUIRE(kms.generate_kek("kek-away"));
  const auto dek = sample_dek();
  const auto wrapped = kms.wrap("kek-away", "dek-1", dek);
  REQUIRE(wrapped);

  // The token's object store disappears (an HSM unplugged, a network HSM unreachable).
  const auto store = token().tokens();
  const auto aside = token().dir() / "tokens-away";
  std::filesystem::rename(store, aside);
  std::filesystem::create_directory(store);
  const auto gone = kms.unwrap("kek-away", "dek-1", *wrapped);
  CHECK_FALSE(gone);
  CHECK_FALSE(kms.wrap("kek-away", "dek-2", dek));

  std::filesystem::remove(store);
  std::filesystem::rename(aside, store);
  // The KMS re-initialises the module at most once a second; the key manager retries.
  auto back = kms.unwrap("kek-away", "dek-1", *wrapped);
  for (int i = 0; i < 50 && !back; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    back = kms.unwrap("kek-away", "dek-1", *wrapped);
  }
  REQUIRE(back);
  CHECK(*back == dek);
  CHECK(kms.health());
}
