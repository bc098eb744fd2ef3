"""tools/build_extension.py: the manifest checks and the zip the stores take."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from drayman.nativehost import CHROMIUM_EXTENSION_ID, FIREFOX_EXTENSION_ID, HOST_NAME

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "browser"
BUILD = ROOT / "tools" / "build_extension.py"


def _build(source: Path, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(BUILD), "--source", str(source), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_extension_builds_into_a_store_zip(tmp_path: Path) -> None:
    done = _build(SOURCE, tmp_path / "dist")
    assert done.returncode == 0, done.stderr
    target = Path(done.stdout.strip())
    manifest = json.loads((SOURCE / "manifest.json").read_text())
    assert target == tmp_path / "dist" / f"drayman-extension-{manifest['version']}.zip"
    with zipfile.ZipFile(target) as archive:
        names = archive.namelist()
        packed = json.loads(archive.read("manifest.json"))
        for name in names:
            if name != "manifest.json":
                assert archive.read(name) == (SOURCE / name).read_bytes(), name
    # the manifest at the root, every file of the folder, the key left out
    assert names[0] == "manifest.json"
    expected = sorted(p.relative_to(SOURCE).as_posix() for p in SOURCE.rglob("*") if p.is_file())
    assert sorted(names) == expected
    assert "key" not in packed and "key" in manifest
    assert packed == {k: v for k, v in manifest.items() if k != "key"}
    assert packed["manifest_version"] == 3
    assert packed["browser_specific_settings"]["gecko"]["id"] == FIREFOX_EXTENSION_ID
    # the same input makes the same bytes
    again = _build(SOURCE, tmp_path / "again")
    assert Path(again.stdout.strip()).read_bytes() == target.read_bytes()


def test_the_key_gives_the_id_the_native_host_allows() -> None:
    import base64
    import hashlib

    key = base64.b64decode(json.loads((SOURCE / "manifest.json").read_text())["key"])
    digest = hashlib.sha256(key).hexdigest()[:32]
    assert "".join(chr(ord("a") + int(c, 16)) for c in digest) == CHROMIUM_EXTENSION_ID
    assert HOST_NAME in (SOURCE / "rpc.js").read_text()


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"manifest_version": 2}, "manifest_version must be 3"),
        ({"permissions": ["downloads", "tabs"]}, "permissions not allowed here: tabs"),
        ({"permissions": ["downloads", "<all_urls>"]}, "not allowed here: <all_urls>"),
        ({"description": "x" * 200}, "description must be at most 132"),
        ({"version": "1.0.0.0.0"}, "is not 1 to 4 dot-separated numbers"),
        ({"icons": {"16": "icons/16.png"}}, "needs a 128x128 icon"),
        ({"options_ui": {"page": "missing.html"}}, "names missing.html"),
        ({"options_ui": {"page": "../outside.html"}}, "names ../outside.html"),
        ({"browser_specific_settings": {}}, "gecko.id is missing"),
        ({"name": None}, "lacks 'name'"),
    ],
)
def test_a_bad_manifest_is_one_line_and_no_zip(
    tmp_path: Path, change: dict[str, object], problem: str
) -> None:
    source = tmp_path / "browser"
    shutil.copytree(SOURCE, source)
    (tmp_path / "outside.html").write_text("<p>")
    manifest = json.loads((source / "manifest.json").read_text())
    manifest.update(change)
    manifest = {k: v for k, v in manifest.items() if v is not None}
    (source / "manifest.json").write_text(json.dumps(manifest))
    done = _build(source, tmp_path / "dist")
    assert done.returncode == 2
    assert problem in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "dist").exists() or not any((tmp_path / "dist").iterdir())
