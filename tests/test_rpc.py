"""aria2's JSON-RPC against the real engine: HTTP POST and GET, WebSocket, real downloads."""

from __future__ import annotations

import asyncio
import base64
import json
import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from conftest import async_wait_until
from drayman.errors import BadInput
from drayman.jobs import Job, JobState
from drayman.rpc.errors import RpcFault
from drayman.rpc.gid import expand, gid_of, job_id_in
from drayman.rpc.methods import _page
from httpserver import LoopbackServer, make_body
from proxyserver import HttpProxy
from rpcclient import SECRET, RpcClient

KiB = 1024


async def test_add_uri_with_dir_out_and_headers_downloads_byte_exact(
    rpc: RpcClient, http_server: LoopbackServer, downloads: Path
) -> None:
    body = make_body(700 * KiB + 3)
    http_server.add("/v/123", body)
    folder = downloads / "videos"
    gid = await rpc.call(
        "aria2.addUri",
        [http_server.url("/v/123")],
        {
            "dir": str(folder),
            "out": "clip.mp4",
            "header": ["X-Token: abc", "Accept-Language: ja"],
            "referer": "https://video.example/page",
            "user-agent": "Extension/1.0",
        },
    )
    assert len(gid) == 16 and int(gid, 16) > 0
    await rpc.wait_status(gid, "complete")
    assert (folder / "clip.mp4").read_bytes() == body
    [request] = http_server.requests_for("/v/123")
    assert request.headers["X-Token"] == "abc"
    assert request.headers["Accept-Language"] == "ja"
    assert request.headers["Referer"] == "https://video.example/page"
    assert request.headers["User-Agent"] == "Extension/1.0"
    status = await rpc.call("aria2.tellStatus", gid)
    assert status["totalLength"] == status["completedLength"] == str(len(body))
    assert status["dir"] == str(folder)
    assert status["errorCode"] == "0"
    [file] = status["files"]
    assert file["path"] == str(folder / "clip.mp4")
    assert file["uris"] == [{"uri": http_server.url("/v/123"), "status": "used"}]
    # every number a string, as aria2 sends them
    assert all(isinstance(v, str) for k, v in status.items() if k != "files")
    # an ordinary job: the CLI's queue has it, with the headers like -H
    job = await rpc.engine.queue.get(job_id_in(gid))
    assert job.state == JobState.DONE
    assert dict(job.headers)["X-Token"] == "abc"


async def test_a_download_added_paused_never_starts(
    rpc: RpcClient, http_server: LoopbackServer
) -> None:
    # added paused in the add's own transaction: an add, then a pause, left the
    # engine a moment to start it (its .part then took the name from the next job)
    http_server.add("/p.bin", make_body(KiB))
    http_server.add("/q.bin", make_body(KiB))
    paused = await rpc.call("aria2.addUri", [http_server.url("/p.bin")], {"pause": "true"})
    assert (await rpc.engine.queue.get(job_id_in(paused))).state == JobState.PAUSED
    other = await rpc.call("aria2.addUri", [http_server.url("/q.bin")])
    await rpc.wait_status(other, "complete")  # the engine has looked at the queue since
    assert await rpc.call("aria2.tellStatus", paused, ["status"]) == {"status": "paused"}
    assert http_server.requests_for("/p.bin") == []
    assert sorted(p.name for p in rpc.downloads.iterdir()) == ["q.bin"]


async def test_tell_status_keys_filter_and_get_files_uris_option(
    rpc: RpcClient, http_server: LoopbackServer
) -> None:
    http_server.add("/f.bin", make_body(10 * KiB))
    gid = await rpc.call("aria2.addUri", [http_server.url("/f.bin")], {"pause": "true"})
    assert await rpc.call("aria2.tellStatus", gid, ["gid", "status", "nonsense"]) == {
        "gid": gid,
        "status": "paused",
    }
    [file] = await rpc.call("aria2.getFiles", gid)
    assert file["index"] == "1" and file["selected"] == "true"
    assert await rpc.call("aria2.getUris", gid) == [
        {"uri": http_server.url("/f.bin"), "status": "waiting"}
    ]
    option = await rpc.call("aria2.getOption", gid)
    assert option["dir"] == str(rpc.downloads)
    # a unique prefix of a GID names the download, as in aria2
    assert (await rpc.call("aria2.tellStatus", gid[:15], ["gid"]))["gid"] == gid


