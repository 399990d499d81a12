#!/usr/bin/python3
"""kafka-python (2.0.2) client for the end-to-end tests. One run does one scenario (--mode):

  roundtrip  produce N keyed records, consume them in a group with a synchronous commit, then
             check that a restarted consumer in the same group resumes after the commit (finds
             nothing new).
  produce    produce N keyed records with --acks; with --consume, read the topic back without a
             group (all partitions assigned, from the beginning).
  groups     produce N keyed records, then one consumer per group in --groups (each in its own
             thread) reads the topic; each group must receive every record.
  split      two members ("a", "b") of one group, each in its own thread: wait until they split
             the partitions, produce N records, both consume and commit; "a" leaves; once "b"
             holds every partition, produce N more, which "b" must consume.
  follow     one member of --group reads while others write, committing after every poll and
             riding out connections the gateway loses (errors are retried); once --stop-file
             exists it reads on until nothing new came for --grace seconds and it holds every
             partition at its end offset, commits, prints the committed offsets (K) and stops.
             The fleet test's second consumer group.

Payloads are made as the C++ tests make them (rdkafka_client.cpp keyed_payloads), so the tests
can check keys and values without trusting this script. It prints what it saw, one item per line:

  P <partition> <offset> <key> <value>   a produced record (from the send future's metadata;
                                         offset -1 with acks=0)
  C <consumer> <partition> <offset> <key> <value>   a consumed record, by consumer label
  G <consumer> <p,p,...>                 a consumer's assignment, each time it changes
  S <consumer> <p,p,...>                 split: the member's share when the first batch is produced
  E <event>                              a step of the scenario (split: "a-left", "b-took-over")
  K <partition> <offset>                 committed offset, as read back from the coordinator
  R <count>                              records the restarted consumer received (expect 0)
  A <api_version>                        the api_version asked for ("auto": probe)
  V <api_version>                        the api_version kafka-python settled on
  DONE

The C++ tests (kafka_python_e2e_test.cpp) check these lines. Exit code 0 unless the script
itself failed (exceptions, timeouts: a message on stderr, exit 1); the checks are the tests' job.
"""
import argparse
import logging
import os
import sys
import threading
import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.coordinator.assignors.range import RangePartitionAssignor
from kafka.errors import InvalidRequestError


class ScenarioError(Exception):
    pass


def payloads(prefix, count, size=100):
    """Same as keyed_payloads() in rdkafka_client.cpp."""
    out = []
    for i in range(count):
        value = "%s-value-%d-" % (prefix, i)
        value += "".join(chr(ord("a") + (n * 7 + i) % 26) for n in range(len(value), size))
        out.append(("%s-key-%d" % (prefix, i), value))
    return out


def produce(args, common, records, acks="all"):
    producer = KafkaProducer(acks=0 if acks == "0" else (1 if acks == "1" else "all"), linger_ms=5,
                             max_block_ms=args.max_block_ms, **common)
    print("V", ".".join(str(x) for x in producer.config["api_version"]))
    futures = [(k, v, producer.send(args.topic, key=k.encode(), value=v.encode())) for k, v in records]
    producer.flush(timeout=30)
    for key, value, fut in futures:
        md = fut.get(timeout=30)
        print("P", md.partition, md.offset, key, value)
    producer.close(timeout=10)


class PatientRangeAssignor(RangePartitionAssignor):
    """The range assignor (same protocol name), but a leader with followers waits a moment before
    sending its SyncGroup. The mock completes a sync as soon as the leader's SyncGroup carries every
    assignment and answers a follower's SyncGroup that arrives after that with INVALID_REQUEST
    (a real broker holds it and answers with the assignment); kafka-python's follower then gives
    up the join. The follower sends its SyncGroup right after its JoinGroup response, so a short
    wait makes it arrive first."""

    @classmethod
    def assign(cls, cluster, member_metadata):
        if len(member_metadata) > 1:
            time.sleep(0.3)
        return super().assign(cluster, member_metadata)


