"""Per-host rules: matching, headers that never leave their hosts, folders, limits."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from conftest import run_cli
from drayman.errors import BadInput
from drayman.queue.engine import Engine, EngineConfig
from drayman.queue.transferconfig import TransferConfig
from drayman.rules import InvalidRulePattern, Rule, headers_for, validate_pattern
from httpserver import LoopbackServer, make_body


def test_patterns_and_matching() -> None:
    assert validate_pattern("*.Example-CDN.com.") == "*.example-cdn.com"
    for bad in ("", "*", "a*.com", "http://x.com", "x.com/path", "-x.com", "*.*.com"):
        with pytest.raises(InvalidRulePattern):
            validate_pattern(bad)
    wild = Rule(1, "*.cdn.com", headers=(("Referer", "wild"),))
    exact = Rule(2, "a.cdn.com", headers=(("Referer", "exact"), ("X-A", "1")))
    assert wild.matches("a.cdn.com") and wild.matches("x.y.cdn.com")
    assert not wild.matches("cdn.com") and not wild.matches("evilcdn.com")
    assert headers_for([wild, exact], "a.cdn.com") == [("Referer", "exact"), ("X-A", "1")]
    assert headers_for([wild, exact], "b.cdn.com") == [("Referer", "wild")]
    assert headers_for([wild, exact], "other.org") == []


async def test_rule_headers_reach_only_matching_hosts_even_after_redirects(
    db_path: Path,
    downloads: Path,
    http_server: LoopbackServer,
    other_server: LoopbackServer,
) -> None:
    body = make_body(20_000)
    other_server.add("/file.bin", body)
    http_server.add("/start", b"", redirect_to=other_server.url("/file.bin"))
    http_server.add("/plain.bin", b"plain")
    async with Engine(db_path, EngineConfig(poll_interval=0.05)) as engine:
        await engine.queue.add_rule(
            "127.0.0.1", headers=["Cookie: cdn=secret", "Referer: http://site/", "X-Rule: a"]
        )
        # the job's own Referer wins over the rule's
        ids = await engine.queue.add(
            [http_server.url("/start")], dest_dir=downloads, headers=["Referer: http://mine/"]
        )
        ids += await engine.queue.add([http_server.url("/plain.bin")], dest_dir=downloads)
        await asyncio.wait_for(engine.wait_idle(), 30)
        jobs = [await engine.queue.get(i) for i in ids]
    assert [j.state.value for j in jobs] == ["done", "done"]
    [first_hop] = http_server.requests_for("/start")
    assert first_hop.headers["Cookie"] == "cdn=secret"
    assert first_hop.headers["Referer"] == "http://mine/"
    assert first_hop.headers.getall("Referer") == ["http://mine/"]
    [elsewhere] = other_server.requests_for("/file.bin")
    assert "Cookie" not in elsewhere.headers and "X-Rule" not in elsewhere.headers
    assert elsewhere.headers["Referer"] == "http://mine/"  # not a credential: it follows
    assert http_server.requests_for("/plain.bin")[0].headers["X-Rule"] == "a"


async def test_rule_connection_limit(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    for n in range(5):
        http_server.add(f"/s{n}", make_body(200_000, seed=n), rate=1_000_000)
    config = EngineConfig(
        concurrency=5,
        per_host=5,
        poll_interval=0.05,
        transfer=TransferConfig(checkpoint_seconds=0.05, block_size=64 * 1024),
    )
    peak = 0
    async with Engine(db_path, config) as engine:
        await engine.queue.add_rule("127.0.0.1", max_connections=2)
        await engine.queue.add([http_server.url(f"/s{n}") for n in range(5)], dest_dir=downloads)
        idle = asyncio.create_task(engine.wait_idle())
        while not idle.done():
            peak = max(peak, len(engine.active_ids))
            await asyncio.sleep(0.01)
    assert peak == 2


async def test_bad_rules_are_refused(db_path: Path) -> None:
    from drayman.queue.jobqueue import JobQueue

    queue = await JobQueue.open(db_path)
    try:
        with pytest.raises(BadInput):
            await queue.add_rule("*.x.com", headers=["Range: bytes=0-"])
        with pytest.raises(BadInput):
            await queue.add_rule("*.x.com", template="../{title}")
        with pytest.raises(BadInput):
            await queue.remove_rule("nope.com")
        assert await queue.rules() == []
    finally:
        await queue.close()


def test_rules_cli_and_rule_folder_and_template(
    db_path: Path, downloads: Path, http_server: LoopbackServer, tmp_path: Path
) -> None:
    media = tmp_path / "media"
    added = run_cli(
        db_path,
        "rules",
        "add",
        "127.0.0.1",
        "-H",
        "Authorization: Bearer tok",
        "-d",
        str(media),
        "--template",
        "{host}/{name}.{ext}",
        "--max-connections",
        "3",
    )
    assert added.returncode == 0, added.stderr
    listed = json.loads(run_cli(db_path, "rules", "ls", "--json").stdout)
    assert listed[0]["pattern"] == "127.0.0.1"
    assert listed[0]["headers"] == ["Authorization: <redacted>"]
    assert "tok" not in run_cli(db_path, "rules", "ls").stdout
    http_server.add("/clip.mp4", b"clip")
    # no -d and no --template: the rule's apply
    assert run_cli(db_path, "add", http_server.url("/clip.mp4")).returncode == 0
    assert run_cli(db_path, "run", "--until-idle").returncode == 0
    assert (media / "127.0.0.1" / "clip.mp4").read_bytes() == b"clip"
    assert http_server.requests_for("/clip.mp4")[0].headers["Authorization"] == "Bearer tok"
    assert run_cli(db_path, "rules", "rm", "127.0.0.1").returncode == 0
    assert run_cli(db_path, "rules", "ls").stdout.strip() == "no rules"
    assert run_cli(db_path, "rules", "rm", "127.0.0.1").returncode == 2
    assert run_cli(db_path, "rules", "add", "not a host").returncode == 2
