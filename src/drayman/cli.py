"""The command line: ``drayman add|ls|pause|resume|retry|rm|run|limit|rules|gui|check``.

The names, flags, JSON fields and exit codes here are public interface (see
DESIGN.md, "Command line contract"). Exit codes: 0 success; 1 jobs failed
(``run --until-idle``) or an unexpected error; 2 bad input, nothing changed;
3 the database or engine cannot be used (locked, newer, corrupt, already
running); 130 interrupted before the queue was idle.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import logging
import os
import shutil
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

from drayman import __version__
from drayman.errors import BadInput, DraymanError, InvalidURL
from drayman.headers import if_range_validator
from drayman.jobs import Job, JobState
from drayman.queue.transferconfig import TransferConfig
from drayman.units import human_size
from drayman.urls import validate_url

if TYPE_CHECKING:
    from drayman.pages import Resolved
    from drayman.queue.progress import EngineSnapshot, JobProgress
    from drayman.rules import Rule

log = logging.getLogger("drayman")

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_ENVIRONMENT, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


def default_db_path() -> Path:
    import platformdirs

    return platformdirs.user_data_path("drayman", appauthor=False) / "drayman.db"


def resolve_db(arg: str | None) -> Path:
    """``--db``, else ``$DRAYMAN_DB``, else the user data folder."""
    chosen = arg or os.environ.get("DRAYMAN_DB")
    return Path(chosen).expanduser() if chosen else default_db_path()


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop when installed (the ``fast`` extra), else asyncio's own loop.

    uvloop moves the socket reads and the thread wake-ups of the download path
    into C. ``DRAYMAN_EVENT_LOOP=asyncio`` forces the standard loop (to compare).
    """
    if os.environ.get("DRAYMAN_EVENT_LOOP", "").lower() == "asyncio" or sys.platform == "win32":
        return None
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


# -- parsing ---------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # one line, exit 2, like every bad input
        self.exit(EXIT_BAD_INPUT, f"drayman: error: {message}\n")


def _positive_int(text: str, what: str = "a whole number of at least 1") -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"not {what}: {text!r}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"not a positive number of seconds: {text!r}")
    return value


def _job_id(text: str) -> int:
    return _positive_int(text, "a job id")


_T = TypeVar("_T")


def _argument(parse: Callable[[str], _T], text: str) -> _T:
    """``parse(text)`` for argparse: a BadInput becomes its one-line usage error."""
    try:
        return parse(text)
    except BadInput as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


# each parser is imported when a flag is used: `drayman ls` need not load the engine


def _idle_action(text: str) -> Any:
    from drayman.onidle import parse_idle_action

    return _argument(parse_idle_action, text)


def _rate(text: str) -> int:
    from drayman.queue.ratelimit import parse_rate

    return _argument(parse_rate, text)


def _proxy(text: str) -> str:
    from drayman.proxies import SOCKS_HINT, SOCKS_SCHEMES, socks_available, validate_proxy

    proxy = _argument(validate_proxy, text)
    if proxy.partition("://")[0] in SOCKS_SCHEMES and not socks_available():
        raise argparse.ArgumentTypeError(SOCKS_HINT)
    return proxy