async def test_pause_and_unpause_a_running_download(
    rpc: RpcClient, http_server: LoopbackServer, downloads: Path
) -> None:
    body = make_body(2 * 1024 * KiB)
    http_server.add("/big.bin", body, hold_at=[512 * KiB])
    gid = await rpc.call("aria2.addUri", [http_server.url("/big.bin")])
    await async_wait_until(lambda: http_server.held_at("/big.bin") is not None, what="held")
    await rpc.wait_status(gid, "active")
    wanted = [{"gid": gid, "status": "active", "totalLength": str(len(body))}]

    async def active_with_its_length() -> bool:
        # the length is known once the engine recorded the server's answer
        return await rpc.call("aria2.tellActive", ["gid", "status", "totalLength"]) == wanted

    await async_wait_until(active_with_its_length, what="tellActive with the total length")
    assert await rpc.call("aria2.pause", gid) == gid
    assert await rpc.status(gid) == "paused"
    answer = await rpc.answer("aria2.pause", gid)
    assert answer["error"] == {"code": 1, "message": f"GID#{gid} cannot be paused now"}
    assert await rpc.call("aria2.unpause", gid) == gid
    # released only now: had the held answer gone on before the engine stopped
    # that transfer, the download could finish while paused (which drayman allows)
    http_server.release_hold("/big.bin")
    await rpc.wait_status(gid, "complete")
    assert (downloads / "big.bin").read_bytes() == body


async def test_pause_all_and_unpause_all(rpc: RpcClient, http_server: LoopbackServer) -> None:
    http_server.add("/a", make_body(KiB), hold_at=[0])
    gid = await rpc.call("aria2.addUri", [http_server.url("/a")], {"pause": "true"})
    assert await rpc.call("aria2.unpauseAll") == "OK"
    assert await rpc.status(gid) in ("waiting", "active")
    assert await rpc.call("aria2.forcePauseAll") == "OK"
    assert await rpc.status(gid) == "paused"
    assert await rpc.call("aria2.unpauseAll") == "OK"
    http_server.release_hold("/a")  # after the unpause: see the test above
    await rpc.wait_status(gid, "complete")


async def test_tell_waiting_and_stopped_with_offsets_as_aria2(
    rpc: RpcClient, http_server: LoopbackServer
) -> None:
    gids = []
    for name in "abc":
        http_server.add(f"/{name}", make_body(KiB))
        gids.append(
            await rpc.call("aria2.addUri", [http_server.url(f"/{name}")], {"pause": "true"})
        )
    a, b, c = gids

    async def waiting(offset: int, num: int) -> list[str]:
        return [s["gid"] for s in await rpc.call("aria2.tellWaiting", offset, num, ["gid"])]

    assert await waiting(0, 1) == [a]
    assert await waiting(1, 2) == [b, c]
    assert await waiting(-1, 2) == [c, b]
    assert await waiting(-1, 10) == [c, b, a]
    assert await waiting(5, 2) == []
    assert await waiting(0, 0) == []
    # changePosition: c to the front, then a to the end
    assert await rpc.call("aria2.changePosition", c, 0, "POS_SET") == 0
    assert await waiting(0, 3) == [c, a, b]
    assert await rpc.call("aria2.changePosition", a, 0, "POS_END") == 2
    assert await rpc.call("aria2.changePosition", b, -1, "POS_CUR") == 0
    assert await waiting(0, 3) == [b, c, a]
    # and the engine starts them in that order
    assert await rpc.call("aria2.unpauseAll") == "OK"
    for gid in gids:
        await rpc.wait_status(gid, "complete")
    stopped = [s["gid"] for s in await rpc.call("aria2.tellStopped", 0, 10, ["gid"])]
    assert sorted(stopped) == sorted(gids)
    last = await rpc.call("aria2.tellStopped", -1, 1, ["gid", "status"])
    assert last == [{"gid": stopped[-1], "status": "complete"}]


def test_pagination_is_aria2s() -> None:
    items = ["A", "B", "C"]
    assert _page(items, 0, 1) == ["A"]
    assert _page(items, 1, 2) == ["B", "C"]
    assert _page(items, -1, 2) == ["C", "B"]
    assert _page(items, -2, 5) == ["B", "A"]
    assert _page(items, -4, 1) == []
    assert _page(items, 3, 1) == []
    assert _page(items, 0, -1) == []


def test_gids_carry_the_job_id_and_its_creation_time() -> None:
    job = Job(**{**_row(42), "created_at": 1_700_000_000.123})
    gid = gid_of(job)
    assert len(gid) == 16 and gid.startswith("0000002a")
    assert job_id_in(gid) == 42
    # the same id given again later is another download: another GID
    assert gid_of(Job(**{**_row(42), "created_at": 1_700_000_001.0})) != gid
    assert expand("0000002", [gid, "0000000700000000"]) == gid
    with pytest.raises(RpcFault, match="is not unique"):
        expand("0000", [gid, "0000000700000000"])
    with pytest.raises(RpcFault, match="is not found"):
        expand("1", [gid])
    for bad in ("", "xyz", "0" * 17, "0" * 16):
        with pytest.raises(RpcFault, match="Invalid GID"):
            job_id_in(bad)


