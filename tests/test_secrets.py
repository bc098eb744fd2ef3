"""Credentials are sent where they belong and shown nowhere: not in the -v log,
not in `ls --json`, not in a job's error — through failures and redirects."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from conftest import run_cli
from httpserver import LoopbackServer, make_body

SECRETS = {
    "password": "PW-s3cr3t-1",
    "cookie": "COOKIE-s3cr3t-2",
    "rule": "RULE-s3cr3t-3",
    "signature": "SIG-s3cr3t-4",
    "token": "TOK-s3cr3t-5",
    "loop": "SIG-s3cr3t-6",
}


def test_secrets_appear_in_no_log_listing_or_error(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    body = make_body(40 * 1024)
    http_server.add("/start", redirect_to=f"/final?X-Amz-Signature={SECRETS['signature']}")
    # a transient failure first, then the file
    http_server.add("/final", body, status_script=[(503, {"Retry-After": "0"})])
    http_server.add("/loop", redirect_to=f"/loop?sig={SECRETS['loop']}")
    origin = f"http://alice:{SECRETS['password']}@127.0.0.1:{http_server.port}"

    rule = run_cli(db_path, "rules", "add", "127.0.0.1", "-H", f"X-Api-Token: {SECRETS['rule']}")
    added = run_cli(
        db_path,
        "add",
        f"{origin}/start",
        f"{origin}/gone?token={SECRETS['token']}",  # 404: a permanent failure
        f"{origin}/loop",  # a redirect loop, its URL in the error
        "-H",
        f"Cookie: session={SECRETS['cookie']}",
        "-d",
        str(downloads),
    )
    assert rule.returncode == added.returncode == 0, (rule.stderr, added.stderr)
    run = run_cli(db_path, "-v", "run", "--until-idle", "--max-attempts", "3")
    listing = run_cli(db_path, "ls", "--json")
    rules = run_cli(db_path, "rules", "ls", "--json")
    jobs = json.loads(listing.stdout)

    # the run went through every path that logs: a retry, a 404, a loop, a redirect
    log = run.stdout + run.stderr
    assert run.returncode == 1, log
    assert "retrying" in log and "HTTP 404" in log and "redirect loop" in log, log
    assert [job["state"] for job in jobs] == ["done", "failed", "failed"]
    assert (downloads / "final").read_bytes() == body

    # ...and the credentials did go where they belong
    final = http_server.requests_for("/final")[-1]
    assert final.headers["Cookie"] == f"session={SECRETS['cookie']}"
    assert final.headers["X-Api-Token"] == SECRETS["rule"]
    basic = base64.b64encode(f"alice:{SECRETS['password']}".encode()).decode()
    assert final.headers["Authorization"] == f"Basic {basic}"
    assert final.query == f"X-Amz-Signature={SECRETS['signature']}"

    errors = " ".join(str(job["error"]) for job in jobs)
    assert "alice:***@" in errors and "sig=***" in errors
    for name, secret in SECRETS.items():
        assert secret not in log, (name, log)
        assert secret not in errors, (name, errors)
        assert secret not in rules.stdout, (name, rules.stdout)
    # the listing keeps the URLs (a signed link is the user's own), less the password
    for name in ("password", "cookie", "rule"):
        assert SECRETS[name] not in listing.stdout, (name, listing.stdout)
    assert jobs[0]["url"] == f"http://alice:***@127.0.0.1:{http_server.port}/start"
    assert jobs[0]["header_names"] == ["Cookie"]


def test_url_credentials_and_an_authorization_header_are_one_or_the_other(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    """The HTTP client cannot send both. A job's own header with URL credentials is
    refused at add time; a rule's Authorization yields to the URL's credentials."""
    http_server.add("/a.bin", b"with basic auth")
    url = f"http://bob:{SECRETS['password']}@127.0.0.1:{http_server.port}/a.bin"
    both = run_cli(db_path, "add", url, "-H", "Authorization: Bearer x", "-d", str(downloads))
    assert both.returncode == 2
    [line] = both.stderr.splitlines()
    assert "argument 1: the URL has credentials" in line and SECRETS["password"] not in line
    assert not db_path.exists() or json.loads(run_cli(db_path, "ls", "--json").stdout) == []

    rule = run_cli(db_path, "rules", "add", "127.0.0.1", "-H", "Authorization: Bearer rule")
    added = run_cli(db_path, "add", url, "-d", str(downloads))
    run = run_cli(db_path, "run", "--until-idle")
    assert rule.returncode == added.returncode == run.returncode == 0, run.stderr
    basic = base64.b64encode(f"bob:{SECRETS['password']}".encode()).decode()
    [request] = http_server.requests_for("/a.bin")
    assert request.headers["Authorization"] == f"Basic {basic}"
    assert (downloads / "a.bin").read_bytes() == b"with basic auth"
