#!/usr/bin/env python3
"""Checks that every relative link and image of the guides (docs/guide, docs/operations,
docs/troubleshooting.md) points at a file of the repository, and every #anchor at a heading of its page.

Usage: links.py ROOT
"""

import re
import sys
from pathlib import Path


def anchors(page: Path) -> set[str]:
    """GitHub's anchors of a Markdown page's headings."""
    out = set()
    for line in page.read_text(encoding="utf-8").splitlines():
        m = re.match(r"#+\s+(.*)", line)
        if m:
            slug = re.sub(r"[^\w\- ]", "", m.group(1).strip().lower()).replace(" ", "-")
            out.add(slug)
    return out


def main() -> int:
    root = Path(sys.argv[1]).resolve()
    pages = sorted((root / "docs/guide").glob("*.md")) + sorted((root / "docs/operations").glob("*.md"))
    pages.append(root / "docs/troubleshooting.md")
    broken = []
    for page in pages:
        text = page.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target):
                continue
            path, _, anchor = target.partition("#")
            dest = (page.parent / path).resolve() if path else page
            if not dest.exists():
                broken.append(f"{page.relative_to(root)}: {target} (no such file)")
            elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
                broken.append(f"{page.relative_to(root)}: {target} (no such heading)")
    for b in broken:
        print(f"broken link in the guides: {b}")
    print(f"guides: {len(pages)} pages, {'no' if not broken else len(broken)} broken links")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
