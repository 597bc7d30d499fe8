<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>AccountUi</name>
    <message>
        <source>This computer runs the built-in demo (no server). Start Seatmate with `seatmate --server http://SERVER:8765` to log in to your team&apos;s server.</source>
        <translation>本机正在运行内置演示（不连接服务器）。请用 `seatmate --server http://服务器:8765` 启动，登录团队服务器。</translation>
    </message>
    <message>
        <source>Logged in as %1</source>
        <translation>已登录：%1</translation>
    </message>
    <message>
        <source>Save the open wrap-up before logging out.</source>
        <translation>请先保存正在填写的话后处理，再退出登录。</translation>
    </message>
    <message>
        <source>%1 records have not reached the server yet. Log out anyway? They will be exported to a file first, then removed from this computer with the customer data.</source>
        <translation>还有 %1 条记录未上传到服务器。仍要退出登录吗？这些记录会先导出到文件，然后与客户数据一起从本机清除。</translation>
    </message>
    <message>
        <source>Log out? The customer data will be removed from this computer.</source>
        <translation>确定退出登录？本机的客户数据将被清除。</translation>
    </message>
    <message>
        <source>Log out</source>
        <translation>退出登录</translation>
    </message>
    <message>
        <source>Export and log out</source>
        <translation>导出并退出登录</translation>
    </message>
    <message>
        <source>Account</source>
        <translation>账号</translation>
    </message>
    <message>
        <source>&amp;Account</source>
        <translation>账号(&amp;A)</translation>
    </message>
    <message>
        <source>Log in to the server…</source>
        <translation>登录服务器…</translation>
    </message>
    <message>
        <source>Rejected records…</source>
        <translation>被拒记录…</translation>
    </message>
</context>
<context>
    <name>AgentState</name>
    <message>
        <source>Ready</source>
        <translation>就绪</translation>
    </message>
    <message>
        <source>On call</source>
        <translation>通话中</translation>
    </message>
    <message>
        <source>Wrap-up</source>
        <translation>话后处理</translation>
    </message>
    <message>
        <source>Paused</source>
        <translation>小休</translation>
    </message>
    <message>
        <source>Offline</source>
        <translation>离线</translation>
    </message>
</context>
<context>
    <name>AgentStateWidget</name>
    <message>
        <source>Ready</source>
        <translation>就绪</translation>
    </message>
    <message>
        <source>Pause</source>
        <translation>小休</translation>
    </message>
    <message>
        <source>Offline</source>
        <translation>离线</translation>
    </message>
    <message>
        <source> → pause after this call</source>
        <translation> → 本通结束后小休</translation>
    </message>
</context>
<context>
    <name>CallBar</name>
    <message>
        <source>Number: %1</source>
        <translation>号码：%1</translation>
    </message>
    <message>
        <source>No number selected</source>
        <translation>未选择号码</translation>
    </message>
    <message>
        <source>Dial</source>
        <translation>拨打</translation>
    </message>
    <message>
        <source>Hang up</source>
        <translation>挂断</translation>
    </message>
    <message>
        <source>Hold</source>
        <translation>保持</translation>
    </message>
    <message>
        <source>Mute</source>
        <translation>静音</translation>
    </message>
    <message>
        <source>Transfer</source>
        <translation>转接</translation>
    </message>
    <message>
        <source>The softphone is not connected yet</source>
        <translation>软电话尚未连接</translation>
    </message>
    <message>
        <source>Ready</source>
        <translation>就绪</translation>
    </message>
    <message>
        <source>Break</source>
        <translation>小休</translation>
    </message>
    <message>
        <source>Meal</source>
        <translation>用餐</translation>
    </message>
    <message>
        <source>Meeting</source>
        <translation>会议</translation>
    </message>
    <message>
        <source>Training</source>
        <translation>培训</translation>
    </message>