def _add_proxy_flags(parser: argparse.ArgumentParser, what: str, direct: str) -> None:
    """``--proxy URL | --no-proxy``, the same on add, run and rules add."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--proxy",
        type=_proxy,
        metavar="URL",
        help=f"{what} through this proxy: http://, https://, socks5:// or socks5h:// "
        "(the proxy resolves names), with optional user:password@",
    )
    group.add_argument("--no-proxy", action="store_true", help=direct)


def _size(text: str) -> int:
    from drayman.units import parse_size

    return _argument(parse_size, text)


def _port(text: str) -> int:
    if not text.strip().isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"not a port (0-65535; 0 = any free one): {text!r}")
    return int(text)


def _actions(command: argparse.ArgumentParser, dest: str) -> Any:
    """The required ACTION of a command with several (``rules add``, ``schedule ls``...)."""
    actions = command.add_subparsers(dest=dest, metavar="ACTION", parser_class=_Parser)
    actions.required = True
    return actions


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="drayman",
        description="A download manager that never loses work: jobs live in a database, "
        "downloads resume after a pause, a crash or a reboot.",
        epilog="Typical use: `drayman add URL... -d DIR`, then `drayman run --until-idle`. "
        "Exit codes: 0 ok, 1 some job failed, 2 bad input (nothing changed), "
        "3 database or engine unavailable, 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"drayman {__version__}")
    parser.add_argument(
        "--db",
        metavar="PATH",
        help="the job database (default: $DRAYMAN_DB, else drayman.db in your user data folder)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log what the engine does")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    add = sub.add_parser(
        "add",
        help="queue URLs for download",
        description="Queue URLs. "
        "Every URL is checked first; if any is bad nothing is added (exit 2).",
    )
    add.add_argument("urls", nargs="*", metavar="URL", help="http or https URLs")
    add.add_argument(
        "-i",
        "--input",
        metavar="FILE",
        help='read URLs from FILE ("-" reads stdin): one per line (# comments), or JSON, '
        "JSON Lines or CSV with url, title, author, thumbnail, headers, sha256, folder, name",
    )
    add.add_argument(
        "-d", "--dir", metavar="DIR", help="destination folder (default: your Downloads folder)"
    )
    add.add_argument(
        "-o",
        "--output",
        metavar="NAME",
        help="file name (single URL only; default: from the server or the URL)",
    )
    add.add_argument(
        "-H",
        "--header",
        action="append",
        default=[],
        metavar='"Name: value"',
        help="extra request header, e.g. Referer or Cookie (repeatable)",
    )
    add.add_argument("--sha256", metavar="HEX", help="expected checksum (single URL only)")
    add.add_argument(
        "--format",
        metavar="FMT|SEL",
        help="format of -i: txt, json, jsonl or csv (default: from the file name, else "
        "guessed from the content); with --resolve, yt-dlp's format selector instead "
        "(default: the best single file: video with its audio, else audio only)",
    )
    add.add_argument(
        "--resolve",
        action="store_true",
        help="the URLs are pages (video, playlist, channel, feed): add one job per item "
        'they hold, resolved with yt-dlp (pip install "drayman[pages]")',
    )
    add.add_argument(
        "--template",
        metavar="TPL",
        help="name files from fields, e.g. '{author}/{title}.{ext}' "
        "(fields: title, author, name, ext, host, date, index, playlist)",
    )
    add.add_argument(
        "--insecure",
        action="store_true",
        help="do not check the TLS certificate of these URLs' hosts (self-signed, expired, "
        "wrong name); other hosts a redirect leads to are still checked",
    )
    add.add_argument(
        "--cookies",
        metavar="FILE",
        help="start these jobs with the cookies of FILE, a Netscape cookies.txt (as curl, "
        "wget and yt-dlp read, and browser extensions export); each cookie goes only to "
        "the hosts it is for",
    )
    _add_proxy_flags(
        add,
        "download these jobs",
        "download these jobs without a proxy, whatever `run` or the environment say",
    )
    add.add_argument(
        "--max-filesize",
        type=_size,
        metavar="SIZE",
        help="a file larger than SIZE fails, its partial file removed "
        "(bytes, or k, M, G, 1024-based)",
    )
    add.add_argument(
        "--ignore-schedule",
        action="store_true",
        help="download these jobs whatever the schedule says (its pauses and limits)",
    )
    add.add_argument(
        "--skip-invalid",
        action="store_true",
        help="add the good entries of -i and report the bad ones (default: add nothing)",
    )

    ls = sub.add_parser("ls", help="list jobs")
    ls.add_argument("--json", action="store_true", help="machine-readable output")
    ls.add_argument("--state", choices=[s.value for s in JobState], help="only jobs in STATE")

    for name, help_text, all_flag, all_help in (
        ("pause", "pause jobs (they keep their progress)", "--all", "pause every job"),
        ("resume", "resume paused jobs", "--all", "resume every paused job"),
        ("retry", "retry failed jobs", "--failed", "retry every failed job"),
    ):
        cmd = sub.add_parser(name, help=help_text)
        cmd.add_argument("ids", nargs="*", type=_job_id, metavar="ID")
        cmd.add_argument(all_flag, dest="every", action="store_true", help=all_help)

    rm = sub.add_parser("rm", help="remove jobs from the queue")
    rm.add_argument("ids", nargs="+", type=_job_id, metavar="ID")
    rm.add_argument(
        "--delete-files", action="store_true", help="also delete the partial or finished file"
    )

    run = sub.add_parser(
        "run",
        help="download the queue",
        description="Run the engine: download queued jobs until stopped "
        "(Ctrl-C checkpoints every transfer; the next run resumes).",
    )
    run.add_argument(
        "--until-idle",
        action="store_true",
        help="return when no job is queued or running (exit 1 if any job failed)",
    )
    run.add_argument(
        "-j",
        "--jobs",
        type=_positive_int,
        default=4,
        metavar="N",
        help="downloads at once (default 4); one whose bytes are all in is not counted "
        "while its file is made durable",
    )
    run.add_argument(
        "--per-host",
        type=_positive_int,
        default=None,
        metavar="N",
        help="downloads at once from one host (default: same as -j)",
    )
    run.add_argument(
        "--split",
        type=_positive_int,
        default=TransferConfig.split,
        metavar="N",
        help="the most connections per large file when the server allows ranges "
        f"(default {TransferConfig.split}: {TransferConfig.split_first} at first, more only when "
        "the server holds each one to a trickle; 1 = one connection per file)",
    )
    run.add_argument(
        "--max-speed",
        type=_rate,
        default=None,
        metavar="RATE",
        help="total speed limit, bytes/s with optional k, M, G (1024-based)",
    )
    run.add_argument(
        "--max-filesize",
        type=_size,
        default=None,
        metavar="SIZE",
        help="any file larger than SIZE fails, its partial file removed "
        "(bytes, or k, M, G, 1024-based; a job's or rule's own limit also applies)",
    )
    run.add_argument(
        "--read-timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="a connection silent this long is retried (default 60)",
    )
    run.add_argument(
        "--max-attempts",
        type=_positive_int,
        default=8,
        metavar="N",
        help="give a job up after N failed attempts in a row (default 8)",
    )
    run.add_argument(
        "--checkpoint-every",
        type=float,
        default=2.0,
        metavar="SECONDS",
        help="fsync and record each download's progress this often; a crash "
        "loses at most this much transfer (default 2)",
    )
    run.add_argument(
        "--min-speed",
        type=_rate,
        default=1024,
        metavar="RATE",
        help="a download slower than RATE on average over --min-speed-time is retried on a "
        "new connection, like curl's --speed-limit (default 1k; 0 = never); time held "
        "back by --max-speed or `drayman limit` does not count",
    )
    run.add_argument(
        "--min-speed-time",
        type=_positive_float,
        default=60.0,
        metavar="SECONDS",
        help="the period --min-speed is averaged over (default 60)",
    )
    _add_proxy_flags(
        run,
        "download",
        "ignore the proxy variables (http_proxy, HTTPS_PROXY, ALL_PROXY, NO_PROXY); "
        "by default they are honoured as curl does",
    )
    run.add_argument(
        "--on-idle",
        type=_idle_action,
        default=None,
        metavar="ACTION",
        help="when every queued job has ended: nothing (default), notify, open (the "
        "folder), sleep, shutdown (both after 60 s that Ctrl-C cancels), or command:CMD "
        "(the finished files' paths in $DRAYMAN_FILES and on stdin, one per line)",
    )
    run.add_argument(
        "--ca-file",
        action="append",
        default=[],
        metavar="PEM",
        help="also trust the certificate authorities in this PEM file (repeatable), "
        "e.g. a company or home-server CA",
    )
    rpc = run.add_argument_group(
        "aria2 JSON-RPC",
        "serve aria2's RPC, so browser extensions, AriaNg and aria2 scripts add and "
        "control downloads (see the README)",
    )
    rpc.add_argument(
        "--rpc-listen-port",
        type=_port,
        default=None,
        metavar="PORT",
        help="serve it on this port (aria2's is 6800; 0 = any free port, printed)",
    )
    rpc.add_argument(
        "--rpc-secret",
        default=None,
        metavar="S",
        help="the secret clients must send (default: one made on first use and kept in "
        "your config folder, printed when made)",
    )
    rpc.add_argument(
        "--rpc-listen-all",
        action="store_true",
        help="listen on every network interface, not only 127.0.0.1",
    )
    rpc.add_argument(
        "--rpc-allow-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="a web page origin that may use the RPC, e.g. https://ariang.example "
        "(repeatable; browser extensions always may)",
    )
    rpc.add_argument(
        "--rpc-allow-dir",
        action="append",
        default=[],
        metavar="DIR",
        help="a folder clients may download to with their 'dir' option, besides your "
        "Downloads folder and the folders of rules (repeatable)",
    )

    limit = sub.add_parser(
        "limit",
        help="show or set speed limits, live",
        description="Set the total speed limit, or one job's (0 = no limit). A running "
        "engine applies it within about a second. Without RATE, show the total limit.",
    )
    limit.add_argument(
        "rate",
        nargs="?",
        type=_rate,
        metavar="RATE",
        help="bytes/s with optional k, M, G (1024-based)",
    )
    limit.add_argument(
        "--job",
        type=_job_id,
        action="append",
        default=[],
        metavar="ID",
        help="limit this job instead (repeatable)",
    )

    rules = sub.add_parser(
        "rules",
        help="per-host headers, folder, template and connection limit",
        description="Rules apply to every job whose host matches PATTERN "
        "(host.example.com, or *.example.com for its subdomains). Their headers are sent "
        "only to matching hosts, never after a redirect elsewhere.",
    )
    rules_sub = _actions(rules, "rules_command")
    rule_add = rules_sub.add_parser("add", help="add or replace the rule for PATTERN")
    rule_add.add_argument("pattern", metavar="PATTERN")
    rule_add.add_argument("-H", "--header", action="append", default=[], metavar='"Name: value"')
    rule_add.add_argument("-d", "--dir", metavar="DIR", help="folder for jobs added without -d")
    rule_add.add_argument("--template", metavar="TPL", help="template for jobs added without one")
    rule_add.add_argument(
        "--max-connections",
        type=_positive_int,
        metavar="N",
        help="downloads at once from matching hosts",
    )
    rule_add.add_argument(
        "--insecure",
        action="store_true",
        help="do not check the TLS certificates of matching hosts",
    )
    _add_proxy_flags(
        rule_add,
        "reach matching hosts",
        "reach matching hosts without a proxy, whatever `run` or the environment say",
    )
    rule_add.add_argument(
        "--max-filesize",
        type=_size,
        metavar="SIZE",
        help="files from matching hosts larger than SIZE fail (bytes, or k, M, G)",
    )
    rule_ls = rules_sub.add_parser("ls", help="list rules (header values hidden)")
    rule_ls.add_argument("--json", action="store_true")
    rule_rm = rules_sub.add_parser("rm", help="remove a rule")
    rule_rm.add_argument("rule", metavar="ID|PATTERN")

    categories = sub.add_parser(
        "categories",
        help="folders by file type (Video/, Archives/, ...) for jobs added without -d",
        description="A job added without -d, --template or a rule's folder goes to its "
        "category's subfolder of the download folder once the server tells its name: by "
        "extension, else by Content-Type, else Other.",
    )
    cat_sub = _actions(categories, "categories_command")
    cat_ls = cat_sub.add_parser("ls", help="the categories, and whether sorting is on")
    cat_ls.add_argument("--json", action="store_true")
    cat_set = cat_sub.add_parser("set", help="change a category (or add one before Other)")
    cat_set.add_argument("name", metavar="NAME")
    cat_set.add_argument(
        "--folder", metavar="DIR", help='its subfolder of the download folder ("" for none)'
    )
    cat_set.add_argument("--ext", metavar="LIST", help='its extensions: "mp4,mkv" (replaces)')
    cat_set.add_argument("--type", metavar="LIST", help='its Content-Types: "video/*" (replaces)')
    cat_rm = cat_sub.add_parser("rm", help="remove a category (not Other)")
    cat_rm.add_argument("name", metavar="NAME")
    cat_sub.add_parser("on", help="sort jobs added without -d by file type (the default)")
    cat_sub.add_parser("off", help="leave every file in the download folder itself")
    cat_sub.add_parser("reset", help="the default categories again")

    schedule = sub.add_parser(
        "schedule",
        help="weekly hours that pause downloads or limit their speed",
        description="A band pauses the queue (running jobs are checkpointed and resume "
        "when it ends) or limits its total speed, on the given days and local hours; an "
        "end at or before the start is the next day. A running engine applies a change "
        "within about a second.",
    )
    schedule_sub = _actions(schedule, "schedule_command")
    schedule_add = schedule_sub.add_parser("add", help="add a band")
    schedule_add.add_argument(
        "band",
        metavar="'DAYS HH:MM-HH:MM'",
        help="e.g. 'mon-fri 09:00-18:00', 'daily 22:00-07:00', 'sat,sun 00:00-24:00' "
        "(days: daily, weekdays, weekends, mon..sun, ranges and lists)",
    )
    action = schedule_add.add_mutually_exclusive_group(required=True)
    action.add_argument("--pause", action="store_true", help="nothing downloads in the band")
    action.add_argument(
        "--limit",
        type=_rate,
        metavar="RATE",
        help="the total speed in the band (bytes/s with optional k, M, G)",
    )
    schedule_ls = schedule_sub.add_parser("ls", help="list the bands")
    schedule_ls.add_argument("--json", action="store_true")
    schedule_rm = schedule_sub.add_parser("rm", help="remove a band")
    schedule_rm.add_argument("schedule_id", type=_job_id, metavar="ID")

    sub.add_parser(
        "check",
        help="check the database; if it is damaged, say how to recover",
        description="Check the database file (SQLite's integrity check and drayman's "
        "schema) without changing it. Prints ok (exit 0), or what is wrong and how to "
        "recover (exit 3).",
    )

    resolve = sub.add_parser(
        "resolve",
        help="list what video, playlist, channel or feed pages hold (adds nothing)",
        description="Resolve pages with yt-dlp (the `pages` extra: pip install "
        '"drayman[pages]") into the files drayman would download: one entry per item. '
        "Adds nothing; `add --resolve` adds them.",
    )
    resolve.add_argument("urls", nargs="+", metavar="URL", help="page URLs")
    resolve.add_argument("--json", action="store_true", help="machine-readable output")
    resolve.add_argument(
        "--format",
        metavar="SEL",
        help="yt-dlp format selector (default: the best single file a plain download "
        "can fetch: video with its audio, else audio only)",
    )
    _add_proxy_flags(
        resolve,
        "read the pages",
        "read the pages without a proxy, whatever the environment says",
    )

    gui = sub.add_parser(
        "gui",
        help="open the window (or bring the open one to the front)",
        description="Open the window. If it is already open on this database, bring it "
        "to the front instead, handing it any URLs given here.",
    )
    gui.add_argument("urls", nargs="*", metavar="URL", help="links to add, as a paste would")

    browser = sub.add_parser(
        "browser",
        help="set up the browsers for drayman's extension",
        description="Write (install) or remove (uninstall) the native-messaging host manifest "
        "with which drayman's browser extension starts drayman and learns its RPC port and "
        "secret. Then load the extension (the browser/ folder) in the browser.",
    )
    browser_sub = _actions(browser, "browser_command")
    browser_install = browser_sub.add_parser(
        "install", help="write the host manifest for every browser, or for --browser"
    )
    browser_install.add_argument(
        "--browser",
        choices=["chromium", "chrome", "firefox", "edge"],
        help="only this browser (default: all four)",
    )
    browser_sub.add_parser("uninstall", help="remove the host manifests drayman wrote")

    native = sub.add_parser(
        "native-host",
        help="the program the browser starts for drayman's extension (not for you to run)",
        description="Speaks the browsers' native-messaging protocol on stdin and stdout. "
        "The browser passes the calling extension; any other caller gets no answer.",
    )
    native.add_argument("caller", nargs=argparse.REMAINDER, help="what the browser passes")

    # `drayman ls --db x` means what `drayman --db x ls` does: --db (and -v)
    # are taken after the command too (SUPPRESS: absent there, the first one stands)
    for command in sub.choices.values():
        command.add_argument(
            "--db", metavar="PATH", default=argparse.SUPPRESS, help=argparse.SUPPRESS
        )
        command.add_argument(
            "-v",
            "--verbose",
            action="store_true",
            default=argparse.SUPPRESS,
            help=argparse.SUPPRESS,
        )
    return parser


# -- commands ----------------------------------------------------------------------


def _read_input(source: str) -> str:
    try:
        if source == "-":
            return sys.stdin.read()
        return Path(source).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"cannot read {source}: {getattr(exc, 'strerror', None) or exc}") from exc


async def cmd_add(args: argparse.Namespace, out: TextIO) -> int:
    import dataclasses

    from drayman.quietimports import freeze_start_up, without_collection

    with without_collection():  # the job table and the list parsers (drayman.quietimports)
        from drayman.batch import BadEntry, Entry, parse_import
        from drayman.cookies import read_cookies_file
        from drayman.inputs import validate_name, validate_sha256
        from drayman.queue.jobqueue import JobQueue
    freeze_start_up()

    if args.resolve:
        return await _add_resolved(args, out)
    if args.format is not None and args.format not in LIST_FORMATS:
        raise BadInput(
            f"--format {args.format!r}: a list is txt, json, jsonl or csv "
            "(a yt-dlp format selector goes with --resolve)"
        )
    entries: list[Entry] = []
    bad: list[BadEntry] = []
    for number, url in enumerate(args.urls, start=1):
        try:
            entries.append(Entry(url=validate_url(url), where=f"argument {number}"))
        except InvalidURL as exc:
            bad.append(BadEntry(f"argument {number}", str(exc)))
    if args.input:
        result = parse_import(_read_input(args.input), source=args.input, fmt=args.format)
        entries += result.entries
        bad += result.bad
    if bad and not args.skip_invalid:
        more = (
            f" (and {len(bad) - 1} more; --skip-invalid adds the good ones)" if len(bad) > 1 else ""
        )
        raise BadInput(f"{bad[0]}{more}")
    for entry in bad:
        print(f"drayman: skipped {entry}", file=sys.stderr)
    if not entries:
        raise BadInput("no URL given (pass URLs, or -i FILE)")
    if args.output is not None or args.sha256 is not None:
        if len(entries) > 1:
            raise BadInput("-o and --sha256 apply to a single URL only")
        entries[0] = dataclasses.replace(
            entries[0],
            name=validate_name(args.output) if args.output is not None else entries[0].name,
            sha256=validate_sha256(args.sha256) if args.sha256 is not None else entries[0].sha256,
        )
    cookies = read_cookies_file(args.cookies) if args.cookies is not None else []
    db = resolve_db(args.db)
    queue = await JobQueue.open(db)
    try:
        again = await queue.urls_in_queue(entry.url for entry in entries)
        ids = await queue.add_entries(
            entries,
            dest_dir=args.dir,
            headers=args.header,
            template=args.template,
            insecure=args.insecure,
            cookies=cookies,
            proxy=_proxy_choice(args),
            max_filesize=args.max_filesize,
            ignore_schedule=args.ignore_schedule,
        )
        first = await queue.get(ids[0]) if ids else None
    finally:
        await queue.close()
    out.write("".join(f"{job_id}\n" for job_id in ids))
    out.flush()
    # stdout stays the ids (scripts read them); the word for a person goes to stderr
    for url in sorted(again):
        print(f"drayman: note: already in the list, added again: {url}", file=sys.stderr)
    if first is not None:
        _say_where_added(db, len(ids), first.chosen_dir)
    return EXIT_OK


def _proxy_choice(args: argparse.Namespace) -> str | None:
    """A job's or a rule's proxy from ``--proxy URL | --no-proxy``; None: neither given."""
    from drayman.proxies import DIRECT

    return DIRECT if args.no_proxy else args.proxy


def _pages_by_proxy(
    urls: Sequence[str], job_proxy: str | None, rules: Sequence[Rule]
) -> list[tuple[str, list[str]]]:
    """``urls`` in order, in runs that go through the same proxy ("" straight), as a
    download of each would go: the job's proxy, a host rule's, the proxy variables."""
    from drayman.proxies import ProxyEnvironment, ProxySettings, proxy_for_url

    environment = ProxyEnvironment.from_environ(os.environ)
    runs: list[tuple[str, list[str]]] = []
    for url in urls:
        proxy = proxy_for_url(
            url, job_proxy=job_proxy, rules=rules, settings=ProxySettings(), environment=environment
        )
        chosen = proxy or ""
        if runs and runs[-1][0] == chosen:
            runs[-1][1].append(url)
        else:
            runs.append((chosen, [url]))
    return runs


async def _resolve_pages(args: argparse.Namespace, rules: Sequence[Rule]) -> Resolved:
    """``args.urls`` resolved, each page read the way a download from its host
    would go: --proxy, a host rule's proxy, the proxy variables (or straight)."""
    from drayman.pages import Resolved
    from drayman.resolver import resolve

    resolved = Resolved()
    for proxy, pages in _pages_by_proxy(args.urls, _proxy_choice(args), rules):
        part = await resolve(pages, format=args.format, proxy=proxy)
        resolved.entries += part.entries
        resolved.problems += part.problems
        resolved.failed_pages += part.failed_pages
    return resolved