def _row(job_id: int) -> dict[str, Any]:
    return {
        "id": job_id,
        "url": "http://x.example/",
        "host": "x.example",
        "original_url": "http://x.example/",
        "effective_url": None,
        "dest_dir": "/tmp",
        "requested_name": None,
        "file_name": None,
        "state": JobState.QUEUED,
        "bytes_done": 0,
        "bytes_total": None,
        "etag": None,
        "last_modified": None,
        "headers": (),
        "sha256": None,
        "attempts": 0,
        "next_attempt_at": None,
        "error": None,
        "created_at": 0.0,
        "updated_at": 0.0,
        "finished_at": None,
        "priority": 0,
        "position": 1,
    }


async def test_position_puts_a_new_download_first(
    rpc: RpcClient, http_server: LoopbackServer
) -> None:
    http_server.add("/x", make_body(KiB))
    first = await rpc.call("aria2.addUri", [http_server.url("/x")], {"pause": "true"})
    second = await rpc.call("aria2.addUri", [http_server.url("/x")], {"pause": "true"}, 0)
    order = [s["gid"] for s in await rpc.call("aria2.tellWaiting", 0, 10, ["gid"])]
    assert order == [second, first]


async def test_a_new_downloads_limit_and_position_hold_from_the_moment_it_is_added(
    rpc: RpcClient, http_server: LoopbackServer, db_path: Path
) -> None:
    # a limit and a place given to addUri were set by calls after the add: a
    # running engine told of the add (every change it is told of wakes it)
    # could start the job unlimited, or start another before it
    limit = 32 * KiB
    assert await rpc.call("aria2.changeGlobalOption", {"max-concurrent-downloads": "1"}) == "OK"
    http_server.add("/a", make_body(16 * KiB), hold_at=[0])
    await rpc.call("aria2.addUri", [http_server.url("/a")])
    await async_wait_until(lambda: http_server.held_at("/a") == 0, what="/a held")
    http_server.add("/b", make_body(KiB))
    waiting = await rpc.call("aria2.addUri", [http_server.url("/b")])
    ids: dict[str, int] = {}
    limit_in_force: list[int | None] = []
    http_server.add(
        "/d",
        make_body(16 * KiB),
        # in the server's thread, at each request: the limit its transfer runs with
        hook=lambda n, request: limit_in_force.append(rpc.engine.job_speed_limit(ids["d"])),
    )
    # what the queue holds each time it tells the engine of a change
    told: list[list[tuple[int, int | None]]] = []
    look = sqlite3.connect(db_path)
    order = (
        "SELECT id, max_speed FROM jobs WHERE state IN ('queued', 'paused') "
        "ORDER BY priority DESC, position, id"
    )
    stop_looking = rpc.engine.queue.on_change(lambda: told.append(look.execute(order).fetchall()))
    try:
        gid = await rpc.call(
            "aria2.addUri", [http_server.url("/d")], {"max-download-limit": str(limit)}, 0
        )
    finally:
        stop_looking()
        look.close()
    ids["d"] = job_id_in(gid)
    with_it = [queue for queue in told if ids["d"] in dict(queue)]
    assert with_it, told
    assert all(queue[0] == (ids["d"], limit) for queue in with_it), told
    http_server.release_hold("/a")
    await rpc.wait_status(gid, "complete")
    await rpc.wait_status(waiting, "complete")
    assert limit_in_force[0] == limit
    firsts = list(dict.fromkeys(request.path for request in http_server.requests))
    assert firsts == ["/a", "/d", "/b"]
    assert (await rpc.engine.queue.get(job_id_in(waiting))).max_speed is None


async def test_multicall_and_batch(rpc: RpcClient, http_server: LoopbackServer) -> None:
    http_server.add("/m", make_body(KiB))
    token = f"token:{SECRET}"
    results = await rpc.call(
        "system.multicall",
        [
            {"methodName": "aria2.addUri", "params": [token, [http_server.url("/m")]]},
            {"methodName": "aria2.getVersion", "params": [token]},
            {"methodName": "aria2.getVersion", "params": ["token:wrong"]},
            {"methodName": "aria2.tellStatus", "params": [token, "000000ff00000000"]},
            "not a struct",
        ],
    )
    [gid], [version], unauthorized, missing, not_struct = results
    assert len(gid) == 16
    assert version["version"]
    assert unauthorized == {"code": 1, "message": "Unauthorized"}
    assert missing == {"code": 1, "message": "No such download for GID#000000ff00000000"}
    assert not_struct["code"] == 1
    status, answers = await rpc.post(
        [
            {**rpc.request("aria2.getGlobalStat"), "id": 1},
            {**rpc.request("aria2.tellStatus", gid, ["gid"]), "id": 2},
        ]
    )
    assert status == 200
    assert [a["id"] for a in answers] == [1, 2]
    assert answers[1]["result"] == {"gid": gid}


