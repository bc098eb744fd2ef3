"""The window's settings: one dataclass, kept in QSettings, applied live to the engine.

Secrets are kept elsewhere, in files only the user can read: the RPC secret
(:mod:`drayman.rpc.secret`) and the proxy URL, which may carry a password
(:mod:`drayman.ui.proxyfile`); QSettings keeps only which proxy.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from drayman.categories import Categories
from drayman.errors import BadInput, ProxyLost
from drayman.onidle import (
    COMMAND,
    NOTHING,
    NOTIFY,
    OPEN,
    SHUTDOWN,
    SLEEP,
    IdleAction,
    parse_idle_action,
)
from drayman.proxies import DIRECT, validate_proxy
from drayman.queue.engine import EngineConfig
from drayman.queue.ratelimit import parse_rate
from drayman.ui.categories_tab import CategoriesEditor
from drayman.ui.proxyfile import proxy_path
from drayman.ui.qt import QtCore, QtWidgets
from drayman.ui.schedule_tab import ScheduleTab
from drayman.ui.widgets import CheckedDialog
from drayman.units import human_size
from drayman.urls import redact_password

#: the proxy setting: "" the environment's variables (as `drayman run`), DIRECT none, else a URL
FROM_ENVIRONMENT = ""
#: QSettings' key for which proxy: one of the three modes below, never the URL
PROXY_MODE_KEY = "proxy_mode"
ENVIRONMENT_MODE = "environment"
NO_PROXY_MODE = "none"
MANUAL_MODE = "manual"
#: where versions before the private file kept the proxy URL itself, password included
OLD_PROXY_KEY = "proxy"

#: the engine's own defaults (what `drayman run` uses without flags): the window starts from these
_ENGINE = EngineConfig()


@dataclass(frozen=True)
class Settings:
    concurrency: int = _ENGINE.concurrency
    per_host: int = _ENGINE.per_host
    #: bytes per second for all downloads (0 = no limit)
    max_speed: int = _ENGINE.max_speed
    read_timeout: float = _ENGINE.transfer.read_timeout
    max_attempts: int = _ENGINE.retry.max_attempts
    #: connections per large file when the server allows ranges (1 = never split)
    split: int = _ENGINE.transfer.split
    default_folder: str = ""
    #: "system" (follow the locale), "en" or "zh_CN"
    language: str = "system"
    notifications: bool = True
    close_to_tray: bool = False
    start_minimized: bool = False
    #: how imported media lists are named (the last one used)
    import_template: str = "{author}/{title}.{ext}"
    #: FROM_ENVIRONMENT (run's default), DIRECT (run --no-proxy) or a proxy URL (run --proxy);
    #: QSettings keeps only the mode, the URL is in its private file (drayman.ui.proxyfile)
    proxy: str = FROM_ENVIRONMENT
    #: why the manual proxy's URL could not be read from its private file (deleted,
    #: unreadable); "" when it could. While set, the mode stays "manual", and
    #: nothing that would go through that proxy goes at all (never around it)
    proxy_lost: str = ""
    #: serve aria2's JSON-RPC (browser extensions, AriaNg, aria2 scripts)
    rpc_enabled: bool = False
    rpc_port: int = 6800
    #: listen on every interface, not only this computer (127.0.0.1)
    rpc_listen_all: bool = False
    #: the RPC secret; kept in its own private file (drayman.rpc.secret), never
    #: in QSettings, whose file other users of the machine may read
    rpc_secret: str = ""
    #: offer http(s) links copied to the clipboard for download (opt-in; never adds by itself)
    clipboard_watch: bool = False
    #: what to do when the queue is done, as `run --on-idle` takes it (command:CMD included)
    on_idle: str = NOTHING

    def idle_action(self) -> IdleAction:
        """:attr:`on_idle` read (a value that is no action, from a hand-edited file: nothing)."""
        try:
            return parse_idle_action(self.on_idle)
        except BadInput:
            return IdleAction(NOTHING)

    def manual_proxy(self) -> str:
        """The proxy URL chosen in the window, password included ("" if none was)."""
        return "" if self.proxy in (FROM_ENVIRONMENT, DIRECT) else self.proxy

    def page_proxy(self) -> str | None:
        """What yt-dlp reads pages through, as the downloads go: the chosen proxy's
        URL, "" for none, None for the environment's. :class:`ProxyLost` while the
        chosen proxy cannot be read (never around it)."""
        if self.proxy_lost:
            raise ProxyLost(why=self.proxy_lost)
        if self.proxy == DIRECT:
            return ""
        return self.manual_proxy() or None

    def proxy_mode(self) -> str:
        """What QSettings keeps of :attr:`proxy`: which one, never the URL."""
        if self.proxy == DIRECT:
            return NO_PROXY_MODE
        return MANUAL_MODE if self.manual_proxy() or self.proxy_lost else ENVIRONMENT_MODE

    def engine_config(self, base: EngineConfig | None = None) -> EngineConfig:
        base = base or EngineConfig()
        return replace(
            base,
            concurrency=self.concurrency,
            per_host=self.per_host,
            max_speed=self.max_speed,
            retry=replace(base.retry, max_attempts=self.max_attempts),
            transfer=replace(
                base.transfer,
                read_timeout=self.read_timeout,
                split=self.split,
                proxy=self.manual_proxy() or None,
                proxy_from_environment=self.proxy != DIRECT,
                proxy_lost=self.proxy_lost or None,
            ),
        )


#: settings kept elsewhere than QSettings (the proxy: its mode only, under PROXY_MODE_KEY)
NOT_IN_QSETTINGS = frozenset({"rpc_secret", "proxy", "proxy_lost"})


def proxy_lost_text(why: str) -> str:
    """What the window says of a manual proxy whose URL is lost, ``why`` included."""
    return QtCore.QCoreApplication.translate(
        "Settings",
        "The proxy chosen in Settings cannot be read ({0}). Downloads that would go "
        "through it wait until it is given again in Settings.",
    ).format(why)


def load(
    store: QtCore.QSettings,
    default_folder: str,
    manual_proxy: str | None = None,
    unreadable: str = "",
) -> Settings:
    """The settings QSettings keeps; ``manual_proxy`` is what the proxy's private
    file holds (read by the caller, off the GUI thread; None: not read yet, a
    manual proxy reads as the environment's for now), and ``unreadable`` why
    it could not be read. The mode says "manual" and the file gave no URL: the
    proxy is lost (:attr:`Settings.proxy_lost` says why), never another one."""
    proxy, lost = _proxy(store, manual_proxy, unreadable)
    values: dict[str, object] = {"proxy": proxy, "proxy_lost": lost}
    defaults = Settings(default_folder=default_folder)
    for field in fields(Settings):
        if field.name in NOT_IN_QSETTINGS:
            continue
        default = getattr(defaults, field.name)
        raw = store.value(field.name, default)
        try:
            if isinstance(default, bool):  # INI files give "true"/"false"
                values[field.name] = str(raw).lower() in ("true", "1")
                continue
            values[field.name] = type(default)(raw)  # QSettings gives strings from INI files
        except (TypeError, ValueError):
            values[field.name] = default
    return Settings(**values)  # type: ignore[arg-type]


def _proxy(store: QtCore.QSettings, manual_proxy: str | None, unreadable: str) -> tuple[str, str]:
    """The proxy setting, and why a manual one is lost ("" if it is not)."""
    if has_old_proxy(store):
        return str(store.value(OLD_PROXY_KEY)), ""
    mode = str(store.value(PROXY_MODE_KEY, ENVIRONMENT_MODE))
    if mode == NO_PROXY_MODE:
        return DIRECT, ""
    if mode != MANUAL_MODE or manual_proxy is None:
        return FROM_ENVIRONMENT, ""
    if manual_proxy:
        return manual_proxy, ""
    # deleted, emptied or unreadable: going without it (or through the
    # environment's) is not what the user chose
    return FROM_ENVIRONMENT, unreadable or f"{proxy_path()} is missing or empty"


def has_old_proxy(store: QtCore.QSettings) -> bool:
    """Whether an older version left the proxy URL itself (a password, maybe) in QSettings.

    :func:`load` still reads it; the window moves it to the private file,
    then :func:`save` takes it out of QSettings.
    """
    return bool(store.contains(OLD_PROXY_KEY))


def save(store: QtCore.QSettings, settings: Settings) -> None:
    """Everything but the secrets (the caller keeps ``settings.manual_proxy()``)."""
    for field in fields(Settings):
        if field.name in NOT_IN_QSETTINGS:
            continue
        store.setValue(field.name, getattr(settings, field.name))
    store.setValue(PROXY_MODE_KEY, settings.proxy_mode())
    store.remove(OLD_PROXY_KEY)
    store.sync()


class _WholeScrollArea(QtWidgets.QScrollArea):
    """A page at its whole size where there is room; it scrolls where there is not.

    (QScrollArea's own size hint is bounded to 24 lines of text: it would
    scroll even on a large screen.)
    """

    def __init__(self, page: QtWidgets.QWidget) -> None:
        super().__init__()
        self.setWidget(page)
        self.setWidgetResizable(True)
        self.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

    def sizeHint(self) -> QtCore.QSize:
        page = self.widget()
        if page is None:
            return super().sizeHint()
        return page.sizeHint().expandedTo(page.minimumSizeHint()) + self._edges()

    def minimumSizeHint(self) -> QtCore.QSize:
        """As narrow as the page can be (it never scrolls sideways), as short as a few rows."""
        page = self.widget()
        if page is None:
            return super().minimumSizeHint()
        return QtCore.QSize(page.minimumSizeHint().width() + self._edges().width(), 120)

    def _edges(self) -> QtCore.QSize:
        # room for the scroll bar too: when it shows, nothing is cut on the right
        bar = self.verticalScrollBar().sizeHint().width()
        return QtCore.QSize(bar + 2 * self.frameWidth(), 2 * self.frameWidth())


class SettingsDialog(CheckedDialog[Settings]):
    """The window's settings (General), and the database's folders by file type
    (Categories, when given: ``categories`` holds what was chosen)."""

    def __init__(
        self,
        current: Settings,
        parent: QtWidgets.QWidget | None = None,
        *,
        categories: Categories | None = None,
    ) -> None:
        super().__init__(parent)
        self.current = current
        #: the Categories tab's table once accepted (None: the tab was not shown)
        self.categories: Categories | None = None
        self.setWindowTitle(self.tr("Settings"))
        self.concurrency = self._spin(current.concurrency, 1, 64)
        self.per_host = self._spin(current.per_host, 1, 64)
        self.max_speed = QtWidgets.QLineEdit(
            ""
            if not current.max_speed
            else human_size(current.max_speed).replace(" ", "").replace("iB", "")
        )
        self.max_speed.setPlaceholderText(self.tr("No limit (e.g. 2M, 500k)"))
        self.read_timeout = self._spin(int(current.read_timeout), 5, 3600)
        self.max_attempts = self._spin(current.max_attempts, 1, 100)
        self.split = self._spin(current.split, 1, 16)
        self.split.setToolTip(
            self.tr(
                "Large files are fetched over at most this many connections when the server "
                "allows it: 8 at first, more only when the server holds each one to a trickle"
            )
        )
        self.folder = QtWidgets.QLineEdit(current.default_folder)
        self.proxy_mode = QtWidgets.QComboBox()
        for mode, label in (
            (FROM_ENVIRONMENT, self.tr("From the environment (http_proxy, NO_PROXY…)")),
            (DIRECT, self.tr("No proxy")),
            ("manual", self.tr("This proxy:")),
        ):
            self.proxy_mode.addItem(label, mode)
        manual = current.manual_proxy()
        self.proxy_mode.setCurrentIndex(
            self.proxy_mode.findData("manual" if manual or current.proxy_lost else current.proxy)
        )
        # the password is never shown: it stays as it is while "***" is left in place
        self.proxy_url = QtWidgets.QLineEdit(redact_password(manual) if manual else "")
        self.proxy_url.setPlaceholderText("http://proxy:3128, socks5h://127.0.0.1:9050")
        self.proxy_url.setEnabled(bool(manual or current.proxy_lost))
        self.proxy_mode.currentIndexChanged.connect(
            lambda _: self.proxy_url.setEnabled(self.proxy_mode.currentData() == "manual")
        )
        self.language = QtWidgets.QComboBox()
        for code, label in (
            ("system", self.tr("As the system")),
            ("en", "English"),
            ("zh_CN", "简体中文"),
        ):
            self.language.addItem(label, code)
        self.language.setCurrentIndex(max(self.language.findData(current.language), 0))
        form = QtWidgets.QFormLayout()
        form.addRow(self.tr("Downloads at once"), self.concurrency)
        form.addRow(self.tr("At once per host"), self.per_host)
        form.addRow(self.tr("Speed limit"), self.max_speed)
        form.addRow(self.tr("Stalled after (s)"), self.read_timeout)
        form.addRow(self.tr("Attempts before failing"), self.max_attempts)
        form.addRow(self.tr("Connections per file"), self.split)
        browse = QtWidgets.QPushButton(self.tr("Browse…"))
        browse.clicked.connect(self._browse)
        folder_row = QtWidgets.QHBoxLayout()
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(browse)
        form.addRow(self.tr("Default folder"), folder_row)
        form.addRow(self.tr("Proxy"), self.proxy_mode)
        form.addRow("", self.proxy_url)
        form.addRow(self.tr("Language (after a restart)"), self.language)
        self.on_idle = QtWidgets.QComboBox()
        for kind, label in (
            (NOTHING, self.tr("Nothing")),
            (NOTIFY, self.tr("Tell me")),
            (OPEN, self.tr("Open the folder")),
            (COMMAND, self.tr("Run this command:")),
            (SLEEP, self.tr("Sleep (after 60 s I can cancel)")),
            (SHUTDOWN, self.tr("Shut down (after 60 s I can cancel)")),
        ):
            self.on_idle.addItem(label, kind)
        idle = current.idle_action()
        self.on_idle.setCurrentIndex(max(self.on_idle.findData(idle.kind), 0))
        self.on_idle_command = QtWidgets.QLineEdit(idle.command)
        self.on_idle_command.setPlaceholderText(
            self.tr("The finished files' paths come on stdin and in $DRAYMAN_FILES")
        )
        self.on_idle_command.setEnabled(idle.kind == COMMAND)
        self.on_idle.currentIndexChanged.connect(
            lambda _: self.on_idle_command.setEnabled(self.on_idle.currentData() == COMMAND)
        )
        form.addRow(self.tr("When the queue is done"), self.on_idle)
        form.addRow("", self.on_idle_command)
        self.notifications = QtWidgets.QCheckBox(self.tr("Tell me when downloads finish or fail"))
        self.notifications.setChecked(current.notifications)
        self.close_to_tray = QtWidgets.QCheckBox(self.tr("Closing the window keeps downloading"))
        self.close_to_tray.setChecked(current.close_to_tray)
        self.start_minimized = QtWidgets.QCheckBox(self.tr("Start in the tray"))
        self.start_minimized.setChecked(current.start_minimized)
        self.clipboard_watch = QtWidgets.QCheckBox(
            self.tr("Offer links I copy for download (nothing is added without a click)")
        )
        self.clipboard_watch.setChecked(current.clipboard_watch)
        form.addRow(self.notifications)
        form.addRow(self.close_to_tray)
        form.addRow(self.start_minimized)
        form.addRow(self.clipboard_watch)
        self._rpc_rows(form, current)
        general = QtWidgets.QWidget()
        general.setLayout(form)
        self.tabs = QtWidgets.QTabWidget()
        # every row of General is taller than a laptop's 768 pixels hold with a
        # title bar and a task bar: Qt gives a dialog at most 2/3 of the screen,
        # and the tab scrolls within it
        self.general = _WholeScrollArea(general)
        self.tabs.addTab(self.general, self.tr("General"))
        self.categories_tab: CategoriesEditor | None = None
        if categories is not None:
            self.categories_tab = CategoriesEditor(categories)
            self.tabs.addTab(self.categories_tab, self.tr("Categories"))
        #: the weekly bands; the window fills it from the database
        self.schedule = ScheduleTab()
        self.tabs.addTab(self.schedule, self.tr("Schedule"))
        self.finish(self.tabs)
        if current.proxy_lost:
            self.show_problem(proxy_lost_text(current.proxy_lost))
        # wide enough for its hints and a real folder path, whatever the language
        metrics = self.fontMetrics()
        self.max_speed.setMinimumWidth(
            metrics.horizontalAdvance(self.max_speed.placeholderText()) + 24
        )
        self.folder.setMinimumWidth(metrics.horizontalAdvance("M" * 28))

    def _browse(self) -> None:
        chosen = QtWidgets.QFileDialog.getExistingDirectory(
            self, self.tr("Default folder"), self.folder.text()
        )
        if chosen:
            self.folder.setText(chosen)

    def _proxy(self) -> str:
        mode = str(self.proxy_mode.currentData())
        if mode != "manual":
            return mode
        text = self.proxy_url.text().strip()
        current = self.current.manual_proxy()
        if current and text == redact_password(current):
            return current  # shown with its password hidden, and left as it was
        return validate_proxy(text)

    def _rpc_rows(self, form: QtWidgets.QFormLayout, current: Settings) -> None:
        """aria2's JSON-RPC: what a browser extension or AriaNg is set up with."""
        self.rpc_enabled = QtWidgets.QCheckBox(
            self.tr("Let browser extensions and aria2 tools add downloads (aria2 RPC)")
        )
        self.rpc_enabled.setChecked(current.rpc_enabled)
        self.rpc_port = self._spin(current.rpc_port, 1, 65535)
        self.rpc_listen_all = QtWidgets.QCheckBox(
            self.tr("Also from other computers (listen on the network)")
        )
        self.rpc_listen_all.setChecked(current.rpc_listen_all)
        self.rpc_secret = QtWidgets.QLineEdit(current.rpc_secret)
        self.rpc_secret.setPlaceholderText(self.tr("Made when the RPC is first turned on"))
        self.rpc_secret.setToolTip(
            self.tr(
                "The secret (token) to enter in the extension, with host 127.0.0.1 and the port"
            )
        )
        form.addRow(self.rpc_enabled)
        form.addRow(self.tr("RPC port"), self.rpc_port)
        form.addRow(self.tr("RPC secret"), self.rpc_secret)
        form.addRow(self.rpc_listen_all)

    @staticmethod
    def _spin(value: int, low: int, high: int) -> QtWidgets.QSpinBox:
        spin = QtWidgets.QSpinBox()
        spin.setRange(low, high)
        spin.setValue(value)
        return spin

    def _on_idle_text(self) -> str:
        kind = str(self.on_idle.currentData())
        if kind != COMMAND:
            return kind
        command = self.on_idle_command.text().strip()
        if not command:
            raise BadInput(self.tr("Enter the command to run when the queue is done."))
        return parse_idle_action(f"{COMMAND}:{command}").text

    def validate(self) -> Settings:
        if self.categories_tab is not None:
            self.categories = self.categories_tab.value()
        speed_text = self.max_speed.text().strip()
        # replace(), not a new Settings: what this form does not show (the
        # import template) is kept
        return replace(
            self.current,
            concurrency=self.concurrency.value(),
            per_host=self.per_host.value(),
            max_speed=parse_rate(speed_text) if speed_text else 0,
            read_timeout=float(self.read_timeout.value()),
            max_attempts=self.max_attempts.value(),
            split=self.split.value(),
            default_folder=self.folder.text().strip(),
            proxy=self._proxy(),
            # a proxy was chosen here (a lost one must be given again: see _proxy)
            proxy_lost="",
            language=str(self.language.currentData()),
            notifications=self.notifications.isChecked(),
            close_to_tray=self.close_to_tray.isChecked(),
            start_minimized=self.start_minimized.isChecked(),
            rpc_enabled=self.rpc_enabled.isChecked(),
            rpc_port=self.rpc_port.value(),
            rpc_listen_all=self.rpc_listen_all.isChecked(),
            rpc_secret=self.rpc_secret.text().strip(),
            clipboard_watch=self.clipboard_watch.isChecked(),
            on_idle=self._on_idle_text(),
        )
