<?xml version='1.0' encoding='utf-8'?>
<TS version="2.1" language="zh_CN">
<context>
    <name>AddDialog</name>
    <message>
        <location filename="../add_dialog.py" line="32" />
        <source>Add downloads</source>
        <translation>添加下载</translation>
    </message>
    <message>
        <location filename="../add_dialog.py" line="34" />
        <source>One URL per line</source>
        <translation>每行一个网址</translation>
    </message>
    <message>
        <location filename="../add_dialog.py" line="36" />
        <source>Browse…</source>
        <translation>浏览…</translation>
    </message>
    <message>
        <location filename="../add_dialog.py" line="42" />
        <source>From the server (single URL only)</source>
        <translation>由服务器决定（仅限单个网址）</translation>
    </message>
    <message>
        <location filename="../add_dialog.py" line="47" />
        <source>Optional</source>
        <translation>可选</translation>
    </message>
    <message>
        <location filename="../add_dialog.py" line="53" />
        <source>URLs</source>
        <translation>网址</translation>
    </message>
    <message>
        <location filename="../add_dialog.py" line="54" />
        <location filename="../add_dialog.py" line="73" />
        <source>Folder</source>
        <translation>文件夹</translation>
    </message>
    <message>
        <location filename="../add_dialog.py" line="55" />
        <source>File name</source>
        <translation>文件名</translation>
    </message>
    <message>
        <location filename="../add_dialog.py" line="56" />
        <source>Headers</source>
        <translation>请求头</translation>
    </message>
    <message>
        <location filename="../add_dialog.py" line="57" />
        <source>SHA-256</source>
        <translation>SHA-256</translation>
    </message>
    <message>
        <location filename="../add_dialog.py" line="82" />
        <source>Enter at least one URL.</source>
        <translation>请至少输入一个网址。</translation>
    </message>
    <message>
        <location filename="../add_dialog.py" line="87" />
        <source>Line {0}: {1}</source>
        <translation>第 {0} 行：{1}</translation>
    </message>
    <message>
        <location filename="../add_dialog.py" line="89" />
        <source>Choose a folder.</source>
        <translation>请选择文件夹。</translation>
    </message>
    <message>
        <location filename="../add_dialog.py" line="93" />
        <source>A file name can only be given for a single URL.</source>
        <translation>只有单个网址时才能指定文件名。</translation>
    </message>
    <message>
        <location filename="../add_dialog.py" line="101" />
        <source>A checksum can only be given for a single URL.</source>
        <translation>只有单个网址时才能指定校验和。</translation>
    </message>
</context>
<context>
    <name>JobState</name>
    <message>
        <location filename="../jobs_model.py" line="60" />
        <source>queued</source>
        <translation>排队中</translation>
    </message>
    <message>
        <location filename="../jobs_model.py" line="61" />
        <source>running</source>
        <translation>下载中</translation>
    </message>
    <message>
        <location filename="../jobs_model.py" line="62" />
        <source>paused</source>
        <translation>已暂停</translation>
    </message>
    <message>
        <location filename="../jobs_model.py" line="63" />
        <source>done</source>
        <translation>已完成</translation>
    </message>
    <message>
        <location filename="../jobs_model.py" line="64" />
        <source>failed</source>
        <translation>失败</translation>
    </message>
