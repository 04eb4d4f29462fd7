#!/usr/bin/env python3
"""coverage_table.py: line coverage per module from a gcovr JSON summary.

  coverage_table.py SUMMARY.json FLOOR

Modules: each core/<module>/ directory, core/*.c and core/*.h together as
"core/*", cli/ and tui/. Prints one line per module, then the total of
core/. Exits 1 when the core/ total, as a percentage, is below FLOOR (a
whole percent), so a drop in coverage fails `make coverage`.
"""
import json
import sys


def module_of(path):
    parts = path.split("/")
    if parts[0] == "core":
        return "core/*" if len(parts) == 2 else "core/%s/" % parts[1]
    if parts[0] in ("cli", "tui"):
        return parts[0] + "/"
    return None


def pct(covered, total):
    return 100.0 * covered / total if total else 0.0


def main():
    if len(sys.argv) != 3:
        sys.stderr.write("usage: coverage_table.py SUMMARY.json FLOOR\n")
        return 2
    with open(sys.argv[1]) as f:
        summary = json.load(f)
    floor = int(sys.argv[2])
    mods = {}
    for entry in summary["files"]:
        mod = module_of(entry["filename"])
        if mod is None:
            continue
        m = mods.setdefault(mod, [0, 0])
        m[0] += entry["line_covered"]
        m[1] += entry["line_total"]
    core = [0, 0]
    print("%-20s %8s %8s %7s" % ("module", "lines", "covered", "cover"))
    for mod in sorted(mods, key=lambda k: (not k.startswith("core/"), k)):
        covered, total = mods[mod]
        print("%-20s %8d %8d %6.1f%%" % (mod, total, covered, pct(covered, total)))
        if mod.startswith("core/"):
            core[0] += covered
            core[1] += total
    total_pct = pct(core[0], core[1])
    print("%-20s %8d %8d %6.1f%%" % ("core/ total", core[1], core[0], total_pct))
    if total_pct < floor:
        print("coverage: core/ line coverage %.1f%% is below the floor of %d%% (COV_FLOOR)"
              % (total_pct, floor))
        return 1
    print("coverage: core/ line coverage %.1f%%, floor %d%%: ok" % (total_pct, floor))
    return 0


if __name__ == "__main__":
    sys.exit(main())
