#!/usr/bin/env python3
"""Seeds a fresh API for the fuzz run, through the API itself, and prints the ids and tokens schemathesis needs
as shell assignments (`FUZZ_ORG_ID=...`), one per line.

A signed-in owner with an organization that holds sample incidents (and their patterns), a sync job, members, invitations and
PagerDuty and Opsgenie integrations (connected against the Prism mocks the API is configured with). Destructive
operations get their own victims (a member to remove, an invitation to revoke, an integration to delete, one
whose webhook secret changes) and the cookie-based auth operations their own sessions, so that no fuzzed call takes the persona's ground away
while the run goes on.

Usage: seed.py API_URL   (the sample data needs a worker running against the same database and Redis)
"""

import json
import re
import secrets
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

API = sys.argv[1].rstrip("/") + "/api/v1"
PASSWORD = "fuzz-" + secrets.token_urlsafe(18)
RUN = secrets.token_hex(4)


class ApiError(Exception):
    pass


def call(method, path, body=None, token=None, cookie=None, expect=(200, 201, 202, 204)):
    """One request; returns (json body or None, the refresh cookie it set or None)."""
    headers = {"accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["content-type"] = "application/json"
    if token:
        headers["authorization"] = f"Bearer {token}"
    if cookie:
        headers["cookie"] = f"insights_refresh={cookie}"
    req = urllib.request.Request(API + path, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            status, raw, set_cookies = resp.status, resp.read(), resp.headers.get_all("set-cookie") or []
    except urllib.error.HTTPError as e:
        status, raw, set_cookies = e.code, e.read(), []
    if status not in expect:
        raise ApiError(f"{method} {path} answered {status}: {raw[:500].decode(errors='replace')}")
    refresh = None
    for c in set_cookies:
        m = re.match(r"insights_refresh=([^;]+)", c)
        if m:
            refresh = m.group(1)
    return (json.loads(raw) if raw else None), refresh


def email(who):
    return f"fuzz-{who}-{RUN}@example.com"


def signup(who, org_name=None, invitation_token=None):
    body = {"email": email(who), "password": PASSWORD, "name": f"Fuzz {who}"}
    if org_name:
        body["organization_name"] = org_name
    if invitation_token:
        body["invitation_token"] = invitation_token
    out, _ = call("POST", "/auth/signup", body)
    return out


def login(who):
    _, cookie = call("POST", "/auth/login", {"email": email(who), "password": PASSWORD})
    if not cookie:
        raise ApiError("login set no insights_refresh cookie")
    return cookie


def token_of(invitation):
    """The invitation token from its accept URL: a `token=` parameter of the query or the fragment, or else the
    whole fragment."""
    url = urllib.parse.urlsplit(invitation.get("accept_url") or "")
    for part in (url.fragment, url.query):
        token = urllib.parse.parse_qs(part).get("token")
        if token:
            return token[0]
    if url.fragment and "=" not in url.fragment:
        return urllib.parse.unquote(url.fragment)
    raise ApiError(f"no token in the invitation's accept_url: {invitation.get('accept_url')!r}")


def invite(token, org, who, role):
    out, _ = call("POST", f"/orgs/{org}/invitations", {"email": email(who), "role": role}, token)
    return out


def wait_job(token, org, job, seconds=180):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        out, _ = call("GET", f"/orgs/{org}/jobs/{job}", token=token)
        if out["state"] == "succeeded":
            return
        if out["state"] in ("failed", "cancelled", "dead"):
            raise ApiError(f"job {job} ended {out['state']}: {out.get('last_error')}")
        time.sleep(0.5)
    raise ApiError(f"job {job} did not finish within {seconds} s (is the worker running?)")


def connect(token, org, body):
    out, _ = call("POST", f"/orgs/{org}/integrations", body, token)
    return out


def main():
    owner = signup("owner", "Fuzz Org")
    token, org = owner["access_token"], owner["organization"]["id"]

    # Sample incidents (and so services, teams and a finished job) through the worker.
    job, _ = call("POST", f"/orgs/{org}/sample-data", token=token)
    wait_job(token, org, job["id"])
    incidents, _ = call("GET", f"/orgs/{org}/incidents?limit=1", token=token)
    if not incidents["items"]:
        raise ApiError("the sample data left no incidents")
    # Loading the sample refines its patterns.
    patterns, _ = call("GET", f"/orgs/{org}/patterns?limit=1&muted=all", token=token)
    if not patterns["items"]:
        raise ApiError("the sample data left no patterns")

    # Members: one whose role the fuzzer changes, one it removes.
    members = {}
    for who, role in (("patched", "member"), ("removed", "viewer")):
        inv = invite(token, org, who, role)
        members[who] = signup(who, invitation_token=token_of(inv))["user"]["id"]
    # An invitation the fuzzer revokes, and one it looks up.
    revoked = invite(token, org, "revoked", "viewer")["id"]
    looked_up = token_of(invite(token, org, "looked-up", "member"))
    # An invitation of the owner into another organization, for lookup and accept.
    other = signup("other", "Fuzz Other Org")
    invitation = token_of(invite(other["access_token"], other["organization"]["id"], "owner", "member"))

    pagerduty = {"kind": "pagerduty", "credentials": {"api_token": "y_NbAkKc66ryYTWUXYEu"}}
    pd = connect(token, org, {**pagerduty, "name": "Fuzz PagerDuty"})
    pd_deleted = connect(token, org, {**pagerduty, "name": "Fuzz PagerDuty (deleted)"})
    opsgenie = {"kind": "opsgenie", "region": "eu", "credentials": {"api_key": "fuzz-key"}}
    og = connect(token, org, {**opsgenie, "name": "Fuzz Opsgenie"})
    og_rotated = connect(token, org, {**opsgenie, "name": "Fuzz Opsgenie (secret rotated)"})
    og_secret = og["webhook"].get("secret")
    if not og_secret:
        raise ApiError("connecting Opsgenie answered no webhook secret")

    # Runbooks: the sample ones (the fuzzer edits one), and one it deletes; a draft (it stays queued or fails
    # without a worker: what matters is its id).
    runbooks, _ = call("GET", f"/orgs/{org}/runbooks?tag=sample&limit=1", token=token)
    if not runbooks["items"]:
        raise ApiError("the sample data left no runbooks")
    doomed, _ = call("POST", f"/orgs/{org}/runbooks", {"title": "Fuzz runbook (deleted)"}, token)
    draft, _ = call("POST", f"/orgs/{org}/runbook-generations", {"prompt": "disk full on a node"}, token)

    # Automations: an AWS connection (and one the fuzzer deletes), an automation that waits for approval (and one
    # it deletes), a rule and a schedule starting it (and one of each it deletes), and a run waiting for approval.
    role = {"mode": "role", "region": "eu-west-1", "functions": ["restart-service"],
            "role_arn": "arn:aws:iam::123456789012:role/incident-insights"}
    aws, _ = call("POST", f"/orgs/{org}/aws-connections", {**role, "name": "Fuzz AWS"}, token)
    aws_deleted, _ = call("POST", f"/orgs/{org}/aws-connections", {**role, "name": "Fuzz AWS (deleted)"}, token)
    note = {"action": "note", "template": "Looked at {{ incident.title }}", "needs_approval": True}
    automation, _ = call("POST", f"/orgs/{org}/automations", {**note, "name": "Fuzz note"}, token)
    automation_deleted, _ = call("POST", f"/orgs/{org}/automations", {**note, "name": "Fuzz note (deleted)"}, token)
    rule = {"automation_id": automation["id"], "conditions": {"transitions": ["triggered"]}}
    rule_kept, _ = call("POST", f"/orgs/{org}/automation-rules", {**rule, "name": "Fuzz rule"}, token)
    rule_deleted, _ = call("POST", f"/orgs/{org}/automation-rules", {**rule, "name": "Fuzz rule (deleted)"}, token)
    schedule = {"automation_id": automation["id"], "cron": "0 9 * * 1-5", "time_zone": "Europe/Berlin"}
    schedule_kept, _ = call("POST", f"/orgs/{org}/automation-schedules", {**schedule, "name": "Fuzz schedule"}, token)
    schedule_deleted, _ = call("POST", f"/orgs/{org}/automation-schedules",
                               {**schedule, "name": "Fuzz schedule (deleted)"}, token)
    run, _ = call("POST", f"/orgs/{org}/automations/{automation['id']}/runs",
                  {"incident_id": incidents["items"][0]["id"]}, token)

    values = {
        "FUZZ_ACCESS_TOKEN": token,
        "FUZZ_ORG_ID": org,
        "FUZZ_INCIDENT_ID": incidents["items"][0]["id"],
        "FUZZ_JOB_ID": job["id"],
        "FUZZ_PATTERN_ID": patterns["items"][0]["id"],
        "FUZZ_MEMBER_ID": members["patched"],
        "FUZZ_REMOVED_MEMBER_ID": members["removed"],
        "FUZZ_INVITATION_ID": revoked,
        "FUZZ_INVITATION_TOKEN": invitation,
        "FUZZ_LOOKUP_TOKEN": looked_up,
        "FUZZ_INTEGRATION_ID": pd["id"],
        "FUZZ_DELETED_INTEGRATION_ID": pd_deleted["id"],
        "FUZZ_OPSGENIE_ID": og["id"],
        "FUZZ_ROTATED_OPSGENIE_ID": og_rotated["id"],
        "FUZZ_OPSGENIE_WEBHOOK_SECRET": og_secret,
        "FUZZ_RUNBOOK_ID": runbooks["items"][0]["id"],
        "FUZZ_DELETED_RUNBOOK_ID": doomed["id"],
        "FUZZ_GENERATION_ID": draft["id"],
        "FUZZ_AWS_CONNECTION_ID": aws["id"],
        "FUZZ_DELETED_AWS_CONNECTION_ID": aws_deleted["id"],
        "FUZZ_AUTOMATION_ID": automation["id"],
        "FUZZ_DELETED_AUTOMATION_ID": automation_deleted["id"],
        "FUZZ_RULE_ID": rule_kept["id"],
        "FUZZ_DELETED_RULE_ID": rule_deleted["id"],
        "FUZZ_SCHEDULE_ID": schedule_kept["id"],
        "FUZZ_DELETED_SCHEDULE_ID": schedule_deleted["id"],
        "FUZZ_RUN_ID": run["id"],
        # Sessions of their own for refresh (which rotates its cookie) and logout (which ends its session).
        "FUZZ_REFRESH_COOKIE": login("owner"),
        "FUZZ_LOGOUT_COOKIE": login("owner"),
    }
    for key, value in values.items():
        if not re.fullmatch(r"[A-Za-z0-9_.~+/=:-]+", str(value)):
            raise ApiError(f"{key} has unexpected characters")
        print(f"{key}={value}")


if __name__ == "__main__":
    try:
        main()
    except ApiError as e:
        sys.exit(f"seeding the fuzz organization failed: {e}")
