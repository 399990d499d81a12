#include "tests/support/softhsm_token.h"

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <stdexcept>
#include <vector>

namespace kgw::testing {

const char* softhsm_token::module() { return "/usr/lib/softhsm/libsofthsm2.so"; }

softhsm_token::softhsm_token(std::string label, std::string pin) : label_(std::move(label)), pin_(std::move(pin)) {
  if (!std::filesystem::exists(module()))
    throw std::runtime_error(std::string("SoftHSM2 is not installed (") + module() + "): run docker/setup.sh");
  std::string tmpl = (std::filesystem::temp_directory_path() / "kgw-softhsm-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  tokens_ = dir_ / "tokens";
  conf_ = dir_ / "softhsm2.conf";
  std::filesystem::create_directory(tokens_);
  std::ofstream(conf_) << "directories.tokendir = " << tokens_.string() << "\nobjectstore.backend = file\n"
                       << "log.level = ERROR\nslots.removable = false\n";
  ::setenv("SOFTHSM2_CONF", conf_.c_str(), 1);
  const pid_t pid = ::fork();
  if (pid == 0) {
    // Quiet: softhsm2-util prints the slot it used.
    if (std::FILE* null = std::fopen("/dev/null", "w")) ::dup2(::fileno(null), 1);
    std::vector<std::string> args{"softhsm2-util", "--init-token", "--free",  "--label", label_,
                                  "--pin",         pin_,           "--so-pin", "5678"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execvp(argv[0], argv.data());
    ::_exit(127);
  }
  int status = 0;
  if (pid < 0 || ::waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::filesystem::remove_all(dir_);
    throw std::runtime_error("softhsm2-util --init-token failed (status " + std::to_string(status) + ")");
  }
}

softhsm_token::~softhsm_token() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

}  // namespace kgw::testing
