#!/usr/bin/python3
"""kafka-python (2.0.2) client for the field-encryption end-to-end tests, as one principal over
SASL/PLAIN. Keys and values travel as hex, so the C++ test compares bytes without trusting this
script's text handling.

  produce  read "<hex key> <hex value>" lines on stdin, send them with --compression, wait for
           every acknowledgement; print "P <partition> <offset> <hex key>" per record
  consume  assign every partition of --topic from the beginning (no group), read until --count
           records or --timeout; print "C <partition> <offset> <hex key> <hex value>" per record

Then "DONE". Exit 1 (a message on stderr) if the script itself fails.
"""
import argparse
import sys
import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition


def common(args):
    return dict(bootstrap_servers=args.bootstrap, security_protocol="SASL_PLAINTEXT", sasl_mechanism="PLAIN",
                sasl_plain_username=args.username, sasl_plain_password=args.password, api_version=(2, 1, 0))


def produce(args):
    producer = KafkaProducer(acks="all", compression_type=None if args.compression == "none" else args.compression,
                             linger_ms=20, **common(args))
    futures = []
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        key, value = line.split(" ")
        futures.append((key, producer.send(args.topic, key=bytes.fromhex(key), value=bytes.fromhex(value))))
    producer.flush(timeout=60)
    for key, f in futures:
        md = f.get(timeout=60)
        print("P %d %d %s" % (md.partition, md.offset, key))
    producer.close(timeout=10)


def consume(args):
    consumer = KafkaConsumer(enable_auto_commit=False, group_id=None, auto_offset_reset="earliest",
                             consumer_timeout_ms=1000, **common(args))
    parts = [TopicPartition(args.topic, p) for p in range(args.partitions)]
    consumer.assign(parts)
    consumer.seek_to_beginning(*parts)
    got = 0
    deadline = time.time() + args.timeout
    while got < args.count and time.time() < deadline:
        for records in consumer.poll(timeout_ms=200).values():
            for r in records:
                print("C %d %d %s %s" % (r.partition, r.offset, (r.key or b"").hex(), (r.value or b"").hex()))
                got += 1
    consumer.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["produce", "consume"])
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--partitions", type=int, default=3)
    ap.add_argument("--username", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--compression", default="none", choices=["none", "gzip", "snappy", "lz4", "zstd"])
    ap.add_argument("--count", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=40.0)
    args = ap.parse_args()
    try:
        produce(args) if args.mode == "produce" else consume(args)
    except Exception as e:  # the test reads the reason
        print("error: %r" % (e,), file=sys.stderr)
        sys.exit(1)
    print("DONE")


if __name__ == "__main__":
    main()
