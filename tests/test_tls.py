"""HTTPS on loopback: certificates that do not verify, the --insecure opt-in and
how far it reaches, extra trusted authorities, and https -> http redirects."""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from conftest import async_wait_until, cli_env, run_cli
from drayman.errors import InvalidCAFile
from drayman.jobs import Job, JobState
from drayman.queue.engine import Engine, EngineConfig
from drayman.queue.retry import RetryPolicy
from httpserver import LoopbackServer, RawConnection, RawServer, TLSFiles, make_body
from test_engine import download, fast_config

KiB = 1024


def config(*, trust: TLSFiles | None = None, **transfer: object) -> EngineConfig:
    """Five attempts: a certificate refusal must not use more than one of them."""
    if trust is not None:
        transfer["ca_files"] = (str(trust.ca_file),)
    base = fast_config(**transfer)
    return replace(base, retry=RetryPolicy(base_delay=0.01, max_delay=0.01, max_attempts=5))


def assert_refused(job: Job, *words: str) -> None:
    assert job.state == JobState.FAILED
    assert job.attempts == 1  # permanent: the same certificate comes back every time
    error = job.error or ""
    assert "\n" not in error and len(error) < 300, error
    for word in ("TLS certificate of 127.0.0.", "does not verify", "--insecure", *words):
        assert word in error, error


@pytest.fixture
def https_other(tls: TLSFiles) -> Iterator[LoopbackServer]:
    """HTTPS on 127.0.0.2 (another host), from the same test CA."""
    with LoopbackServer("127.0.0.2", ssl_context=tls.server_context("127.0.0.2")) as server:
        yield server


async def test_an_untrusted_certificate_is_refused_by_default(
    db_path: Path, downloads: Path, https_server: LoopbackServer
) -> None:
    https_server.add("/a.bin", make_body(10 * KiB))
    [job] = await download(db_path, [https_server.url("/a.bin")], downloads, config())
    assert_refused(job, "unable to get local issuer certificate")
    assert https_server.requests == []  # no request ever left the handshake
    assert list(downloads.iterdir()) == []


def _wrong_name(tls: TLSFiles) -> LoopbackServer:
    return LoopbackServer("127.0.0.1", ssl_context=tls.server_context("localhost"))


def _expired(tls: TLSFiles) -> LoopbackServer:
    now = datetime.datetime.now(datetime.UTC)
    context = tls.server_context(
        not_before=now - datetime.timedelta(days=30), not_after=now - datetime.timedelta(days=1)
    )
    return LoopbackServer("127.0.0.1", ssl_context=context)


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (_wrong_name, "mismatch, certificate is not valid for '127.0.0.1';"),
        (_expired, "certificate has expired;"),
    ],
)
async def test_a_bad_certificate_from_a_trusted_authority_is_refused_with_its_reason(
    db_path: Path, downloads: Path, tls: TLSFiles, make: object, reason: str
) -> None:
    with make(tls) as server:  # type: ignore[operator]
        server.add("/a.bin", b"data")
        [job] = await download(db_path, [server.url("/a.bin")], downloads, config(trust=tls))
    assert_refused(job, reason)


async def test_a_trusted_authority_file_makes_https_work(
    db_path: Path, downloads: Path, tls: TLSFiles, https_server: LoopbackServer
) -> None:
    body = make_body(300 * KiB)
    https_server.add("/ok.bin", body)
    [job] = await download(db_path, [https_server.url("/ok.bin")], downloads, config(trust=tls))
    assert job.state == JobState.DONE, job.error
    assert (downloads / "ok.bin").read_bytes() == body


async def test_a_bad_authority_file_is_one_line_before_anything_starts(
    db_path: Path, tmp_path: Path
) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    for path in (junk, tmp_path / "missing.pem"):
        engine = Engine(db_path, config(ca_files=(str(path),)))
        with pytest.raises(InvalidCAFile, match=f"cannot use {path} as a certificate authority"):
            await engine.start()
    assert not db_path.exists()  # refused before the database was even opened


async def test_a_job_opted_in_with_insecure_downloads_despite_the_certificate(
    db_path: Path, downloads: Path, https_server: LoopbackServer
) -> None:
    body = make_body(100 * KiB)
    https_server.add("/self-signed.bin", body)
    [job] = await download(
        db_path, [https_server.url("/self-signed.bin")], downloads, config(), insecure=True
    )
    assert job.state == JobState.DONE, job.error
    assert job.insecure
    assert (downloads / "self-signed.bin").read_bytes() == body


async def test_a_jobs_opt_in_does_not_cover_a_host_it_is_redirected_to(
    db_path: Path,
    downloads: Path,
    https_server: LoopbackServer,
    https_other: LoopbackServer,
) -> None:
    https_other.add("/elsewhere.bin", b"other host")
    https_server.add("/go", redirect_to=https_other.url("/elsewhere.bin"))
    [job] = await download(db_path, [https_server.url("/go")], downloads, config(), insecure=True)
    # the first hop (the job's own host) was accepted; the second host was checked
    assert len(https_server.requests_for("/go")) == 1
    assert_refused(job, "127.0.0.2")
    assert https_other.requests == []


