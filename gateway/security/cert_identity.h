#pragma once
// The identity a TLS client certificate carries: its subject DN in the exact text Kafka's
// brokers see (so ssl.principal.mapping.rules written for Kafka work unchanged) and its
// subjectAltName entries. Read once per handshake, after OpenSSL has verified the chain.
// Threading: pure functions on a certificate the caller owns; no shared state.
#include <string>
#include <utility>
#include <vector>

struct x509_st;  // OpenSSL's X509; kept out of this header so users need no OpenSSL includes

namespace kgw::security {

struct cert_identity {
  // RFC 2253 text exactly as Java's X500Principal.getName() produces it, most specific RDN
  // first: "CN=alice,OU=eng,O=Example Corp,C=US". Like Java: only CN, C, L, ST, O, OU, STREET,
  // DC and UID get a keyword; any other attribute (emailAddress, serialNumber, title, ...)
  // is "<dotted OID>=#<hex of the DER value>"; ",=+<>#;\"\\" are backslash-escaped, as are
  // leading and trailing spaces; NUL is "\00"; multi-valued RDNs are joined with '+'.
  std::string subject_dn;
  // subjectAltName entries in certificate order, type one of "DNS", "URI", "EMAIL", "IP".
  // IP is dotted-quad or RFC 5952 IPv6 text ("::1"). Other name types (otherName, dirName,
  // registeredID, ...) and entries with an embedded NUL or a malformed IP length are left
  // out: no rule can name them, and a NUL would let a name look different to C code.
  std::vector<std::pair<std::string, std::string>> sans;
};

// A null certificate gives an empty identity (no DN, no SANs), which no mapping rule matches.
cert_identity read_cert_identity(const x509_st* cert);

}  // namespace kgw::security