</context>
<context>
    <name>CustomerCard</name>
    <message>
        <source>Phones</source>
        <translation>电话</translation>
    </message>
    <message>
        <source>City</source>
        <translation>城市</translation>
    </message>
    <message>
        <source>Plate</source>
        <translation>车牌</translation>
    </message>
    <message>
        <source>Vehicle</source>
        <translation>车型</translation>
    </message>
    <message>
        <source>Policy expiry</source>
        <translation>保单到期</translation>
    </message>
    <message>
        <source>Last premium</source>
        <translation>上年保费</translation>
    </message>
    <message>
        <source>Source</source>
        <translation>来源</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <source>Notes</source>
        <translation>备注</translation>
    </message>
    <message>
        <source>No customer selected</source>
        <translation>未选择客户</translation>
    </message>
    <message>
        <source>(no number)</source>
        <translation>（无号码）</translation>
    </message>
</context>
<context>
    <name>Dialpad</name>
    <message>
        <source>Number or DTMF digits</source>
        <translation>号码或按键</translation>
    </message>
    <message>
        <source>Dial</source>
        <translation>拨打</translation>
    </message>
    <message>
        <source>Clear</source>
        <translation>清除</translation>
    </message>
</context>
<context>
    <name>HelpOverlay</name>
    <message>
        <source>Keyboard shortcuts</source>
        <translation>快捷键</translation>
    </message>
    <message>
        <source>Press F1 or Esc to close</source>
        <translation>按 F1 或 Esc 关闭</translation>
    </message>
</context>
<context>
    <name>KpiBar</name>
    <message>
        <source>Calls made</source>
        <translation>通次</translation>
    </message>
    <message>
        <source>Talk time</source>
        <translation>通时</translation>
    </message>
    <message>
        <source>Share of connected calls refused within 30 seconds</source>
        <translation>接通后 30 秒内被拒绝的占比</translation>
    </message>
    <message>
        <source>Connected %1 (%2)</source>
        <translation>接通 %1（%2）</translation>
    </message>
    <message>
        <source>Avg talk %1</source>
        <translation>均通时 %1</translation>
    </message>
    <message>
        <source>Sales %1</source>
        <translation>成交 %1</translation>
    </message>
    <message>
        <source>Refused &lt;30s %1</source>
        <translation>30秒内拒绝 %1</translation>
    </message>
    <message>
        <source>Callbacks due %1, overdue %2</source>
        <translation>待回访 %1，逾期 %2</translation>
    </message>
</context>
<context>
    <name>LeadStatus</name>
    <message>
        <source>New</source>
        <translation>待拨打</translation>
    </message>
    <message>
        <source>Callback</source>
        <translation>预约回访</translation>
    </message>
    <message>
        <source>Done</source>
        <translation>已完成</translation>
    </message>
    <message>
        <source>Closed</source>
        <translation>已关闭</translation>
    </message>
</context>
<context>
    <name>LeadTableModel</name>
    <message>
        <source>Name</source>
        <translation>姓名</translation>
    </message>
    <message>
        <source>Phone</source>
        <translation>号码</translation>
    </message>
    <message>
        <source>City</source>
        <translation>城市</translation>
    </message>
    <message>
        <source>Plate</source>
        <translation>车牌</translation>
    </message>
    <message>
        <source>Vehicle</source>
        <translation>车型</translation>
    </message>
    <message>
        <source>Policy expiry</source>
        <translation>保单到期</translation>
    </message>
    <message>
        <source>Priority</source>
        <translation>优先级</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <source>Callback</source>
        <translation>预约回访</translation>
    </message>
    <message>
        <source>Last result</source>
        <translation>上次结果</translation>
    </message>
    <message>
        <source>Not contacted &gt; 48 h</source>
        <translation>超48小时未联系</translation>
    </message>
    <message>
        <source>New lead, received %1, not called within 48 hours: call it first</source>
        <translation>新名单，%1 到达本机，48 小时内未拨打：请优先联系</translation>
    </message>
