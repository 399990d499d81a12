#pragma once
// `kafka-gateway keys`: the operator's view of field-encryption keys, through the key topic on
// the upstream cluster (the gateway stores nothing of its own):
//
//   keys list    --config FILE [--upstream HOST:PORT,...]
//       every data key the key topic holds (wrapped): id, topic, subject tag, KEK, KMS, created
//   keys shred   --config FILE --topic TOPIC --subject VALUE [--upstream ...]
//       crypto-shredding: tombstones every key of that subject on that topic; every gateway
//       instance drops them within its follow interval, and the subject's encrypted fields can
//       never be read again by anyone
//   keys rotate  --config FILE [--topic TOPIC] [--upstream ...]
//       every instance stops sealing with its current keys (of TOPIC, or all) and makes new ones
//   keys new-kek --config FILE --kek ID
//       pkcs11: generates KEK ID inside the token (sensitive, never extractable);
//       local: prints a new "ID <base64>" line to append to the key file
//
// Only list/shred/rotate reach the cluster, and none of them needs the KMS: they never open a
// key. An embedded upstream exists only inside its gateway: give --upstream.
// Exit codes: 0 done (or --help), 1 it could not be done (the reason on stderr), 2 bad arguments.
// Threading: call from the main thread.
namespace kgw::gateway {

// argv[0] is "keys".
int run_keys_command(int argc, char** argv);

}  // namespace kgw::gateway
