#pragma once
// Produce-side validation compiled for one (principal, topic): the value must be JSON and carry
// the required fields. A record that fails makes the gateway answer INVALID_RECORD (87) for its
// partition.
// Threading: immutable after compile; shared by every worker thread.
#include <expected>
#include <memory>
#include <string>
#include <vector>

#include "policies/record.h"
#include "policies/validation/validation_config.h"

namespace kgw::policies {

class record_validator {
 public:
  static std::expected<std::shared_ptr<const record_validator>, std::string> compile(
      const std::vector<const validation_rule*>& rules);
  virtual ~record_validator() = default;
  // Valid, or why not, for the record_errors message ("value is not JSON", "missing required
  // field 'email'").
  virtual std::expected<void, std::string> check(const record_in& in) const = 0;
  virtual std::vector<std::string> describe() const = 0;
};

}  // namespace kgw::policies