async def test_get_with_base64_params(rpc: RpcClient, http_server: LoopbackServer) -> None:
    http_server.add("/g", make_body(KiB))
    status, answer = await rpc.get("aria2.addUri", [http_server.url("/g")])
    assert status == 200 and answer["id"] == "g"
    await rpc.wait_status(answer["result"], "complete")
    status, answer = await rpc.get("aria2.tellStatus", answer["result"], ["status"])
    assert answer["result"] == {"status": "complete"}
    # a whole batch in params, no method
    batch = [rpc.request("aria2.getVersion"), rpc.request("aria2.getSessionInfo")]
    encoded = base64.b64encode(json.dumps(batch).encode()).decode()
    async with rpc.session.get(rpc.url, params={"params": encoded}) as response:
        answers = await response.json(content_type=None)
    assert len(answers) == 2 and "sessionId" in answers[1]["result"]
    async with rpc.session.get(rpc.url, params={"method": "x", "params": "%%%"}) as response:
        assert (await response.json(content_type=None))["error"]["code"] == -32700
    query = {"method": "aria2.getVersion", "id": "j", "params": "W10=", "jsoncallback": "cb"}
    async with rpc.session.get(rpc.url, params=query) as response:
        assert "JSONP" in (await response.json(content_type=None))["error"]["message"]


async def test_global_stat_version_session_and_global_options(
    rpc: RpcClient, http_server: LoopbackServer
) -> None:
    http_server.add("/s", make_body(KiB))
    gid = await rpc.call("aria2.addUri", [http_server.url("/s")], {"pause": "true"})
    stat = await rpc.call("aria2.getGlobalStat")
    assert stat["numWaiting"] == "1" and stat["numActive"] == "0"
    assert set(stat) >= {"downloadSpeed", "uploadSpeed", "numStopped", "numStoppedTotal"}
    version = await rpc.call("aria2.getVersion")
    assert version["version"].count(".") == 2 and isinstance(version["enabledFeatures"], list)
    assert await rpc.call("aria2.saveSession") == "OK"
    assert (
        await rpc.call(
            "aria2.changeGlobalOption",
            {"max-overall-download-limit": "2M", "max-concurrent-downloads": "2"},
        )
        == "OK"
    )
    await async_wait_until(lambda: rpc.engine.max_speed == 2 * 1024 * 1024, what="limit")
    assert rpc.engine.config.concurrency == 2
    options = await rpc.call("aria2.getGlobalOption")
    assert options["max-overall-download-limit"] == str(2 * 1024 * 1024)
    assert options["max-concurrent-downloads"] == "2"
    assert await rpc.engine.queue.speed_limit() == 2 * 1024 * 1024  # stored, like `limit`
    assert await rpc.call("aria2.changeOption", gid, {"max-download-limit": "100K"}) == "OK"
    assert (await rpc.call("aria2.getOption", gid))["max-download-limit"] == str(100 * KiB)
    answer = await rpc.answer("aria2.changeOption", gid, {"out": "other.bin"})
    assert "out" in answer["error"]["message"]


async def test_remove_then_remove_download_result(
    rpc: RpcClient, http_server: LoopbackServer
) -> None:
    http_server.add("/r", make_body(KiB))
    gid = await rpc.call("aria2.addUri", [http_server.url("/r")], {"pause": "true"})
    assert await rpc.call("aria2.remove", gid) == gid
    assert await rpc.engine.queue.find(job_id_in(gid)) is None
    status = await rpc.call("aria2.tellStatus", gid, ["status", "errorCode"])
    assert status == {"status": "removed", "errorCode": "31"}
    assert [s["gid"] for s in await rpc.call("aria2.tellStopped", 0, 5, ["gid"])] == [gid]
    assert await rpc.call("aria2.removeDownloadResult", gid) == "OK"
    answer = await rpc.answer("aria2.tellStatus", gid)
    assert answer["error"]["message"] == f"No such download for GID#{gid}"
    # a finished download is not "active": aria2 refuses remove, clears the result
    done = await rpc.call("aria2.addUri", [http_server.url("/r")])
    await rpc.wait_status(done, "complete")
    assert (await rpc.answer("aria2.remove", done))["error"]["code"] == 1
    assert await rpc.call("aria2.purgeDownloadResult") == "OK"
    assert await rpc.call("aria2.tellStopped", 0, 5) == []
    assert (rpc.downloads / "r").exists()  # results go, files stay


async def test_failed_download_is_error_with_message(
    rpc: RpcClient, http_server: LoopbackServer
) -> None:
    gid = await rpc.call("aria2.addUri", [http_server.url("/missing")])
    await rpc.wait_status(gid, "error")
    status = await rpc.call("aria2.tellStatus", gid, ["errorCode", "errorMessage"])
    assert status["errorCode"] == "1" and "404" in status["errorMessage"]


