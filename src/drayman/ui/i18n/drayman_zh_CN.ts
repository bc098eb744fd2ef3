<?xml version='1.0' encoding='utf-8'?>
<TS version="2.1" language="zh_CN">
<context>
    <name>AddDialog</name>
    <message>
        <location filename="../add_dialog.py" line="48" />
        <source>Add downloads</source>
        <extracomment>skip TLS certificate checks for these URLs' hosts (``add --insecure``) into the folder's Video/, Archives/, ... (as ``add`` without ``-d`` does) download whatever the schedule says (``add --ignore-schedule``)</extracomment>
        <translation>添加下载</translation>
    </message>
    <message>
        <location filename="../add_dialog.py" line="50" />
        <source>One URL per line</source>
        <translation>每行一个网址</translation>
    </message>
    <message>
        <location filename="../add_dialog.py" line="53" />
        <source>Browse…</source>
        <translation>浏览…</translation>
    </message>
    <message>
        <location filename="../add_dialog.py" line="59" />
        <source>From the server (single URL only)</source>
        <translation>由服务器决定（仅限单个网址）</translation>
    </message>
    <message>
        <location filename="../add_dialog.py" line="65" />
        <source>Optional</source>
        <translation>可选</translation>
    </message>
    <message>
        <location filename="../add_dialog.py" line="69" />
        <source>Do not check these servers' TLS certificates (only for servers you trust)</source>
        <translation>不检查这些服务器的 TLS 证书（仅用于您信任的服务器）</translation>
    </message>
    <message>
        <location filename="../add_dialog.py" line="72" />
        <source>Into subfolders by file type (Video, Archives, …)</source>
        <translation>按文件类型放入子文件夹（视频、压缩包…）</translation>
    </message>
    <message>
        <location filename="../add_dialog.py" line="79" />
        <source>URLs</source>
        <translation>网址</translation>
    </message>
    <message>
        <location filename="../add_dialog.py" line="80" />
        <location filename="../add_dialog.py" line="107" />
        <source>Folder</source>
        <extracomment>the folder check under way (it runs off the window's thread)</extracomment>
        <translation>文件夹</translation>
    </message>
    <message>
        <location filename="../add_dialog.py" line="82" />
        <source>File name</source>
        <translation>文件名</translation>
    </message>
    <message>
        <location filename="../add_dialog.py" line="83" />
        <source>Headers</source>
        <translation>请求头</translation>
    </message>
    <message>
        <location filename="../add_dialog.py" line="84" />
        <source>SHA-256</source>
        <translation>SHA-256</translation>
    </message>
    <message>
        <location filename="../add_dialog.py" line="88" />
        <source>Download now, whatever the schedule says</source>
        <translation>立即下载，不受计划限制</translation>
    </message>
    <message>
        <location filename="../add_dialog.py" line="139" />
        <source>Enter at least one URL.</source>
        <translation>请至少输入一个网址。</translation>
    </message>
    <message>
        <location filename="../add_dialog.py" line="144" />
        <source>Line {0}: {1}</source>
        <translation>第 {0} 行：{1}</translation>
    </message>
    <message>
        <location filename="../add_dialog.py" line="146" />
        <source>Choose a folder.</source>
        <translation>请选择文件夹。</translation>
    </message>
    <message>
        <location filename="../add_dialog.py" line="150" />
        <source>A file name can only be given for a single URL.</source>
        <translation>只有单个网址时才能指定文件名。</translation>
    </message>
    <message>
        <location filename="../add_dialog.py" line="158" />
        <source>A checksum can only be given for a single URL.</source>
        <translation>只有单个网址时才能指定校验和。</translation>
    </message>
</context>
<context>
    <name>CategoriesEditor</name>
    <message>
        <location filename="../categories_tab.py" line="24" />
        <source>Sort downloads added without a folder into subfolders by file type</source>
        <translation>未指定文件夹的下载按文件类型放入子文件夹</translation>
    </message>
    <message>
        <location filename="../categories_tab.py" line="29" />
        <source>Category</source>
        <translation>类别</translation>
    </message>
    <message>
        <location filename="../categories_tab.py" line="29" />
        <source>Folder</source>
        <translation>文件夹</translation>
    </message>
    <message>
        <location filename="../categories_tab.py" line="29" />
        <source>Extensions</source>
        <translation>扩展名</translation>
    </message>
    <message>
        <location filename="../categories_tab.py" line="29" />
        <source>Types</source>
        <translation>类型</translation>
    </message>
    <message>
        <location filename="../categories_tab.py" line="36" />
        <source>Add</source>
        <translation>添加</translation>
    </message>
    <message>
        <location filename="../categories_tab.py" line="38" />
        <source>Remove</source>
        <translation>删除</translation>
    </message>
    <message>
        <location filename="../categories_tab.py" line="40" />
        <source>Defaults</source>
        <translation>默认值</translation>
    </message>
    <message>
        <location filename="../categories_tab.py" line="44" />
        <source>Folders are below the download folder. A file goes to the first category with its extension, else with its Content-Type, else to Other.</source>
        <translation>文件夹位于下载文件夹之下。文件归入第一个含其扩展名的类别，否则按其 Content-Type，否则归入 Other。</translation>
    </message>
    <message>
        <location filename="../categories_tab.py" line="82" />
        <source>New</source>
        <translation>新类别</translation>
    </message>
</context>
<context>
    <name>CountdownDialog</name>
    <message>
        <location filename="../countdown.py" line="19" />
        <source>The queue is done</source>
        <translation>队列已完成</translation>
    </message>
    <message>
        <location filename="../countdown.py" line="22" />
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <location filename="../countdown.py" line="43" />
        <source>All downloads have ended. Shutting down in {0} s.</source>
        <extracomment>ticks of at most a second; the last one fires the action</extracomment>
        <translation>全部下载已结束。{0} 秒后关机。</translation>
    </message>
    <message>
        <location filename="../countdown.py" line="45" />
        <source>All downloads have ended. Going to sleep in {0} s.</source>
        <translation>全部下载已结束。{0} 秒后进入睡眠。</translation>
    </message>
</context>
<context>
    <name>EngineError</name>
    <message>
        <location filename="../errortext.py" line="47" />
        <source>the server answered HTTP {0} {1}</source>
        <extracomment>(the engine's English, as a pattern; the window's text, with {0}... for the groups)</extracomment>
        <translation>服务器返回 HTTP {0} {1}</translation>
    </message>
    <message>
        <location filename="../errortext.py" line="48" />
        <source>cannot find the server {0}: the name does not exist (a typo in the address?)</source>
        <translation>找不到服务器 {0}：该名称不存在（地址打错了？）</translation>
    </message>
    <message>
        <location filename="../errortext.py" line="51" />
        <source>{0} refused the connection (is the address right, and the server up?)</source>
        <translation>{0} 拒绝连接（地址是否正确，服务器是否在运行？）</translation>
    </message>
    <message>
        <location filename="../errortext.py" line="54" />
        <source>waiting for the network: {0}</source>
        <translation>正在等待网络：{0}</translation>
    </message>
    <message>
        <location filename="../errortext.py" line="55" />
        <source>no data for {0} s (stalled connection)</source>
        <translation>{0} 秒没有数据（连接停滞）</translation>
    </message>
    <message>
        <location filename="../errortext.py" line="56" />
        <source>the connection broke in the middle of the file</source>
        <translation>连接在文件中途断开</translation>
    </message>
    <message>
        <location filename="../errortext.py" line="57" />
        <source>the server closed the connection without answering</source>
        <translation>服务器未应答就关闭了连接</translation>
    </message>
    <message>
        <location filename="../errortext.py" line="58" />
        <source>timed out connecting to the server</source>
        <translation>连接服务器超时</translation>
    </message>
    <message>
        <location filename="../errortext.py" line="59" />
        <source>cannot connect to {0}</source>
        <translation>无法连接到 {0}</translation>
    </message>
    <message>
        <location filename="../errortext.py" line="60" />
        <source>a temporary network or server problem: {0}</source>
        <translation>暂时的网络或服务器问题：{0}</translation>
    </message>
    <message>
        <location filename="../errortext.py" line="61" />
        <source>the server cannot resume; starting again from 0 (the {0} saved before are lost)</source>
        <translation>服务器无法续传；从 0 重新开始（之前保存的 {0} 作废）</translation>
    </message>
    <message>
        <location filename="../errortext.py" line="65" />
        <source>{0} (gave up after {1} attempts)</source>
        <translation>{0}（尝试 {1} 次后放弃）</translation>
    </message>
</context>
<context>
    <name>ImportDialog</name>
    <message>
        <location filename="../import_dialog.py" line="376" />
        <source>Import {0}</source>
        <extracomment>the entry's {index}: its place among the list's good entries ticked or unticked by the user (automatic choices leave it alone) the target path relative to the folder, once planned the number of ticked entries changed the extensions of files a drop imports as a list a list bigger than this is not a list of downloads the ids of the jobs added (emitted before the dialog closes)</extracomment>
        <translation>导入 {0}</translation>
    </message>
    <message>
        <location filename="../import_dialog.py" line="396" />
        <source>Browse…</source>
        <extracomment>the add under way (None: none); closing the dialog lets it finish the last plan's problem (a bad template or folder), None when fine</extracomment>
        <translation>浏览…</translation>
    </message>
    <message>
        <location filename="../import_dialog.py" line="402" />
        <source>Names from the server</source>
        <translation>使用服务器提供的文件名</translation>
    </message>
    <message>
        <location filename="../import_dialog.py" line="404" />
        <source>Fields: {0}. A / makes a subfolder; empty: names from the server.</source>
        <translation>可用字段：{0}。/ 表示子文件夹；留空则使用服务器提供的文件名。</translation>
    </message>
    <message>
        <location filename="../import_dialog.py" line="413" />
        <source>A video, playlist, channel or feed page, to add what it holds</source>
        <translation>视频、播放列表、频道或订阅源的网页，添加其中的内容</translation>
    </message>
    <message>
        <location filename="../import_dialog.py" line="416" />
        <source>Resolve</source>
        <translation>解析</translation>
    </message>
    <message>
        <location filename="../import_dialog.py" line="418" />
        <source>Stop</source>
        <translation>停止</translation>
    </message>
    <message>
        <location filename="../import_dialog.py" line="445" />
        <source>Page</source>
        <extracomment>the page being resolved (None: none) set when a resolve ends, however it ends (tests and the benchmark) rows planned for the current folder and template (the first ones) a plan of the rows a page added, under way</extracomment>
        <translation>网页</translation>
    </message>
    <message>
        <location filename="../import_dialog.py" line="447" />
        <location filename="../import_dialog.py" line="815" />
        <source>Folder</source>
        <translation>文件夹</translation>
    </message>
    <message>
        <location filename="../import_dialog.py" line="448" />
        <source>Template</source>
        <translation>命名模板</translation>
    </message>
    <message>
        <location filename="../import_dialog.py" line="452" />
        <source>Filter by title, author or URL</source>
        <translation>按标题、作者或网址筛选</translation>
    </message>
    <message>
        <location filename="../import_dialog.py" line="455" />
        <source>All</source>
        <translation>全部</translation>
    </message>
    <message>
        <location filename="../import_dialog.py" line="456" />
        <source>None</source>
        <translation>全不选</translation>
    </message>
    <message>
        <location filename="../import_dialog.py" line="457" />
        <source>Invert</source>
        <translation>反选</translation>
    </message>
    <message>
        <location filename="../import_dialog.py" line="463" />
        <source>Tick:</source>
        <translation>勾选：</translation>
    </message>
    <message>
        <location filename="../import_dialog.py" line="511" />
        <location filename="../import_dialog.py" line="573" />
        <source>These cannot be imported ({0}); the others can:</source>
        <translation>以下条目无法导入（{0} 个），其余条目可以导入：</translation>
    </message>
    <message>
        <location filename="../import_dialog.py" line="562" />
        <source>{0}: 1 entry</source>
        <translation>{0}：1 个条目</translation>
    </message>
    <message>
        <location filename="../import_dialog.py" line="564" />
        <source>{0}: {1} entries</source>
        <translation>{0}：{1} 个条目</translation>
    </message>
    <message>
        <location filename="../import_dialog.py" line="566" />
        <source>, {0} bad</source>
        <translation>，{0} 个有误</translation>
    </message>
    <message>
        <location filename="../import_dialog.py" line="591" />
        <source>Resolving {0}…</source>
        <translation>正在解析 {0}…</translation>
    </message>
    <message numerus="yes">
        <location filename="../import_dialog.py" line="615" />
        <source>Stopped after %n entries.</source>
        <translation>
            <numerusform>已停止，共找到 %n 个条目。</numerusform></translation>
    </message>
    <message numerus="yes">
        <location filename="../import_dialog.py" line="639" />
        <source>%n entries from {0}</source>
        <translation>
            <numerusform>从 {0} 找到 %n 个条目</numerusform></translation>
    </message>
    <message>
        <location filename="../import_dialog.py" line="665" />
        <source>{0} of {1} entries</source>
        <translation>已找到 {0} / {1} 个条目</translation>
    </message>
    <message numerus="yes">
        <location filename="../import_dialog.py" line="667" />
        <source>%n entries</source>
        <translation>
            <numerusform>已找到 %n 个条目</numerusform></translation>
    </message>
    <message>
        <location filename="../import_dialog.py" line="691" />
        <source>Something went wrong: {0}. Details are in the log.</source>
        <translation>出现错误：{0}。详情见日志。</translation>
    </message>
    <message>
        <location filename="../import_dialog.py" line="729" />
        <source>Choose a folder.</source>
        <translation>请选择文件夹。</translation>
    </message>
    <message>
        <location filename="../import_dialog.py" line="776" />
        <source>Example: {0}</source>
        <translation>示例：{0}</translation>
    </message>
    <message numerus="yes">
        <location filename="../import_dialog.py" line="784" />
        <source>%n of {0} selected</source>
        <translation>
            <numerusform>已选 %n 个（共 {0} 个）</numerusform></translation>
    </message>
    <message numerus="yes">
        <location filename="../import_dialog.py" line="788" />
        <source>%n already in the queue</source>
        <translation>
            <numerusform>%n 个已在队列中</numerusform></translation>
    </message>
    <message numerus="yes">
        <location filename="../import_dialog.py" line="791" />
        <source>%n already on disk</source>
        <translation>
            <numerusform>%n 个已在磁盘上</numerusform></translation>
    </message>
    <message>
        <location filename="../import_dialog.py" line="793" />
        <source>{0} free in the folder</source>
        <translation>文件夹所在磁盘剩余 {0}</translation>
    </message>
    <message numerus="yes">
        <location filename="../import_dialog.py" line="795" />
        <source>Download %n</source>
        <translation>
            <numerusform>下载 %n 个</numerusform></translation>
    </message>
    <message>
        <location filename="../import_dialog.py" line="829" />
        <source>Tick at least one entry.</source>
        <translation>请至少勾选一个条目。</translation>
    </message>
</context>
<context>
    <name>ImportModel</name>
    <message>
        <location filename="../import_dialog.py" line="63" />
        <source>#</source>
        <extracomment>the preview's thumbnail size (16:9) how long typing in the folder or template field waits before re-planning how often entries of a page being resolved join the list</extracomment>
        <translation>#</translation>
    </message>
    <message>
        <location filename="../import_dialog.py" line="65" />
        <source>Title</source>
        <translation>标题</translation>
    </message>
    <message>
        <location filename="../import_dialog.py" line="66" />
        <source>Author</source>
        <translation>作者</translation>
    </message>
    <message>
        <location filename="../import_dialog.py" line="67" />
        <source>Saved as</source>
        <translation>保存为</translation>
    </message>
    <message>
        <location filename="../import_dialog.py" line="68" />
        <source>Already</source>
        <translation>已存在</translation>
    </message>
    <message>
        <location filename="../import_dialog.py" line="83" />
        <source>in the queue</source>
        <extracomment>a job already downloads this URL the target file exists (the download would be named "… (1)") an earlier entry of this list has the same URL</extracomment>
        <translation>已在队列中</translation>
    </message>
    <message>
        <location filename="../import_dialog.py" line="84" />
        <source>on disk</source>
        <translation>已在磁盘上</translation>
    </message>
    <message>
        <location filename="../import_dialog.py" line="85" />
        <source>twice in the list</source>
        <translation>列表中重复</translation>
    </message>
    <message>
        <location filename="../import_dialog.py" line="89" />
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
        <location filename="../jobs_model.py" line="50" />
        <source>Name</source>
        <extracomment>the role that gives a column's raw value, for sorting the role that gives the row's job id the role that gives progress as 0..1 (None when unknown), for the delegate the role that gives (thumbnail URL, headers, the URL the headers are for), or None</extracomment>
        <translation>名称</translation>
    </message>
    <message>
        <location filename="../jobs_model.py" line="51" />
        <source>Size</source>
        <translation>大小</translation>
    </message>
    <message>
        <location filename="../jobs_model.py" line="52" />
        <source>Progress</source>
        <translation>进度</translation>
    </message>
    <message>
        <location filename="../jobs_model.py" line="53" />
        <source>Speed</source>
        <translation>速度</translation>
    </message>
    <message>
        <location filename="../jobs_model.py" line="54" />
        <source>ETA</source>
        <translation>剩余时间</translation>
    </message>
    <message>
        <location filename="../jobs_model.py" line="55" />
        <source>State</source>
        <translation>状态</translation>
    </message>
    <message>
        <location filename="../jobs_model.py" line="56" />
        <source>Attempts / error</source>
        <translation>尝试次数 / 错误</translation>
    </message>
    <message>
        <location filename="../jobs_model.py" line="57" />
        <source>Folder</source>
        <translation>文件夹</translation>
    </message>
    <message>
        <location filename="../jobs_model.py" line="58" />
        <source>Added</source>
        <translation>添加时间</translation>
    </message>
    <message>
        <location filename="../jobs_model.py" line="59" />
        <source>Priority</source>
        <translation>优先级</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <location filename="../main_window.py" line="165" />
        <source>Search name or URL</source>
        <extracomment>rows shown before the whole table is read (first paint of a 100,000-job queue) downloads whose speed history is kept (the most recently active ones) the user's Downloads folder: the Add dialog sorts by type there (as `add` without -d) folders by file type, as stored (read when the window starts; None until then) the schedule's bands, as last read "when the queue is done": armed while the setting says to do something what the last on-idle action said (shown in the status bar too) one fetcher (and its disk cache and request bound) for the table and imports errors said while the window was hidden: their boxes open when it shows jobs that ended since the last "finished" notice: the batch it sums up what the engine told about a download this session (shown in its details)</extracomment>
        <translation>搜索名称或网址</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="170" />
        <source>All</source>
        <translation>全部</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="171" />
        <source>Active</source>
        <translation>下载中</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="172" />
        <source>Queued</source>
        <translation>排队中</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="173" />
        <source>Paused</source>
        <translation>已暂停</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="174" />
        <source>Done</source>
        <translation>已完成</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="175" />
        <source>Failed</source>
        <translation>失败</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="232" />
        <source>Show every download</source>
        <extracomment>the last minute of each download's speed (the most recent ones), and the total's</extracomment>
        <translation>显示全部下载</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="288" />
        <source>Show drayman</source>
        <extracomment>whether the user was told that downloads go on in the tray links copied and not in the queue, offered until clicked or replaced the tray's last message is the offer (a click on it opens the Add dialog)</extracomment>
        <translation>显示 drayman</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="332" />
        <source>Downloads</source>
        <translation>下载</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="336" />
        <source>Add…</source>
        <translation>添加…</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="339" />
        <source>Import…</source>
        <translation>导入…</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="342" />
        <source>Import from a page…</source>
        <translation>从网页导入…</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="348" />
        <source>Pause</source>
        <translation>暂停</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="349" />
        <source>Resume</source>
        <translation>继续</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="350" />
        <source>Retry</source>
        <translation>重试</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="351" />
        <source>Remove…</source>
        <translation>移除…</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="353" />
        <source>Move up</source>
        <translation>上移</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="356" />
        <source>Move down</source>
        <translation>下移</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="360" />
        <source>Pause all</source>
        <translation>全部暂停</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="363" />
        <source>Resume all</source>
        <translation>全部继续</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="365" />
        <source>Open file</source>
        <translation>打开文件</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="367" />
        <source>Open folder</source>
        <translation>打开文件夹</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="370" />
        <source>Copy URL</source>
        <translation>复制网址</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="374" />
        <source>Pause or resume</source>
        <translation>暂停或继续</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="380" />
        <source>Remove finished</source>
        <translation>移除已完成</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="383" />
        <source>Settings…</source>
        <translation>设置…</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="386" />
        <source>Paste URLs</source>
        <translation>粘贴网址</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="393" />
        <source>Quit</source>
        <translation>退出</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="399" />
        <source>&amp;File</source>
        <translation>文件(&amp;F)</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="408" />
        <source>&amp;Downloads</source>
        <translation>下载(&amp;D)</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="428" />
        <source>&amp;Help</source>
        <translation>帮助(&amp;H)</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="429" />
        <location filename="../main_window.py" line="450" />
        <source>About drayman</source>
        <translation>关于 drayman</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="455" />
        <source>A download manager that never loses work: every download resumes after a pause, a crash or a lost connection.

Database: {0}</source>
        <translation>从不丢失进度的下载管理器：暂停、崩溃或断网后，每个下载都能继续。

数据库：{0}</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="569" />
        <source>Remove “{0}” from the list?</source>
        <translation>从列表中移除“{0}”？</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="570" />
        <source>Also delete its file</source>
        <translation>同时删除其文件</translation>
    </message>
    <message numerus="yes">
        <location filename="../main_window.py" line="573" />
        <source>Remove %n downloads from the list?</source>
        <translation>
            <numerusform>从列表中移除 %n 个下载？</numerusform></translation>
    </message>
    <message>
        <location filename="../main_window.py" line="784" />
        <source>Page</source>
        <translation>网页</translation>
    </message>
    <message numerus="yes">
        <location filename="../main_window.py" line="1042" />
        <source>All downloads have finished: %n done.</source>
        <translation>
            <numerusform>全部下载已结束：%n 个完成。</numerusform></translation>
    </message>
    <message>
        <location filename="../main_window.py" line="1043" />
        <source>Downloads have finished: {0} done, {1} failed.</source>
        <translation>下载已结束：{0} 个完成，{1} 个失败。</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="1057" />
        <source>quiet hours until {0}</source>
        <translation>按计划暂停至 {0}</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="1059" />
        <source>schedule: {0}/s</source>
        <translation>计划限速：{0}/秒</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="1099" />
        <source>When the queue is done: {0} failed: {1}</source>
        <translation>队列完成后执行 {0} 失败：{1}</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="1119" />
        <source>drayman keeps downloading in the tray. Click its icon to bring the window back; right-click it to quit.</source>
        <translation>drayman 在托盘中继续下载。单击托盘图标可恢复窗口；右键单击可退出。</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="1140" />
        <source>Add {0} copied link(s)…</source>
        <translation>添加复制的 {0} 个链接…</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="1147" />
        <source>{0} — click to add them</source>
        <translation>{0} — 点击添加</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="1184" />
        <source>filter: {0} · {1} of {2} shown</source>
        <translation>筛选：{0} · 显示 {1} / {2} 个</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="1196" />
        <source>No download matches the filter.</source>
        <translation>没有符合筛选条件的下载。</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="1199" />
        <source>Paste a link (Ctrl+V), drop one here, or click Add to start.</source>
        <translation>粘贴链接（Ctrl+V）、拖放到这里，或点击“添加”开始。</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="1266" />
        <source>failed {0}</source>
        <translation>失败 {0}</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="1274" />
        <source>active {0} · queued {1} · paused {2} · done {3} · {4}</source>
        <translation>下载中 {0} · 排队 {1} · 暂停 {2} · 完成 {3} · {4}</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="1287" />
        <source>Select a download to see its details.</source>
        <translation>选择一个下载以查看详情。</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="1302" />
        <source>Note</source>
        <translation>提示</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="584" />
        <source>Remove downloads</source>
        <translation>移除下载</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="574" />
        <source>Also delete their files</source>
        <translation>同时删除文件</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="586" />
        <source>Files stay on the disk unless you tick the box.</source>
        <translation>除非勾选下面的选项，文件会保留在磁盘上。</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="626" />
        <source>Already in the list, added again: {0}</source>
        <translation>已在列表中，再次添加：{0}</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="708" />
        <source>Pasted text</source>
        <translation>粘贴的文本</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="715" />
        <source>Links given to drayman</source>
        <translation>交给 drayman 的链接</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="733" />
        <source>{0} is not a list of downloads (.txt, .json, .jsonl or .csv).</source>
        <translation>{0} 不是下载列表（.txt、.json、.jsonl 或 .csv）。</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="740" />
        <source>Dropped links</source>
        <translation>拖入的链接</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="747" />
        <source>Import a list of downloads</source>
        <translation>导入下载列表</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="751" />
        <source>Lists of downloads (*.txt *.json *.jsonl *.ndjson *.csv)</source>
        <translation>下载列表 (*.txt *.json *.jsonl *.ndjson *.csv)</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="752" />
        <source>All files (*)</source>
        <translation>所有文件 (*)</translation>
    </message>
    <message numerus="yes">
        <location filename="../main_window.py" line="797" />
        <source>… and %n more</source>
        <translation>
            <numerusform>……另有 %n 个</numerusform></translation>
    </message>
    <message>
        <location filename="../main_window.py" line="799" />
        <source>{0}: nothing to import.</source>
        <translation>{0}：没有可导入的条目。</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="874" />
        <source>Something went wrong: {0}. Details are in the log.</source>
        <translation>出现错误：{0}。详情见日志。</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="978" />
        <source>Speed: {0}/s</source>
        <translation>速度：{0}/秒</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="1001" />
        <source>Total speed</source>
        <translation>总速度</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="1004" />
        <source>Speed of {0}</source>
        <translation>{0} 的速度</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="1019" />
        <source>{0} failed: {1}</source>
        <translation>{0} 失败：{1}</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="1292" />
        <source>URL</source>
        <translation>网址</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="1293" />
        <source>File</source>
        <translation>文件</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="1294" />
        <source>State</source>
        <translation>状态</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="1295" />
        <source>Size</source>
        <translation>大小</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="1296" />
        <source>ETag</source>
        <translation>ETag</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="1297" />
        <source>Last-Modified</source>
        <translation>最后修改</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="1298" />
        <source>Attempts</source>
        <translation>尝试次数</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="1299" />
        <source>Last error</source>
        <translation>最近的错误</translation>
    </message>
</context>
<context>
    <name>ScheduleTab</name>
    <message>
        <location filename="../schedule_tab.py" line="23" />
        <source>Days and hours</source>
        <extracomment>False until the window hands over the bands it read from the database</extracomment>
        <translation>星期和时段</translation>
    </message>
    <message>
        <location filename="../schedule_tab.py" line="23" />
        <source>Action</source>
        <translation>操作</translation>
    </message>
    <message>
        <location filename="../schedule_tab.py" line="30" />
        <source>mon-fri 09:00-18:00</source>
        <translation>mon-fri 09:00-18:00</translation>
    </message>
    <message>
        <location filename="../schedule_tab.py" line="32" />
        <source>Pause downloads</source>
        <translation>暂停下载</translation>
    </message>
    <message>
        <location filename="../schedule_tab.py" line="33" />
        <source>Limit the speed to</source>
        <translation>限速为</translation>
    </message>
    <message>
        <location filename="../schedule_tab.py" line="35" />
        <source>e.g. 500k, 2M</source>
        <translation>例如 500k、2M</translation>
    </message>
    <message>
        <location filename="../schedule_tab.py" line="40" />
        <source>Add</source>
        <translation>添加</translation>
    </message>
    <message>
        <location filename="../schedule_tab.py" line="42" />
        <source>Remove</source>
        <translation>删除</translation>
    </message>
    <message>
        <location filename="../schedule_tab.py" line="50" />
        <source>Local time. Days: daily, weekdays, weekends, mon…sun, mon-fri, sat,sun. An end before the start is the next day (22:00-07:00). Running downloads pause at a pause band's start and resume at its end.</source>
        <translation>本地时间。星期：daily（每天）、weekdays（工作日）、weekends（周末）、mon…sun、mon-fri、sat,sun。结束早于开始表示到次日（22:00-07:00）。正在进行的下载在暂停时段开始时暂停，结束时继续。</translation>
    </message>
    <message>
        <location filename="../schedule_tab.py" line="82" />
        <source>Enter a speed for the limit, e.g. 500k.</source>
        <translation>请输入限速值，例如 500k。</translation>
    </message>
    <message>
        <location filename="../schedule_tab.py" line="85" />
        <source>A limit must be more than 0; choose Pause instead.</source>
        <translation>限速必须大于 0；要停止下载请改选“暂停下载”。</translation>
    </message>
    <message>
        <location filename="../schedule_tab.py" line="112" />
        <source>Pause</source>
        <translation>暂停</translation>
    </message>
    <message>
        <location filename="../schedule_tab.py" line="114" />
        <source>Limit to {0}/s</source>
        <translation>限速 {0}/秒</translation>
    </message>
</context>
<context>
    <name>Session</name>
    <message>
        <location filename="../app.py" line="104" />
        <source>Viewer of the engine in process {0}</source>
        <extracomment>where the job table's column widths, order and sort are kept between runs how long closing the window may take to checkpoint every transfer where thumbnails are kept (default: the user cache folder) the user's Downloads folder (read once, here: platformdirs may read a file) a manual proxy's URL is in a private file: read in open(), off this thread aria2's JSON-RPC, when the settings turn it on (own engine only) what the proxy's private file holds (None: unknown, a write failed), and the write of a newer one, if any</extracomment>
        <translation>查看进程 {0} 中的下载引擎</translation>
    </message>
    <message>
        <location filename="../app.py" line="212" />
        <source>Waiting for the proxy: give it again in Settings</source>
        <translation>等待代理：请在“设置”中重新填写</translation>
    </message>
    <message>
        <location filename="../app.py" line="215" />
        <source>Downloading (own engine)</source>
        <translation>正在下载（本窗口的引擎）</translation>
    </message>
    <message>
        <location filename="../app.py" line="186" />
        <source>aria2 RPC on port {0}: browser extensions can add downloads</source>
        <translation>aria2 RPC 端口 {0}：浏览器扩展可以添加下载</translation>
    </message>
</context>
<context>
    <name>Settings</name>
    <message>
        <location filename="../settings.py" line="139" />
        <source>The proxy chosen in Settings cannot be read ({0}). Downloads that would go through it wait until it is given again in Settings.</source>
        <extracomment>the proxy setting: "" the environment's variables (as `drayman run`), DIRECT none, else a URL QSettings' key for which proxy: one of the three modes below, never the URL where versions before the private file kept the proxy URL itself, password included the engine's own defaults (what `drayman run` uses without flags): the window starts from these bytes per second for all downloads (0 = no limit) connections per large file when the server allows ranges (1 = never split) "system" (follow the locale), "en" or "zh_CN" how imported media lists are named (the last one used) FROM_ENVIRONMENT (run's default), DIRECT (run --no-proxy) or a proxy URL (run --proxy); QSettings keeps only the mode, the URL is in its private file (drayman.ui.proxyfile) why the manual proxy's URL could not be read from its private file (deleted, unreadable); "" when it could. While set, the mode stays "manual", and nothing that would go through that proxy goes at all (never around it) serve aria2's JSON-RPC (browser extensions, AriaNg, aria2 scripts) listen on every interface, not only this computer (127.0.0.1) the RPC secret; kept in its own private file (drayman.rpc.secret), never in QSettings, whose file other users of the machine may read offer http(s) links copied to the clipboard for download (opt-in; never adds by itself) what to do when the queue is done, as `run --on-idle` takes it (command:CMD included) settings kept elsewhere than QSettings (the proxy: its mode only, under PROXY_MODE_KEY)</extracomment>
        <translation>无法读取“设置”中选择的代理（{0}）。经由该代理的下载将等待，直到在“设置”中重新填写。</translation>
    </message>
