<?xml version='1.0' encoding='utf-8'?>
<TS version="2.1" language="zh_CN">
<context>
    <name>AddDialog</name>
    <message>
        <location filename="../add_dialog.py" line="35" />
        <source>Add downloads</source>
        <extracomment>skip TLS certificate checks for these URLs' hosts (``add --insecure``)</extracomment>
        <translation>添加下载</translation>
    </message>
    <message>
        <location filename="../add_dialog.py" line="37" />
        <source>One URL per line</source>
        <translation>每行一个网址</translation>
    </message>
    <message>
        <location filename="../add_dialog.py" line="39" />
        <source>Browse…</source>
        <translation>浏览…</translation>
    </message>
    <message>
        <location filename="../add_dialog.py" line="45" />
        <source>From the server (single URL only)</source>
        <translation>由服务器决定（仅限单个网址）</translation>
    </message>
    <message>
        <location filename="../add_dialog.py" line="50" />
        <source>Optional</source>
        <translation>可选</translation>
    </message>
    <message>
        <location filename="../add_dialog.py" line="54" />
        <source>Do not check these servers' TLS certificates (only for servers you trust)</source>
        <translation>不检查这些服务器的 TLS 证书（仅用于您信任的服务器）</translation>
    </message>
    <message>
        <location filename="../add_dialog.py" line="57" />
        <source>URLs</source>
        <translation>网址</translation>
    </message>
    <message>
        <location filename="../add_dialog.py" line="58" />
        <location filename="../add_dialog.py" line="68" />
        <source>Folder</source>
        <translation>文件夹</translation>
    </message>
    <message>
        <location filename="../add_dialog.py" line="59" />
        <source>File name</source>
        <translation>文件名</translation>
    </message>
    <message>
        <location filename="../add_dialog.py" line="60" />
        <source>Headers</source>
        <translation>请求头</translation>
    </message>
    <message>
        <location filename="../add_dialog.py" line="61" />
        <source>SHA-256</source>
        <translation>SHA-256</translation>
    </message>
    <message>
        <location filename="../add_dialog.py" line="77" />
        <source>Enter at least one URL.</source>
        <translation>请至少输入一个网址。</translation>
    </message>
    <message>
        <location filename="../add_dialog.py" line="82" />
        <source>Line {0}: {1}</source>
        <translation>第 {0} 行：{1}</translation>
    </message>
    <message>
        <location filename="../add_dialog.py" line="84" />
        <source>Choose a folder.</source>
        <translation>请选择文件夹。</translation>
    </message>
    <message>
        <location filename="../add_dialog.py" line="88" />
        <source>A file name can only be given for a single URL.</source>
        <translation>只有单个网址时才能指定文件名。</translation>
    </message>
    <message>
        <location filename="../add_dialog.py" line="96" />
        <source>A checksum can only be given for a single URL.</source>
        <translation>只有单个网址时才能指定校验和。</translation>
    </message>
