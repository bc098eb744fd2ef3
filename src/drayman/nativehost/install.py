"""``drayman browser install|uninstall``: the host manifest where each browser looks.

Per the browsers' documentation (Chrome's "Native messaging", Microsoft
Edge's "Native messaging", MDN's "Native manifests"), per user:

- Linux: ``~/.config/google-chrome``, ``~/.config/chromium``,
  ``~/.config/microsoft-edge`` (under ``$XDG_CONFIG_HOME`` when set) +
  ``/NativeMessagingHosts/``; Firefox ``~/.mozilla/native-messaging-hosts/``;
- macOS: ``~/Library/Application Support/Google/Chrome``, ``.../Chromium``,
  ``.../Microsoft Edge`` + ``/NativeMessagingHosts/``; Firefox
  ``~/Library/Application Support/Mozilla/NativeMessagingHosts/``;
- Windows: the manifest in drayman's data folder, and its path as the
  default value of ``HKCU\\Software\\Google\\Chrome\\NativeMessagingHosts\\NAME``
  (``Chromium``, ``Microsoft\\Edge``, ``Mozilla`` for the others).

A manifest's ``path`` must be an executable that takes no arguments of
ours, so a small launcher (a shell script, a ``.bat`` on Windows) runs
``python -m drayman [--db DB] native-host`` with this Python, this drayman
and the config folder in effect at install time.
``$DRAYMAN_NATIVE_HOST_DIR`` puts the manifest in that folder instead of the
browser's (for one ``--browser``; tests, portable browsers).
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from drayman.errors import BrowserSetupFailed
from drayman.nativehost import ALLOWED_EXTENSIONS, ALLOWED_ORIGINS, HOST_NAME
from drayman.nativehost.starter import import_root
from drayman.private import CONFIG_DIR_ENV, config_path, make_private_dirs

BROWSERS = ("chromium", "chrome", "firefox", "edge")
TARGET_DIR_ENV = "DRAYMAN_NATIVE_HOST_DIR"

_LINUX = {
    "chrome": "google-chrome",
    "chromium": "chromium",
    "edge": "microsoft-edge",
}
_MACOS = {
    "chrome": "Google/Chrome",
    "chromium": "Chromium",
    "edge": "Microsoft Edge",
    "firefox": "Mozilla",
}
#: under HKEY_CURRENT_USER
REGISTRY_KEYS = {
    "chrome": rf"Software\Google\Chrome\NativeMessagingHosts\{HOST_NAME}",
    "chromium": rf"Software\Chromium\NativeMessagingHosts\{HOST_NAME}",
    "edge": rf"Software\Microsoft\Edge\NativeMessagingHosts\{HOST_NAME}",
    "firefox": rf"Software\Mozilla\NativeMessagingHosts\{HOST_NAME}",
}


@dataclass(frozen=True)
class Placement:
    browser: str
    manifest: Path
    #: Windows: the registry key (under HKCU) that points at the manifest
    registry_key: str | None = None


def manifest_folder(browser: str, platform: str, home: Path) -> Path:
    """Where ``browser`` looks for a user's host manifests on Linux and macOS."""
    if platform == "darwin":
        name = "NativeMessagingHosts"
        return home / "Library" / "Application Support" / _MACOS[browser] / name
    if browser == "firefox":
        return home / ".mozilla" / "native-messaging-hosts"
    config = os.environ.get("XDG_CONFIG_HOME") or str(home / ".config")
    return Path(config) / _LINUX[browser] / "NativeMessagingHosts"


def host_folder() -> Path:
    """drayman's own files for the browsers: the launcher (and manifests on Windows)."""
    return config_path("native-host")


def placements(browsers: Sequence[str], platform: str | None = None) -> list[Placement]:
    platform = platform or sys.platform
    override = os.environ.get(TARGET_DIR_ENV)
    if override and len(browsers) > 1:
        raise BrowserSetupFailed(
            browser="the browsers", reason=f"${TARGET_DIR_ENV} holds one browser's: give --browser"
        )
    found = []
    for browser in browsers:
        if override:
            folder = Path(override)
        elif platform == "win32":
            folder = host_folder() / browser
        else:
            folder = manifest_folder(browser, platform, Path.home())
        key = REGISTRY_KEYS[browser] if platform == "win32" and not override else None
        found.append(Placement(browser, folder / f"{HOST_NAME}.json", key))
    return found