# -- refusals -------------------------------------------------------------------------


async def test_wrong_or_missing_secret_is_unauthorized(rpc: RpcClient) -> None:
    for token in ("wrong", None, SECRET[:-1]):
        status, answer = await rpc.post(rpc.request("aria2.getGlobalStat", token=token))
        assert status == 400
        assert answer["error"] == {"code": 1, "message": "Unauthorized"}
    # the two lists need no secret, as in aria2
    methods = await rpc.answer("system.listMethods", token=None)
    assert "aria2.addUri" in methods["result"] and "system.multicall" in methods["result"]
    notes = await rpc.answer("system.listNotifications", token=None)
    assert "aria2.onDownloadComplete" in notes["result"]


async def test_unknown_and_unsupported_methods_answer_clearly(rpc: RpcClient) -> None:
    answer = await rpc.answer("aria2.noSuchThing")
    assert answer["error"] == {"code": 1, "message": "No such method: aria2.noSuchThing"}
    for method in ("aria2.addTorrent", "aria2.addMetalink", "aria2.getPeers"):
        answer = await rpc.answer(method, "ZDg6YW5ub3VuY2U=")
        assert answer["error"]["code"] == 1
        assert "HTTP(S) only" in answer["error"]["message"], answer


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ("not an array", -32602),
        ([42], -32602),  # uris not an array
        ([["http://x.example/"], "options?"], -32602),
        ([["http://x.example/"], {"header": 5}], -32602),
        ([[]], 1),  # "URI is not provided."
        ([["ftp://x.example/f"]], 1),  # drayman's own check
        ([["http://x.example/"], {}, -1], 1),
    ],
)
async def test_bad_params_get_json_rpc_errors(rpc: RpcClient, params: Any, code: int) -> None:
    request = rpc.request("aria2.addUri")
    request["params"] = [f"token:{SECRET}", *params] if isinstance(params, list) else params
    _, answer = await rpc.post(request)
    assert answer["error"]["code"] == code, answer
    assert "Traceback" not in json.dumps(answer)
    assert await rpc.engine.queue.jobs() == []


async def test_malformed_and_oversized_bodies(rpc: RpcClient) -> None:
    async with rpc.session.post(rpc.url, data=b"{not json") as response:
        assert (await response.json(content_type=None))["error"]["code"] == -32700
    async with rpc.session.post(rpc.url, data=b"\xff\xfe") as response:
        assert (await response.json(content_type=None))["error"]["code"] == -32700
    for payload in (42, "x", {"method": "aria2.getVersion"}, {"id": 1, "method": 7}):
        _, answer = await rpc.post(payload)
        assert answer["error"]["code"] == -32600, payload
    big = json.dumps(rpc.request("aria2.addUri", ["http://x.example/" + "a" * 3_000_000]))
    async with rpc.session.post(rpc.url, data=big) as response:
        assert response.status == 413
        assert (await response.json(content_type=None))["error"]["code"] == -32600
    assert await rpc.engine.queue.jobs() == []


async def test_foreign_host_header_is_refused(rpc: RpcClient) -> None:
    payload = rpc.request("aria2.getVersion")
    for host in ("evil.example", "evil.example:6800", "192.168.1.5:6800"):
        status, answer = await rpc.post(payload, headers={"Host": host})
        assert status == 403, host
        assert answer["error"]["code"] == -32600 and "Host" in answer["error"]["message"]
    for host in ("localhost:6800", "127.0.0.1", "[::1]:6800", "LOCALHOST"):
        status, _ = await rpc.post(payload, headers={"Host": host})
        assert status == 200, host


async def test_origins_extensions_and_cors(rpc: RpcClient) -> None:
    payload = rpc.request("aria2.getVersion")
    status, answer = await rpc.post(payload, headers={"Origin": "https://evil.example"})
    assert status == 403 and "origin" in answer["error"]["message"]
    extension = "chrome-extension://abcdefghijklmnop"
    async with rpc.session.post(
        rpc.url, data=json.dumps(payload), headers={"Origin": extension}
    ) as response:
        assert response.status == 200
        assert response.headers["Access-Control-Allow-Origin"] == extension
    headers = {
        "Origin": "moz-extension://1234",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }
    async with rpc.session.options(rpc.url, headers=headers) as response:
        assert response.status == 200
        assert response.headers["Access-Control-Allow-Origin"] == "moz-extension://1234"
        assert "POST" in response.headers["Access-Control-Allow-Methods"]
        assert response.headers["Access-Control-Allow-Headers"] == "content-type"
    # no Origin (a script, aria2p): no CORS headers needed
    async with rpc.session.post(rpc.url, data=json.dumps(payload)) as response:
        assert "Access-Control-Allow-Origin" not in response.headers


