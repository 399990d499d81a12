#pragma once
// Scans a subcommand's arguments: "--name value" and "--name=value" alike, as operators type
// them. Shared by the kafka-gateway subcommands so each parses the same way.
// Threading: a local object of the parsing function.
#include <cstdio>
#include <expected>
#include <optional>
#include <string>
#include <string_view>

namespace kgw::gateway {

class cli_args {
 public:
  // argv[0] is the subcommand's name and is skipped.
  cli_args(int argc, char** argv) : argc_(argc), argv_(argv) {}

  // Moves to the next argument; false when there is none.
  bool next() {
    if (++i_ >= argc_) return false;
    name_ = argv_[i_];
    inline_value_.reset();
    if (name_.starts_with("--"))
      if (auto eq = name_.find('='); eq != std::string_view::npos) {
        inline_value_ = name_.substr(eq + 1);
        name_ = name_.substr(0, eq);
      }
    return true;
  }
  std::string_view name() const { return name_; }  // without any "=value"
  std::string_view raw() const { return argv_[i_]; }
  // The option's value: after '=', else the next argument (taken); nullopt if there is none.
  std::optional<std::string_view> value() {
    if (inline_value_) return inline_value_;
    if (i_ + 1 >= argc_) return std::nullopt;
    return std::string_view(argv_[++i_]);
  }
  // The option's value into `into`; "<what> needs a value" when there is none.
  std::expected<void, std::string> value_into(const char* what, std::string& into) {
    auto v = value();
    if (!v) return std::unexpected(std::string(what) + " needs a value");
    into = std::string(*v);
    return {};
  }

 private:
  int argc_;
  char** argv_;
  int i_ = 0;
  std::string_view name_;
  std::optional<std::string_view> inline_value_;
};

// What a parse of arguments (or of one input line) gives: nothing, or why it is wrong.
using parsed = std::expected<void, std::string>;
inline std::unexpected<std::string> bad(std::string why) { return std::unexpected(std::move(why)); }

// The common start of a subcommand: a parse error exits 2 pointing at --help, --help prints the
// usage and exits 0. Returns the exit code, or nullopt to carry on.
inline std::optional<int> early_exit(const char* command, const parsed& args, bool help, const char* usage) {
  if (!args) {
    std::fprintf(stderr, "%s: %s (see kafka-gateway %s --help)\n", command, args.error().c_str(), command);
    return 2;
  }
  if (help) {
    std::fputs(usage, stdout);
    return 0;
  }
  return std::nullopt;
}

}  // namespace kgw::gateway
