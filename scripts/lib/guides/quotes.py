#!/usr/bin/env python3
"""Checks that every sentence docs/troubleshooting.md quotes is one the product can show.

The quotes are the backticked spans of the first column of its tables, with `<…>` (and `…`) for the parts that
vary. The code's sentences are its Rust string literals (line continuations joined), where `{…}` is what varies
and one sentence is often another's `{e}`: a quote passes when a literal matches it whole, each of the literal's
`{…}` holding a placeholder, a few words (a name, a number) or, in turn, another literal's sentence. A quote may
also be two such sentences joined by ": " or ". ". Prints each quote no literal explains, and exits 1 if any.

Usage: quotes.py ROOT
"""

import re
import sys
from functools import lru_cache
from pathlib import Path

HOLE = "\x00"
SOURCES = ["crates", "backend/src", "worker/src", "frontend/src"]


def literals(root: Path) -> list[re.Pattern]:
    """Every string literal of the Rust sources with at least two words of fixed text, as a regex."""
    found = set()
    for base in SOURCES:
        for path in (root / base).rglob("*.rs"):
            if "/tests/" in str(path) or path.name.endswith("_tests.rs"):
                continue
            text = re.sub(r"\\\n\s*", "", path.read_text(encoding="utf-8"))
            for m in re.finditer(r'"((?:[^"\\\n]|\\.)*)"', text):
                found.add(m.group(1).replace('\\"', '"').replace("\\\\", "\\"))
    patterns = []
    for lit in found:
        fixed = re.sub(r"\{[^{}]*\}", " ", lit)
        if len(re.findall(r"[A-Za-z]{2,}", fixed)) < 2:
            continue
        parts = re.split(r"(\{[^{}]*\})", lit)
        regex = "".join(
            "(.*?)" if re.fullmatch(r"\{[^{}]*\}", p) else re.escape(p).replace("…", f"(?:…|{HOLE})")
            for p in parts
        )
        patterns.append(re.compile(regex, re.DOTALL))
    return patterns


def main() -> int:
    root = Path(sys.argv[1])
    patterns = literals(root)

    @lru_cache(maxsize=None)
    def explained(text: str, depth: int = 0) -> bool:
        rest = re.sub(rf"[{HOLE}\s\W]+", " ", text).strip()
        if len(rest.split()) <= 3 and not re.search(r"[a-z]{4,} [a-z]{4,} [a-z]{4,}", rest):
            return True
        if depth > 4:
            return False
        for p in patterns:
            m = p.fullmatch(text)
            if m and all(explained(g, depth + 1) for g in m.groups()):
                return True
        for sep in (": ", ". ", " — "):
            at = 0
            while (at := text.find(sep, at + 1)) > 0:
                if explained(text[:at + (1 if sep == ". " else 0)], depth + 1) and explained(
                    text[at + len(sep):], depth + 1
                ):
                    return True
        return False

    doc = (root / "docs/troubleshooting.md").read_text(encoding="utf-8")
    quotes = []
    for line in doc.splitlines():
        if not line.startswith("| `"):
            continue
        first = line.split(" | ")[0]
        for q in re.findall(r"``\s?(.+?)\s?``|`([^`]+)`", first):
            q = q[0] or q[1]
            if len(q.split()) >= 4:
                quotes.append(q)
    missing = [
        q for q in quotes if not explained(re.sub(r"<[^<>]*>|…", HOLE, q).strip())
    ]
    for q in missing:
        print(f"docs/troubleshooting.md quotes a sentence the code does not show: {q}")
    print(f"troubleshooting: {len(quotes) - len(missing)} of {len(quotes)} quoted sentences found in the code")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
