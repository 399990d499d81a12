// Policy YAML -> policy_config: the documents and their keys; each key's value is read by the
// policy that owns it (its section_reader, in policies/<folder>/).
#include "config/policy_loader.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>

#include "config/bounded_file.h"
#include "config/yaml_reader.h"

namespace kgw::config {

policy_loader::policy_loader(std::span<const section_reader> readers) : readers_(readers) {
  // Section keys first, then settings, each in reader order: the order documents are read in
  // and messages list the keys.
  for (std::size_t pass = 0; pass < 2; ++pass)
    for (std::size_t r = 0; r < readers_.size(); ++r)
      for (std::size_t k = 0; k < readers_[r].keys.size(); ++k)
        if ((k == 0) == (pass == 0)) {
          keys_.push_back(readers_[r].keys[k]);
          reader_of_.push_back(r);
        }
  for (const auto& r : readers_) cfg_.sections.push_back(r.make());
}

std::expected<void, std::string> policy_loader::add_node(const YAML::Node& doc, const std::string& source,
                                                        std::string_view text) {
  try {
    if (!doc.IsDefined() || doc.IsNull()) return {};  // an empty document (only comments) adds nothing
    const yaml_reader reader(source, text, "string");
    if (!doc.IsMap()) {
      std::string list;
      for (const char* k : keys_) list += std::string(list.empty() ? "" : ", ") + k;
      reader.fail(doc, "a policy document must be a mapping (" + list + ")");
    }
    // A tool that loads configurations without the policies' readers (a programming slip).
    if (keys_.empty() && doc.size() > 0) reader.fail(doc, "policy documents cannot be read here (no policy section readers)");
    reader.only_keys(doc, "the policy document", keys_);
    const policy_document where{source, text};
    for (std::size_t i = 0; i < keys_.size(); ++i)
      if (const auto value = doc[keys_[i]]) {
        const auto r = reader_of_[i];
        readers_[r].read(where, keys_[i], value, *cfg_.sections[r]);
      }
  } catch (const yaml_failure& e) {
    return std::unexpected(e.message);
  } catch (const YAML::Exception& e) {
    return std::unexpected(syntax_error_message(source, e));
  }
  return {};
}

std::expected<void, std::string> policy_loader::add_string(std::string_view text, const std::string& source) {
  std::vector<YAML::Node> docs;
  try {
    docs = load_yaml_documents(text, source, false);
  } catch (const yaml_failure& e) {
    return std::unexpected(e.message);
  } catch (const YAML::Exception& e) {
    return std::unexpected(syntax_error_message(source, e));
  }
  for (const auto& d : docs)
    if (auto done = add_node(d, source, text); !done) return done;
  return {};
}

std::expected<void, std::string> policy_loader::add_file(const std::string& path) {
  const auto text = read_bounded_file(path, max_config_file_bytes);
  if (!text) return std::unexpected(path + ":1:1: policy file: " + text.error());
  cfg_.files.push_back(path);
  return add_string(*text, path);
}

std::expected<void, std::string> policy_loader::finish() {
  for (std::size_t r = 0; r < readers_.size(); ++r)
    if (readers_[r].finish)
      if (auto done = readers_[r].finish(*cfg_.sections[r]); !done) return done;
  return {};
}

std::expected<std::vector<std::string>, std::string> policy_files(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (ec || !fs::exists(status)) return std::unexpected("no such policy file or directory '" + path + "'");
  if (fs::is_regular_file(status)) return std::vector<std::string>{path};
  if (!fs::is_directory(status)) return std::unexpected("'" + path + "' is neither a file nor a directory");
  std::vector<std::string> files;
  for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
    const auto ext = it->path().extension();
    if ((ext == ".yaml" || ext == ".yml") && it->is_regular_file(ec)) files.push_back(it->path().string());
  }
  if (ec) return std::unexpected("cannot list directory '" + path + "': " + ec.message());
  // An empty directory would silently turn every ACL off; a typo deserves an error instead.
  if (files.empty()) return std::unexpected("directory '" + path + "' has no *.yaml or *.yml policy files");
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace kgw::config
