#pragma once
// `kafka-gateway explain` and `kafka-gateway preview`: what the policies mean for one principal
// and one topic, offline (the configuration only; no broker is contacted).
//
//   kafka-gateway explain --config FILE --principal NAME --topic TOPIC
//     In plain words: who the principal is (teams, attributes), whether ACLs are on, which
//     operations on the topic are allowed or denied and by which rule, the group,
//     transactional-id and cluster rules that apply, the rows and fields the principal sees of
//     the topic, produce validation, and where each rule was written.
//
//   kafka-gateway preview --config FILE --principal NAME --topic TOPIC [--envelope]
//     Reads one record value per line on stdin (with --envelope one JSON object per line:
//     {"key": .., "value": .., "headers": {..}, "timestamp": ..}, key and value any JSON or a
//     string) and prints, per line, what the principal would receive: the delivered value (or
//     envelope), or a line starting with "# dropped" saying why.
//
// Exit codes: 0 done; 1 the configuration does not load, the principal may not read the topic
// (preview), or an input line is not an envelope (preview --envelope); 2 bad arguments.
// Threading: call from the main thread.
namespace kgw::gateway {

// argv[0] is "explain" / "preview".
int run_explain_command(int argc, char** argv);
int run_preview_command(int argc, char** argv);

}  // namespace kgw::gateway
