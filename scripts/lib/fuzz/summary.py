#!/usr/bin/env python3
"""Summarizes a schemathesis run from its NDJSON event report: requests sent, operations covered, the status
codes each operation answered, failed checks, and operations that could not be tested. Exits non-zero when a
check failed, an operation could not be generated or was never requested, or when one only ever answered
404 besides 401 (the seed's ids did not reach it), so that scripts/test fails with this summary.

Usage: summary.py OPENAPI_JSON REPORT_DIR SCHEMATHESIS_EXIT_STATUS
"""

import collections
import glob
import json
import sys

METHODS = ("get", "put", "post", "patch", "delete")
# Errors inside schemathesis's own Python (seen: a SystemError from the regex parser on deep recursion), not
# about the API or its description: shown, and they do not fail the run when the operation was still tested.
TOOL_ERRORS = ("SystemError", "RecursionError")


def operations(spec_path):
    with open(spec_path) as f:
        spec = json.load(f)
    return sorted(f"{m.upper()} {p}" for p, item in spec["paths"].items() for m in item if m in METHODS)


def main():
    spec_path, report_dir, st_status = sys.argv[1], sys.argv[2], int(sys.argv[3])
    reports = sorted(glob.glob(f"{report_dir}/*.ndjson"))
    if not reports:
        print(f"fuzz: schemathesis wrote no report (exit status {st_status})")
        return 1
    all_ops = operations(spec_path)
    statuses = collections.defaultdict(collections.Counter)  # operation -> status code -> responses
    failures = collections.defaultdict(dict)  # (operation, check) -> one example
    errors = []  # (operation, type, first line of the message)
    requests = 0
    with open(reports[-1]) as f:
        for line in f:
            event = json.loads(line)
            if "NonFatalError" in event:
                e = event["NonFatalError"]
                value = e.get("value", {})
                message = (value.get("message") or "").splitlines()
                errors.append((e.get("label", "?"), value.get("type", ""), message[0] if message else ""))
            if "ScenarioFinished" not in event:
                continue
            recorder = event["ScenarioFinished"].get("recorder", {})
            cases = recorder.get("cases", {})
            for case_id, interaction in recorder.get("interactions", {}).items():
                case = cases.get(case_id, {}).get("value", {})
                op = f"{case.get('method', '?').upper()} {case.get('path', recorder.get('label'))}"
                requests += 1
                response = interaction.get("response") or {}
                statuses[op][response.get("status_code", "no answer")] += 1
            for case_id, checks in recorder.get("checks", {}).items():
                case = cases.get(case_id, {}).get("value", {})
                op = f"{case.get('method', '?').upper()} {case.get('path', recorder.get('label'))}"
                for check in checks:
                    if check.get("status") == "failure":
                        status = ((recorder.get("interactions", {}).get(case_id) or {}).get("response") or {}).get(
                            "status_code"
                        )
                        failures[op].setdefault(check["name"], f"case {case_id}, answered {status}")

    covered = [op for op in all_ops if statuses.get(op)]
    missing = [op for op in all_ops if not statuses.get(op)]
    # 401s are the answers to requests schemathesis sends without the token on purpose: they prove nothing.
    only_404 = [op for op in covered if 404 in statuses[op] and set(statuses[op]) <= {401, 404}]

    print(f"fuzz: {requests} requests over {len(covered)} of {len(all_ops)} operations")
    for op in all_ops:
        codes = ", ".join(f"{code}×{n}" for code, n in sorted(statuses[op].items(), key=lambda kv: str(kv[0])))
        print(f"  {op}: {codes or 'never requested'}")
    problems = 0
    if missing:
        problems += len(missing)
        print(f"fuzz: {len(missing)} operations were never requested (could not be generated):")
        for op in missing:
            print(f"  {op}")
    if only_404:
        problems += len(only_404)
        print(f"fuzz: {len(only_404)} operations only ever answered 404 (or 401): the seeded ids do not reach them:")
        for op in only_404:
            print(f"  {op}")
    tool_errors = [e for e in errors if e[1] in TOOL_ERRORS and statuses.get(e[0])]
    errors = [e for e in errors if e not in tool_errors]
    if tool_errors:
        print(f"fuzz: {len(tool_errors)} errors inside schemathesis, not about the API (ignored):")
        for op, kind, message in tool_errors:
            print(f"  {op}: {kind}: {message}")
    if errors:
        problems += len(errors)
        print(f"fuzz: {len(errors)} operations could not be tested:")
        for op, kind, message in errors:
            print(f"  {op}: {kind}: {message}")
    if failures:
        n = sum(len(c) for c in failures.values())
        problems += n
        print(f"fuzz: {n} failed checks (details and curl commands to reproduce them: schemathesis.log):")
        for op, checks in sorted(failures.items()):
            for check, example in sorted(checks.items()):
                print(f"  {op}: {check} ({example})")
    if problems == 0 and st_status != 0 and not tool_errors:
        print(f"fuzz: schemathesis exited with status {st_status} (see schemathesis.log)")
        problems += 1
    if problems == 0:
        print("fuzz: no 5xx, every answer as described, every operation reached")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