</context>
<context>
    <name>ImportDialog</name>
    <message>
        <location filename="../import_dialog.py" line="369" />
        <source>Import {0}</source>
        <extracomment>the entry's {index}: its place among the list's good entries ticked or unticked by the user (automatic choices leave it alone) the target path relative to the folder, once planned the number of ticked entries changed the extensions of files a drop imports as a list a list bigger than this is not a list of downloads the ids of the jobs added (emitted before the dialog closes)</extracomment>
        <translation>导入 {0}</translation>
    </message>
    <message>
        <location filename="../import_dialog.py" line="389" />
        <source>Browse…</source>
        <extracomment>the add under way (None: none); closing the dialog lets it finish the last plan's problem (a bad template or folder), None when fine</extracomment>
        <translation>浏览…</translation>
    </message>
    <message>
        <location filename="../import_dialog.py" line="395" />
        <source>Names from the server</source>
        <translation>使用服务器提供的文件名</translation>
    </message>
    <message>
        <location filename="../import_dialog.py" line="397" />
        <source>Fields: {0}. A / makes a subfolder; empty: names from the server.</source>
        <translation>可用字段：{0}。/ 表示子文件夹；留空则使用服务器提供的文件名。</translation>
    </message>
    <message>
        <location filename="../import_dialog.py" line="404" />
        <location filename="../import_dialog.py" line="644" />
        <source>Folder</source>
        <translation>文件夹</translation>
    </message>
    <message>
        <location filename="../import_dialog.py" line="405" />
        <source>Template</source>
        <translation>命名模板</translation>
    </message>
    <message>
        <location filename="../import_dialog.py" line="409" />
        <source>Filter by title, author or URL</source>
        <translation>按标题、作者或网址筛选</translation>
    </message>
    <message>
        <location filename="../import_dialog.py" line="412" />
        <source>All</source>
        <translation>全部</translation>
    </message>
    <message>
        <location filename="../import_dialog.py" line="413" />
        <source>None</source>
        <translation>全不选</translation>
    </message>
    <message>
        <location filename="../import_dialog.py" line="414" />
        <source>Invert</source>
        <translation>反选</translation>
    </message>
    <message>
        <location filename="../import_dialog.py" line="420" />
        <source>Tick:</source>
        <translation>勾选：</translation>
    </message>
    <message>
        <location filename="../import_dialog.py" line="468" />
        <source>These cannot be imported ({0}); the others can:</source>
        <translation>以下条目无法导入（{0} 个），其余条目可以导入：</translation>
    </message>
    <message>
        <location filename="../import_dialog.py" line="503" />
        <source>{0}: 1 entry</source>
        <translation>{0}：1 个条目</translation>
    </message>
    <message>
        <location filename="../import_dialog.py" line="505" />
        <source>{0}: {1} entries</source>
        <translation>{0}：{1} 个条目</translation>
    </message>
    <message>
        <location filename="../import_dialog.py" line="507" />
        <source>, {0} bad</source>
        <translation>，{0} 个有误</translation>
    </message>
    <message>
        <location filename="../import_dialog.py" line="531" />
        <source>Something went wrong: {0}. Details are in the log.</source>
        <translation>出现错误：{0}。详情见日志。</translation>
    </message>
    <message>
        <location filename="../import_dialog.py" line="567" />
        <source>Choose a folder.</source>
        <translation>请选择文件夹。</translation>
    </message>
    <message>
        <location filename="../import_dialog.py" line="605" />
        <source>Example: {0}</source>
        <translation>示例：{0}</translation>
    </message>
    <message numerus="yes">
        <location filename="../import_dialog.py" line="613" />
        <source>%n of {0} selected</source>
        <translation>
            <numerusform>已选 %n 个（共 {0} 个）</numerusform></translation>
    </message>
    <message numerus="yes">
        <location filename="../import_dialog.py" line="617" />
        <source>%n already in the queue</source>
        <translation>
            <numerusform>%n 个已在队列中</numerusform></translation>
    </message>
    <message numerus="yes">
        <location filename="../import_dialog.py" line="620" />
        <source>%n already on disk</source>
        <translation>
            <numerusform>%n 个已在磁盘上</numerusform></translation>
    </message>
    <message>
        <location filename="../import_dialog.py" line="622" />
        <source>{0} free in the folder</source>
        <translation>文件夹所在磁盘剩余 {0}</translation>
    </message>
    <message numerus="yes">
        <location filename="../import_dialog.py" line="624" />
        <source>Download %n</source>
        <translation>
            <numerusform>下载 %n 个</numerusform></translation>
    </message>
    <message>
        <location filename="../import_dialog.py" line="658" />
        <source>Tick at least one entry.</source>
        <translation>请至少勾选一个条目。</translation>
    </message>