</context>
<context>
    <name>JobsModel</name>
    <message>
        <location filename="../jobs_model.py" line="44" />
        <source>Name</source>
        <extracomment>the role that gives a column's raw value, for sorting the role that gives the row's job id the role that gives progress as 0..1 (None when unknown), for the delegate</extracomment>
        <translation>名称</translation>
    </message>
    <message>
        <location filename="../jobs_model.py" line="45" />
        <source>Size</source>
        <translation>大小</translation>
    </message>
    <message>
        <location filename="../jobs_model.py" line="46" />
        <source>Progress</source>
        <translation>进度</translation>
    </message>
    <message>
        <location filename="../jobs_model.py" line="47" />
        <source>Speed</source>
        <translation>速度</translation>
    </message>
    <message>
        <location filename="../jobs_model.py" line="48" />
        <source>ETA</source>
        <translation>剩余时间</translation>
    </message>
    <message>
        <location filename="../jobs_model.py" line="49" />
        <source>State</source>
        <translation>状态</translation>
    </message>
    <message>
        <location filename="../jobs_model.py" line="50" />
        <source>Attempts / error</source>
        <translation>尝试次数 / 错误</translation>
    </message>
    <message>
        <location filename="../jobs_model.py" line="51" />
        <source>Folder</source>
        <translation>文件夹</translation>
    </message>
    <message>
        <location filename="../jobs_model.py" line="52" />
        <source>Added</source>
        <translation>添加时间</translation>
    </message>
    <message>
        <location filename="../jobs_model.py" line="53" />
        <source>Priority</source>
        <translation>优先级</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <location filename="../main_window.py" line="99" />
        <source>Search name or URL</source>
        <extracomment>rows shown before the whole table is read (first paint of a 100,000-job queue)</extracomment>
        <translation>搜索名称或网址</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="104" />
        <source>All</source>
        <translation>全部</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="105" />
        <source>Active</source>
        <translation>下载中</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="106" />
        <source>Queued</source>
        <translation>排队中</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="107" />
        <source>Paused</source>
        <translation>已暂停</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="108" />
        <source>Done</source>
        <translation>已完成</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="109" />
        <source>Failed</source>
        <translation>失败</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="178" />
        <source>Jobs</source>
        <translation>任务</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="181" />
        <source>Add…</source>
        <translation>添加…</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="183" />
        <source>Pause</source>
        <translation>暂停</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="184" />
        <source>Resume</source>
        <translation>继续</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="185" />
        <source>Retry</source>
        <translation>重试</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="186" />
        <source>Remove…</source>
        <translation>移除…</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="188" />
        <source>Move up</source>
        <translation>上移</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="191" />
        <source>Move down</source>
        <translation>下移</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="195" />
        <source>Pause all</source>
        <translation>全部暂停</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="198" />
        <source>Resume all</source>
        <translation>全部继续</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="200" />
        <source>Open file</source>
        <translation>打开文件</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="202" />
        <source>Open folder</source>
        <translation>打开文件夹</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="205" />
        <source>Copy URL</source>
        <translation>复制网址</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="208" />
        <source>Settings…</source>
        <translation>设置…</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="211" />
        <source>Paste URLs</source>
        <translation>粘贴网址</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="249" />
        <source>Remove downloads</source>
        <translation>移除下载</translation>
    </message>
    <message numerus="yes">
        <location filename="../main_window.py" line="250" />
        <source>Remove %n job(s) from the list?</source>
        <translation>
            <numerusform>从列表中移除 %n 个任务？</numerusform></translation>
    </message>
    <message>
        <location filename="../main_window.py" line="251" />
        <source>Also delete their files</source>
        <translation>同时删除文件</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="364" />
        <source>Something went wrong: {0}. Details are in the log.</source>
        <translation>出现错误：{0}。详情见日志。</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="422" />
        <source>Speed: {0}/s</source>
        <translation>速度：{0}/秒</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="435" />
        <source>{0} failed: {1}</source>
        <translation>{0} 失败：{1}</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="443" />
        <source>All downloads have finished.</source>
        <translation>全部下载已完成。</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="468" />
        <source>active {0} · queued {1} · paused {2} · done {3} · failed {4}</source>
        <translation>下载中 {0} · 排队 {1} · 暂停 {2} · 完成 {3} · 失败 {4}</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="481" />
        <source>Select a job to see its details.</source>
        <translation>选择一个任务以查看详情。</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="485" />
        <source>URL</source>
        <translation>网址</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="486" />
        <source>File</source>
        <translation>文件</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="487" />
        <source>State</source>
        <translation>状态</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="488" />
        <source>Size</source>
        <translation>大小</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="489" />
        <source>ETag</source>
        <translation>ETag</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="490" />
        <source>Last-Modified</source>
        <translation>最后修改</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="491" />
        <source>Attempts</source>
        <translation>尝试次数</translation>
    </message>
    <message>
        <location filename="../main_window.py" line="492" />
        <source>Last error</source>
        <translation>最近的错误</translation>
    </message>
</context>
<context>
    <name>Session</name>
    <message>
        <location filename="../app.py" line="68" />
        <source>Viewer of the engine in process {0}</source>
        <extracomment>how long closing the window may take to checkpoint every transfer</extracomment>
        <translation>查看进程 {0} 中的下载引擎</translation>
    </message>
    <message>
        <location filename="../app.py" line="73" />
        <source>Downloading (own engine)</source>
        <translation>正在下载（本窗口的引擎）</translation>
    </message>
</context>
<context>
    <name>SettingsDialog</name>
    <message>
        <location filename="../settings.py" line="66" />
        <source>Settings</source>
        <extracomment>bytes per second for all downloads (0 = no limit) "system" (follow the locale), "en" or "zh_CN"</extracomment>
        <translation>设置</translation>
    </message>
    <message>
        <location filename="../settings.py" line="74" />
        <source>No limit (e.g. 2M, 500k)</source>
        <translation>不限速（例如 2M、500k）</translation>
    </message>
    <message>
        <location filename="../settings.py" line="80" />
        <source>As the system</source>
        <translation>跟随系统</translation>
    </message>
    <message>
        <location filename="../settings.py" line="90" />
        <source>Downloads at once</source>
        <translation>同时下载数</translation>
    </message>
    <message>
        <location filename="../settings.py" line="91" />
        <source>At once per host</source>
        <translation>每个主机同时下载数</translation>
    </message>
    <message>
        <location filename="../settings.py" line="92" />
        <source>Speed limit</source>
        <translation>限速</translation>
    </message>
    <message>
        <location filename="../settings.py" line="93" />
        <source>Stalled after (s)</source>
        <translation>无响应判定（秒）</translation>
    </message>
    <message>
        <location filename="../settings.py" line="94" />
        <source>Attempts before failing</source>
        <translation>失败前的尝试次数</translation>
    </message>
    <message>
        <location filename="../settings.py" line="95" />
        <source>Default folder</source>
        <translation>默认文件夹</translation>
    </message>
    <message>
        <location filename="../settings.py" line="96" />
        <source>Language (after a restart)</source>
        <translation>界面语言（重启后生效）</translation>
    </message>
    <message>
        <location filename="../settings.py" line="97" />
        <source>Tell me when downloads finish or fail</source>
        <translation>下载完成或失败时通知我</translation>
    </message>
    <message>
        <location filename="../settings.py" line="99" />
        <source>Closing the window keeps downloading</source>
        <translation>关闭窗口后继续下载</translation>
    </message>
    <message>
        <location filename="../settings.py" line="101" />
        <source>Start in the tray</source>
        <translation>启动时最小化到托盘</translation>
    </message>
</context>
<context>
    <name>window</name>
    <message>
        <location filename="../app.py" line="121" />
        <source>Downloading in the background</source>
        <translation>正在后台下载</translation>
    </message>
</context>
</TS>