async def test_dir_outside_the_allowed_folders_is_refused(
    rpc: RpcClient, http_server: LoopbackServer, tmp_path: Path
) -> None:
    http_server.add("/d", make_body(KiB))
    for folder in (tmp_path / "elsewhere", rpc.downloads / ".." / "elsewhere", Path("relative")):
        answer = await rpc.answer("aria2.addUri", [http_server.url("/d")], {"dir": str(folder)})
        assert answer["error"]["code"] == 1, folder
        assert "option dir" in answer["error"]["message"]
    assert await rpc.engine.queue.jobs() == []


# -- WebSocket -----------------------------------------------------------------------


async def _notifications(
    ws: aiohttp.ClientWebSocketResponse, wanted: list[tuple[str, str]], timeout: float = 15
) -> list[tuple[str, str]]:
    """Read notifications until every one in ``wanted`` came (answers are skipped)."""
    seen: list[tuple[str, str]] = []
    async with asyncio.timeout(timeout):
        while not all(w in seen for w in wanted):
            message = json.loads((await ws.receive()).data)
            if "method" in message and "id" not in message:
                seen.append((message["method"], message["params"][0]["gid"]))
    return seen


async def test_websocket_calls_and_notifications(
    rpc: RpcClient, http_server: LoopbackServer
) -> None:
    body = make_body(1024 * KiB)
    http_server.add("/w.bin", body, hold_at=[256 * KiB])
    async with rpc.session.ws_connect(rpc.ws_url) as ws:
        await ws.send_str(json.dumps(rpc.request("aria2.addUri", [http_server.url("/w.bin")])))
        gid = None
        while gid is None:
            message = json.loads((await ws.receive()).data)
            if message.get("id") == "t":
                gid = message["result"]
        await _notifications(ws, [("aria2.onDownloadStart", gid)])
        await ws.send_str(json.dumps(rpc.request("aria2.pause", gid)))
        await _notifications(ws, [("aria2.onDownloadPause", gid)])
        await ws.send_str(json.dumps(rpc.request("aria2.unpause", gid)))
        # started again (released only now, so that it cannot finish while paused)
        await _notifications(ws, [("aria2.onDownloadStart", gid)])
        http_server.release_hold("/w.bin")
        await _notifications(ws, [("aria2.onDownloadComplete", gid)])
        bad = await rpc.call("aria2.addUri", [http_server.url("/nothing-here")])
        await _notifications(ws, [("aria2.onDownloadError", bad)])
        queued = await rpc.call("aria2.addUri", [http_server.url("/w.bin")], {"pause": "true"})
        await rpc.call("aria2.remove", queued)
        await _notifications(ws, [("aria2.onDownloadStop", queued)])
        # a wrong secret over WebSocket too
        await ws.send_str(json.dumps(rpc.request("aria2.tellActive", token="nope")))
        while True:
            message = json.loads((await ws.receive()).data)
            if message.get("id") == "t":
                assert message["error"] == {"code": 1, "message": "Unauthorized"}
                break
        await ws.send_str("{broken")
        message = json.loads((await ws.receive()).data)
        assert message["error"]["code"] == -32700


async def test_websocket_from_a_foreign_origin_is_refused(rpc: RpcClient) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        async with rpc.session.ws_connect(rpc.ws_url, origin="https://evil.example"):
            pass
    assert refused.value.status == 403


def test_host_names_let_in() -> None:
    from drayman.rpc.server import host_allowed

    names = frozenset({"mybox", "mybox.local"})
    for host in ("127.0.0.1:6800", "127.8.9.1", "[::1]:6800", "localhost", "a.localhost:1", None):
        assert host_allowed(host, False, names), host
        assert host_allowed(host, True, names), host
    for host in (
        "evil.example",
        "192.168.1.5:6800",
        "[fe80::1]",
        "mybox",
        "127.0.0.1.evil.example",
    ):
        assert not host_allowed(host, False, names), host
    # listening on the network: addresses and the machine's own names, still no other name
    for host in ("192.168.1.5:6800", "[fe80::1]:6800", "mybox:6800", "MYBOX.local"):
        assert host_allowed(host, True, names), host
    assert not host_allowed("evil.example:6800", True, names)


