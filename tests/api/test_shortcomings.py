"""Every XXX(tag) in the code has a section in SHORTCOMINGS.md, and every
section there names a tag that the code still carries."""
import os
import re

TOP = os.path.join(os.path.dirname(__file__), "..", "..")
CODE_DIRS = ("server", "ca", "store", "api", "agent")


def code_tags():
    tags = {}
    for d in CODE_DIRS:
        for base, _, files in os.walk(os.path.join(TOP, d)):
            for f in files:
                if not f.endswith((".c", ".h")):
                    continue
                p = os.path.join(base, f)
                for m in re.finditer(r"XXX\(([a-z0-9_-]+)\)", open(p).read()):
                    tags.setdefault(m.group(1), set()).add(p)
    return tags


def doc_tags():
    text = open(os.path.join(TOP, "SHORTCOMINGS.md")).read()
    return set(re.findall(r"^### ([a-z0-9_-]+)\s*$", text, re.M))


def test_every_code_tag_has_a_section():
    missing = set(code_tags()) - doc_tags()
    assert not missing, f"tags without a section: {sorted(missing)}"


def test_every_section_has_a_tag_in_code():
    stale = doc_tags() - set(code_tags())
    assert not stale, f"sections whose tag is gone from the code: {sorted(stale)}"
