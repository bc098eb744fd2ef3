"""A yt-dlp extractor plugin for the tests' fake video site, served on loopback.

yt-dlp loads it from the ``yt_dlp_plugins`` namespace package on sys.path
(pytest puts ``tests`` there; subprocesses get it through PYTHONPATH). The
site is JSON: ``/fakesite/video/ID.json`` describes a video and its formats,
``/fakesite/channel/NAME.json`` a channel's title, uploader and video ids
(see tests/pagesites.py, which builds it). Media URLs may carry a token the
server checks, so a link can expire as real signed links do.
"""

from yt_dlp.extractor.common import InfoExtractor

_HOST = r"https?://(?:127\.0\.0\.\d+|localhost|\[::1\]):\d+"


class DraymanFakeVideoIE(InfoExtractor):
    IE_NAME = "draymanfake:video"
    _VALID_URL = _HOST + r"/fakesite/video/(?P<id>[\w-]+)$"

    def _real_extract(self, url):
        video_id = self._match_id(url)
        data = self._download_json(url + ".json", video_id)
        formats = []
        for fmt in data["formats"]:
            formats.append(
                {
                    "format_id": fmt["id"],
                    "url": fmt["url"],
                    "ext": fmt.get("ext", "mp4"),
                    "filesize": fmt.get("filesize"),
                    "vcodec": fmt.get("vcodec"),
                    "acodec": fmt.get("acodec"),
                    "protocol": fmt.get("protocol"),
                    "quality": fmt.get("quality"),
                    "http_headers": fmt.get("headers") or {},
                }
            )
        return {
            "id": video_id,
            "title": data["title"],
            "uploader": data.get("uploader"),
            "thumbnail": data.get("thumbnail"),
            "duration": data.get("duration"),
            "webpage_url": url,
            "formats": formats,
        }


class DraymanFakeChannelIE(InfoExtractor):
    IE_NAME = "draymanfake:channel"
    _VALID_URL = _HOST + r"/fakesite/channel/(?P<id>[\w-]+)$"

    def _real_extract(self, url):
        channel_id = self._match_id(url)
        data = self._download_json(url + ".json", channel_id)
        base = url.split("/fakesite/")[0]
        entries = [
            self.url_result(f"{base}/fakesite/video/{video}", DraymanFakeVideoIE)
            for video in data["videos"]
        ]
        return self.playlist_result(
            entries, channel_id, data["title"], uploader=data.get("uploader")
        )
