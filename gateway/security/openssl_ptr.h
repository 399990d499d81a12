#pragma once
// unique_ptr ownership for OpenSSL objects: openssl_ptr<EVP_MD_CTX, EVP_MD_CTX_free> frees with
// the matching OpenSSL function. Include only from .cpp files (it needs OpenSSL's headers).
// Threading: as the owned object.
#include <memory>

namespace kgw::security {

template <auto free_fn>
struct openssl_deleter {
  template <class T>
  void operator()(T* p) const {
    free_fn(p);
  }
};

template <class T, auto free_fn>
using openssl_ptr = std::unique_ptr<T, openssl_deleter<free_fn>>;

}  // namespace kgw::security
