"""Check browser/manifest.json and zip browser/ into the file the stores take.

    python tools/build_extension.py [--source browser] [--out dist]

Prints the zip's path; exit 2 with one line naming the first problem. No
node needed: the checks are those the Chrome Web Store and addons.mozilla.org
apply to a manifest (Manifest V3, required keys and their limits, known
permissions, every file it names present). The zip holds the folder's files
at its root, in a fixed order with fixed times (the same input makes the same
bytes), without the ``key`` (the Web Store assigns the ID of a published
extension and refuses a key; the key only fixes the ID of an unpacked load).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

#: the permissions drayman's extension may ask for; a new one is a decision
KNOWN_PERMISSIONS = frozenset(
    {"downloads", "contextMenus", "cookies", "storage", "nativeMessaging", "scripting"}
)
REQUIRED = ("manifest_version", "name", "version", "description", "icons", "background", "action")
#: the Chrome Web Store's limits
MAX_NAME, MAX_SHORT_NAME, MAX_DESCRIPTION = 75, 12, 132
VERSION = re.compile(r"^(0|[1-9]\d{0,4})(\.(0|[1-9]\d{0,4})){0,3}$")
GECKO_ID = re.compile(r"^(\{[0-9a-fA-F-]{36}\}|[a-zA-Z0-9-._]*@[a-zA-Z0-9-._]+)$")
#: what is never packed
SKIPPED = ("build.py",)


class ManifestProblem(Exception):
    pass


def _files_named(manifest: dict[str, Any]) -> list[str]:
    named = list(manifest["icons"].values())
    background = manifest["background"]
    named += [background["service_worker"], *background.get("scripts", [])]
    action = manifest["action"]
    named += [action.get("default_popup", ""), *action.get("default_icon", {}).values()]
    named.append(manifest.get("options_ui", {}).get("page", ""))
    for script in manifest.get("content_scripts", []):
        named += script.get("js", []) + script.get("css", [])
    return [name for name in named if name]


def check(source: Path) -> dict[str, Any]:
    """The manifest, once it passes every check; else ManifestProblem."""
    try:
        manifest = json.loads((source / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ManifestProblem(f"cannot read {source / 'manifest.json'}: {exc}") from None
    if not isinstance(manifest, dict):
        raise ManifestProblem("manifest.json is not a JSON object")
    for key in REQUIRED:
        if key not in manifest:
            raise ManifestProblem(f"manifest.json lacks {key!r}")
    if manifest["manifest_version"] != 3:
        raise ManifestProblem("manifest_version must be 3 (Manifest V3)")
    if not isinstance(manifest["name"], str) or not 0 < len(manifest["name"]) <= MAX_NAME:
        raise ManifestProblem(f"name must be 1 to {MAX_NAME} characters")
    if len(manifest.get("short_name", "")) > MAX_SHORT_NAME:
        raise ManifestProblem(f"short_name must be at most {MAX_SHORT_NAME} characters")
    if len(manifest["description"]) > MAX_DESCRIPTION:
        raise ManifestProblem(f"description must be at most {MAX_DESCRIPTION} characters")
    if not VERSION.match(str(manifest["version"])):
        version = manifest["version"]
        raise ManifestProblem(f"version {version!r} is not 1 to 4 dot-separated numbers")
    if "128" not in manifest["icons"]:
        raise ManifestProblem("icons needs a 128x128 icon (the stores show it)")
    if "service_worker" not in manifest["background"]:
        raise ManifestProblem("background needs a service_worker (Chromium's Manifest V3)")
    if "scripts" not in manifest["background"]:
        raise ManifestProblem("background needs scripts (Firefox's event page)")
    permissions = manifest.get("permissions", [])
    unknown = sorted(set(permissions) - KNOWN_PERMISSIONS)
    if unknown:
        raise ManifestProblem(f"permissions not allowed here: {', '.join(unknown)}")
    if any("://" in p or p == "<all_urls>" for p in permissions):
        raise ManifestProblem("host patterns belong in host_permissions in Manifest V3")
    if "browser_action" in manifest or "page_action" in manifest:
        raise ManifestProblem("browser_action and page_action are Manifest V2: use action")
    gecko = manifest.get("browser_specific_settings", {}).get("gecko", {})
    if not GECKO_ID.match(str(gecko.get("id", ""))):
        raise ManifestProblem("browser_specific_settings.gecko.id is missing or malformed")
    for name in _files_named(manifest):
        path = (source / name).resolve()
        if not path.is_relative_to(source.resolve()) or not path.is_file():
            raise ManifestProblem(f"manifest.json names {name}, which is not in {source}")
    return manifest


def build(source: Path, out: Path) -> Path:
    manifest = check(source)
    packed = dict(manifest)
    packed.pop("key", None)
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"drayman-extension-{manifest['version']}.zip"
    files = sorted(
        p
        for p in source.rglob("*")
        if p.is_file()
        and p.name not in SKIPPED
        and not any(part.startswith(".") for part in p.relative_to(source).parts)
        and p.name != "manifest.json"
    )
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        entries = [("manifest.json", json.dumps(packed, indent=2).encode("utf-8") + b"\n")]
        entries += [(p.relative_to(source).as_posix(), p.read_bytes()) for p in files]
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=ROOT / "browser")
    parser.add_argument("--out", type=Path, default=ROOT / "dist")
    args = parser.parse_args(argv)
    try:
        print(build(args.source, args.out))
    except ManifestProblem as exc:
        print(f"build_extension: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