</context>
<context>
    <name>ImportModel</name>
    <message>
        <location filename="../import_dialog.py" line="60" />
        <source>#</source>
        <extracomment>the preview's thumbnail size (16:9) how long typing in the folder or template field waits before re-planning</extracomment>
        <translation>#</translation>
    </message>
    <message>
        <location filename="../import_dialog.py" line="62" />
        <source>Title</source>
        <translation>标题</translation>
    </message>
    <message>
        <location filename="../import_dialog.py" line="63" />
        <source>Author</source>
        <translation>作者</translation>
    </message>
    <message>
        <location filename="../import_dialog.py" line="64" />
        <source>Saved as</source>
        <translation>保存为</translation>
    </message>
    <message>
        <location filename="../import_dialog.py" line="65" />
        <source>Already</source>
        <translation>已存在</translation>
    </message>
    <message>
        <location filename="../import_dialog.py" line="80" />
        <source>in the queue</source>
        <extracomment>a job already downloads this URL the target file exists (the download would be named "… (1)") an earlier entry of this list has the same URL</extracomment>
        <translation>已在队列中</translation>
    </message>
    <message>
        <location filename="../import_dialog.py" line="81" />
        <source>on disk</source>
        <translation>已在磁盘上</translation>
    </message>
    <message>
        <location filename="../import_dialog.py" line="82" />
        <source>twice in the list</source>
        <translation>列表中重复</translation>
    </message>
    <message>
        <location filename="../import_dialog.py" line="86" />
        <source>No thumbnail</source>
        <translation>无缩略图</translation>
    </message>
</context>
<context>
    <name>JobState</name>
    <message>
        <location filename="../jobs_model.py" line="64" />
        <source>queued</source>
        <translation>排队中</translation>
    </message>
    <message>
        <location filename="../jobs_model.py" line="65" />
        <source>running</source>
        <translation>下载中</translation>
    </message>
    <message>
        <location filename="../jobs_model.py" line="66" />
        <source>paused</source>
        <translation>已暂停</translation>
    </message>
    <message>
        <location filename="../jobs_model.py" line="67" />
        <source>done</source>
        <translation>已完成</translation>
    </message>
    <message>
        <location filename="../jobs_model.py" line="68" />
        <source>failed</source>
        <translation>失败</translation>
    </message>