def group_consumer(args, common, group):
    return KafkaConsumer(args.topic, group_id=group, auto_offset_reset="earliest", enable_auto_commit=False,
                         session_timeout_ms=args.session_timeout_ms, heartbeat_interval_ms=500,
                         fetch_max_wait_ms=100, partition_assignment_strategy=[PatientRangeAssignor], **common)


def print_consumed(label, records):
    for r in records:
        print("C", label, r.partition, r.offset, r.key.decode(), r.value.decode())


def wait_for(condition, deadline, what):
    while not condition():
        if time.monotonic() > deadline:
            raise ScenarioError("timed out waiting until " + what)
        time.sleep(0.05)


class Member(threading.Thread):
    """One group member polling in its own thread (a KafkaConsumer is not thread-safe); the main
    thread reads what it got and asks it to commit or to leave."""

    def __init__(self, label, make_consumer, deadline):
        super().__init__(daemon=True)
        self.label, self.make_consumer, self.deadline = label, make_consumer, deadline
        self.lock = threading.Lock()
        self.records, self.assignments = [], []
        self.commit_wanted, self.committed = False, threading.Event()
        self.leave_wanted, self.error = False, None

    def assignment(self):
        with self.lock:
            return self.assignments[-1] if self.assignments else set()

    def count(self):
        with self.lock:
            return len(self.records)

    def run(self):
        try:
            consumer = self.make_consumer()
            sync_races = 0
            while not self.leave_wanted and time.monotonic() < self.deadline:
                try:
                    batches = consumer.poll(timeout_ms=100)
                except InvalidRequestError:
                    # The mock's SyncGroup race (see PatientRangeAssignor) if the wait was not
                    # enough: polling again rejoins. Seen directly against the mock too.
                    sync_races += 1
                    print("member %s: SyncGroup answered INVALID_REQUEST (mock race), rejoining" % self.label,
                          file=sys.stderr)
                    if sync_races > 5:
                        raise
                    continue
                current = {tp.partition for tp in consumer.assignment()}
                with self.lock:
                    for records in batches.values():
                        self.records.extend(records)
                    if not self.assignments or self.assignments[-1] != current:
                        self.assignments.append(current)
                if self.commit_wanted:
                    consumer.commit()
                    self.commit_wanted = False
                    self.committed.set()
            consumer.close()
        except Exception as e:  # reported by the main thread
            self.error = e


def mode_follow(args, common):
    consumer = group_consumer(args, common, args.group)
    deadline = time.monotonic() + args.timeout
    stopping_since, last_record = None, time.monotonic()
    errors = 0
    while time.monotonic() < deadline:
        try:
            batches = consumer.poll(timeout_ms=200)
            for records in batches.values():
                print_consumed(args.group, records)
                if records:
                    last_record = time.monotonic()
            if batches:
                consumer.commit()
        except Exception as e:  # a gateway instance went away under the client: it reconnects
            errors += 1
            print("follow: %s: %s (retrying)" % (type(e).__name__, e), file=sys.stderr)
            time.sleep(0.2)
            continue
        if stopping_since is None and os.path.exists(args.stop_file):
            stopping_since = time.monotonic()
        if stopping_since is not None and time.monotonic() - max(stopping_since, last_record) > args.grace:
            # Stop once caught up: every partition assigned to it and read to its end.
            try:
                parts = [TopicPartition(args.topic, p) for p in range(args.partitions)]
                if set(consumer.assignment()) == set(parts):
                    ends = consumer.end_offsets(parts)
                    if all(consumer.position(tp) >= ends[tp] for tp in parts):
                        break
            except Exception as e:
                print("follow: %s: %s (retrying)" % (type(e).__name__, e), file=sys.stderr)
    else:
        raise ScenarioError("the stop file did not appear, or records kept coming, within --timeout")
    consumer.commit()
    for p in range(args.partitions):
        tp = TopicPartition(args.topic, p)
        print("K", p, consumer.committed(tp))
    print("E errors-retried %d" % errors)
    consumer.close()
    print("DONE")