</context>
<context>
    <name>SettingsDialog</name>
    <message>
        <location filename="../settings.py" line="259" />
        <source>Settings</source>
        <extracomment>the Categories tab's table once accepted (None: the tab was not shown)</extracomment>
        <translation>设置</translation>
    </message>
    <message>
        <location filename="../settings.py" line="267" />
        <source>No limit (e.g. 2M, 500k)</source>
        <translation>不限速（例如 2M、500k）</translation>
    </message>
    <message>
        <location filename="../settings.py" line="273" />
        <source>Large files are fetched over at most this many connections when the server allows it: 8 at first, more only when the server holds each one to a trickle</source>
        <translation>服务器允许时，大文件最多通过这么多个连接下载：先用 8 个，只有服务器限制每个连接的速度时才增加</translation>
    </message>
    <message>
        <location filename="../settings.py" line="280" />
        <source>From the environment (http_proxy, NO_PROXY…)</source>
        <translation>使用环境变量（http_proxy、NO_PROXY…）</translation>
    </message>
    <message>
        <location filename="../settings.py" line="281" />
        <source>No proxy</source>
        <translation>不使用代理</translation>
    </message>
    <message>
        <location filename="../settings.py" line="282" />
        <source>This proxy:</source>
        <translation>使用此代理：</translation>
    </message>
    <message>
        <location filename="../settings.py" line="298" />
        <source>As the system</source>
        <translation>跟随系统</translation>
    </message>
    <message>
        <location filename="../settings.py" line="305" />
        <source>Downloads at once</source>
        <translation>同时下载数</translation>
    </message>
    <message>
        <location filename="../settings.py" line="306" />
        <source>At once per host</source>
        <translation>每个主机同时下载数</translation>
    </message>
    <message>
        <location filename="../settings.py" line="307" />
        <source>Speed limit</source>
        <translation>限速</translation>
    </message>
    <message>
        <location filename="../settings.py" line="308" />
        <source>Stalled after (s)</source>
        <translation>无响应判定（秒）</translation>
    </message>
    <message>
        <location filename="../settings.py" line="309" />
        <source>Attempts before failing</source>
        <translation>失败前的尝试次数</translation>
    </message>
    <message>
        <location filename="../settings.py" line="310" />
        <source>Connections per file</source>
        <translation>每个文件的连接数</translation>
    </message>
    <message>
        <location filename="../settings.py" line="311" />
        <source>Browse…</source>
        <translation>浏览…</translation>
    </message>
    <message>
        <location filename="../settings.py" line="316" />
        <location filename="../settings.py" line="384" />
        <source>Default folder</source>
        <translation>默认文件夹</translation>
    </message>
    <message>
        <location filename="../settings.py" line="317" />
        <source>Proxy</source>
        <translation>代理</translation>
    </message>
    <message>
        <location filename="../settings.py" line="319" />
        <source>Language (after a restart)</source>
        <translation>界面语言（重启后生效）</translation>
    </message>
    <message>
        <location filename="../settings.py" line="322" />
        <source>Nothing</source>
        <translation>不执行任何操作</translation>
    </message>
    <message>
        <location filename="../settings.py" line="323" />
        <source>Tell me</source>
        <translation>通知我</translation>
    </message>
    <message>
        <location filename="../settings.py" line="324" />
        <source>Open the folder</source>
        <translation>打开文件夹</translation>
    </message>
    <message>
        <location filename="../settings.py" line="325" />
        <source>Run this command:</source>
        <translation>运行此命令：</translation>
    </message>
    <message>
        <location filename="../settings.py" line="326" />
        <source>Sleep (after 60 s I can cancel)</source>
        <translation>睡眠（先倒计时 60 秒，可取消）</translation>
    </message>
    <message>
        <location filename="../settings.py" line="327" />
        <source>Shut down (after 60 s I can cancel)</source>
        <translation>关机（先倒计时 60 秒，可取消）</translation>
    </message>
    <message>
        <location filename="../settings.py" line="334" />
        <source>The finished files' paths come on stdin and in $DRAYMAN_FILES</source>
        <translation>已完成文件的路径通过标准输入和 $DRAYMAN_FILES 传给命令</translation>
    </message>
    <message>
        <location filename="../settings.py" line="340" />
        <source>When the queue is done</source>
        <translation>队列完成后</translation>
    </message>
    <message>
        <location filename="../settings.py" line="342" />
        <source>Tell me when downloads finish or fail</source>
        <translation>下载完成或失败时通知我</translation>
    </message>
    <message>
        <location filename="../settings.py" line="344" />
        <source>Closing the window keeps downloading</source>
        <translation>关闭窗口后继续下载</translation>
    </message>
    <message>
        <location filename="../settings.py" line="346" />
        <source>Start in the tray</source>
        <translation>启动时最小化到托盘</translation>
    </message>
    <message>
        <location filename="../settings.py" line="349" />
        <source>Offer links I copy for download (nothing is added without a click)</source>
        <translation>提示下载我复制的链接（不点击就不会添加任何内容）</translation>
    </message>
    <message>
        <location filename="../settings.py" line="364" />
        <source>General</source>
        <translation>常规</translation>
    </message>
    <message>
        <location filename="../settings.py" line="368" />
        <source>Categories</source>
        <translation>类别</translation>
    </message>
    <message>
        <location filename="../settings.py" line="371" />
        <source>Schedule</source>
        <extracomment>the weekly bands; the window fills it from the database</extracomment>
        <translation>计划</translation>
    </message>
    <message>
        <location filename="../settings.py" line="402" />
        <source>Let browser extensions and aria2 tools add downloads (aria2 RPC)</source>
        <translation>允许浏览器扩展和 aria2 工具添加下载（aria2 RPC）</translation>
    </message>
    <message>
        <location filename="../settings.py" line="407" />
        <source>Also from other computers (listen on the network)</source>
        <translation>也允许其他计算机（在网络上监听）</translation>
    </message>
    <message>
        <location filename="../settings.py" line="411" />
        <source>Made when the RPC is first turned on</source>
        <translation>首次开启 RPC 时生成</translation>
    </message>
    <message>
        <location filename="../settings.py" line="414" />
        <source>The secret (token) to enter in the extension, with host 127.0.0.1 and the port</source>
        <translation>在扩展中填写的密钥（token），主机为 127.0.0.1，加上端口</translation>
    </message>
    <message>
        <location filename="../settings.py" line="418" />
        <source>RPC port</source>
        <translation>RPC 端口</translation>
    </message>
    <message>
        <location filename="../settings.py" line="419" />
        <source>RPC secret</source>
        <translation>RPC 密钥</translation>
    </message>
    <message>
        <location filename="../settings.py" line="435" />
        <source>Enter the command to run when the queue is done.</source>
        <translation>请输入队列完成后要运行的命令。</translation>
    </message>
</context>
</TS>