LIST_FORMATS = ("txt", "json", "jsonl", "csv")


async def _add_resolved(args: argparse.Namespace, out: TextIO) -> int:
    """``add --resolve PAGE...``: every page must give entries, or nothing is added."""
    from drayman.cookies import read_cookies_file
    from drayman.pages import entries_or_error
    from drayman.queue.jobqueue import JobQueue
    from drayman.templates import check_template

    if args.input is not None:
        raise BadInput("--resolve takes page URLs as arguments, not -i")
    if args.output is not None or args.sha256 is not None:
        raise BadInput("-o and --sha256 apply to a single file, not to pages (use --template)")
    if not args.urls:
        raise BadInput("no page URL given")
    if args.template is not None:
        check_template(args.template)  # before any page is fetched
    cookies = read_cookies_file(args.cookies) if args.cookies is not None else []
    queue = await JobQueue.open(resolve_db(args.db))
    try:
        resolved = await _resolve_pages(args, await queue.rules())
        entries = entries_or_error(resolved)
        for problem in resolved.problems:
            print(f"drayman: skipped {problem}", file=sys.stderr)
        ids = await queue.add_entries(
            [entry.to_entry(f"{entry.page_url} item {entry.index}") for entry in entries],
            dest_dir=args.dir,
            headers=args.header,
            template=args.template,
            insecure=args.insecure,
            cookies=cookies,
            proxy=_proxy_choice(args),
            max_filesize=args.max_filesize,
        )
    finally:
        await queue.close()
    out.write("".join(f"{job_id}\n" for job_id in ids))
    return EXIT_OK