</context>
<context>
    <name>JobsModel</name>
    <message>
        <location filename="../jobs_model.py" line="48" />
        <source>Name</source>
        <extracomment>the role that gives a column's raw value, for sorting the role that gives the row's job id the role that gives progress as 0..1 (None when unknown), for the delegate the role that gives (thumbnail URL, headers, the URL the headers are for), or None</extracomment>
        <translation>名称</translation>
    </message>
    <message>
        <location filename="../jobs_model.py" line="49" />
        <source>Size</source>
        <translation>大小</translation>
    </message>
    <message>
        <location filename="../jobs_model.py" line="50" />
        <source>Progress</source>
        <translation>进度</translation>
    </message>
    <message>
        <location filename="../jobs_model.py" line="51" />
        <source>Speed</source>
        <translation>速度</translation>
    </message>
    <message>
        <location filename="../jobs_model.py" line="52" />
        <source>ETA</source>
        <translation>剩余时间</translation>
    </message>
    <message>
        <location filename="../jobs_model.py" line="53" />
        <source>State</source>
        <translation>状态</translation>
    </message>
    <message>
        <location filename="../jobs_model.py" line="54" />
        <source>Attempts / error</source>
        <translation>尝试次数 / 错误</translation>
    </message>
    <message>
        <location filename="../jobs_model.py" line="55" />
        <source>Folder</source>
        <translation>文件夹</translation>
    </message>
    <message>
        <location filename="../jobs_model.py" line="56" />
        <source>Added</source>
        <translation>添加时间</translation>
    </message>
    <message>
        <location filename="../jobs_model.py" line="57" />
        <source>Priority</source>
        <translation>优先级</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <location filename="../main_window.py" line="124" />
        <source>Search name or URL</source>
        <extracomment>rows shown before the whole table is read (first paint of a 100,000-job queue) one fetcher (and its disk cache and request bound) for the table and imports</extracomment>
        <translation>搜索名称或网址</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="129" />
        <source>All</source>
        <translation>全部</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="130" />
        <source>Active</source>
        <translation>下载中</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="131" />
        <source>Queued</source>
        <translation>排队中</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="132" />
        <source>Paused</source>
        <translation>已暂停</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="133" />
        <source>Done</source>
        <translation>已完成</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="134" />
        <source>Failed</source>
        <translation>失败</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="204" />
        <source>Jobs</source>
        <translation>任务</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="207" />
        <source>Add…</source>
        <translation>添加…</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="210" />
        <source>Import…</source>
        <translation>导入…</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="212" />
        <source>Pause</source>
        <translation>暂停</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="213" />
        <source>Resume</source>
        <translation>继续</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="214" />
        <source>Retry</source>
        <translation>重试</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="215" />
        <source>Remove…</source>
        <translation>移除…</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="217" />
        <source>Move up</source>
        <translation>上移</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="220" />
        <source>Move down</source>
        <translation>下移</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="224" />
        <source>Pause all</source>
        <translation>全部暂停</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="227" />
        <source>Resume all</source>
        <translation>全部继续</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="229" />
        <source>Open file</source>
        <translation>打开文件</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="231" />
        <source>Open folder</source>
        <translation>打开文件夹</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="234" />
        <source>Copy URL</source>
        <translation>复制网址</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="237" />
        <source>Settings…</source>
        <translation>设置…</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="240" />
        <source>Paste URLs</source>
        <translation>粘贴网址</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="247" />
        <source>Quit</source>
        <translation>退出</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="253" />
        <source>&amp;File</source>
        <translation>文件(&amp;F)</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="261" />
        <source>&amp;Jobs</source>
        <translation>任务(&amp;J)</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="317" />
        <source>Remove downloads</source>
        <translation>移除下载</translation>
    </message>
    <message numerus="yes">
        <location filename="../main_window.py" line="318" />
        <source>Remove %n job(s) from the list?</source>
        <translation>
            <numerusform>从列表中移除 %n 个任务？</numerusform></translation>
    </message>
    <message>
        <location filename="../main_window.py" line="319" />
        <source>Also delete their files</source>
        <translation>同时删除文件</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="384" />
        <source>Pasted text</source>
        <translation>粘贴的文本</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="402" />
        <source>{0} is not a list of downloads (.txt, .json, .jsonl or .csv).</source>
        <translation>{0} 不是下载列表（.txt、.json、.jsonl 或 .csv）。</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="409" />
        <source>Dropped links</source>
        <translation>拖入的链接</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="416" />
        <source>Import a list of downloads</source>
        <translation>导入下载列表</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="420" />
        <source>Lists of downloads (*.txt *.json *.jsonl *.ndjson *.csv)</source>
        <translation>下载列表 (*.txt *.json *.jsonl *.ndjson *.csv)</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="421" />
        <source>All files (*)</source>
        <translation>所有文件 (*)</translation>
    </message>
    <message numerus="yes">
        <location filename="../main_window.py" line="455" />
        <source>… and %n more</source>
        <translation>
            <numerusform>……另有 %n 个</numerusform></translation>
    </message>
    <message>
        <location filename="../main_window.py" line="457" />
        <source>{0}: nothing to import.</source>
        <translation>{0}：没有可导入的条目。</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="526" />
        <source>Something went wrong: {0}. Details are in the log.</source>
        <translation>出现错误：{0}。详情见日志。</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="585" />
        <source>Speed: {0}/s</source>
        <translation>速度：{0}/秒</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="598" />
        <source>{0} failed: {1}</source>
        <translation>{0} 失败：{1}</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="606" />
        <source>All downloads have finished.</source>
        <translation>全部下载已完成。</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="637" />
        <source>active {0} · queued {1} · paused {2} · done {3} · failed {4}</source>
        <translation>下载中 {0} · 排队 {1} · 暂停 {2} · 完成 {3} · 失败 {4}</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="650" />
        <source>Select a job to see its details.</source>
        <translation>选择一个任务以查看详情。</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="654" />
        <source>URL</source>
        <translation>网址</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="655" />
        <source>File</source>
        <translation>文件</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="656" />
        <source>State</source>
        <translation>状态</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="657" />
        <source>Size</source>
        <translation>大小</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="658" />
        <source>ETag</source>
        <translation>ETag</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="659" />
        <source>Last-Modified</source>
        <translation>最后修改</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="660" />
        <source>Attempts</source>
        <translation>尝试次数</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="661" />
        <source>Last error</source>
        <translation>最近的错误</translation>
    </message>
