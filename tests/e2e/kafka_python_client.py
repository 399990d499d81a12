#!/usr/bin/python3
"""kafka-python (2.0.2) client for the end-to-end tests: produce N keyed records, consume them in
a consumer group with a synchronous commit, then check that a restarted consumer in the same
group resumes after the commit (finds nothing new). Prints what it saw, one item per line:

  P <partition> <offset> <key> <value>   a produced record (from the send future's metadata)
  C <partition> <offset> <key> <value>   a consumed record
  K <partition> <offset>                 committed offset, as read back from the coordinator
  R <count>                              records the restarted consumer received (expect 0)
  A <api_version>                        the api_version asked for ("auto": probe)
  V <api_version>                        the api_version kafka-python settled on
  DONE

The C++ test (kafka_python_e2e_test.cpp) checks these lines. Exit code 0 unless the script
itself failed (exceptions, timeouts); the checks are the test's job.
"""
import argparse
import logging
import sys
import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--group", required=True)
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--timeout", type=float, default=40.0, help="seconds for the consume phase")
    # kafka-python infers the broker version by probing; against librdkafka's mock (old API
    # versions only) the probe guesses a version whose request versions the mock lacks, so pin it.
    ap.add_argument("--api-version", default="1.0.0", help='"auto" to let kafka-python probe')
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    api_version = None if args.api_version == "auto" else tuple(int(x) for x in args.api_version.split("."))
    common = dict(bootstrap_servers=args.bootstrap.split(","), api_version=api_version,
                  request_timeout_ms=20000)
    print("A", args.api_version)

    producer = KafkaProducer(acks="all", linger_ms=5, **common)
    print("V", ".".join(str(x) for x in producer.config["api_version"]))
    futures = []
    for i in range(args.count):
        key = "py-key-%d" % i
        value = "py-value-%d" % i
        futures.append((key, value, producer.send(args.topic, key=key.encode(), value=value.encode())))
    producer.flush(timeout=30)
    for key, value, fut in futures:
        md = fut.get(timeout=30)
        print("P", md.partition, md.offset, key, value)
    producer.close(timeout=10)

    consumer = KafkaConsumer(args.topic, group_id=args.group, auto_offset_reset="earliest",
                             enable_auto_commit=False, session_timeout_ms=10000,
                             heartbeat_interval_ms=1000, **common)
    seen = 0
    deadline = time.monotonic() + args.timeout
    while seen < args.count and time.monotonic() < deadline:
        batches = consumer.poll(timeout_ms=500)
        for tp, records in batches.items():
            for r in records:
                print("C", r.partition, r.offset, r.key.decode(), r.value.decode())
                seen += 1
    consumer.commit()
    partitions = consumer.partitions_for_topic(args.topic) or set()
    for p in sorted(partitions):
        print("K", p, consumer.committed(TopicPartition(args.topic, p)))
    consumer.close()

    again = KafkaConsumer(args.topic, group_id=args.group, auto_offset_reset="earliest",
                          enable_auto_commit=False, session_timeout_ms=10000,
                          heartbeat_interval_ms=1000, **common)
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
    print("DONE")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
