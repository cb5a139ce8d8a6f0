#!/usr/bin/env python3
"""Builds the retrieval evaluation set (the JSONL files next to this script) from the hand-written sources in
`src/`. Python 3.11, standard library only; deterministic (no randomness, sorted output), so re-running it on
unchanged sources changes nothing. See README.md for the formats.

    python3 crates/retrieval/eval/build.py          # rebuild the JSONL files
    python3 crates/retrieval/eval/build.py --check  # fail if they are out of date (nothing written)

Every label is checked: a query's runbook must exist and its step numbers must be steps of that runbook, a past
fix must exist, and every query has at least one label.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE / "src"

LANGUAGES = {
    "sql": "sql",
    "kubectl": "kubectl",
    "aws": "aws",
    "shell": "shell",
    "bash": "shell",
    "sh": "shell",
}
RISKS = {"read_only", "changes_state", "destructive"}
STEP_START = re.compile(r"^(\d+)[.)]\s+(.*)$")
KEY_LINE = re.compile(r"^(risk|expect|expected):\s*(.*)$", re.IGNORECASE)


class SourceError(Exception):
    pass


def split_blocks(text: str, marker: str) -> list[tuple[str, list[str]]]:
    """`=== <marker>: <id>` lines start blocks; returns (id, lines) pairs."""
    blocks: list[tuple[str, list[str]]] = []
    head = re.compile(rf"^=== {marker}:\s*(\S+)\s*$")
    for line in text.splitlines():
        m = head.match(line)
        if m:
            blocks.append((m.group(1), []))
        elif blocks:
            blocks[-1][1].append(line)
        elif line.strip():
            raise SourceError(f"text before the first '=== {marker}:' line: {line!r}")
    return blocks


def take_fields(lines: list[str], names: tuple[str, ...]) -> tuple[dict[str, str], list[str]]:
    """Leading `name: value` lines, then the rest (leading blank lines dropped)."""
    fields: dict[str, str] = {}
    i = 0
    while i < len(lines):
        m = re.match(r"^([a-z_]+):\s*(.*)$", lines[i])
        if not m or m.group(1) not in names:
            break
        fields[m.group(1)] = m.group(2).strip()
        i += 1
    rest = lines[i:]
    while rest and not rest[0].strip():
        rest = rest[1:]
    while rest and not rest[-1].strip():
        rest = rest[:-1]
    return fields, rest


def csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def inline_command(text: str) -> dict | None:
    """A step without a fenced block may carry its command inline (`like this`)."""
    for span in re.findall(r"`([^`]+)`", text):
        if " " in span.strip():
            first = span.strip().split()[0]
            language = {"kubectl": "kubectl", "aws": "aws"}.get(first, "shell")
            return {"language": language, "text": span.strip()}
    return None


def parse_step(number: int, first: str, body: list[str], where: str) -> dict:
    """A numbered item: its first paragraph is the title (its first sentence when long, the rest goes to `why`),
    fenced blocks are the command, `risk:` / `expect:` lines are the risk and the expected result."""
    lines = [first] + [l[3:] if l.startswith("   ") else l.lstrip() for l in body]
    paragraph: list[str] = []
    why: list[str] = []
    command: dict | None = None
    risk = "read_only"
    expected: str | None = None
    i = 0
    in_title = True
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            in_title = False
            info = line[3:].strip()
            if info not in LANGUAGES:
                raise SourceError(f"{where} step {number}: unknown command language {info!r}")
            code: list[str] = []
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                code.append(lines[i])
                i += 1
            if i == len(lines):
                raise SourceError(f"{where} step {number}: unterminated code block")
            text = "\n".join(code).strip()
            if command is None:
                command = {"language": LANGUAGES[info], "text": text}
            else:  # a second block of the same step: same command, one more line
                command["text"] += "\n" + text
        elif KEY_LINE.match(line):
            in_title = False
            key, value = KEY_LINE.match(line).groups()
            if key.lower() == "risk":
                if value not in RISKS:
                    raise SourceError(f"{where} step {number}: unknown risk {value!r}")
                risk = value
            else:
                expected = value
        elif not line.strip():
            in_title = False
        elif in_title:
            paragraph.append(line.strip())
        else:
            why.append(line.strip())
        i += 1
    text = " ".join(paragraph)
    title, rest = text, ""
    if len(text) > 100:
        m = re.search(r"(?<=\.)\s+(?=[A-Z(`])|\s+—\s+", text)
        if m and m.start() >= 15:
            title, rest = text[: m.start()].strip(), text[m.end() :].strip()
    if len(title) > 200:
        title, rest = title[:197].rsplit(" ", 1)[0] + "…", text
    if command is None:
        command = inline_command(text)
    return {
        "title": title.replace("`", ""),
        "why": " ".join(([rest] if rest else []) + why).strip(),
        "command": command,
        "risk": risk,
        "expected": expected,
    }


def parse_runbook(rid: str, lines: list[str]) -> dict:
    fields, rest = take_fields(lines, ("title", "tags", "services"))
    if "title" not in fields:
        raise SourceError(f"runbook {rid}: no title")
    body: list[str] = []
    steps: list[dict] = []
    current: tuple[int, str, list[str]] | None = None
    in_fence = False

    def close() -> None:
        nonlocal current
        if current is not None:
            number, first, step_lines = current
            if number != len(steps) + 1:
                raise SourceError(f"runbook {rid}: step {number} follows step {len(steps)}")
            while step_lines and not step_lines[-1].strip():
                step_lines.pop()
            steps.append(parse_step(number, first, step_lines, f"runbook {rid}"))
            current = None

    for line in rest:
        if current is not None:
            if line.strip().startswith("```"):
                in_fence = not in_fence
            m = STEP_START.match(line)
            if not in_fence and m:
                close()
                current = (int(m.group(1)), m.group(2), [])
            elif in_fence or not line.strip() or line.startswith(" "):
                current[2].append(line)
            else:
                close()
                body.append(line)
        else:
            m = STEP_START.match(line)
            if m:
                current = (int(m.group(1)), m.group(2), [])
            else:
                body.append(line)
    close()
    if not steps:
        raise SourceError(f"runbook {rid}: no numbered steps")
    return {
        "id": rid,
        "title": fields["title"],
        "tags": csv(fields.get("tags", "")),
        "services": csv(fields.get("services", "")),
        "body": "\n".join(body).strip(),
        "steps": steps,
        "markdown": "\n".join(rest).strip(),
    }


EVENT = re.compile(r"^event:\s*(\w+)(?:\s+by\s+([\w.@-]+))?\s*\|\s*(.*)$")


def parse_past_fix(iid: str, lines: list[str]) -> dict:
    fields, rest = take_fields(lines, ("title", "service", "description", "tags"))
    for key in ("title", "service"):
        if key not in fields:
            raise SourceError(f"incident {iid}: no {key}")
    timeline = []
    for line in rest:
        if not line.strip():
            continue
        m = EVENT.match(line)
        if m:
            kind, actor, message = m.groups()
            timeline.append({"kind": kind, "actor": actor, "message": message.strip() or None})
        elif timeline and line.startswith("  "):  # continuation of the previous message
            timeline[-1]["message"] = (timeline[-1]["message"] or "") + " " + line.strip()
        else:
            raise SourceError(f"incident {iid}: unexpected line {line!r}")
    resolves = [e for e in timeline if e["kind"] == "resolve"]
    if not resolves:
        raise SourceError(f"incident {iid}: not resolved (no `event: resolve`)")
    return {
        "id": iid,
        "title": fields["title"],
        "service": fields["service"],
        "description": fields.get("description"),
        "tags": csv(fields.get("tags", "")),
        "timeline": timeline,
        "resolution_note": resolves[-1]["message"],
    }


def parse_queries(path: Path, prefix: str, runbooks: dict, past_fixes: dict) -> list[dict]:
    """Blank-line separated blocks of `title:`, `service:`, `description:` (continued on indented lines) and
    `fix:` (space-separated labels: `runbook-id#2,3` = steps 2 and 3 as numbered in the source, `runbook-id` = the
    runbook as a whole, `incident:ID` = a past fix)."""
    queries = []
    blocks: list[list[str]] = [[]]
    for line in path.read_text().splitlines():
        if line.startswith("#"):
            continue
        if not line.strip():
            if blocks[-1]:
                blocks.append([])
        else:
            blocks[-1].append(line)
    for n, block in enumerate([b for b in blocks if b], start=1):
        fields: dict[str, str] = {}
        last = None
        for line in block:
            m = re.match(r"^(title|service|description|fix|note):\s*(.*)$", line)
            if m:
                last = m.group(1)
                fields[last] = m.group(2).strip()
            elif last and line.startswith(" "):
                fields[last] += " " + line.strip()
            else:
                raise SourceError(f"{path.name} block {n}: unexpected line {line!r}")
        qid = f"{prefix}-{n:03}"
        if "title" not in fields or "fix" not in fields:
            raise SourceError(f"{path.name} {qid}: needs a title and a fix")
        relevant = []
        for label in fields["fix"].split():
            if label.startswith("incident:"):
                iid = label.split(":", 1)[1]
                if iid not in past_fixes:
                    raise SourceError(f"{path.name} {qid}: unknown past fix {iid}")
                relevant.append({"past_fix": iid})
                continue
            rid, _, steps = label.partition("#")
            if rid not in runbooks:
                raise SourceError(f"{path.name} {qid}: unknown runbook {rid}")
            entry: dict = {"runbook": rid}
            if steps:
                numbers = [int(s) for s in steps.split(",")]
                count = len(runbooks[rid]["steps"])
                for s in numbers:
                    if not 1 <= s <= count:
                        raise SourceError(f"{path.name} {qid}: {rid} has no step {s} (it has {count})")
                entry["steps"] = [s - 1 for s in numbers]  # 0-based, as in the runbook's `steps`
            relevant.append(entry)
        query = {
            "id": qid,
            "title": fields["title"],
            "service": fields.get("service"),
            "description": fields.get("description"),
            "relevant": relevant,
        }
        if "note" in fields:
            query["note"] = fields["note"]
        queries.append(query)
    return queries


def jsonl(rows: list[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows)


def build() -> dict[str, str]:
    runbooks: dict[str, dict] = {}
    for path in sorted((SRC / "runbooks").glob("*.md")):
        for rid, lines in split_blocks(path.read_text(), "runbook"):
            if rid in runbooks:
                raise SourceError(f"runbook {rid} defined twice")
            runbooks[rid] = parse_runbook(rid, lines)
            runbooks[rid]["file"] = path.name
    past_fixes: dict[str, dict] = {}
    for path in sorted((SRC / "past_fixes").glob("*.txt")):
        for iid, lines in split_blocks(path.read_text(), "incident"):
            if iid in past_fixes:
                raise SourceError(f"incident {iid} defined twice")
            past_fixes[iid] = parse_past_fix(iid, lines)
    out = {
        "runbooks.jsonl": jsonl(list(runbooks.values())),
        "past_fixes.jsonl": jsonl(list(past_fixes.values())),
    }
    for path in sorted(SRC.glob("queries*.txt")):
        name = path.stem  # queries, queries_terse
        prefix = {"queries": "q", "queries_terse": "t", "queries_support": "s"}.get(name, name)
        out[f"{name}.jsonl"] = jsonl(parse_queries(path, prefix, runbooks, past_fixes))
    return out


def main() -> int:
    check = "--check" in sys.argv[1:]
    try:
        files = build()
    except SourceError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    stale = []
    for name, text in files.items():
        target = HERE / name
        if check:
            if not target.exists() or target.read_text() != text:
                stale.append(name)
        else:
            target.write_text(text)
        print(f"{name}: {text.count(chr(10))} rows")
    if stale:
        print(f"out of date: {', '.join(stale)} (run build.py)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