</context>
<context>
    <name>LoginDialog</name>
    <message>
        <source>Log in</source>
        <translation>登录</translation>
    </message>
    <message>
        <source>Server</source>
        <translation>服务器</translation>
    </message>
    <message>
        <source>Log in to the server</source>
        <translation>登录服务器</translation>
    </message>
    <message>
        <source>User name</source>
        <translation>用户名</translation>
    </message>
    <message>
        <source>Password</source>
        <translation>密码</translation>
    </message>
    <message>
        <source>e.g. http://192.168.1.10:8765</source>
        <translation>例如 http://192.168.1.10:8765</translation>
    </message>
    <message>
        <source>Remember the server and user name (never the password)</source>
        <translation>记住服务器地址和用户名（不保存密码）</translation>
    </message>
    <message>
        <source>You can keep working while you are not logged in: everything is kept on this computer and sent once you are.</source>
        <translation>未登录时也可以继续工作：所有记录保存在本机，登录后自动上传。</translation>
    </message>
    <message>
        <source>Logging in…</source>
        <translation>正在登录…</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>To call</source>
        <translation>待拨打</translation>
    </message>
    <message>
        <source>Callbacks</source>
        <translation>预约回访</translation>
    </message>
    <message>
        <source>Completed</source>
        <translation>已完成</translation>
    </message>
    <message>
        <source>Seatmate</source>
        <extracomment>How long the selection must rest before the card and script follow it. The agent (or a tel:/sip: hand-off) asked to dial; E.164 number, never logged in full. Emitted after a search result is on screen (tests and the benchmark wait on it). Emitted after the customer card and script show a lead (&quot;&quot; when none).</extracomment>
        <translation>坐席助手</translation>
    </message>
    <message>
        <source>Search name, pinyin initials, plate or last digits of the number</source>
        <translation>搜索姓名、拼音首字母、车牌或号码尾号</translation>
    </message>
    <message>
        <source>&amp;View</source>
        <translation>视图(&amp;V)</translation>
    </message>
    <message>
        <source>Language</source>
        <translation>语言</translation>
    </message>
    <message>
        <source>Find lead</source>
        <translation>查找客户</translation>
    </message>
    <message>
        <source>Quit</source>
        <translation>退出</translation>
    </message>
    <message>
        <source>The lead list could not be read: %1</source>
        <translation>无法读取客户名单：%1</translation>
    </message>
    <message>
        <source>The customer card could not be read: %1</source>
        <translation>无法读取客户资料：%1</translation>
    </message>
    <message>
        <source>Number received: %1</source>
        <translation>收到号码：%1</translation>
    </message>
</context>
<context>
    <name>RejectedEventsDialog</name>
    <message>
        <source>Rejected records</source>
        <translation>被拒记录</translation>
    </message>
    <message>
        <source>Time</source>
        <translation>时间</translation>
    </message>
    <message>
        <source>Record</source>
        <translation>记录</translation>
    </message>
    <message>
        <source>Customer</source>
        <translation>客户</translation>
    </message>
    <message>
        <source>Reason</source>
        <translation>原因</translation>
    </message>
    <message>
        <source>The server did not accept these %1 records. The rest of your work was sent; tell your team leader if a record is needed.</source>
        <translation>服务器未接受这 %1 条记录，其余工作已上传；如需这些记录，请告知团队长。</translation>
    </message>
    <message>
        <source>Every record was accepted by the server.</source>
        <translation>所有记录均已被服务器接受。</translation>
    </message>
</context>
<context>
    <name>RejectedIndicator</name>
    <message>
        <source>%1 rejected</source>
        <translation>%1 条被拒</translation>
    </message>
    <message>
        <source>Records the server refused; click to see why</source>
        <translation>服务器拒绝的记录，点击查看原因</translation>
    </message>
</context>
<context>
    <name>ScriptPanel</name>
    <message>
        <source>No script for this campaign.</source>
        <translation>本活动暂无话术。</translation>
    </message>
    <message>
        <source>Script</source>
        <translation>话术</translation>
    </message>
