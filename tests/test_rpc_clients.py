"""Real aria2 clients drive drayman: aria2p's own client, and a `drayman run` driven
over HTTP and WebSocket while the CLI of another process changes the table."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import aiohttp
import aria2p

from conftest import POSIX_SIGNALS, async_wait_until, run_cli, start_cli, stop_engine
from httpserver import LoopbackServer, make_body
from rpcclient import SECRET, RpcClient, rpc_port_in

KiB = 1024


def _drive_with_aria2p(port: int, url: str, held_url: str, folder: Path) -> dict[str, Any]:
    """What a script using aria2p does (it is synchronous: run in a thread)."""
    api = aria2p.API(aria2p.Client(host="http://127.0.0.1", port=port, secret=SECRET))
    seen: dict[str, Any] = {"version": api.client.get_version()}
    download = api.add_uris([url], {"dir": str(folder), "out": "from-aria2p.bin"})
    deadline = time.monotonic() + 20
    statuses = []
    while download.status != "complete":
        assert time.monotonic() < deadline, statuses
        time.sleep(0.02)
        download.update()
        statuses.append(download.status)
    seen["statuses"] = statuses
    seen["total_length"] = download.total_length
    seen["path"] = download.files[0].path
    seen["gid"] = download.gid
    # pause and unpause one held mid-file by the server
    held = api.add_uris([held_url])
    while held.update() or held.status != "active":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    seen["active"] = api.get_download(held.gid).status
    assert api.pause([held]) == [True]
    seen["paused"] = api.get_download(held.gid).status
    assert api.resume([held]) == [True]
    seen["resumed"] = api.get_download(held.gid).status
    seen["held_gid"] = held.gid
    stats = api.get_stats()
    seen["stats"] = (stats.num_active, stats.num_waiting, stats.num_stopped)
    assert api.set_global_options({"max-overall-download-limit": "5M"})
    seen["global"] = api.get_global_options().max_overall_download_limit
    # remove one: aria2p removes it, then its result
    doomed = api.add_uris([url], {"pause": "true"})
    assert api.remove([doomed]) == [True]
    seen["listed"] = sorted(d.gid for d in api.get_downloads())
    seen["methods"] = api.client.list_methods()
    return seen


async def test_aria2p_adds_watches_pauses_and_resumes(
    rpc: RpcClient, http_server: LoopbackServer, downloads: Path, db_path: Path
) -> None:
    body = make_body(900 * KiB + 1)
    http_server.add("/a.bin", body)
    held_body = make_body(600 * KiB, seed=2)
    http_server.add("/held.bin", held_body, hold_at=[100 * KiB])
    folder = downloads / "scripts"
    task = asyncio.create_task(
        asyncio.to_thread(
            _drive_with_aria2p,
            rpc.server.port,
            http_server.url("/a.bin"),
            http_server.url("/held.bin"),
            folder,
        )
    )
    # the held download stays active until the script paused and resumed it
    await async_wait_until(lambda: task.done() or http_server.held_at("/held.bin") is not None)
    seen = await asyncio.wait_for(task, 60)
    http_server.release_hold("/held.bin")
    assert seen["version"]["version"]
    assert seen["statuses"][-1] == "complete"
    assert seen["total_length"] == len(body)
    assert (folder / "from-aria2p.bin").read_bytes() == body
    assert str(seen["path"]) == str(folder / "from-aria2p.bin")
    assert seen["active"] == "active"
    assert seen["paused"] == "paused"
    assert seen["resumed"] in ("waiting", "active")
    assert seen["stats"][0] + seen["stats"][1] == 1 and seen["stats"][2] == 1
    assert seen["global"] == 5 * 1024 * 1024
    assert sorted([seen["gid"], seen["held_gid"]]) == seen["listed"]
    assert "aria2.addUri" in seen["methods"]
    await rpc.wait_status(seen["held_gid"], "complete")
    assert (downloads / "held.bin").read_bytes() == held_body
    # ordinary jobs: `drayman ls --json` (another process) lists both
    listed = json.loads((await asyncio.to_thread(run_cli, db_path, "ls", "--json")).stdout)
    assert {job["path"] for job in listed} == {
        str(folder / "from-aria2p.bin"),
        str(downloads / "held.bin"),
    }
    assert all(job["state"] == "done" for job in listed)


async def test_drayman_run_serves_the_rpc_and_tells_of_cli_pauses(
    tmp_path: Path, db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    body = make_body(800 * KiB, seed=5)
    http_server.add("/one.bin", body, hold_at=[200 * KiB])
    http_server.add("/two.bin", body)
    config_dir = tmp_path / "config"
    env = {"DRAYMAN_CONFIG_DIR": str(config_dir)}
    log = tmp_path / "run.log"
    args = ("run", "--rpc-listen-port", "0", "--rpc-allow-dir", str(downloads))
    engine = start_cli(db_path, *args, env=env, log=log)
    try:
        port = rpc_port_in(log)
        # no --rpc-secret: one was made, kept privately, and printed this once
        secret = (config_dir / "rpc-secret").read_text().strip()
        assert len(secret) >= 32 and secret in log.read_text()
        if POSIX_SIGNALS:
            assert (config_dir / "rpc-secret").stat().st_mode & 0o077 == 0
        url = f"http://127.0.0.1:{port}/jsonrpc"

        async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:

            async def call(method: str, *params: Any) -> Any:
                payload = {"jsonrpc": "2.0", "id": 1, "method": method}
                payload["params"] = [f"token:{secret}", *params]
                async with session.post(url, json=payload) as response:
                    answer = await response.json(content_type=None)
                assert "error" not in answer, answer
                return answer["result"]

            async def notified(method: str, gid: str) -> None:
                async with asyncio.timeout(20):
                    while True:
                        message = json.loads((await ws.receive()).data)
                        if message.get("method") == method and message["params"][0]["gid"] == gid:
                            return

            gid = await call("aria2.addUri", [http_server.url("/one.bin")], {"dir": str(downloads)})
            await notified("aria2.onDownloadStart", gid)
            await async_wait_until(lambda: http_server.held_at("/one.bin") is not None)
            # a pause typed in another terminal: a write to the table, seen by the RPC too
            job_id = int(gid[:8], 16)
            paused = await asyncio.to_thread(run_cli, db_path, "pause", str(job_id))
            assert paused.returncode == 0, paused.stderr
            await notified("aria2.onDownloadPause", gid)
            assert (await call("aria2.tellStatus", gid, ["status"]))["status"] == "paused"
            resumed = await asyncio.to_thread(run_cli, db_path, "resume", str(job_id))
            assert resumed.returncode == 0, resumed.stderr
            # released after the resume: before it, the held answer could have gone
            # on before the engine stopped that transfer, finishing it while paused
            http_server.release_hold("/one.bin")
            await notified("aria2.onDownloadComplete", gid)
            # a job added by the CLI is one the RPC sees finish
            added = await asyncio.to_thread(
                run_cli, db_path, "add", http_server.url("/two.bin"), "-d", str(downloads)
            )
            assert added.returncode == 0, added.stderr

            async def both_complete() -> bool:
                stopped = await call("aria2.tellStopped", 0, 10, ["status"])
                return [s["status"] for s in stopped] == ["complete", "complete"]

            await async_wait_until(both_complete, timeout=20, what="both downloads complete")
            assert await call("aria2.shutdown") == "OK"
        assert await asyncio.to_thread(engine.wait, 20) == 0
    finally:
        stop_engine(engine)
    assert (downloads / "one.bin").read_bytes() == body
    # a second run reads the same secret and prints it no more
    second = start_cli(db_path, *args, env=env, log=tmp_path / "second.log")
    try:
        rpc_port_in(tmp_path / "second.log")
        assert secret not in (tmp_path / "second.log").read_text()
    finally:
        stop_engine(second)


def test_rpc_flags_refuse_a_port_in_use_and_an_empty_secret(db_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli(
            db_path, "run", "--until-idle", "--rpc-listen-port", str(port), "--rpc-secret", "s"
        )
    assert result.returncode == 3, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert f"cannot serve the RPC on 127.0.0.1:{port}" in line
    empty = run_cli(db_path, "run", "--until-idle", "--rpc-listen-port", "0", "--rpc-secret", " ")
    assert empty.returncode == 2 and "secret cannot be empty" in empty.stderr
    bad_port = run_cli(db_path, "run", "--rpc-listen-port", "70000")
    assert bad_port.returncode == 2 and "not a port" in bad_port.stderr