async def test_the_secret_is_never_logged(
    rpc: RpcClient, http_server: LoopbackServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    http_server.add("/l", make_body(KiB))
    gid = await rpc.call("aria2.addUri", [http_server.url("/l")], {"header": "Cookie: c=1"})
    await rpc.get("aria2.tellStatus", gid)
    await rpc.answer("aria2.tellStatus", gid, token="wrong-" + SECRET)
    await rpc.wait_status(gid, "complete")
    assert caplog.records  # the engine did log
    assert SECRET not in caplog.text
    assert "c=1" not in caplog.text
    assert SECRET not in repr(rpc.server.config)


async def test_rpc_jobs_obey_per_host_rules(
    rpc: RpcClient, http_server: LoopbackServer, downloads: Path
) -> None:
    ruled = downloads / "ruled"
    await rpc.engine.queue.add_rule(
        "127.0.0.1", headers=["Referer: https://rule.example/"], dest_dir=ruled
    )
    http_server.add("/ruled.bin", make_body(KiB))
    rpc.server.methods.config = replace(rpc.server.methods.config, default_dir=None)
    gid = await rpc.call("aria2.addUri", [http_server.url("/ruled.bin")])
    await rpc.wait_status(gid, "complete")
    assert (ruled / "ruled.bin").exists()
    [request] = http_server.requests_for("/ruled.bin")
    assert request.headers["Referer"] == "https://rule.example/"
    # and a rule's folder is one a client's dir may name
    gid = await rpc.call("aria2.addUri", [http_server.url("/ruled.bin")], {"dir": str(ruled / "x")})
    await rpc.wait_status(gid, "complete")
    assert (ruled / "x" / "ruled.bin").exists()


async def test_stopped_downloads_listed_are_the_latest_thousand(
    rpc: RpcClient, http_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from drayman.rpc import methods

    monkeypatch.setattr(methods, "MAX_RESULTS", 2)
    http_server.add("/z", make_body(KiB))
    gids = []
    for _ in range(3):
        gids.append(await rpc.call("aria2.addUri", [http_server.url("/z")]))
        await rpc.wait_status(gids[-1], "complete")
    listed = [s["gid"] for s in await rpc.call("aria2.tellStopped", 0, 10, ["gid"])]
    assert listed == gids[1:]
    stat = await rpc.call("aria2.getGlobalStat")
    assert (stat["numStopped"], stat["numStoppedTotal"]) == ("2", "3")
    # the oldest is still there for whoever asks for it by GID
    assert await rpc.status(gids[0]) == "complete"


async def test_drayman_retry_queues_a_failed_download_again(
    rpc: RpcClient, http_server: LoopbackServer, downloads: Path
) -> None:
    gid = await rpc.call("aria2.addUri", [http_server.url("/later.bin")])
    await rpc.wait_status(gid, "error")  # 404: not there yet
    body = make_body(40 * KiB, seed=9)
    http_server.add("/later.bin", body)
    assert await rpc.call("drayman.retry", gid) == gid
    await rpc.wait_status(gid, "complete")
    assert (downloads / "later.bin").read_bytes() == body
    answer = await rpc.answer("drayman.retry", gid)
    assert answer["error"] == {"code": 1, "message": f"GID#{gid} has not failed: nothing to retry"}
    assert "drayman.retry" in (await rpc.answer("system.listMethods", token=None))["result"]


async def test_add_uri_takes_aria2s_proxy_options(
    rpc: RpcClient, http_server: LoopbackServer, http_proxy: HttpProxy
) -> None:
    http_server.add("/p.bin", make_body(KiB))
    url = http_server.url("/p.bin")
    gid = await rpc.call(
        "aria2.addUri", [url], {"all-proxy": http_proxy.proxy_url, "pause": "true"}
    )
    job = await rpc.engine.queue.get(job_id_in(gid))
    assert job.proxy == http_proxy.proxy_url
    answer = await rpc.answer("aria2.addUri", [url], {"http-proxy": "ftp://nowhere"})
    assert answer["error"]["code"] == 1 and "http-proxy" in answer["error"]["message"]
    assert await rpc.call("aria2.unpause", gid) == gid
    await rpc.wait_status(gid, "complete")
    assert http_proxy.requests  # it went through the proxy


def split_small(rpc: RpcClient, split: int) -> None:
    """The engine's --split, and files split from 256 KiB on into pieces of 256 KiB or more.

    With pieces under two minimum segments no connection steals work from another:
    a file comes over exactly as many requests as it was cut into.
    """
    config = rpc.engine.config
    small = replace(config.transfer, split=split, split_min_size=256 * KiB, min_segment=256 * KiB)
    rpc.engine.reconfigure(replace(config, transfer=small))


def pieces(http_server: LoopbackServer, path: str) -> list[str | None]:
    """The Range header of each request for ``path``, by first byte (None: the whole body)."""
    return sorted(
        (r.headers.get("Range") for r in http_server.requests_for(path)),
        key=lambda value: -1 if value is None else int(value[6:].partition("-")[0]),
    )


def cut(size: int, connections: int) -> list[str | None]:
    """The requests of ``size`` bytes cut into ``connections`` equal pieces."""
    piece = size // connections
    ranges = [f"bytes={n * piece}-{(n + 1) * piece - 1}" for n in range(1, connections - 1)]
    return [None, *ranges, f"bytes={(connections - 1) * piece}-{size - 1}"]


async def test_split_is_the_jobs_own_connections_instead_of_the_engines(
    rpc: RpcClient, http_server: LoopbackServer, downloads: Path
) -> None:
    split_small(rpc, 8)
    # 3.5 pieces of 256 KiB: the engine's 8 would cut it in 3, the job's 2 in 2
    small = make_body(896 * KiB + 5, seed=3)
    # 8.5 pieces: 8 connections, whoever says so
    large = make_body(2176 * KiB + 7, seed=4)
    http_server.add("/two.bin", small)
    http_server.add("/global.bin", large)
    two = await rpc.call("aria2.addUri", [http_server.url("/two.bin")], {"split": "2"})
    own = await rpc.call("aria2.addUri", [http_server.url("/global.bin")])
    assert (await rpc.call("aria2.getOption", two))["split"] == "2"
    assert (await rpc.call("aria2.getOption", own))["split"] == "8"
    await rpc.wait_status(two, "complete", timeout=30)
    await rpc.wait_status(own, "complete", timeout=30)
    assert (downloads / "two.bin").read_bytes() == small
    assert (downloads / "global.bin").read_bytes() == large
    assert pieces(http_server, "/two.bin") == cut(len(small), 2)
    assert pieces(http_server, "/global.bin") == cut(len(large), 8)
    assert (await rpc.engine.queue.get(job_id_in(two))).split == 2
    assert (await rpc.engine.queue.get(job_id_in(own))).split is None

    # the other way round: the engine's split made 2 over the RPC, the job asks for 8
    assert await rpc.call("aria2.changeGlobalOption", {"split": "2"}) == "OK"
    http_server.add("/eight.bin", large)
    http_server.add("/fewer.bin", small)
    eight = await rpc.call(
        "aria2.addUri",
        [http_server.url("/eight.bin")],
        {"split": "8", "max-connection-per-server": "12"},
    )
    fewer = await rpc.call("aria2.addUri", [http_server.url("/fewer.bin")])
    await rpc.wait_status(eight, "complete", timeout=30)
    await rpc.wait_status(fewer, "complete", timeout=30)
    assert (downloads / "eight.bin").read_bytes() == large
    assert (downloads / "fewer.bin").read_bytes() == small
    assert pieces(http_server, "/eight.bin") == cut(len(large), 8)
    assert pieces(http_server, "/fewer.bin") == cut(len(small), 2)


async def test_split_and_connections_per_server_take_the_smaller_at_most_16(
    rpc: RpcClient, http_server: LoopbackServer, downloads: Path
) -> None:
    split_small(rpc, 8)
    body = make_body(2176 * KiB + 7, seed=5)
    http_server.add("/one.bin", body)
    url = http_server.url("/one.bin")
    one = await rpc.call("aria2.addUri", [url], {"split": "4", "max-connection-per-server": "1"})
    assert (await rpc.call("aria2.getOption", one))["split"] == "1"
    await rpc.wait_status(one, "complete", timeout=30)
    assert (downloads / "one.bin").read_bytes() == body
    [request] = http_server.requests_for("/one.bin")
    assert "Range" not in request.headers
    many = await rpc.call("aria2.addUri", [url], {"split": "40", "pause": "true"})
    option = await rpc.call("aria2.getOption", many)
    assert (option["split"], option["max-connection-per-server"]) == ("16", "16")


@pytest.mark.parametrize(
    ("option", "value"),
    [("split", "0"), ("split", "two"), ("max-connection-per-server", "-1"), ("split", "")],
)
async def test_a_bad_split_is_aria2s_error_and_adds_nothing(
    rpc: RpcClient, http_server: LoopbackServer, option: str, value: str
) -> None:
    http_server.add("/x.bin", make_body(KiB))
    answer = await rpc.answer("aria2.addUri", [http_server.url("/x.bin")], {option: value})
    assert answer["error"] == {
        "code": 1,
        "message": f"option {option}: not a whole number of at least 1: {value!r}",
    }
    assert await rpc.engine.queue.count() == 0
    assert http_server.requests_for("/x.bin") == []


async def test_the_queue_keeps_a_jobs_own_split_and_refuses_none_at_all(
    rpc: RpcClient, downloads: Path
) -> None:
    queue = rpc.engine.queue
    [job_id] = await queue.add(["http://127.0.0.1:1/a.bin"], dest_dir=downloads, split=3)
    assert (await queue.get(job_id)).split == 3
    with pytest.raises(BadInput, match="connections per file must be at least 1"):
        await queue.add(["http://127.0.0.1:1/b.bin"], dest_dir=downloads, split=0)
    assert await queue.ids() == [job_id]