</context>
<context>
    <name>SessionService</name>
    <message>
        <source>Call attempted</source>
        <extracomment>settings.json block for what the login dialog remembers (never the password). The server&apos;s throttle window (docs/sync-api.md: 5 failures per user per 5 min): the wait shown when the answer does not say how long. ok → the display name; else one line for the user (in the UI language). &quot;ok&quot; | &quot;bad_credentials&quot; | &quot;throttled&quot; | &quot;unreachable&quot; | &quot;conflict&quot; | &quot;invalid&quot; | &quot;error&quot;</extracomment>
        <translation>拨打记录</translation>
    </message>
    <message>
        <source>Call ended</source>
        <translation>通话记录</translation>
    </message>
    <message>
        <source>Disposition</source>
        <translation>通话结果</translation>
    </message>
    <message>
        <source>Callback scheduled</source>
        <translation>预约回访</translation>
    </message>
    <message>
        <source>Note</source>
        <translation>备注</translation>
    </message>
    <message>
        <source>Do-not-call request</source>
        <translation>拒绝再联系</translation>
    </message>
    <message>
        <source>New question</source>
        <translation>新问题</translation>
    </message>
    <message>
        <source>Coaching score</source>
        <translation>辅导评分</translation>
    </message>
    <message>
        <source>Agent state</source>
        <translation>坐席状态</translation>
    </message>
    <message>
        <source>Too many attempts; try again in %1 minutes</source>
        <translation>尝试次数过多，请 %1 分钟后再试</translation>
    </message>
    <message>
        <source>Wrong user name or password</source>
        <translation>用户名或密码错误</translation>
    </message>
    <message>
        <source>%1 records of %2 on this computer are not uploaded yet; %2 must log in once to upload them</source>
        <translation>本机还有 %2 的 %1 条记录未上传，请先由 %2 登录一次完成上传</translation>
    </message>
    <message>
        <source>Records of the previous user on this computer are not uploaded yet; they must log in once to upload them</source>
        <translation>本机还有上一位用户的记录未上传，请先由该用户登录一次完成上传</translation>
    </message>
    <message>
        <source>Cannot reach the server; check the network and the server address</source>
        <translation>无法连接服务器，请检查网络和服务器地址</translation>
    </message>
    <message>
        <source>This account is disabled; ask your team leader</source>
        <translation>该账号已停用，请联系团队长</translation>
    </message>
    <message>
        <source>Login failed: %1</source>
        <translation>登录失败：%1</translation>
    </message>
    <message>
        <source>Enter the server address, e.g. http://192.168.1.10:8765</source>
        <extracomment>The saved session is gone (revoked, expired): ask for the password; queued work is kept.</extracomment>
        <translation>请输入服务器地址，例如 http://192.168.1.10:8765</translation>
    </message>
    <message>
        <source>Enter your user name and password</source>
        <translation>请输入用户名和密码</translation>
    </message>
    <message>
        <source>No server is configured; start Seatmate with --server URL</source>
        <translation>未配置服务器，请用 seatmate --server 服务器地址 启动</translation>
    </message>
    <message>
        <source>Log out first to use another server</source>
        <translation>请先退出登录，再连接其他服务器</translation>
    </message>
    <message>
        <source>Your session has ended; log in again. Nothing you recorded is lost.</source>
        <translation>登录已失效，请重新登录。已记录的内容不会丢失。</translation>
    </message>
    <message>
        <source>Save the open wrap-up before logging out</source>
        <translation>请先保存正在填写的话后处理，再退出登录</translation>
    </message>
    <message>
        <source>%1 records are not uploaded yet</source>
        <translation>还有 %1 条记录未上传</translation>
    </message>
    <message>
        <source>The export failed: %1</source>
        <translation>导出失败：%1</translation>
    </message>
    <message>
        <source>Logged out, but the local data could not be cleared: %1</source>
        <translation>已退出登录，但本机数据未能清除：%1</translation>
    </message>
    <message>
        <source>Logged out; the customer data was removed from this computer</source>
        <translation>已退出登录，本机的客户数据已清除</translation>
    </message>
    <message>
        <source>unsynced records exported to %1</source>
        <translation>未上传的记录已导出到 %1</translation>
    </message>