def mode_roundtrip(args, common):
    produce(args, common, payloads(args.prefix, args.count))
    consumer = group_consumer(args, common, args.group)
    seen = 0
    deadline = time.monotonic() + args.timeout
    while seen < args.count and time.monotonic() < deadline:
        batches = consumer.poll(timeout_ms=500)
        for tp, records in batches.items():
            print_consumed("first", records)
            seen += len(records)
    consumer.commit()
    partitions = consumer.partitions_for_topic(args.topic) or set()
    for p in sorted(partitions):
        print("K", p, consumer.committed(TopicPartition(args.topic, p)))
    consumer.close()

    again = group_consumer(args, common, args.group)
    extra = 0
    assigned_at = None
    deadline = time.monotonic() + args.timeout
    # Wait until the group is joined, then give it a little longer to deliver anything stale.
    while time.monotonic() < deadline:
        batches = again.poll(timeout_ms=300)
        extra += sum(len(records) for records in batches.values())
        if again.assignment() and assigned_at is None:
            assigned_at = time.monotonic()
        if assigned_at is not None and time.monotonic() - assigned_at > 2.0:
            break
    again.close()
    print("R", extra if assigned_at is not None else -1)


def mode_produce(args, common):
    produce(args, common, payloads(args.prefix, args.count), acks=args.acks)
    if not args.consume:
        return
    consumer = KafkaConsumer(group_id=None, auto_offset_reset="earliest", enable_auto_commit=False,
                             fetch_max_wait_ms=100, **common)
    tps = [TopicPartition(args.topic, p) for p in range(args.partitions)]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    seen, grace_end = 0, None
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline and (grace_end is None or time.monotonic() < grace_end):
        for records in consumer.poll(timeout_ms=100).values():
            print_consumed("assigned", records)
            seen += len(records)
        if seen >= args.count and grace_end is None:
            grace_end = time.monotonic() + args.grace  # anything beyond the count would be a duplicate
    consumer.close()


def mode_groups(args, common):
    produce(args, common, payloads(args.prefix, args.count))
    deadline = time.monotonic() + args.timeout
    members = [Member(g, lambda g=g: group_consumer(args, common, g), deadline) for g in args.groups.split(",")]
    for m in members:
        m.start()
    wait_for(lambda: all(m.count() >= args.count or m.error for m in members), deadline, "every group has all records")
    time.sleep(args.grace)  # anything beyond the count would be a duplicate
    for m in members:
        m.leave_wanted = True
    for m in members:
        m.join(timeout=15)
        if m.error:
            raise ScenarioError("consumer %s: %r" % (m.label, m.error))
        print_consumed(m.label, m.records)
        for a in m.assignments:
            print("G", m.label, ",".join(str(p) for p in sorted(a)))


