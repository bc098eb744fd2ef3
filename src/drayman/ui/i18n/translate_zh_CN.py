"""Fill drayman_zh_CN.ts from the table below, then compile it with pyside6-lrelease.

From the repository's root (tests/test_translation.py fails until a new text is here and
the .qm is remade):

pyside6-lupdate -no-obsolete src/drayman/ui/*.py -ts src/drayman/ui/i18n/drayman_zh_CN.ts
python src/drayman/ui/i18n/translate_zh_CN.py
pyside6-lrelease src/drayman/ui/i18n/drayman_zh_CN.ts
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ZH_CN = {
    "queued": "排队中",
    "running": "下载中",
    "paused": "已暂停",
    "done": "已完成",
    "failed": "失败",
    "Add downloads": "添加下载",
    "One URL per line": "每行一个网址",
    "Browse…": "浏览…",
    "From the server (single URL only)": "由服务器决定（仅限单个网址）",
    "Optional": "可选",
    "URLs": "网址",
    "Folder": "文件夹",
    "File name": "文件名",
    "Headers": "请求头",
    "SHA-256": "SHA-256",
    "Connections per file": "每个文件的连接数",
    "Large files are fetched over at most this many connections when the server "
    "allows it: 8 at first, more only when the server holds each one to a trickle": (
        "服务器允许时，大文件最多通过这么多个连接下载：先用 8 个，"
        "只有服务器限制每个连接的速度时才增加"
    ),
    "Do not check these servers' TLS certificates (only for servers you trust)": (
        "不检查这些服务器的 TLS 证书（仅用于您信任的服务器）"
    ),
    "Enter at least one URL.": "请至少输入一个网址。",
    "Line {0}: {1}": "第 {0} 行：{1}",
    "Choose a folder.": "请选择文件夹。",
    "A file name can only be given for a single URL.": "只有单个网址时才能指定文件名。",
    "A checksum can only be given for a single URL.": "只有单个网址时才能指定校验和。",
    "Name": "名称",
    "Size": "大小",
    "Progress": "进度",
    "Speed": "速度",
    "ETA": "剩余时间",
    "State": "状态",
    "Attempts / error": "尝试次数 / 错误",
    "Added": "添加时间",
    "Search name or URL": "搜索名称或网址",
    "All": "全部",
    "Active": "下载中",
    "Queued": "排队中",
    "Paused": "已暂停",
    "Done": "已完成",
    "Failed": "失败",
    "Jobs": "任务",
    "Add…": "添加…",
    "Pause": "暂停",
    "Resume": "继续",
    "Retry": "重试",
    "Remove…": "移除…",
    "Pause all": "全部暂停",
    "Resume all": "全部继续",
    "Open file": "打开文件",
    "Open folder": "打开文件夹",
    "Copy URL": "复制网址",
    "Settings…": "设置…",
    "Paste URLs": "粘贴网址",
    "Remove downloads": "移除下载",
    "Remove %n job(s) from the list?": "从列表中移除 %n 个任务？",
    "Also delete their files": "同时删除文件",
    "Something went wrong: {0}. Details are in the log.": "出现错误：{0}。详情见日志。",
    "Speed: {0}/s": "速度：{0}/秒",
    "active {0} · queued {1} · paused {2} · done {3} · failed {4}": (
        "下载中 {0} · 排队 {1} · 暂停 {2} · 完成 {3} · 失败 {4}"
    ),
    "Select a job to see its details.": "选择一个任务以查看详情。",
    "URL": "网址",
    "File": "文件",
    "ETag": "ETag",
    "Last-Modified": "最后修改",
    "Attempts": "尝试次数",
    "Last error": "最近的错误",
    "Viewer of the engine in process {0}": "查看进程 {0} 中的下载引擎",
    "Downloading (own engine)": "正在下载（本窗口的引擎）",
    "Waiting for the proxy: give it again in Settings": "等待代理：请在“设置”中重新填写",
    "The proxy chosen in Settings cannot be read ({0}). Downloads that would go "
    "through it wait until it is given again in Settings.": (
        "无法读取“设置”中选择的代理（{0}）。经由该代理的下载将等待，直到在“设置”中重新填写。"
    ),
    "Settings": "设置",
    "No limit (e.g. 2M, 500k)": "不限速（例如 2M、500k）",
    "Downloads at once": "同时下载数",
    "At once per host": "每个主机同时下载数",
    "Speed limit": "限速",
    "Stalled after (s)": "无响应判定（秒）",
    "Attempts before failing": "失败前的尝试次数",
    "Default folder": "默认文件夹",
    "As the system": "跟随系统",
    "Language (after a restart)": "界面语言（重启后生效）",
    "Tell me when downloads finish or fail": "下载完成或失败时通知我",
    "Closing the window keeps downloading": "关闭窗口后继续下载",
    "{0} failed: {1}": "{0} 失败：{1}",
    "All downloads have finished.": "全部下载已完成。",
    "Priority": "优先级",
    "Move up": "上移",
    "Move down": "下移",
    "Start in the tray": "启动时最小化到托盘",
    "Proxy": "代理",
    "From the environment (http_proxy, NO_PROXY…)": "使用环境变量（http_proxy、NO_PROXY…）",
    "No proxy": "不使用代理",
    "This proxy:": "使用此代理：",
    "Downloading in the background": "正在后台下载",
    "Import {0}": "导入 {0}",
    "Names from the server": "使用服务器提供的文件名",
    "Fields: {0}. A / makes a subfolder; empty: names from the server.": (
        "可用字段：{0}。/ 表示子文件夹；留空则使用服务器提供的文件名。"
    ),
    "Template": "命名模板",
    "Filter by title, author or URL": "按标题、作者或网址筛选",
    "None": "全不选",
    "Invert": "反选",
    "Tick:": "勾选：",
    "These cannot be imported ({0}); the others can:": (
        "以下条目无法导入（{0} 个），其余条目可以导入："
    ),
    "{0}: 1 entry": "{0}：1 个条目",
    "{0}: {1} entries": "{0}：{1} 个条目",
    ", {0} bad": "，{0} 个有误",
    "Example: {0}": "示例：{0}",
    "%n of {0} selected": "已选 %n 个（共 {0} 个）",
    "%n already in the queue": "%n 个已在队列中",
    "%n already on disk": "%n 个已在磁盘上",
    "{0} free in the folder": "文件夹所在磁盘剩余 {0}",
    "Download %n": "下载 %n 个",
    "Tick at least one entry.": "请至少勾选一个条目。",
    "#": "#",
    "Title": "标题",
    "Author": "作者",
    "Saved as": "保存为",
    "Already": "已存在",
    "in the queue": "已在队列中",
    "on disk": "已在磁盘上",
    "twice in the list": "列表中重复",
    "No thumbnail": "无缩略图",
    "Import…": "导入…",
    "Quit": "退出",
    "&File": "文件(&F)",
    "&Jobs": "任务(&J)",
    "Pasted text": "粘贴的文本",
    "{0} is not a list of downloads (.txt, .json, .jsonl or .csv).": (
        "{0} 不是下载列表（.txt、.json、.jsonl 或 .csv）。"
    ),
    "Dropped links": "拖入的链接",
    "Import a list of downloads": "导入下载列表",
    "Lists of downloads (*.txt *.json *.jsonl *.ndjson *.csv)": (
        "下载列表 (*.txt *.json *.jsonl *.ndjson *.csv)"
    ),
    "All files (*)": "所有文件 (*)",
    "… and %n more": "……另有 %n 个",
    "{0}: nothing to import.": "{0}：没有可导入的条目。",
    "Show every download": "显示全部下载",
    "Show drayman": "显示 drayman",
    "Downloads": "下载",
    "Pause or resume": "暂停或继续",
    "Remove finished": "移除已完成",
    "&Downloads": "下载(&D)",
    "&Help": "帮助(&H)",
    "About drayman": "关于 drayman",
    (
        "A download manager that never loses work: every download resumes after a pause, a crash "
        "or a lost connection.\n\nDatabase: {0}"
    ): ("从不丢失进度的下载管理器：暂停、崩溃或断网后，每个下载都能继续。\n\n数据库：{0}"),
    "Remove “{0}” from the list?": "从列表中移除“{0}”？",
    "Also delete its file": "同时删除其文件",
    "Remove %n downloads from the list?": "从列表中移除 %n 个下载？",
    "All downloads have finished: %n done.": "全部下载已结束：%n 个完成。",
    "Downloads have finished: {0} done, {1} failed.": "下载已结束：{0} 个完成，{1} 个失败。",
    (
        "drayman keeps downloading in the tray. Click its icon to bring the window back; "
        "right-click it to quit."
    ): ("drayman 在托盘中继续下载。单击托盘图标可恢复窗口；右键单击可退出。"),
    "filter: {0} · {1} of {2} shown": "筛选：{0} · 显示 {1} / {2} 个",
    "No download matches the filter.": "没有符合筛选条件的下载。",
    "Paste a link (Ctrl+V), drop one here, or click Add to start.": (
        "粘贴链接（Ctrl+V）、拖放到这里，或点击“添加”开始。"
    ),
    "failed {0}": "失败 {0}",
    "active {0} · queued {1} · paused {2} · done {3} · {4}": (
        "下载中 {0} · 排队 {1} · 暂停 {2} · 完成 {3} · {4}"
    ),
    "Select a download to see its details.": "选择一个下载以查看详情。",
    "Note": "提示",
    "Files stay on the disk unless you tick the box.": "除非勾选下面的选项，文件会保留在磁盘上。",
    "Already in the list, added again: {0}": "已在列表中，再次添加：{0}",
    "Links given to drayman": "交给 drayman 的链接",
    "Total speed": "总速度",
    "Speed of {0}": "{0} 的速度",
    "aria2 RPC on port {0}: browser extensions can add downloads": (
        "aria2 RPC 端口 {0}：浏览器扩展可以添加下载"
    ),
    "Let browser extensions and aria2 tools add downloads (aria2 RPC)": (
        "允许浏览器扩展和 aria2 工具添加下载（aria2 RPC）"
    ),
    "Also from other computers (listen on the network)": "也允许其他计算机（在网络上监听）",
    "Made when the RPC is first turned on": "首次开启 RPC 时生成",
    "The secret (token) to enter in the extension, with host 127.0.0.1 and the port": (
        "在扩展中填写的密钥（token），主机为 127.0.0.1，加上端口"
    ),
    "RPC port": "RPC 端口",
    "RPC secret": "RPC 密钥",
    "the server answered HTTP {0} {1}": "服务器返回 HTTP {0} {1}",
    "cannot find the server {0}: the name does not exist (a typo in the address?)": (
        "找不到服务器 {0}：该名称不存在（地址打错了？）"
    ),
    "{0} refused the connection (is the address right, and the server up?)": (
        "{0} 拒绝连接（地址是否正确，服务器是否在运行？）"
    ),
    "waiting for the network: {0}": "正在等待网络：{0}",
    "no data for {0} s (stalled connection)": "{0} 秒没有数据（连接停滞）",
    "the connection broke in the middle of the file": "连接在文件中途断开",
    "the server closed the connection without answering": "服务器未应答就关闭了连接",
    "timed out connecting to the server": "连接服务器超时",
    "cannot connect to {0}": "无法连接到 {0}",
    "a temporary network or server problem: {0}": "暂时的网络或服务器问题：{0}",
    "the server cannot resume; starting again from 0 (the {0} saved before are lost)": (
        "服务器无法续传；从 0 重新开始（之前保存的 {0} 作废）"
    ),
    "{0} (gave up after {1} attempts)": "{0}（尝试 {1} 次后放弃）",
    # folders by file type, clipboard watch (issue 17)
    "Into subfolders by file type (Video, Archives, …)": "按文件类型放入子文件夹（视频、压缩包…）",
    "Sort downloads added without a folder into subfolders by file type": (
        "未指定文件夹的下载按文件类型放入子文件夹"
    ),
    "Category": "类别",
    "Extensions": "扩展名",
    "Types": "类型",
    "Add": "添加",
    "Remove": "删除",
    "Defaults": "默认值",
    "Folders are below the download folder. A file goes to the first category with its "
    "extension, else with its Content-Type, else to Other.": (
        "文件夹位于下载文件夹之下。文件归入第一个含其扩展名的类别，"
        "否则按其 Content-Type，否则归入 Other。"
    ),
    "New": "新类别",
    "Add {0} copied link(s)…": "添加复制的 {0} 个链接…",
    "{0} — click to add them": "{0} — 点击添加",
    "Offer links I copy for download (nothing is added without a click)": (
        "提示下载我复制的链接（不点击就不会添加任何内容）"
    ),
    "General": "常规",
    "Categories": "类别",
    # the schedule and what to do when the queue is done (Settings, the Add dialog, the status bar)
    "Schedule": "计划",
    "Days and hours": "星期和时段",
    "Action": "操作",
    "mon-fri 09:00-18:00": "mon-fri 09:00-18:00",  # what the user types: the days stay English
    "Pause downloads": "暂停下载",
    "Limit the speed to": "限速为",
    "e.g. 500k, 2M": "例如 500k、2M",
    (
        "Local time. Days: daily, weekdays, weekends, mon…sun, mon-fri, sat,sun. "
        "An end before the start is the next day (22:00-07:00). Running downloads "
        "pause at a pause band's start and resume at its end."
    ): (
        "本地时间。星期：daily（每天）、weekdays（工作日）、weekends（周末）、mon…sun、"
        "mon-fri、sat,sun。结束早于开始表示到次日（22:00-07:00）。正在进行的下载在暂停时段"
        "开始时暂停，结束时继续。"
    ),
    "Enter a speed for the limit, e.g. 500k.": "请输入限速值，例如 500k。",
    "A limit must be more than 0; choose Pause instead.": (
        "限速必须大于 0；要停止下载请改选“暂停下载”。"
    ),
    "Limit to {0}/s": "限速 {0}/秒",
    "quiet hours until {0}": "按计划暂停至 {0}",
    "schedule: {0}/s": "计划限速：{0}/秒",
    "Download now, whatever the schedule says": "立即下载，不受计划限制",
    "When the queue is done": "队列完成后",
    "Nothing": "不执行任何操作",
    "Tell me": "通知我",
    "Open the folder": "打开文件夹",
    "Run this command:": "运行此命令：",
    "Sleep (after 60 s I can cancel)": "睡眠（先倒计时 60 秒，可取消）",
    "Shut down (after 60 s I can cancel)": "关机（先倒计时 60 秒，可取消）",
    "The finished files' paths come on stdin and in $DRAYMAN_FILES": (
        "已完成文件的路径通过标准输入和 $DRAYMAN_FILES 传给命令"
    ),
    "Enter the command to run when the queue is done.": "请输入队列完成后要运行的命令。",
    "When the queue is done: {0} failed: {1}": "队列完成后执行 {0} 失败：{1}",
    "The queue is done": "队列已完成",
    "Cancel": "取消",
    "All downloads have ended. Shutting down in {0} s.": "全部下载已结束。{0} 秒后关机。",
    "All downloads have ended. Going to sleep in {0} s.": "全部下载已结束。{0} 秒后进入睡眠。",
    # a page (video, playlist, channel, feed) resolved by yt-dlp into the import preview
    "Import from a page…": "从网页导入…",
    "Page": "网页",
    "A video, playlist, channel or feed page, to add what it holds": (
        "视频、播放列表、频道或订阅源的网页，添加其中的内容"
    ),
    "Resolve": "解析",
    "Stop": "停止",
    "Resolving {0}…": "正在解析 {0}…",
    "Stopped after %n entries.": "已停止，共找到 %n 个条目。",
    "%n entries from {0}": "从 {0} 找到 %n 个条目",
    "{0} of {1} entries": "已找到 {0} / {1} 个条目",
    "%n entries": "已找到 %n 个条目",
}


def main(path: str) -> None:
    tree = ET.parse(path)
    missing = []
    for message in tree.iter("message"):
        source = message.findtext("source") or ""
        translation = message.find("translation")
        assert translation is not None
        if source in ZH_CN:
            if message.get("numerus") == "yes":
                for child in list(translation):
                    translation.remove(child)
                ET.SubElement(translation, "numerusform").text = ZH_CN[source]
            else:
                translation.text = ZH_CN[source]
            translation.attrib.pop("type", None)
        else:
            missing.append(source)
    tree.write(path, encoding="utf-8", xml_declaration=True)
    if missing:
        sys.exit(f"no Chinese for: {missing}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else str(Path(__file__).with_name("drayman_zh_CN.ts")))
