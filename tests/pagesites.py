"""Pages yt-dlp understands, served from a loopback server: a podcast feed, a
page with a video, a direct file, and a fake video site (the plugin in
``tests/yt_dlp_plugins``) whose channels are playlists and whose media links
can carry an expiring token.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from httpserver import LoopbackServer, RecordedRequest, make_body

__all__ = [
    "FakeSite",
    "add_feed",
    "add_video_page",
    "plugin_env",
]

TESTS = Path(__file__).resolve().parent


def plugin_env() -> dict[str, str]:
    """PYTHONPATH for a subprocess that should load the fake site's plugin (and our src)."""
    parts = [str(TESTS), os.environ.get("PYTHONPATH", "")]
    return {"PYTHONPATH": os.pathsep.join(p for p in parts if p)}


def add_feed(
    server: LoopbackServer, path: str, title: str, items: list[dict[str, Any]]
) -> dict[str, bytes]:
    """An RSS podcast feed at ``path``; each item: name, title, size, [thumbnail], [duration].

    Returns the media bodies by name (served at ``/media/NAME``).
    """
    bodies = {}
    xml_items = []
    for n, item in enumerate(items):
        body = make_body(item["size"], seed=1000 + n + len(path))
        name = item["name"]
        bodies[name] = body
        server.add(f"/media/{name}", body, content_type="audio/mpeg")
        extra = ""
        if item.get("thumbnail"):
            extra += f'<itunes:image href="{item["thumbnail"]}"/>'
        if item.get("duration"):
            extra += f"<itunes:duration>{item['duration']}</itunes:duration>"
        xml_items.append(
            f"<item><title>{item['title']}</title>"
            f'<enclosure url="{server.url("/media/" + name)}" type="audio/mpeg" '
            f'length="{len(body)}"/>{extra}</item>'
        )
    feed = (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd">'
        f"<channel><title>{title}</title><link>{server.url('/')}</link>"
        f"{''.join(xml_items)}</channel></rss>"
    )
    server.add(path, feed.encode(), content_type="application/rss+xml")
    return bodies


def add_video_page(
    server: LoopbackServer, path: str, title: str, media: str, body: bytes, thumbnail: str
) -> None:
    """An HTML page with og: tags and a <video><source>, the file at ``media``."""
    server.add(media, body, content_type="video/mp4")
    page = (
        "<!doctype html><html><head><title>Site name</title>"
        f'<meta property="og:title" content="{title}">'
        f'<meta property="og:image" content="{thumbnail}">'
        f'</head><body><video controls><source src="{server.url(media)}" type="video/mp4">'
        "</video></body></html>"
    )
    server.add(path, page.encode(), content_type="text/html; charset=utf-8")


@dataclass
class FakeSite:
    """The fake video site: channels of videos whose media links need a live token."""

    server: LoopbackServer
    #: tokens the media server accepts now (a link with another token gets a 403)
    tokens: set[str] = field(default_factory=lambda: {"t1"})
    #: the token new links are signed with
    current: str = "t1"
    #: video id -> its JSON description, rewritten when the token changes
    videos: dict[str, dict[str, Any]] = field(default_factory=dict)
    bodies: dict[str, bytes] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def media_path(self, video_id: str) -> str:
        return f"/fakemedia/{video_id}.mp4"

    def add_video(
        self,
        video_id: str,
        title: str,
        *,
        uploader: str | None = None,
        size: int = 5000,
        thumbnail: str | None = None,
        hls_only: bool = False,
        referer: bool = True,
        **resource: Any,
    ) -> bytes:
        body = make_body(size, seed=hash(video_id) % 10_000)
        self.bodies[video_id] = body
        if not hls_only:
            self.server.add(
                self.media_path(video_id),
                body,
                content_type="video/mp4",
                hook=self._check_token,
                **resource,
            )
        self.videos[video_id] = {
            "title": title,
            "uploader": uploader,
            "thumbnail": thumbnail,
            "duration": 12,
            "hls_only": hls_only,
            "referer": referer,
            "size": size,
        }
        self._publish(video_id)
        return body

    def add_channel(self, name: str, title: str, video_ids: list[str], uploader: str) -> str:
        data = {"title": title, "uploader": uploader, "videos": video_ids}
        self.server.add(
            f"/fakesite/channel/{name}.json",
            json.dumps(data).encode(),
            content_type="application/json",
        )
        return self.server.url(f"/fakesite/channel/{name}")

    def page(self, video_id: str) -> str:
        return self.server.url(f"/fakesite/video/{video_id}")

    def rotate(self, token: str, *, keep_old: bool = False) -> None:
        """Sign new links with ``token``; old links stop working unless ``keep_old``."""
        with self._lock:
            self.current = token
            self.tokens = (self.tokens | {token}) if keep_old else {token}
        for video_id in self.videos:
            self._publish(video_id)

    def _publish(self, video_id: str) -> None:
        video = self.videos[video_id]
        media = self.server.url(f"{self.media_path(video_id)}?token={self.current}")
        if video["hls_only"]:
            formats = [
                {
                    "id": "hls-720",
                    "url": self.server.url(f"/fakemedia/{video_id}.m3u8"),
                    "ext": "mp4",
                    "protocol": "m3u8_native",
                }
            ]
        else:
            headers = {"Referer": self.page(video_id)} if video["referer"] else {}
            formats = [
                {
                    "id": "mp4-360",
                    "url": media,
                    "ext": "mp4",
                    "filesize": video["size"],
                    "vcodec": "avc1",
                    "acodec": "mp4a",
                    "quality": 1,
                    "headers": headers,
                },
                # a better picture, without sound, and the sound alone: never
                # picked by default (drayman does not merge streams)
                {
                    "id": "video-only-1080",
                    "url": media + "&v=1080",
                    "ext": "mp4",
                    "vcodec": "avc1",
                    "acodec": "none",
                    "quality": 5,
                },
                {
                    "id": "audio-only",
                    "url": media + "&a=1",
                    "ext": "m4a",
                    "vcodec": "none",
                    "acodec": "mp4a",
                    "quality": 0,
                },
            ]
        data = {k: video[k] for k in ("title", "uploader", "thumbnail", "duration")}
        data["formats"] = formats
        self.server.add(
            f"/fakesite/video/{video_id}.json",
            json.dumps(data).encode(),
            content_type="application/json",
        )

    def expire_after_first(
        self, video_id: str, new_token: str, new_body: bytes | None = None
    ) -> None:
        """The first download of ``video_id`` is the last its link allows: then links
        are signed with ``new_token`` (and with ``new_body`` the file itself changed)."""
        path = self.media_path(video_id)
        replaced = False

        def hook(index: int, request: RecordedRequest) -> dict[str, Any] | None:
            nonlocal replaced
            answer = self._check_token(index, request)
            if index == 0 and answer is None:
                self.rotate(new_token)
            elif answer is not None and new_body is not None and not replaced:
                replaced = True
                self.server.replace_body(path, new_body)
                self.bodies[video_id] = new_body
            return answer

        self.server.resources[path].hook = hook

    def _check_token(self, index: int, request: RecordedRequest) -> dict[str, Any] | None:
        token = parse_qs(request.query).get("token", [""])[0]
        with self._lock:
            if token in self.tokens:
                return None
        return {"status": 403}
