#include "gateway/security/cert_identity.h"

#include <arpa/inet.h>
#include <openssl/asn1.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

#include "config/utf8.h"

namespace kgw::security {
namespace {

// The attributes Java names by keyword in RFC 2253 output (sun.security.x509.AVAKeyword entries
// marked RFC 2253 compliant). Every other attribute is written as a dotted OID.
const char* rfc2253_keyword(int nid) {
  switch (nid) {
    case NID_commonName: return "CN";
    case NID_countryName: return "C";
    case NID_localityName: return "L";
    case NID_stateOrProvinceName: return "ST";
    case NID_organizationName: return "O";
    case NID_organizationalUnitName: return "OU";
    case NID_streetAddress: return "STREET";
    case NID_domainComponent: return "DC";
    case NID_userId: return "UID";
    default: return nullptr;
  }
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

constexpr char32_t replacement_char = 0xFFFD;

// Copies UTF-8, replacing each byte that does not start a valid sequence with U+FFFD (Java's
// decoder also substitutes rather than failing, so a sloppy CA still yields a usable name).
void append_checked_utf8(std::string& out, const unsigned char* p, std::size_t n) {
  const std::string_view s(reinterpret_cast<const char*>(p), n);
  for (std::size_t i = 0; i < n;) {
    char32_t cp = 0;
    const std::size_t len = config::utf8_decode(s, i, cp);
    if (len == 0) {
      append_utf8(out, replacement_char);
      ++i;
      continue;
    }
    out.append(s.substr(i, len));
    i += len;
  }
}

void append_utf16be(std::string& out, const unsigned char* p, std::size_t n) {
  std::size_t i = 0;
  for (; i + 1 < n; i += 2) {
    char32_t unit = (char32_t{p[i]} << 8) | p[i + 1];
    if (unit >= 0xD800 && unit <= 0xDBFF && i + 3 < n) {
      const char32_t low = (char32_t{p[i + 2]} << 8) | p[i + 3];
      if (low >= 0xDC00 && low <= 0xDFFF) {
        append_utf8(out, 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00));
        i += 2;
        continue;
      }
    }
    append_utf8(out, unit >= 0xD800 && unit <= 0xDFFF ? replacement_char : unit);
  }
  if (i < n) append_utf8(out, replacement_char);
}

// Java decodes these string types and prints them as text; any other value type (and any
// attribute without a keyword) is printed as '#' + hex of its DER encoding.
bool value_as_text(const ASN1_STRING* value, std::string& text) {
  const unsigned char* data = ASN1_STRING_get0_data(value);
  const auto size = static_cast<std::size_t>(ASN1_STRING_length(value));
  switch (ASN1_STRING_type(value)) {
    case V_ASN1_UTF8STRING: append_checked_utf8(text, data, size); return true;
    case V_ASN1_PRINTABLESTRING:
    case V_ASN1_T61STRING:
    case V_ASN1_IA5STRING:
    case V_ASN1_GENERALSTRING:
      // ISO-8859-1, as Java reads them.
      for (std::size_t i = 0; i < size; ++i) append_utf8(text, data[i]);
      return true;
    case V_ASN1_BMPSTRING: append_utf16be(text, data, size); return true;
    default: return false;
  }
}

void append_escaped(std::string& out, const std::string& text) {
  static constexpr std::string_view escapees = ",=+<>#;\"\\";
  std::string escaped;
  escaped.reserve(text.size() + 8);
  for (const char c : text) {
    if (c == '\0') {
      escaped += "\\00";
      continue;
    }
    if (escapees.find(c) != std::string_view::npos) escaped += '\\';
    escaped += c;
  }
  // Leading and trailing spaces (and CRs, as Java counts them) would be lost by a DN parser.
  const auto is_blank = [](char c) { return c == ' ' || c == '\r'; };
  std::size_t lead = 0;
  while (lead < escaped.size() && is_blank(escaped[lead])) ++lead;
  std::size_t trail_start = escaped.size();
  while (trail_start > lead && is_blank(escaped[trail_start - 1])) --trail_start;
  for (std::size_t i = 0; i < escaped.size(); ++i) {
    if (i < lead || i >= trail_start) out += '\\';
    out += escaped[i];
  }
}

void append_hex_der(std::string& out, const ASN1_STRING* value) {
  static constexpr char digits[] = "0123456789abcdef";
  unsigned char* der = nullptr;
  const int len = i2d_ASN1_PRINTABLE(const_cast<ASN1_STRING*>(value), &der);
  out += '#';
  for (int i = 0; i < len; ++i) {
    out += digits[der[i] >> 4];
    out += digits[der[i] & 0x0F];
  }
  OPENSSL_free(der);
}

void append_oid(std::string& out, const ASN1_OBJECT* obj) {
  char small[96];
  const int len = OBJ_obj2txt(small, sizeof small, obj, 1);
  if (len <= 0) return;
  if (static_cast<std::size_t>(len) < sizeof small) {
    out.append(small, static_cast<std::size_t>(len));
    return;
  }
  std::string big(static_cast<std::size_t>(len) + 1, '\0');
  OBJ_obj2txt(big.data(), static_cast<int>(big.size()), obj, 1);
  out.append(big.data(), static_cast<std::size_t>(len));
}

void append_ava(std::string& out, const X509_NAME_ENTRY* entry) {
  const ASN1_OBJECT* obj = X509_NAME_ENTRY_get_object(entry);
  const ASN1_STRING* value = X509_NAME_ENTRY_get_data(entry);
  const char* keyword = rfc2253_keyword(OBJ_obj2nid(obj));
  std::string text;
  if (keyword != nullptr && value_as_text(value, text)) {
    out += keyword;
    out += '=';
    append_escaped(out, text);
    return;
  }
  if (keyword != nullptr) {
    out += keyword;
  } else {
    append_oid(out, obj);
  }
  out += '=';
  append_hex_der(out, value);
}

std::string rfc2253_name(const X509_NAME* name) {
  // Group entries into RDNs (entries of one multi-valued RDN share a set number), then print
  // the RDNs last to first, as RFC 2253 orders them.
  std::vector<std::vector<const X509_NAME_ENTRY*>> rdns;
  const int count = X509_NAME_entry_count(name);
  int current_set = -1;
  for (int i = 0; i < count; ++i) {
    const X509_NAME_ENTRY* entry = X509_NAME_get_entry(name, i);
    const int set = X509_NAME_ENTRY_set(entry);
    if (rdns.empty() || set != current_set) rdns.emplace_back();
    current_set = set;
    rdns.back().push_back(entry);
  }
  std::string out;
  for (auto rdn = rdns.rbegin(); rdn != rdns.rend(); ++rdn) {
    if (rdn != rdns.rbegin()) out += ',';
    for (std::size_t j = 0; j < rdn->size(); ++j) {
      if (j != 0) out += '+';
      append_ava(out, (*rdn)[j]);
    }
  }
  return out;
}

struct general_names_free {
  void operator()(GENERAL_NAMES* names) const { GENERAL_NAMES_free(names); }
};

std::vector<std::pair<std::string, std::string>> subject_alt_names(const X509* cert) {
  std::vector<std::pair<std::string, std::string>> sans;
  // Null when the extension is absent, malformed, or present twice: no SANs in all three cases.
  std::unique_ptr<GENERAL_NAMES, general_names_free> names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  if (!names) return sans;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    int type = 0;
    void* value = GENERAL_NAME_get0_value(sk_GENERAL_NAME_value(names.get(), i), &type);
    const char* label = nullptr;
    switch (type) {
      case GEN_DNS: label = "DNS"; break;
      case GEN_URI: label = "URI"; break;
      case GEN_EMAIL: label = "EMAIL"; break;
      case GEN_IPADD: label = "IP"; break;
      default: continue;  // the value is not an ASN1_STRING for the other types
    }
    const auto* text = static_cast<const ASN1_STRING*>(value);
    if (text == nullptr) continue;
    const unsigned char* data = ASN1_STRING_get0_data(text);
    const auto size = static_cast<std::size_t>(ASN1_STRING_length(text));
    if (type == GEN_IPADD) {
      char ip[INET6_ADDRSTRLEN] = {};
      const int family = size == 4 ? AF_INET : size == 16 ? AF_INET6 : 0;
      if (family != 0 && inet_ntop(family, data, ip, sizeof ip) != nullptr) sans.emplace_back(label, ip);
      continue;
    }
    if (std::memchr(data, '\0', size) != nullptr) continue;
    sans.emplace_back(label, std::string(reinterpret_cast<const char*>(data), size));
  }
  return sans;
}

}  // namespace

cert_identity read_cert_identity(const x509_st* cert) {
  cert_identity id;
  if (cert == nullptr) return id;
  id.subject_dn = rfc2253_name(X509_get_subject_name(cert));
  id.sans = subject_alt_names(cert);
  return id;
}

}  // namespace kgw::security
