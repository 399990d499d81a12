#pragma once
// `kafka-gateway passwd`: turns a password into the one-line SCRAM credential the gateway stores
// (security/scram.h), so the configuration never holds the password itself. The same line
// serves SCRAM logins of its mechanism and SASL/PLAIN logins.
//
//   kafka-gateway passwd [--mechanism SCRAM-SHA-256|SCRAM-SHA-512] [--iterations N]
//                        [--password-file PATH | --password-env VAR]
//
// Without --password-file/--password-env the password is one line from stdin; on a terminal it
// is prompted for twice on stderr with echo off. Prints the stored form and a newline on stdout.
// Exit codes: 0 success or --help, 1 the password could not be read or is empty, 2 bad arguments.
//
// Threading: call from the main thread; while prompting on a terminal it installs handlers for
// SIGINT, SIGTERM, SIGHUP and SIGQUIT (to restore echo before dying) and puts the old ones back.
namespace kgw::gateway {

// argv[0] is "passwd".
int run_passwd_command(int argc, char** argv);

}  // namespace kgw::gateway
