#include "gateway/cli/passwd_command.h"

#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <expected>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>

#include "config/bounded_file.h"
#include "gateway/cli_args.h"
#include "gateway/security/scram.h"

namespace kgw::gateway {
namespace {

constexpr const char* usage_text =
    "usage: kafka-gateway passwd [--mechanism SCRAM-SHA-256|SCRAM-SHA-512] [--iterations N]\n"
    "                            [--password-file PATH | --password-env VAR]\n"
    "\n"
    "Hashes a password into a SCRAM credential line for the gateway's user list; the password\n"
    "itself is not stored. The line serves SCRAM logins of its mechanism and SASL/PLAIN logins.\n"
    "Prints the line on stdout, e.g.\n"
    "  SCRAM-SHA-512:iterations=4096:salt=...:stored_key=...:server_key=...\n"
    "\n"
    "  --mechanism NAME       SCRAM-SHA-256 or SCRAM-SHA-512 (default SCRAM-SHA-512)\n"
    "  --iterations N         PBKDF2 iterations, 4096..16384 as in Kafka (default 4096)\n"
    "  --password-file PATH   read the password from PATH (one line, trailing newline ignored)\n"
    "  --password-env VAR     read the password from environment variable VAR\n"
    "  -h, --help             show this help\n"
    "\n"
    "Without --password-file or --password-env the password is read as one line from stdin;\n"
    "on a terminal it is prompted for twice, without echo.\n";

struct options {
  security::scram_mechanism mechanism = security::scram_mechanism::sha512;
  std::uint32_t iterations = security::scram_min_iterations;
  std::optional<std::string> password_file;
  std::optional<std::string> password_env;
  bool help = false;
};

// The options, or why the arguments are wrong.
parsed parse(int argc, char** argv, options& out) {
  cli_args args(argc, argv);
  while (args.next()) {
    const std::string_view arg = args.name();
    if (arg == "-h" || arg == "--help") {
      out.help = true;
    } else if (arg == "--mechanism") {
      auto v = args.value();
      if (!v) return bad("--mechanism needs a value");
      auto m = security::scram_mechanism_from_name(*v);
      if (!m) return bad("--mechanism must be SCRAM-SHA-256 or SCRAM-SHA-512, got '" + std::string(*v) + "'");
      out.mechanism = *m;
    } else if (arg == "--iterations") {
      auto v = args.value();
      if (!v) return bad("--iterations needs a value");
      std::uint32_t n = 0;
      auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
      if (ec != std::errc{} || end != v->data() + v->size() || n < security::scram_min_iterations ||
          n > security::scram_max_iterations)
        return bad("--iterations must be a number " + std::to_string(security::scram_min_iterations) + ".." +
               std::to_string(security::scram_max_iterations) + ", got '" + std::string(*v) + "'");
      out.iterations = n;
    } else if (arg == "--password-file") {
      auto v = args.value();
      if (!v || v->empty()) return bad("--password-file needs a path");
      out.password_file = std::string(*v);
    } else if (arg == "--password-env") {
      auto v = args.value();
      if (!v || v->empty()) return bad("--password-env needs a variable name");
      out.password_env = std::string(*v);
    } else {
      return bad("unknown argument '" + std::string(args.raw()) + "'");
    }
  }
  if (out.password_file && out.password_env) return bad("give either --password-file or --password-env, not both");
  return {};
}

void strip_line_end(std::string& s) {
  if (!s.empty() && s.back() == '\n') s.pop_back();
  if (!s.empty() && s.back() == '\r') s.pop_back();
}

// One line from `in`, without its end; nullopt on a read error.
std::optional<std::string> read_line(std::FILE* in) {
  std::string line;
  int c;
  while ((c = std::getc(in)) != EOF && c != '\n') line.push_back(static_cast<char>(c));
  if (std::ferror(in)) return std::nullopt;
  strip_line_end(line);
  return line;
}

std::expected<std::string, std::string> read_password_file(const std::string& path) {
  // A regular file of bounded size: /dev/zero or a FIFO would never end.
  auto read = config::read_bounded_file(path, 64 * 1024);
  if (!read) return std::unexpected("password file: " + read.error());
  std::string content = std::move(*read);
  strip_line_end(content);
  // A second line means the wrong file or a mangled one; hashing it whole would lock the user out.
  if (content.find('\n') != std::string::npos)
    return std::unexpected("password file " + path + " has more than one line");
  return content;
}

// Saved so a signal during the prompt can put the terminal back before the process dies.
termios saved_termios;

extern "C" void restore_echo_and_die(int sig) {
  tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_termios);
  // SA_RESETHAND made the action default again; the re-raised signal is delivered on return.
  raise(sig);
}

constexpr int prompt_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

std::expected<std::string, std::string> prompt_without_echo(const char* prompt) {
  if (tcgetattr(STDIN_FILENO, &saved_termios) != 0)
    return std::unexpected(std::string("cannot read terminal settings: ") + std::strerror(errno));
  struct sigaction old_actions[std::size(prompt_signals)];
  struct sigaction action{};
  action.sa_handler = restore_echo_and_die;
  action.sa_flags = SA_RESETHAND;
  sigemptyset(&action.sa_mask);
  for (std::size_t i = 0; i < std::size(prompt_signals); ++i) sigaction(prompt_signals[i], &action, &old_actions[i]);

  termios quiet = saved_termios;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  quiet.c_lflag |= ECHONL;  // still echo the newline, so the next prompt starts on its own line
  std::fputs(prompt, stderr);
  std::fflush(stderr);
  std::optional<std::string> line;
  if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0) {
    line = read_line(stdin);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_termios);
  }
  for (std::size_t i = 0; i < std::size(prompt_signals); ++i) sigaction(prompt_signals[i], &old_actions[i], nullptr);
  if (!line) return std::unexpected("cannot read the password from the terminal");
  return *line;
}

std::expected<std::string, std::string> read_password(const options& opts) {
  if (opts.password_file) return read_password_file(*opts.password_file);
  if (opts.password_env) {
    const char* v = std::getenv(opts.password_env->c_str());
    if (!v) return std::unexpected("environment variable " + *opts.password_env + " is not set");
    return std::string(v);
  }
  if (isatty(STDIN_FILENO)) {
    auto first = prompt_without_echo("Password: ");
    if (!first || first->empty()) return first;
    // Echo is off, so a typo would go unnoticed and produce a credential nobody can use.
    auto again = prompt_without_echo("Retype password: ");
    if (!again) return again;
    if (*again != *first) return std::unexpected("passwords do not match");
    return first;
  }
  auto line = read_line(stdin);
  if (!line) return std::unexpected("cannot read the password from stdin");
  return *line;
}

}  // namespace

int run_passwd_command(int argc, char** argv) {
  options opts;
  const auto error = parse(argc, argv, opts);
  if (auto code = early_exit("passwd", error, opts.help, usage_text)) return *code;
  auto password = read_password(opts);
  if (!password) {
    std::fprintf(stderr, "passwd: %s\n", password.error().c_str());
    return 1;
  }
  if (password->empty()) {
    std::fprintf(stderr, "passwd: the password is empty\n");
    return 1;
  }
  try {
    const auto credential = security::make_scram_credential(opts.mechanism, *password, opts.iterations);
    std::printf("%s\n", security::to_stored_form(credential).c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "passwd: %s\n", e.what());
    return 1;
  }
  if (std::fflush(stdout) != 0) {
    std::fprintf(stderr, "passwd: cannot write to stdout: %s\n", std::strerror(errno));
    return 1;
  }
  return 0;
}

}  // namespace kgw::gateway