def mode_split(args, common):
    deadline = time.monotonic() + args.timeout
    everything = set(range(args.partitions))
    a, b = (Member(label, lambda: group_consumer(args, common, args.group), deadline) for label in ("a", "b"))
    for m in (a, b):
        m.start()

    def check(m):
        if m.error:
            raise ScenarioError("member %s: %r" % (m.label, m.error))
        return True

    wait_for(lambda: check(a) and check(b) and a.assignment() and b.assignment() and
             not (a.assignment() & b.assignment()) and (a.assignment() | b.assignment()) == everything,
             deadline, "a and b split the partitions")
    for m in (a, b):
        print("S", m.label, ",".join(str(p) for p in sorted(m.assignment())))
    produce(args, common, payloads(args.prefix + "-1", args.count))
    wait_for(lambda: check(a) and check(b) and a.count() + b.count() >= args.count, deadline,
             "a and b consumed the first batch")
    for m in (a, b):
        m.commit_wanted = True
    for m in (a, b):
        if not m.committed.wait(timeout=max(0.0, deadline - time.monotonic())):
            raise ScenarioError("member %s did not commit" % m.label)
    a.leave_wanted = True
    a.join(timeout=15)
    check(a)
    print("E a-left")
    b_before = b.count()
    # Produce only once b holds every partition: a record b fetched just before its own partitions
    # were revoked would legitimately come again (not committed) and blur the duplicate check.
    wait_for(lambda: check(b) and b.assignment() == everything, deadline, "b took over every partition")
    print("E b-took-over")
    produce(args, common, payloads(args.prefix + "-2", args.count))
    wait_for(lambda: check(b) and a.count() + b.count() >= 2 * args.count, deadline, "b consumed the second batch")
    time.sleep(args.grace)  # anything beyond the count would be a duplicate
    b.leave_wanted = True
    b.join(timeout=15)
    check(b)
    print_consumed("a", a.records)
    print_consumed("b", b.records[:b_before])
    print_consumed("b-after", b.records[b_before:])
    for m in (a, b):
        for assignment in m.assignments:
            print("G", m.label, ",".join(str(p) for p in sorted(assignment)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=["roundtrip", "produce", "groups", "split", "follow"], default="roundtrip")
    ap.add_argument("--stop-file", help="follow: read on until this file exists, then until caught up")
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--partitions", type=int, default=6)
    ap.add_argument("--group", default="py-group")
    ap.add_argument("--groups", default="py-group-a,py-group-b")
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--prefix", default="py")
    ap.add_argument("--acks", choices=["all", "1", "0"], default="all")
    ap.add_argument("--consume", action="store_true")
    ap.add_argument("--timeout", type=float, default=40.0, help="seconds for the consume phase")
    ap.add_argument("--grace", type=float, default=0.5, help="seconds to keep polling after the last record")
    ap.add_argument("--session-timeout-ms", type=int, default=10000)
    # kafka-python infers the broker version by probing; against librdkafka's mock (old API
    # versions only) the probe guesses a version whose request versions the mock lacks, so pin it.
    ap.add_argument("--api-version", default="1.0.0", help='"auto" to let kafka-python probe')
    # Security, as kafka-python names it: PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL; mechanisms
    # PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 (kafka-python 2.0.2 uses the legacy SaslHandshake v0 flow).
    ap.add_argument("--security-protocol", default="PLAINTEXT")
    ap.add_argument("--sasl-mechanism")
    ap.add_argument("--username")
    ap.add_argument("--password")
    ap.add_argument("--cafile", help="CA certificate (PEM) to verify the gateway's TLS certificate")
    ap.add_argument("--max-block-ms", type=int, default=60000, help="how long send() waits for metadata")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    api_version = None if args.api_version == "auto" else tuple(int(x) for x in args.api_version.split("."))
    common = dict(bootstrap_servers=args.bootstrap.split(","), api_version=api_version,
                  request_timeout_ms=20000, security_protocol=args.security_protocol)
    if args.sasl_mechanism:
        common.update(sasl_mechanism=args.sasl_mechanism, sasl_plain_username=args.username,
                      sasl_plain_password=args.password)
    if args.cafile:
        common.update(ssl_cafile=args.cafile, ssl_check_hostname=True)
    print("A", args.api_version)
    try:
        {"roundtrip": mode_roundtrip, "produce": mode_produce, "groups": mode_groups, "split": mode_split,
         "follow": mode_follow}[args.mode](
            args, common)
    except ScenarioError as e:
        sys.stdout.flush()
        print("kafka_python_client:", e, file=sys.stderr)
        sys.exit(1)
    except Exception as e:  # e.g. the client could not authenticate: name the error class
        sys.stdout.flush()
        print("kafka_python_client: %s: %s" % (type(e).__name__, e), file=sys.stderr)
        sys.exit(1)
    print("DONE")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