async def test_a_rules_opt_in_covers_its_hosts_only(
    db_path: Path,
    downloads: Path,
    https_server: LoopbackServer,
    https_other: LoopbackServer,
) -> None:
    body = make_body(20 * KiB)
    https_other.add("/real.bin", body)
    https_server.add("/go", redirect_to=https_other.url("/real.bin"))
    https_server.add("/direct.bin", b"first host")
    async with Engine(db_path, config()) as engine:
        await engine.queue.add_rule("127.0.0.2", insecure=True)
        ids = await engine.queue.add(
            [https_server.url("/go"), https_other.url("/real.bin")], dest_dir=downloads
        )
        await engine.wait_idle()
        redirected, direct = [await engine.queue.get(i) for i in ids]
    # 127.0.0.1 is not covered by the rule: refused before the redirect is seen
    assert_refused(redirected, "127.0.0.1")
    assert https_server.requests == []
    assert direct.state == JobState.DONE, direct.error
    assert Path(direct.final_path or "").read_bytes() == body


async def test_https_to_http_redirect_is_refused_through_a_real_https_server(
    db_path: Path,
    downloads: Path,
    tls: TLSFiles,
    https_server: LoopbackServer,
    http_server: LoopbackServer,
) -> None:
    http_server.add("/plain.bin", b"in the clear")
    https_server.add("/go", redirect_to=http_server.url("/plain.bin?token=s3cr3t"))
    [job] = await download(db_path, [https_server.url("/go")], downloads, config(trust=tls))
    assert job.state == JobState.FAILED and job.attempts == 1
    error = job.error or ""
    assert "refusing a redirect from https to plain http" in error and "\n" not in error
    assert "s3cr3t" not in error and "token=***" in error
    assert len(https_server.requests_for("/go")) == 1
    assert http_server.requests == []  # nothing was sent in the clear


# -- the command line -----------------------------------------------------------------


def ls_json(db_path: Path) -> list[dict[str, object]]:
    result = run_cli(db_path, "ls", "--json")
    assert result.returncode == 0, result.stderr
    jobs: list[dict[str, object]] = json.loads(result.stdout)
    return jobs


def test_cli_refuses_then_accepts_with_insecure_and_shows_the_choice(
    db_path: Path, downloads: Path, https_server: LoopbackServer
) -> None:
    body = make_body(50 * KiB)
    https_server.add("/a.bin", body)
    https_server.add("/b.bin", body)
    plain = run_cli(db_path, "add", https_server.url("/a.bin"), "-d", str(downloads))
    opted = run_cli(db_path, "add", "--insecure", https_server.url("/b.bin"), "-d", str(downloads))
    assert plain.returncode == opted.returncode == 0, (plain.stderr, opted.stderr)
    run = run_cli(db_path, "run", "--until-idle", "--max-attempts", "3")
    assert run.returncode == 1, run.stderr
    a, b = ls_json(db_path)
    assert (a["insecure"], b["insecure"]) == (False, True)
    assert a["state"] == "failed" and "does not verify" in str(a["error"])
    assert b["state"] == "done", b["error"]
    assert (downloads / "b.bin").read_bytes() == body


def test_cli_rules_store_and_show_insecure(db_path: Path) -> None:
    added = run_cli(db_path, "rules", "add", "*.example.net", "--insecure")
    plain = run_cli(db_path, "rules", "add", "cdn.example.org")
    assert added.returncode == plain.returncode == 0, (added.stderr, plain.stderr)
    listed = run_cli(db_path, "rules", "ls", "--json")
    assert {r["pattern"]: r["insecure"] for r in json.loads(listed.stdout)} == {
        "*.example.net": True,
        "cdn.example.org": False,
    }
    text = run_cli(db_path, "rules", "ls").stdout
    [line] = [line for line in text.splitlines() if "*.example.net" in line]
    assert "insecure" in line
    assert "insecure" not in next(line for line in text.splitlines() if "cdn.example.org" in line)


def test_cli_ca_file_trusts_an_authority_and_a_bad_one_is_one_line(
    db_path: Path, downloads: Path, tls: TLSFiles, https_server: LoopbackServer, tmp_path: Path
) -> None:
    body = make_body(50 * KiB)
    https_server.add("/c.bin", body)
    assert run_cli(db_path, "add", https_server.url("/c.bin"), "-d", str(downloads)).returncode == 0
    junk = tmp_path / "junk.pem"
    junk.write_text("-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n")
    bad = run_cli(db_path, "run", "--until-idle", "--ca-file", str(junk))
    assert bad.returncode == 2
    [line] = bad.stderr.splitlines()
    assert line.startswith("drayman: error: cannot use ") and "junk.pem" in line
    assert https_server.requests == []  # nothing ran
    good = run_cli(db_path, "run", "--until-idle", "--ca-file", str(tls.ca_file))
    assert good.returncode == 0, good.stderr
    [job] = ls_json(db_path)
    assert job["state"] == "done", job["error"]
    assert (downloads / "c.bin").read_bytes() == body


