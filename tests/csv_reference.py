#!/usr/bin/env python3
"""Reference reading for tests/csv_property.rs: how Python's csv module (strict RFC 4180
quoting, utf-8-sig) splits each generated file into records.

Reads a JSON list of {"path", "sep"} on stdin; writes a JSON list with, per file, either
{"records": [[field, ...], ...]} (a blank line is []) or {"error": message, "line": n}."""
import csv
import json
import sys

out = []
for case in json.load(sys.stdin):
    with open(case["path"], newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f, delimiter=case["sep"], strict=True)
        try:
            out.append({"records": list(reader)})
        except csv.Error as e:
            out.append({"error": str(e), "line": reader.line_num})
json.dump(out, sys.stdout)