</context>
<context>
    <name>Shortcuts</name>
    <message>
        <source>Dial the next best lead</source>
        <translation>拨打下一位客户</translation>
    </message>
    <message>
        <source>Dial the selected lead</source>
        <translation>拨打选中的客户</translation>
    </message>
    <message>
        <source>Hang up</source>
        <translation>挂断</translation>
    </message>
    <message>
        <source>Answer an incoming call</source>
        <translation>接听来电</translation>
    </message>
    <message>
        <source>Mute / unmute</source>
        <translation>静音 / 取消静音</translation>
    </message>
    <message>
        <source>Hold / resume</source>
        <translation>保持 / 恢复通话</translation>
    </message>
    <message>
        <source>Show the dialpad</source>
        <translation>显示拨号盘</translation>
    </message>
    <message>
        <source>Save the wrap-up</source>
        <translation>保存话后处理</translation>
    </message>
    <message>
        <source>Cancel the power-dial countdown</source>
        <translation>取消自动外呼倒计时</translation>
    </message>
    <message>
        <source>Switch preview / power mode</source>
        <translation>切换预览 / 自动外呼</translation>
    </message>
    <message>
        <source>Ready</source>
        <translation>就绪</translation>
    </message>
    <message>
        <source>Pause (break)</source>
        <translation>小休</translation>
    </message>
    <message>
        <source>Search leads</source>
        <translation>搜索客户</translation>
    </message>
    <message>
        <source>Search objection answers</source>
        <translation>搜索异议处理</translation>
    </message>
    <message>
        <source>Next script section</source>
        <translation>话术下一节</translation>
    </message>
    <message>
        <source>Previous script section</source>
        <translation>话术上一节</translation>
    </message>
    <message>
        <source>Record a new question</source>
        <translation>记录新问题</translation>
    </message>
    <message>
        <source>Show this help</source>
        <translation>显示本帮助</translation>
    </message>
    <message>
        <source>1–9, 0: choose a disposition code in the wrap-up panel</source>
        <translation>1–9、0：在话后处理面板中选择通话结果</translation>
    </message>
</context>
<context>
    <name>StatusBar</name>
    <message>
        <source>%1 leads</source>
        <translation>%1 条名单</translation>
    </message>
    <message>
        <source>SIP: not connected</source>
        <translation>SIP：未连接</translation>
    </message>
    <message>
        <source>SIP: registered</source>
        <translation>SIP：已注册</translation>
    </message>
    <message>
        <source>Sync: local demo (no server)</source>
        <translation>同步：本地演示（未配置服务器）</translation>
    </message>
    <message>
        <source>Sync: online</source>
        <translation>同步：在线</translation>
    </message>
    <message>
        <source>Sync: offline</source>
        <translation>同步：离线</translation>
    </message>
    <message>
        <source>%1 pending</source>
        <translation>%1 条待上传</translation>
    </message>
    <message>
        <source>Calls %1/%2 · Talk time %3/%4 min</source>
        <translation>通次 %1/%2 · 通时 %3/%4 分钟</translation>
    </message>
</context>
<context>
    <name>WorkspaceScriptPanel</name>
    <message>
        <source>Record new question</source>
        <translation>记录新问题</translation>
    </message>
    <message>
        <source>Search objection answers</source>
        <translation>搜索异议处理（如：贵、考虑）</translation>
    </message>
    <message>
        <source>The customer&apos;s question the script does not answer:</source>
        <translation>话术中没有答案的客户问题：</translation>
    </message>
</context>
<context>
    <name>WorkspaceStrip</name>
    <message>
        <source>Dial next (F5)</source>
        <translation>拨打下一位 (F5)</translation>
    </message>
    <message>
        <source>Power dialing</source>
        <translation>自动外呼</translation>
    </message>
    <message>
        <source>Cancel (Esc)</source>
        <translation>取消 (Esc)</translation>
    </message>
    <message>
        <source>Next call in %1 s</source>
        <translation>%1 秒后自动拨打下一位</translation>
    </message>
