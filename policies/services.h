#pragma once
// What the gateway lends one configuration generation's policies: services that live longer
// than a generation and do I/O the policies must not do themselves (the key manager reads and
// writes the key topic and talks to the KMS on its own thread). The gateway starts them before a
// generation that needs them is published and keeps them across reloads whose settings for
// them did not change.
// Threading: the services are thread-safe; this struct is immutable once the generation is built.
#include <memory>

namespace kgw::policies {

namespace encryption {
class key_manager;
}
class transform_cache;

struct policy_services {
  std::shared_ptr<encryption::key_manager> keys;  // encryption configured: its started key manager
  // Governed batches shared across sessions and workers (gateway.transform_cache; null: off).
  // Kept across reloads: its keys name compiled views, so a new generation never meets the
  // entries of an old one, which age out.
  std::shared_ptr<transform_cache> transforms;
};

}  // namespace kgw::policies
