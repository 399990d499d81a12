#!/usr/bin/python3
"""A kafka-python (2.0.2) consumer for the governance end-to-end tests (governance_e2e_test.cpp):
a consumer in --group reads --topic until its position reached the end offset of every assigned
partition, commits, and leaves; a second consumer in the same group then polls for two seconds
after it got its assignment (it must find nothing new).

It prints what it saw, one item per line, fields separated by tabs (values hold no tabs):

  C <partition> <offset> <key> <value>   a consumed record (first consumer)
  END <partition> <offset>               the end offset (high watermark) when the first consumer stopped
  POS <partition> <offset>               the first consumer's position when it stopped
  K <partition> <offset>                 the committed offset, read back from the coordinator
  R <count>                              records the second consumer received (expect 0)
  POS2 <partition> <offset>              the second consumer's position when it stopped
  DONE

Exit code 0 unless the script itself failed (an exception, a timeout: a message on stderr).
"""
import argparse
import logging
import sys
import time
import traceback

from kafka import KafkaConsumer


class ScenarioError(Exception):
    pass


# No retry around poll(): kafka-python 2.0.2 (Debian's) used to raise IndexError on a fetch whose
# partition held emptied batches only, after it had dropped other partitions' records
# (dpkp/kafka-python#2132); the gateway now sends such partitions in a shape it reads
# (gateway/record_governor.cpp), and any exception fails this script.
def poll(consumer):
    return consumer.poll(timeout_ms=200)


def group_consumer(args, common):
    return KafkaConsumer(args.topic, group_id=args.group, auto_offset_reset="earliest", enable_auto_commit=False,
                         session_timeout_ms=10000, heartbeat_interval_ms=500, fetch_max_wait_ms=100, **common)


def consume(args, common):
    deadline = time.monotonic() + args.timeout
    consumer = group_consumer(args, common)
    ends = None
    while True:
        if time.monotonic() > deadline:
            raise ScenarioError("timed out before reaching the end; positions %r, ends %r" % (
                {tp.partition: consumer.position(tp) for tp in consumer.assignment()}, ends))
        for records in poll(consumer).values():
            for r in records:
                print("C", r.partition, r.offset, r.key.decode(), r.value.decode(), sep="\t")
        assigned = consumer.assignment()
        if not assigned:
            continue
        ends = consumer.end_offsets(list(assigned))
        # The position moves past a batch only once it was fetched, also when the gateway sent it
        # empty: the end is reached when every position is at the end offset.
        if all(consumer.position(tp) >= ends[tp] for tp in assigned):
            break
    for tp in sorted(assigned, key=lambda t: t.partition):
        print("END", tp.partition, ends[tp], sep="\t")
        print("POS", tp.partition, consumer.position(tp), sep="\t")
    consumer.commit()
    for tp in sorted(assigned, key=lambda t: t.partition):
        print("K", tp.partition, consumer.committed(tp), sep="\t")
    consumer.close()

    again = group_consumer(args, common)
    extra, assigned_at = 0, None
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        for records in poll(again).values():
            extra += len(records)
        if again.assignment() and assigned_at is None:
            assigned_at = time.monotonic()
        if assigned_at is not None and time.monotonic() - assigned_at > 2.0:
            break
    if assigned_at is None:
        raise ScenarioError("the second consumer got no assignment")
    print("R", extra, sep="\t")
    for tp in sorted(again.assignment(), key=lambda t: t.partition):
        print("POS2", tp.partition, again.position(tp), sep="\t")
    again.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--group", default="py-governance")
    ap.add_argument("--timeout", type=float, default=40.0, help="seconds for each consume phase")
    # "auto": kafka-python probes ApiVersions through the gateway (it settles on 2.3.0 there).
    ap.add_argument("--api-version", default="auto")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    api_version = None if args.api_version == "auto" else tuple(int(x) for x in args.api_version.split("."))
    common = dict(bootstrap_servers=args.bootstrap.split(","), api_version=api_version, request_timeout_ms=20000)
    try:
        consume(args, common)
    except Exception as e:  # ScenarioError, or the client's own: name the class
        sys.stdout.flush()
        if not isinstance(e, ScenarioError):
            traceback.print_exc()
        print("governance_python_consumer: %s: %s" % (type(e).__name__, e), file=sys.stderr)
        sys.exit(1)
    print("DONE")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
