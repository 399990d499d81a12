#!/usr/bin/env python3
"""Deterministic customer records for the shared-customers example (shared-customers.yaml).

Prints one record per line as  <id> TAB <JSON value>,  ready for
    kcat -P -t customers -K '\\t'
(JSON never contains a raw tab or newline: they are escaped inside strings). The key is the id.

Each customer depends only on (seed, id), so any range [start, start + count) is the same
whatever else is generated, and reruns give identical bytes. The data is made to exercise the
views: about half consent to marketing, a quarter are in region US-WEST (and some are in
look-alike regions "US-WEST-2" and "us-west" that must not match), and names and e-mail
addresses carry non-ASCII text and characters JSON escapes (quotes, backslashes, tabs,
newlines). About one record in eight is written with every non-ASCII character as a \\uXXXX
escape (astral characters as surrogate pairs), and one in five with spaces after separators,
so byte-level and value-level equality differ.

    generate_customers.py [--start N] [--count N] [--seed N] [--summary]

--summary prints counts instead of records: total, consenting (consent.marketing == true),
and per region, for checking what each view should deliver.
Standard library only.
"""
import argparse
import json
import random
import sys

FIRST = ["Ada", "Grace", "Alan", "Katherine", "Edsger", "Barbara", "Donald", "Frances",
         "José", "Zoë", "Søren", "Chloé", "Łukasz", "Ngozi", "Анна", "李", "Dmitri \"Dima\"",
         "Mary-Jane", "O'Neil", "Renée"]
LAST = ["Lovelace", "Hopper", "Turing", "Johnson", "Dijkstra", "Liskov", "Knuth", "Allen",
        "Martínez", "Ölund", "Kierkegaard", "Dubois", "Wałęsa", "Okafor", "Иванова", "小龍",
        "Back\\slash", "Tab\tSeparated", "Line\nBreak", "Rocket 🚀"]
LOCAL = ["ada", "grace.h", "alan_t", "kj", "edsger+news", "barbara", "don.knuth", "fran",
         "josé", "zoë.ölund", "o'neil", "renée", "li", "back\\slash", "dima\"quoted\""]
DOMAINS = ["example.com", "example.org", "mail.example.net", "exämple.de", "例子.中国",
           "customers.example.co.uk"]
REGIONS = ["US-WEST", "US-EAST", "EU-CENTRAL", "APAC", "US-WEST-2", "us-west", "LATAM"]
REGION_WEIGHTS = [25, 20, 20, 15, 7, 5, 8]


def customer(seed, cid):
    """The customer with id `cid`: a dict in field order, and how to write it."""
    rng = random.Random(f"{seed}:{cid}")
    local = rng.choice(LOCAL)
    if rng.random() < 0.5:
        local += str(rng.randrange(1000))
    phone = rng.choice([
        f"+1-555-{rng.randrange(10000):04d}",
        f"+49 30 {rng.randrange(1000000):06d}",
        f"+44 (0)20 7946 {rng.randrange(10000):04d}",
        f"+81-3-{rng.randrange(10000):04d}-{rng.randrange(10000):04d}",
    ])
    record = {
        "id": cid,
        "name": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
        "email": f"{local}@{rng.choice(DOMAINS)}",
        "phone": phone,
        "region": rng.choices(REGIONS, weights=REGION_WEIGHTS)[0],
        "consent": {"marketing": rng.random() < 0.5},
        "ltv": round(rng.uniform(0, 5000), 2),
    }
    ascii_escapes = rng.random() < 0.125
    spaced = rng.random() < 0.2
    return record, ascii_escapes, spaced


def encode(record, ascii_escapes, spaced):
    separators = (", ", ": ") if spaced else (",", ":")
    return json.dumps(record, ensure_ascii=ascii_escapes, separators=separators)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--start", type=int, default=0, help="first id (default 0)")
    p.add_argument("--count", type=int, default=1000, help="how many customers (default 1000)")
    p.add_argument("--seed", type=int, default=42, help="data seed (default 42)")
    p.add_argument("--summary", action="store_true", help="print counts instead of records")
    a = p.parse_args()
    if a.start < 0 or a.count < 0:
        p.error("--start and --count must not be negative")

    out = sys.stdout
    if a.summary:
        consenting, regions = 0, {}
        for cid in range(a.start, a.start + a.count):
            record, _, _ = customer(a.seed, cid)
            consenting += record["consent"]["marketing"] is True
            regions[record["region"]] = regions.get(record["region"], 0) + 1
        out.write(f"total {a.count}\nconsenting {consenting}\n")
        for region in REGIONS:
            out.write(f"region {region} {regions.get(region, 0)}\n")
        return
    # UTF-8 whatever the locale, one write per record.
    out = open(sys.stdout.fileno(), "w", encoding="utf-8", newline="\n", closefd=False)
    for cid in range(a.start, a.start + a.count):
        out.write(f"{cid}\t{encode(*customer(a.seed, cid))}\n")
    out.flush()


if __name__ == "__main__":
    main()