def manifest(browser: str, launcher: Path) -> dict[str, object]:
    text: dict[str, object] = {
        "name": HOST_NAME,
        "description": "drayman: starts the download manager for its browser extension",
        "path": str(launcher),
        "type": "stdio",
    }
    if browser == "firefox":
        text["allowed_extensions"] = list(ALLOWED_EXTENSIONS)
    else:
        text["allowed_origins"] = list(ALLOWED_ORIGINS)
    return text


def launcher_text(db: str | None, windows: bool) -> str:
    """The script the manifest names: this Python, this drayman, this config folder."""
    env = {}
    if os.environ.get(CONFIG_DIR_ENV):
        env[CONFIG_DIR_ENV] = str(Path(os.environ[CONFIG_DIR_ENV]).resolve())
    root = import_root()
    if root is not None:
        env["PYTHONPATH"] = root
    args = ["-m", "drayman", *(["--db", str(Path(db).resolve())] if db else []), "native-host"]
    if windows:
        lines = ["@echo off", "rem written by `drayman browser install`"]
        lines += [f'set "{name}={value}"' for name, value in env.items()]
        quoted = " ".join(f'"{a}"' if " " in a else a for a in [sys.executable, *args])
        lines.append(f"{quoted} %*")
        return "\r\n".join(lines) + "\r\n"
    lines = ["#!/bin/sh", "# written by `drayman browser install`: the browser runs it"]
    lines += [f"{name}={shlex.quote(value)}; export {name}" for name, value in env.items()]
    lines.append("exec " + shlex.join([sys.executable, *args]) + ' "$@"')
    return "\n".join(lines) + "\n"


def launcher_path(windows: bool) -> Path:
    return host_folder() / ("drayman-native-host.bat" if windows else "drayman-native-host")


def _write(path: Path, text: str, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)
    os.chmod(temporary, mode)
    os.replace(temporary, path)


def install(
    browsers: Sequence[str], db: str | None, platform: str | None = None
) -> list[Placement]:
    platform = platform or sys.platform
    windows = platform == "win32"
    done = placements(browsers, platform)
    launcher = launcher_path(windows)
    try:
        make_private_dirs(launcher.parent)
        _write(launcher, launcher_text(db, windows), 0o700)
        for placement in done:
            text = json.dumps(manifest(placement.browser, launcher), indent=2) + "\n"
            _write(placement.manifest, text, 0o644)
            if placement.registry_key is not None:
                _set_registry(placement.registry_key, str(placement.manifest))
    except OSError as exc:
        raise BrowserSetupFailed(
            browser=", ".join(browsers), reason=f"{exc.strerror or exc}: {exc.filename or ''}"
        ) from None
    return done


def uninstall(platform: str | None = None) -> list[Placement]:
    """Remove every manifest (and registry key) drayman wrote; those removed."""
    platform = platform or sys.platform
    override = os.environ.get(TARGET_DIR_ENV)
    removed = []
    for placement in (
        placements([BROWSERS[0]], platform) if override else placements(BROWSERS, platform)
    ):
        gone = False
        try:
            placement.manifest.unlink()
            gone = True
        except FileNotFoundError:
            pass
        if placement.registry_key is not None:
            gone = _delete_registry(placement.registry_key) or gone
        if gone:
            removed.append(placement)
    with contextlib.suppress(FileNotFoundError):
        launcher_path(platform == "win32").unlink()
    return removed


def _set_registry(key: str, value: str) -> None:
    if sys.platform == "win32":
        import winreg

        with winreg.CreateKey(winreg.HKEY_CURRENT_USER, key) as handle:
            winreg.SetValueEx(handle, "", 0, winreg.REG_SZ, value)


def _delete_registry(key: str) -> bool:
    if sys.platform == "win32":
        import winreg

        try:
            winreg.DeleteKey(winreg.HKEY_CURRENT_USER, key)
        except FileNotFoundError:
            return False
        return True
    return False
