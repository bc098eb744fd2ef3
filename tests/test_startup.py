"""The commands start with the collector off for their imports, and run with it on."""

from __future__ import annotations

import gc
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from drayman.quietimports import without_collection

ROOT = Path(__file__).resolve().parent.parent


def test_imports_run_without_the_collector_and_it_comes_back_as_it_was() -> None:
    assert gc.isenabled()
    with without_collection():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ImportError), without_collection():
        import drayman.no_such_module  # type: ignore[import-not-found]  # noqa: F401
    assert gc.isenabled()  # a failed import too
    gc.disable()
    try:
        with without_collection():
            pass
        assert not gc.isenabled()  # off before: left off
    finally:
        gc.enable()


def test_the_installed_commands_start_through_drayman_startup() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {
        "drayman": "drayman.startup:main",
        "drayman-gui": "drayman.startup:gui_main",
    }


def test_a_command_runs_with_the_collector_on(tmp_path: Path) -> None:
    """What a command does (a long ``run``) is collected as usual: only start-up is not."""
    probe = (
        "import gc, sys\n"
        "import drayman.cli\n"
        "async def ls(args, out):\n"
        "    print(gc.isenabled(), len(gc.get_objects()) < gc.get_freeze_count())\n"
        "    return 0\n"
        "drayman.cli.COMMANDS['ls'] = ls\n"
        "from drayman.startup import main\n"
        "sys.argv = ['drayman', '--db', sys.argv[1], 'ls']\n"
        "raise SystemExit(main())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(tmp_path / "jobs.db")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    # on, and what start-up imported is frozen (more than the objects still tracked)
    assert done.stdout.split() == ["True", "True"], done.stdout