async def test_a_server_that_never_completes_the_handshake_is_cut_off(
    db_path: Path, downloads: Path
) -> None:
    """TCP accepted, TLS never answered: the connect timeout covers the handshake."""

    async def silent(conn: RawConnection) -> None:
        await conn.server.until_released()

    with RawServer(silent) as server:
        url = f"https://127.0.0.1:{server.port}/x.bin"
        cfg = replace(
            config(read_timeout=30, connect_timeout=0.5),
            retry=RetryPolicy(base_delay=60, max_delay=60, max_attempts=5),
        )
        async with Engine(db_path, cfg) as engine:
            [job_id] = await engine.queue.add([url], dest_dir=downloads)

            async def failed() -> bool:
                return (await engine.queue.get(job_id)).error is not None

            await async_wait_until(failed, timeout=30, what="the handshake to be given up")
            job = await engine.queue.get(job_id)
    assert job.state == JobState.QUEUED  # transient: a busy server may answer next time
    assert job.error is not None and job.error.endswith("timed out connecting to the server")
    assert server.connections >= 1


def _system_trust(tmp_path: Path, ca_file: Path) -> dict[str, str]:
    """OpenSSL's system authorities, as the child process sees them: ``ca_file`` only."""
    empty = tmp_path / "no-certs"
    empty.mkdir(exist_ok=True)
    return {"SSL_CERT_FILE": str(ca_file), "SSL_CERT_DIR": str(empty)}


def test_run_trusts_the_systems_authorities_it_loads_while_starting(
    db_path: Path, downloads: Path, tls: TLSFiles, https_server: LoopbackServer, tmp_path: Path
) -> None:
    """``run`` loads the system's authorities on a thread while it starts
    (drayman.queue.systemtrust): a server they sign is trusted without
    --ca-file, and one they do not sign is still refused."""
    body = make_body(50 * KiB)
    https_server.add("/s.bin", body)
    assert run_cli(db_path, "add", https_server.url("/s.bin"), "-d", str(downloads)).returncode == 0
    other = trustme_ca_file(tmp_path)
    refused = run_cli(
        db_path, "run", "--until-idle", "--max-attempts", "1", env=_system_trust(tmp_path, other)
    )
    assert refused.returncode == 1, refused.stderr
    [job] = ls_json(db_path)
    assert job["state"] == "failed" and "does not verify" in str(job["error"])
    assert run_cli(db_path, "retry", "--failed").returncode == 0
    trusted = run_cli(db_path, "run", "--until-idle", env=_system_trust(tmp_path, tls.ca_file))
    assert trusted.returncode == 0, trusted.stderr
    [job] = ls_json(db_path)
    assert job["state"] == "done", job["error"]
    assert (downloads / "s.bin").read_bytes() == body


def trustme_ca_file(tmp_path: Path) -> Path:
    """A certificate authority of its own, which signed nothing the servers use."""
    import trustme

    path = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(path))
    return path


_LOADS_LATER = """
import ssl, sys
from drayman.queue.systemtrust import loads_later, wait_for_trust
assert "aiohttp" not in sys.modules
with loads_later():
    import aiohttp.connector as connector
wait_for_trust()
verified = connector._SSL_CONTEXT_VERIFIED.cert_store_stats()["x509_ca"]
unverified = connector._SSL_CONTEXT_UNVERIFIED.cert_store_stats()["x509_ca"]
later = ssl.create_default_context().cert_store_stats()["x509_ca"]
print(verified, unverified, later)
"""


def test_the_authorities_noted_while_importing_are_loaded_once_waited_for(
    tls: TLSFiles, tmp_path: Path
) -> None:
    """aiohttp's verified context gets the system's authorities; the one that
    verifies nothing is spared the load; contexts made after the block load as ever."""
    import subprocess
    import sys

    env = {**cli_env(tmp_path / "unused.db", None), **_system_trust(tmp_path, tls.ca_file)}
    result = subprocess.run(
        [sys.executable, "-c", _LOADS_LATER], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1", "0", "1"]


_EXIT_AT_ONCE = """
from drayman.queue.systemtrust import loads_later
with loads_later():
    import aiohttp
"""


def test_a_command_that_ends_while_the_authorities_load_exits_cleanly(tmp_path: Path) -> None:
    """The load's thread is waited for at exit: a process that ends during it
    (a second window start, which hands its URLs over and leaves) once ran
    OpenSSL's exit-time cleanup under the thread and died of SIGSEGV (11 in 40)."""
    import subprocess
    import sys

    env = cli_env(tmp_path / "unused.db", None)
    codes = [
        subprocess.run(
            [sys.executable, "-c", _EXIT_AT_ONCE], env=env, capture_output=True, timeout=60
        ).returncode
        for _ in range(20)
    ]
    assert codes == [0] * 20