</context>
<context>
    <name>Session</name>
    <message>
        <location filename="../app.py" line="79" />
        <source>Viewer of the engine in process {0}</source>
        <extracomment>how long closing the window may take to checkpoint every transfer where thumbnails are kept (default: the user cache folder)</extracomment>
        <translation>查看进程 {0} 中的下载引擎</translation>
    </message>
    <message>
        <location filename="../app.py" line="84" />
        <source>Downloading (own engine)</source>
        <translation>正在下载（本窗口的引擎）</translation>
    </message>
</context>
<context>
    <name>SettingsDialog</name>
    <message>
        <location filename="../settings.py" line="84" />
        <source>Settings</source>
        <extracomment>the proxy setting: "" the environment's variables (as `drayman run`), DIRECT none, else a URL bytes per second for all downloads (0 = no limit) connections per large file when the server allows ranges (1 = never split) "system" (follow the locale), "en" or "zh_CN" how imported media lists are named (the last one used) FROM_ENVIRONMENT (run's default), DIRECT (run --no-proxy) or a proxy URL (run --proxy)</extracomment>
        <translation>设置</translation>
    </message>
    <message>
        <location filename="../settings.py" line="92" />
        <source>No limit (e.g. 2M, 500k)</source>
        <translation>不限速（例如 2M、500k）</translation>
    </message>
    <message>
        <location filename="../settings.py" line="97" />
        <source>Large files are fetched over this many connections when the server allows it</source>
        <translation>服务器允许时，大文件通过这么多个连接下载</translation>
    </message>
    <message>
        <location filename="../settings.py" line="102" />
        <source>From the environment (http_proxy, NO_PROXY…)</source>
        <translation>使用环境变量（http_proxy、NO_PROXY…）</translation>
    </message>
    <message>
        <location filename="../settings.py" line="103" />
        <source>No proxy</source>
        <translation>不使用代理</translation>
    </message>
    <message>
        <location filename="../settings.py" line="104" />
        <source>This proxy:</source>
        <translation>使用此代理：</translation>
    </message>
    <message>
        <location filename="../settings.py" line="120" />
        <source>As the system</source>
        <translation>跟随系统</translation>
    </message>
    <message>
        <location filename="../settings.py" line="127" />
        <source>Downloads at once</source>
        <translation>同时下载数</translation>
    </message>
    <message>
        <location filename="../settings.py" line="128" />
        <source>At once per host</source>
        <translation>每个主机同时下载数</translation>
    </message>
    <message>
        <location filename="../settings.py" line="129" />
        <source>Speed limit</source>
        <translation>限速</translation>
    </message>
    <message>
        <location filename="../settings.py" line="130" />
        <source>Stalled after (s)</source>
        <translation>无响应判定（秒）</translation>
    </message>
    <message>
        <location filename="../settings.py" line="131" />
        <source>Attempts before failing</source>
        <translation>失败前的尝试次数</translation>
    </message>
    <message>
        <location filename="../settings.py" line="132" />
        <source>Connections per file</source>
        <translation>每个文件的连接数</translation>
    </message>
    <message>
        <location filename="../settings.py" line="133" />
        <source>Default folder</source>
        <translation>默认文件夹</translation>
    </message>
    <message>
        <location filename="../settings.py" line="134" />
        <source>Proxy</source>
        <translation>代理</translation>
    </message>
    <message>
        <location filename="../settings.py" line="136" />
        <source>Language (after a restart)</source>
        <translation>界面语言（重启后生效）</translation>
    </message>
    <message>
        <location filename="../settings.py" line="137" />
        <source>Tell me when downloads finish or fail</source>
        <translation>下载完成或失败时通知我</translation>
    </message>
    <message>
        <location filename="../settings.py" line="139" />
        <source>Closing the window keeps downloading</source>
        <translation>关闭窗口后继续下载</translation>
    </message>
    <message>
        <location filename="../settings.py" line="141" />
        <source>Start in the tray</source>
        <translation>启动时最小化到托盘</translation>
    </message>
</context>
<context>
    <name>window</name>
    <message>
        <location filename="../app.py" line="159" />
        <source>Downloading in the background</source>
        <translation>正在后台下载</translation>
    </message>
</context>
</TS>