def _engine_runs(db: Path) -> bool:
    """Whether an engine (``drayman run``, a window) holds the database now."""
    from drayman.queue.lock import lock_path_for, read_holder

    # no lock file: no engine ever ran here (and reading would create one)
    return os.path.exists(lock_path_for(db)) and read_holder(db) is not None


def _say_where_added(db: Path, count: int, folder: str) -> None:
    what = "1 download" if count == 1 else f"{count} downloads"
    if not _engine_runs(db):
        then = "start downloading with `drayman run` (or `drayman gui`)"
    else:
        then = "the running engine starts them" if count > 1 else "the running engine starts it"
    print(f"drayman: queued {what} into {folder}; {then}", file=sys.stderr)


#: ``ls``'s columns: (title, right-aligned, widest shown before it is cut)
LS_COLUMNS = (
    ("ID", True, 12),
    ("STATE", False, 12),
    ("DONE", True, 7),
    ("SIZE", True, 11),
    ("NAME", False, 48),
    ("FOLDER", False, -40),
    ("NOTE", False, 0),
)


def plain_table(
    columns: Sequence[tuple[str, bool, int]], rows: Sequence[Sequence[str]], width: int | None
) -> list[str]:
    """Aligned text columns, one line per row, in time linear in the rows
    (a rich table took seconds for 10,000 jobs). On a terminal (``width``), a
    cell wider than its column's cap is cut with "…" (a negative cap keeps the
    end) and the line is cut at the terminal's width; piped, nothing is cut
    (scripts should read ``ls --json``)."""

    def cut(text: str, cap: int) -> str:
        text = " ".join(text.split())
        if width is None or cap == 0 or len(text) <= abs(cap):
            return text
        # a negative cap keeps the end: a folder's last parts say the most
        return "…" + text[cap + 1 :] if cap < 0 else text[: cap - 1] + "…"

    caps = [cap for _, _, cap in columns]
    cells = [[cut(cell, cap) for cell, cap in zip(row, caps, strict=True)] for row in rows]
    titles = [title for title, _, _ in columns]
    widths = [max([len(title)] + [len(row[i]) for row in cells]) for i, title in enumerate(titles)]
    lines = []
    for row in [titles, *cells]:
        parts = [
            cell.rjust(widths[i]) if right else cell.ljust(widths[i])
            for i, (cell, (_, right, _)) in enumerate(zip(row, columns, strict=True))
        ]
        parts[-1] = row[-1]  # the last column is not padded
        line = "  ".join(parts).rstrip()
        if width is not None and len(line) > width:
            line = line[: max(width - 1, 1)] + "…"
        lines.append(line)
    return lines


