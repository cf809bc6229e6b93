#!/usr/bin/env python3
"""reference-coverage.py - every public name of the SDK headers is in the reference.

    reference-coverage.py SDK_INCLUDE_DIR REFERENCE_MD

Collects from sdk/include/ucd/*.h (comments removed) the macros (#define
UCD_*), the enum constants, the struct and callback typedefs, the inline
helpers and the functions of every table (host, services), and fails listing
each that docs/sdk/reference.md never names in backticks or in a code block.
An enum constant may be written the short way the reference lists siblings:
`UCD_CAUSE_NONE`, `_NORMAL`, `_BUSY`. Header guards and names ending in '_'
(UCD_EVENT_TYPE_COUNT_) are not public API.
"""
import glob
import os
import re
import sys


def documented_names(reference):
    doc = open(reference, encoding="utf-8").read()
    blocks = re.findall(r"```.*?```", doc, flags=re.S)
    inline = re.sub(r"```.*?```", "", doc, flags=re.S)
    spans = blocks + re.findall(r"`([^`]+)`", inline)
    words = set()
    for span in spans:
        words.update(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", span))
    return words


def public_names(header):
    src = re.sub(r"/\*.*?\*/", "", open(header, encoding="utf-8").read(), flags=re.S)
    names = set(re.findall(r"#define\s+(UCD_[A-Z0-9_]+)", src))
    names |= set(re.findall(r"^\s*(UCD_[A-Z0-9_]+)\s*=", src, flags=re.M))
    names |= set(re.findall(r"\}\s*(ucd_[a-z0-9_]+)\s*;", src))
    names |= set(re.findall(r"typedef\s+[^;{]*?\(\s*\*\s*(ucd_[a-z0-9_]+)\s*\)", src))
    names |= set(re.findall(r"\(\s*\*\s*([a-z_0-9]+)\s*\)\s*\(", src))
    names |= set(re.findall(r"static inline [^(]*?\b(ucd_[a-z_0-9]+)\s*\(", src))
    return {n for n in names if not n.endswith("_H") and not n.endswith("_")}


def short_forms(name):
    parts = name.split("_")
    return ["_" + "_".join(parts[i:]) for i in range(2, len(parts))]


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    include, reference = sys.argv[1], sys.argv[2]
    words = documented_names(reference)
    headers = sorted(glob.glob(os.path.join(include, "ucd", "*.h")))
    if not headers:
        print(f"no headers in {include}/ucd", file=sys.stderr)
        return 2
    missing = []
    for header in headers:
        for name in sorted(public_names(header)):
            if name in words:
                continue
            if name.startswith("UCD_") and any(s in words for s in short_forms(name)):
                continue
            missing.append(f"{os.path.basename(header)}: {name}")
    if missing:
        print(f"{reference} does not document {len(missing)} public name(s):", file=sys.stderr)
        print("\n".join(missing), file=sys.stderr)
        return 1
    print(f"every public name of {len(headers)} headers is in {os.path.basename(reference)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