</context>
<context>
    <name>WorkspaceUi</name>
    <message>
        <source>Dialpad</source>
        <translation>拨号盘</translation>
    </message>
    <message>
        <source>Show Seatmate</source>
        <translation>显示坐席助手</translation>
    </message>
    <message>
        <source>Select a lead first (or press F5 for the next one)</source>
        <translation>请先选择客户（或按 F5 拨打下一位）</translation>
    </message>
    <message>
        <source>Transfer</source>
        <translation>转接</translation>
    </message>
    <message>
        <source>Transfer the call to (extension or number):</source>
        <translation>转接到（分机或号码）：</translation>
    </message>
    <message>
        <source>● Recording</source>
        <translation>● 录音中</translation>
    </message>
    <message>
        <source>Ringing</source>
        <translation>振铃</translation>
    </message>
    <message>
        <source>Incoming call %1 — F6 to answer</source>
        <translation>来电 %1 —— 按 F6 接听</translation>
    </message>
    <message>
        <source>Incoming call</source>
        <translation>来电</translation>
    </message>
    <message>
        <source>No lead to call right now</source>
        <translation>当前没有可拨打的客户</translation>
    </message>
    <message>
        <source>Next: %1</source>
        <translation>下一位：%1</translation>
    </message>
    <message>
        <source>callback due</source>
        <translation>回访已到期</translation>
    </message>
    <message>
        <source>Agent: %1</source>
        <translation>坐席状态：%1</translation>
    </message>
    <message>
        <source>Callbacks due %1 · overdue %2</source>
        <translation>待回访 %1 · 逾期 %2</translation>
    </message>
    <message>
        <source>Click to list only these leads; click again to list all</source>
        <translation>点击只显示这些客户；再次点击显示全部</translation>
    </message>
    <message>
        <source>Click to list all leads again</source>
        <translation>点击恢复显示全部客户</translation>
    </message>
    <message>
        <source>Callback due: %1 (%2)</source>
        <translation>回访到期：%1（%2）</translation>
    </message>
    <message>
        <source>%1 callbacks due, the first: %2</source>
        <translation>%1 个回访已到期，第一个：%2</translation>
    </message>
    <message>
        <source>Callback reminder</source>
        <translation>回访提醒</translation>
    </message>
    <message>
        <source>The softphone did not start: %1</source>
        <translation>软电话未能启动：%1</translation>
    </message>
    <message>
        <source>Automatic dialing cancelled; F5 dials the next lead</source>
        <translation>已取消自动外呼；按 F5 拨打下一位</translation>
    </message>
    <message>
        <source>%1 new leads not contacted within 48 h</source>
        <translation>%1 位新客户 48 小时内未联系</translation>
    </message>
</context>
<context>
    <name>WrapupPanel</name>
    <message>
        <source>Wrap-up</source>
        <translation>话后处理</translation>
    </message>
    <message>
        <source>After-call work time</source>
        <translation>话后处理用时</translation>
    </message>
    <message>
        <source>ACW</source>
        <translation>处理用时</translation>
    </message>
    <message>
        <source>Callback at</source>
        <translation>回访时间</translation>
    </message>
    <message>
        <source>+1 hour</source>
        <translation>1 小时后</translation>
    </message>
    <message>
        <source>Tomorrow 10:00</source>
        <translation>明天 10:00</translation>
    </message>
    <message>
        <source>Note (what the customer said, next step)</source>
        <translation>备注（客户反馈、下一步）</translation>
    </message>
    <message>
        <source>Save and continue (Ctrl+Enter)</source>
        <translation>保存并继续 (Ctrl+Enter)</translation>
    </message>
    <message>
        <source>Correction of an earlier result</source>
        <translation>更正之前的结果</translation>
    </message>
    <message>
        <source>Connected, talked %1</source>
        <translation>已接通，通话 %1</translation>
    </message>
    <message>
        <source>Not connected (SIP %1)</source>
        <translation>未接通（SIP %1）</translation>
    </message>
    <message>
        <source>Note (required)</source>
        <translation>备注（必填）</translation>
    </message>
</context>
</TS>