def _home() -> str:
    return os.path.expanduser("~")


def _short_folder(folder: str, home: str) -> str:
    """``~/Downloads`` for a folder under the home folder; others as they are."""
    if home not in ("", "/", "~") and (folder == home or folder.startswith(home + os.sep)):
        return "~" + folder[len(home) :]
    return folder


def _progress_text(job: Job) -> str:
    if job.bytes_total:
        return f"{100 * job.bytes_done / job.bytes_total:5.1f}%"
    return "  done" if job.state == JobState.DONE else "     -"


async def _write_json_array(batches: AsyncIterator[list[Job]], out: TextIO) -> None:
    """One JSON array, written a batch of rows at a time (100,000 jobs in little memory).

    The bytes are those of ``json.dumps(list)``: ``[``, items joined by ``, ``,
    ``]``. Each item goes through ``dumps``, the C encoder (``dump`` streams
    through the pure-Python one, 10x slower).
    """
    separator = "["
    async for jobs in batches:
        if jobs:
            out.write(separator)
            out.write(", ".join(json.dumps(j.to_public_dict(), ensure_ascii=False) for j in jobs))
            separator = ", "
    out.write("[]\n" if separator == "[" else "]\n")


async def cmd_ls(args: argparse.Namespace, out: TextIO) -> int:
    from drayman.queue.jobqueue import JobQueue

    state = JobState(args.state) if args.state else None
    queue = await JobQueue.open(resolve_db(args.db))
    try:
        if args.json:
            await _write_json_array(queue.job_batches(state), out)
            return EXIT_OK
        jobs = await queue.jobs(state)
    finally:
        await queue.close()
    if not jobs:
        out.write("no jobs" + (f" in state {args.state}" if args.state else "") + "\n")
        return EXIT_OK
    home = _home()
    now = time.time()
    # "running" with no engine holding the database: one was killed (kill -9, a crash)
    orphaned = any(job.state == JobState.RUNNING for job in jobs) and not _engine_runs(
        resolve_db(args.db)
    )
    rows = []
    for job in jobs:
        note = job.error or ""
        if job.state == JobState.QUEUED and job.next_attempt_at and job.next_attempt_at > now:
            note = f"retry in {job.next_attempt_at - now:.0f} s: {note}"
        shown = job.state.value
        if orphaned and job.state == JobState.RUNNING:
            then = "resumes it"
            if job.bytes_done and if_range_validator(job.etag, job.last_modified) is None:
                then = "starts it again from 0 (the server names no version of the file)"
            shown, note = "interrupted", f"no engine runs it; the next `drayman run` {then}"
        rows.append(
            (
                str(job.id),
                shown,
                _progress_text(job),
                human_size(job.bytes_total),
                job.display_name,
                _short_folder(job.dest_dir, home),
                note,
            )
        )
    width = shutil.get_terminal_size().columns if out.isatty() else None
    out.writelines(line + "\n" for line in plain_table(LS_COLUMNS, rows, width))
    return EXIT_OK


async def cmd_change(args: argparse.Namespace, out: TextIO) -> int:
    from drayman.queue.jobqueue import JobQueue

    if args.ids and args.every:
        raise BadInput("give job ids or the all-jobs flag, not both")
    if not args.ids and not args.every:
        flag = "--failed" if args.command == "retry" else "--all"
        raise BadInput(f"give job ids, or {flag}")
    queue = await JobQueue.open(resolve_db(args.db))
    try:
        if args.every:
            action: Callable[[], Coroutine[Any, Any, list[int]]] = {
                "pause": queue.pause_all,
                "resume": queue.resume_all,
                "retry": queue.retry_failed,
            }[args.command]
            changed = await action()
        else:
            changed = await {"pause": queue.pause, "resume": queue.resume, "retry": queue.retry}[
                args.command
            ](args.ids)
    finally:
        await queue.close()
    verb = {"pause": "paused", "resume": "resumed", "retry": "queued again"}[args.command]
    if changed:
        out.write(f"{verb}: {id_ranges(changed)}\n")
    else:
        out.write("nothing to change\n")
    return EXIT_OK


def id_ranges(ids: Sequence[int]) -> str:
    """``1 2 3 5 7 8`` -> ``1-3 5 7-8``: a thousand ids in a few characters."""
    ordered = sorted(set(ids))
    parts, start = [], None
    for i, current in enumerate(ordered):
        if start is None:
            start = current
        if i + 1 == len(ordered) or ordered[i + 1] != current + 1:
            parts.append(str(start) if start == current else f"{start}-{current}")
            start = None
    return " ".join(parts)


async def cmd_rm(args: argparse.Namespace, out: TextIO) -> int:
    from drayman.queue.jobqueue import JobQueue

    queue = await JobQueue.open(resolve_db(args.db))
    try:
        removed = await queue.remove(args.ids, delete_files=args.delete_files)
    finally:
        await queue.close()
    out.write(f"removed: {id_ranges([job.id for job in removed])}\n")
    return EXIT_OK


