"""Add up the results of every suite and print 'N passed, N failed'.

Arguments: meson's testlog.json and any number of JUnit XML files.  TAP
programs count one per 'ok'/'not ok' line; a program that crashed or
printed no plan counts as one failure.
"""
import json
import re
import sys
import xml.etree.ElementTree as ET


def meson_counts(path):
    passed = failed = 0
    try:
        lines = open(path, encoding="utf-8").read().splitlines()
    except OSError:
        return 0, 1
    for line in lines:
        t = json.loads(line)
        out = t.get("stdout", "") or ""
        ok = len(re.findall(r"^ok \d+", out, re.M))
        bad = len(re.findall(r"^not ok \d+", out, re.M))
        passed += ok
        failed += bad
        if t.get("result") not in ("OK", "EXPECTEDFAIL", "SKIP") and bad == 0:
            failed += 1
            print(f"unit program {t.get('name')} ended {t.get('result')}")
    return passed, failed


def junit_counts(path):
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return 0, 1
    passed = failed = 0
    for case in root.iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            failed += 1
        elif case.find("skipped") is None:
            passed += 1
    return passed, failed


def main():
    passed = failed = 0
    p, f = meson_counts(sys.argv[1])
    print(f"unit: {p} passed, {f} failed")
    passed, failed = passed + p, failed + f
    for path in sys.argv[2:]:
        p, f = junit_counts(path)
        print(f"{path}: {p} passed, {f} failed")
        passed, failed = passed + p, failed + f
    print(f"{passed} passed, {failed} failed")


main()
