"""The ``drayman`` and ``drayman-gui`` commands' entry points: the command line
imported without the garbage collector (:mod:`drayman.quietimports`), and what
it imported frozen, since it lives as long as the process."""

from __future__ import annotations

from drayman.quietimports import freeze_start_up, without_collection


def main() -> int:
    """``drayman`` (:func:`drayman.cli.main`)."""
    with without_collection():
        from drayman.cli import main as cli_main
    freeze_start_up()
    return cli_main()


def gui_main() -> int:
    """``drayman-gui`` (:func:`drayman.cli.gui_main`)."""
    with without_collection():
        from drayman.cli import gui_main as cli_gui_main
    freeze_start_up()
    return cli_gui_main()