async def cmd_run(args: argparse.Namespace, out: TextIO) -> int:
    from drayman.queue.systemtrust import loads_later
    from drayman.quietimports import freeze_start_up, without_collection

    # aiohttp and the engine, most of a start: without the collector
    # (drayman.quietimports), and with the certificate authorities loaded on a
    # thread meanwhile (drayman.queue.systemtrust)
    with without_collection(), loads_later():
        from drayman.clock import wall_clock
        from drayman.display import make_display
        from drayman.queue.engine import Engine, EngineConfig
        from drayman.queue.retry import RetryPolicy
    freeze_start_up()

    config = EngineConfig(
        concurrency=args.jobs,
        per_host=args.per_host or args.jobs,
        max_speed=args.max_speed or 0,
        retry=RetryPolicy(max_attempts=args.max_attempts),
        transfer=TransferConfig(
            read_timeout=args.read_timeout,
            checkpoint_seconds=args.checkpoint_every,
            min_speed=args.min_speed,
            min_speed_time=args.min_speed_time,
            ca_files=tuple(args.ca_file),
            split=args.split,
            proxy=args.proxy,
            proxy_from_environment=not args.no_proxy,
            max_filesize=args.max_filesize,
        ),
    )
    engine = Engine(resolve_db(args.db), config, clock=wall_clock())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    installed = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, stop.set)
            installed.append(signum)
        except (NotImplementedError, RuntimeError):  # Windows: KeyboardInterrupt instead
            pass
    await engine.start()
    rpc = None
    try:
        if args.max_speed is not None:
            # stored, like `drayman limit`: later commands can change it live
            await engine.queue.set_speed_limit(args.max_speed)
        if args.rpc_listen_port is not None:
            rpc = await _start_rpc(args, engine, stop.set)
    except BaseException:
        await engine.stop()
        raise
    display = make_display(engine, out)
    outcome = RunOutcome()
    unsubscribe = engine.subscribe(outcome.update)
    engine.subscribe(_ScheduleNotice(engine))
    on_idle = await _OnIdle.start(engine, args.on_idle, stop)
    interrupted = False
    try:
        waiters: list[asyncio.Task[Any]] = [asyncio.create_task(stop.wait())]
        if args.until_idle:
            waiters.append(asyncio.create_task(engine.wait_idle()))
        elif on_idle is not None:
            on_idle.watch_forever()
        _, pending = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        interrupted = stop.is_set()
        if on_idle is not None and args.until_idle and not interrupted:
            await on_idle.check()
    finally:
        if on_idle is not None:
            on_idle.close()
        display.close_soon()
        if rpc is not None:
            await rpc.stop()
        await engine.stop()
        display.close()
        unsubscribe()
        for signum in installed:
            loop.remove_signal_handler(signum)
    if interrupted:
        lost = outcome.not_resumable()
        for name in lost:
            print(
                f"{name}: the server cannot resume; the next `drayman run` starts it again from 0",
                file=sys.stderr,
            )
        if lost and len(lost) == len(outcome.running):
            print("stopped", file=sys.stderr)  # nothing it could promise
        else:
            print("stopped; progress is saved, `drayman run` resumes", file=sys.stderr)
        return EXIT_INTERRUPTED if args.until_idle else EXIT_OK
    if args.until_idle:
        await _say_why_idle(resolve_db(args.db))
    failed = await _still_failed(resolve_db(args.db), engine.failed_here)
    if failed:
        print(f"{failed} job(s) failed; `drayman ls --state failed` shows why", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


async def _start_rpc(args: argparse.Namespace, engine: Any, shutdown: Callable[[], None]) -> Any:
    """Serve aria2's JSON-RPC on the engine's loop; say where, and the secret if just made."""
    from drayman.rpc.config import RpcConfig
    from drayman.rpc.secret import load_or_create_secret, secret_path
    from drayman.rpc.server import RpcServer

    secret, made = args.rpc_secret, False
    if secret is not None and not secret.strip():
        raise BadInput("--rpc-secret: the secret cannot be empty")
    if secret is None:
        secret, made = await asyncio.to_thread(load_or_create_secret)
    config = RpcConfig(
        port=args.rpc_listen_port,
        secret=secret,
        listen_all=args.rpc_listen_all,
        allowed_origins=tuple(args.rpc_allow_origin),
        allowed_dirs=tuple(args.rpc_allow_dir),
    )
    server = RpcServer(engine, config, on_shutdown=shutdown)
    await server.start()
    host = "0.0.0.0" if args.rpc_listen_all else "127.0.0.1"
    where = f"http://{host}:{server.port}/jsonrpc (and ws://), its web page at /"
    if made:
        # printed this once; it stays in the file for the next runs
        print(
            f"drayman: aria2 RPC at {where}; a secret was made for it and kept in "
            f"{secret_path()}: {secret}",
            file=sys.stderr,
        )
    elif args.rpc_secret is None:
        print(f"drayman: aria2 RPC at {where}; its secret is in {secret_path()}", file=sys.stderr)
    else:
        print(f"drayman: aria2 RPC at {where}", file=sys.stderr)
    return server


class _OnIdle:
    """``run --on-idle ACTION``: do it once each time the queue is done."""

    def __init__(self, action: Any, watch: Any, stop: asyncio.Event) -> None:
        self._action = action
        self._watch = watch
        self._stop = stop
        self._task: asyncio.Task[None] | None = None

    @classmethod
    async def start(cls, engine: Any, action: Any, stop: asyncio.Event) -> _OnIdle | None:
        from drayman.onidle import NOTHING
        from drayman.queue.idlewatch import IdleWatch

        if action is None or action.kind == NOTHING:
            return None
        watch = IdleWatch(engine.queue)
        await watch.arm()

        def started(snapshot: Any) -> None:
            if any(change.state == JobState.RUNNING for change in snapshot.changes):
                watch.note_work()

        engine.subscribe(started)
        return cls(action, watch, stop)

    def watch_forever(self) -> None:
        self._task = asyncio.create_task(self._watch_loop(), name="drayman-on-idle")

    async def _watch_loop(self) -> None:
        while True:
            await asyncio.sleep(0.5)
            await self.check()

    async def check(self) -> None:
        import subprocess

        from drayman.onidle import countdown_seconds, perform

        done = await self._watch.check()
        if done is None:
            return
        action = self._action
        if action.needs_countdown:
            seconds = countdown_seconds()
            print(
                f"drayman: the queue is done; {action.describe()} in {seconds:.0f} s "
                "(Ctrl-C cancels)",
                file=sys.stderr,
            )
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(seconds):
                    await self._stop.wait()
            if self._stop.is_set():
                print(f"drayman: cancelled; not {action.describe()}", file=sys.stderr)
                return
        try:
            line = await asyncio.to_thread(perform, action, done.files, done.failed, None)
        except (OSError, subprocess.SubprocessError) as exc:
            print(f"drayman: --on-idle {action.text} failed: {exc}", file=sys.stderr)
        else:
            print(f"drayman: {line}", file=sys.stderr)

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()


class _ScheduleNotice:
    """Says once on stderr that a pause band holds the queue (and not idle: waiting)."""

    def __init__(self, engine: Any) -> None:
        self._engine = engine
        self._told = False

    def __call__(self, snapshot: object) -> None:
        state = self._engine.schedule
        if state.paused and not self._told:
            self._told = True
            until = state.until_text(self._engine.timezone, self._engine.schedule_checked_at)
            print(
                f"drayman: the schedule pauses downloads until {until}; waiting "
                "(jobs added with --ignore-schedule go on)",
                file=sys.stderr,
            )
        elif not state.paused:
            self._told = False


async def _still_failed(db: Path, ids: set[int]) -> int:
    """How many of the jobs this run failed are failed still (not retried or removed since)."""
    if not ids:
        return 0
    from drayman.queue.jobqueue import JobQueue

    queue = await JobQueue.open(db)
    try:
        return sum(job.id in ids for job in await queue.jobs(JobState.FAILED))
    finally:
        await queue.close()


async def _say_why_idle(db: Path) -> None:
    """Idle with paused jobs left is not "all done": say so."""
    from drayman.queue.jobqueue import JobQueue

    queue = await JobQueue.open(db)
    try:
        paused = (await queue.counts())[JobState.PAUSED]
    finally:
        await queue.close()
    if paused:
        print(
            f"idle: {paused} job(s) paused; `drayman resume --all` continues them",
            file=sys.stderr,
        )


class RunOutcome:
    """What one ``drayman run`` did: each job's last state, and what runs now."""

    def __init__(self) -> None:
        self.last: dict[int, JobState] = {}
        self.running: dict[int, JobProgress] = {}

    def update(self, snapshot: EngineSnapshot) -> None:
        for change in snapshot.changes:
            if change.removed:
                self.last.pop(change.job_id, None)
            else:
                self.last[change.job_id] = change.state
            if change.state != JobState.RUNNING or change.removed:
                self.running.pop(change.job_id, None)
        for progress in snapshot.active:
            self.running[progress.job_id] = progress

    def not_resumable(self) -> list[str]:
        """The names of jobs stopped now whose server has shown it cannot resume."""
        return [p.name or f"job {p.job_id}" for p in self.running.values() if not p.resumable]


async def cmd_limit(args: argparse.Namespace, out: TextIO) -> int:
    from drayman.queue.jobqueue import JobQueue

    if args.job and args.rate is None:
        raise BadInput("give a RATE for --job (0 removes the job's limit)")
    queue = await JobQueue.open(resolve_db(args.db))
    try:
        if args.job:
            await queue.set_job_speed_limit(args.job, args.rate)
        elif args.rate is not None:
            await queue.set_speed_limit(args.rate)
        else:
            rate = await queue.speed_limit()
            out.write("no limit\n" if not rate else f"{human_size(rate)}/s\n")
    finally:
        await queue.close()
    return EXIT_OK


async def cmd_rules(args: argparse.Namespace, out: TextIO) -> int:
    from drayman.queue.jobqueue import JobQueue
    from drayman.urls import redact_password

    queue = await JobQueue.open(resolve_db(args.db))
    try:
        if args.rules_command == "add":
            rule_id = await queue.add_rule(
                args.pattern,
                headers=args.header,
                dest_dir=args.dir,
                template=args.template,
                max_connections=args.max_connections,
                insecure=args.insecure,
                proxy=_proxy_choice(args),
                max_filesize=args.max_filesize,
            )
            out.write(f"{rule_id}\n")
        elif args.rules_command == "rm":
            await queue.remove_rule(args.rule)
        else:
            found = await queue.rules()
            public: list[dict[str, Any]] = [
                {
                    "id": r.id,
                    "pattern": r.pattern,
                    # every value hidden, as the help says: a rule's headers are
                    # often credentials under names no list can foresee (X-Test: ...)
                    "headers": [f"{n}: <redacted>" for n, _ in r.headers],
                    "dest_dir": r.dest_dir,
                    "template": r.template,
                    "max_connections": r.max_connections,
                    "insecure": r.insecure,
                    "proxy": None if r.proxy is None else redact_password(r.proxy),
                    "max_filesize": r.max_filesize,
                }
                for r in found
            ]
            if args.json:
                out.write(json.dumps(public, ensure_ascii=False) + "\n")
            elif not public:
                out.write("no rules\n")
            for rule in [] if args.json else public:
                details = [f"header {h}" for h in rule["headers"]]
                for key in ("dest_dir", "template", "max_connections", "proxy", "max_filesize"):
                    if rule[key] is not None:
                        details.append(f"{key}={rule[key]}")
                if rule["insecure"]:
                    details.append("insecure (certificates not checked)")
                out.write(f"{rule['id']:>3} {rule['pattern']}  {'; '.join(details)}\n")
    finally:
        await queue.close()
    return EXIT_OK


async def cmd_resolve(args: argparse.Namespace, out: TextIO) -> int:
    from drayman.pages import entries_or_error

    rules: list[Rule] = []
    db = resolve_db(args.db)
    if db.exists():  # a listing creates no database; without one there are no host rules
        from drayman.queue.jobqueue import JobQueue

        queue = await JobQueue.open(db)
        try:
            rules = await queue.rules()
        finally:
            await queue.close()
    resolved = await _resolve_pages(args, rules)
    entries = entries_or_error(resolved)
    for problem in resolved.problems:
        print(f"drayman: skipped {problem}", file=sys.stderr)
    if args.json:
        out.write(json.dumps([e.to_public_dict() for e in entries], ensure_ascii=False) + "\n")
        return EXIT_OK
    from rich.console import Console
    from rich.table import Table

    from drayman.units import human_duration
    from drayman.urls import redact_url

    table = Table(box=None, pad_edge=False, header_style="bold")
    for column, justify in (
        ("#", "right"),
        ("TITLE", "left"),
        ("AUTHOR", "left"),
        ("LENGTH", "right"),
        ("SIZE", "right"),
        ("URL", "left"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for entry in entries:
        table.add_row(
            str(entry.index),
            entry.title or "",
            entry.author or "",
            human_duration(entry.duration),
            human_size(entry.filesize),
            redact_url(entry.url),
        )
    Console(file=out, soft_wrap=not out.isatty()).print(table)
    return EXIT_OK


async def cmd_categories(args: argparse.Namespace, out: TextIO) -> int:
    import dataclasses

    from drayman import categories as cats
    from drayman.queue.jobqueue import JobQueue

    queue = await JobQueue.open(resolve_db(args.db))
    try:
        command = args.categories_command
        if command == "reset":
            await queue.set_categories(cats.Categories())
            return EXIT_OK
        current = await queue.categories()
        if command in ("on", "off"):
            await queue.set_categories(dataclasses.replace(current, enabled=command == "on"))
        elif command == "set":
            changed = cats.with_category(
                current,
                args.name,
                folder=args.folder,
                extensions=None if args.ext is None else cats.split_list(args.ext),
                content_types=None if args.type is None else cats.split_list(args.type),
            )
            await queue.set_categories(changed)
        elif command == "rm":
            await queue.set_categories(cats.without_category(current, args.name))
        elif args.json:
            public = {
                "enabled": current.enabled,
                "categories": [
                    {
                        "name": c.name,
                        "folder": c.folder,
                        "extensions": list(c.extensions),
                        "content_types": list(c.content_types),
                    }
                    for c in current.table
                ],
            }
            out.write(json.dumps(public, ensure_ascii=False) + "\n")
        else:
            state = "on" if current.enabled else "off"
            out.write(f"sorting by file type: {state} (jobs added without -d or --template)\n")
            for c in current.table:
                folder = (c.folder + "/") if c.folder else "(the download folder)"
                kinds = " ".join((*c.extensions, *c.content_types)) or "everything else"
                out.write(f"{c.name:<10} {folder:<12} {kinds}\n")
    finally:
        await queue.close()
    return EXIT_OK


async def cmd_schedule(args: argparse.Namespace, out: TextIO) -> int:
    from drayman.clock import wall_clock
    from drayman.queue.jobqueue import JobQueue
    from drayman.schedules import local_zone

    if args.schedule_command == "add" and args.limit is not None and args.limit <= 0:
        raise BadInput("--limit must be more than 0 (use --pause to stop downloads)")
    queue = await JobQueue.open(resolve_db(args.db))
    try:
        if args.schedule_command == "add":
            rate = None if args.pause else args.limit
            out.write(f"{await queue.add_schedule(args.band, rate=rate)}\n")
            return EXIT_OK
        if args.schedule_command == "rm":
            await queue.remove_schedule(args.schedule_id)
            return EXIT_OK
        bands = await queue.schedules()
    finally:
        await queue.close()
    zone, now = local_zone(), wall_clock()()
    public = [band.to_public_dict(zone, now) for band in bands]
    if args.json:
        out.write(json.dumps(public) + "\n")
    elif not public:
        out.write("no schedule\n")
    for band in [] if args.json else public:
        what = "pause" if band["limit"] is None else f"limit {human_size(band['limit'])}/s"
        now_text = "  (now)" if band["active"] else ""
        out.write(f"{band['id']:>3} {band['spec']}  {what}{now_text}\n")
    return EXIT_OK


async def cmd_check(args: argparse.Namespace, out: TextIO) -> int:
    from drayman.storage.check import check_database

    report = await check_database(resolve_db(args.db))
    out.write(report.text())
    return EXIT_OK if report.ok else EXIT_ENVIRONMENT


async def cmd_browser(args: argparse.Namespace, out: TextIO) -> int:
    from drayman.nativehost.install import BROWSERS, install, uninstall

    if args.browser_command == "install":
        browsers = [args.browser] if args.browser else list(BROWSERS)
        # the database in effect now is the one the browser's drayman uses
        db = args.db or os.environ.get("DRAYMAN_DB") or None
        done = await asyncio.to_thread(install, browsers, db)
        for placement in done:
            where = f" (registry: HKCU\\{placement.registry_key})" if placement.registry_key else ""
            out.write(f"{placement.browser}: {placement.manifest}{where}\n")
        out.write("now load the extension (the browser/ folder) in the browser; see the README\n")
    else:
        removed = await asyncio.to_thread(uninstall)
        for placement in removed:
            out.write(f"removed {placement.browser}: {placement.manifest}\n")
        if not removed:
            out.write("nothing to remove\n")
    return EXIT_OK


COMMANDS: dict[str, Callable[[argparse.Namespace, TextIO], Coroutine[Any, Any, int]]] = {
    "add": cmd_add,
    "ls": cmd_ls,
    "pause": cmd_change,
    "resume": cmd_change,
    "retry": cmd_change,
    "rm": cmd_rm,
    "run": cmd_run,
    "rules": cmd_rules,
    "categories": cmd_categories,
    "limit": cmd_limit,
    "schedule": cmd_schedule,
    "check": cmd_check,
    "resolve": cmd_resolve,
    "browser": cmd_browser,
}


def gui_main(argv: Sequence[str] | None = None) -> int:
    """``drayman-gui [--db PATH]``: the window."""
    parser = _Parser(prog="drayman-gui", description="The drayman window.")
    parser.add_argument("--db", metavar="PATH", help="the job database (as for drayman)")
    parser.add_argument("urls", nargs="*", metavar="URL", help="links to add, as a paste would")
    args = parser.parse_args(argv)
    return _open_window(args.db, args.urls)


def _open_window(db: str | None, urls: Sequence[str] = ()) -> int:
    from drayman.queue.systemtrust import loads_later
    from drayman.quietimports import freeze_start_up, without_collection

    try:
        # Qt's modules and the engine (drayman.quietimports, drayman.queue.systemtrust)
        with without_collection(), loads_later():
            from drayman.ui.app import main as window_main
        freeze_start_up()
    except ImportError as exc:
        missing = exc.name or getattr(exc.__cause__, "name", None) or "PySide6"
        if missing.startswith("drayman"):
            raise  # a fault of drayman's own, not a missing extra
        # bad input, in effect: the window was asked of an install without it
        print(
            f"drayman: error: the window needs the gui extra ({missing} is not installed); "
            'install it with: pip install "drayman[gui]"',
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    return window_main(resolve_db(db), urls)


def _utf8_when_piped() -> None:
    """Piped output is UTF-8 whatever the locale says.

    On Windows a pipe gets the ANSI code page, and a name outside it (a
    Chinese title, an emoji) would crash ``ls --json`` half way through its
    array. A console is left alone: Python writes to it in Unicode already.
    """
    for stream in (sys.stdout, sys.stderr):
        if (
            isinstance(stream, io.TextIOWrapper)
            and not stream.isatty()
            and stream.encoding.replace("-", "").lower() != "utf8"
        ):
            stream.reconfigure(encoding="utf-8", errors="backslashreplace")


def _command_hint(argv: Sequence[str]) -> str | None:
    """What a newcomer meant by bare ``drayman`` or ``drayman URL``, as a one-line error."""
    words = list(argv)
    while words and words[0] in ("--db", "-v", "--verbose"):
        words = words[2:] if words[0] == "--db" else words[1:]
    if not words:
        return (
            "no command given; try `drayman add URL` then `drayman run` "
            "(`drayman --help` lists every command)"
        )
    first = words[0]
    if not first.startswith("-") and ("://" in first or first.startswith("www.")):
        return f"{first!r} is not a command; to download it: drayman add {first} && drayman run"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    _utf8_when_piped()
    words = list(sys.argv[1:] if argv is None else argv)
    hint = _command_hint(words)
    if hint is not None:
        print(f"drayman: error: {hint}", file=sys.stderr)
        return EXIT_BAD_INPUT
    args = build_parser().parse_args(words)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="drayman: %(message)s",
        stream=sys.stderr,
    )
    if args.command == "gui":
        return _open_window(args.db, args.urls)
    if args.command == "native-host":
        from drayman.nativehost.host import main as native_host_main

        return native_host_main(args.caller, args.db)
    try:
        with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
            return runner.run(COMMANDS[args.command](args, sys.stdout))
    except DraymanError as exc:
        print(f"drayman: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("drayman: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK
