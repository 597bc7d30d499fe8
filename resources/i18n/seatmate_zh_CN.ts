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
    <name>AgentMessagesUi</name>
    <message>
        <source>From your team leader</source>
        <translation>团队长消息</translation>
    </message>
    <message>
        <source>Team leader&apos;s messages</source>
        <translation>团队长消息记录</translation>
    </message>
    <message>
        <source>Messages %1 new</source>
        <translation>消息 %1 条未读</translation>
    </message>
    <message>
        <source>Messages</source>
        <translation>消息</translation>
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
    <message>
        <source>%1 (%2)</source>
        <comment>a state and its reason</comment>
        <translation>%1（%2）</translation>
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
        <source>Dialing</source>
        <translation>拨号中</translation>
    </message>
    <message>
        <source>Ringing</source>
        <translation>振铃</translation>
    </message>
    <message>
        <source>Incoming</source>
        <translation>来电</translation>
    </message>
    <message>
        <source>On hold</source>
        <translation>保持中</translation>
    </message>
    <message>
        <source>Held by the customer</source>
        <translation>对方保持</translation>
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
    <name>Coaching</name>
    <message>
        <source>Time</source>
        <translation>时间</translation>
    </message>
    <message>
        <source>Agent</source>
        <translation>坐席</translation>
    </message>
    <message>
        <source>Customer</source>
        <translation>客户</translation>
    </message>
    <message>
        <source>Talk</source>
        <translation>通话时长</translation>
    </message>
    <message>
        <source>Result</source>
        <translation>通话结果</translation>
    </message>
    <message>
        <source>Score</source>
        <translation>得分</translation>
    </message>
    <message>
        <source>Item</source>
        <translation>项目</translation>
    </message>
    <message>
        <source>Answer</source>
        <translation>结果</translation>
    </message>
    <message>
        <source>At</source>
        <translation>时间点</translation>
    </message>
    <message>
        <source>Comment</source>
        <translation>备注</translation>
    </message>
    <message>
        <source>Not coached</source>
        <translation>未辅导</translation>
    </message>
    <message>
        <source>Yes</source>
        <translation>是</translation>
    </message>
    <message>
        <source>No</source>
        <translation>否</translation>
    </message>
    <message>
        <source>N/A</source>
        <translation>不适用</translation>
    </message>
    <message>
        <source>Coaching on recordings</source>
        <translation>录音辅导</translation>
    </message>
    <message>
        <source>All agents</source>
        <translation>全部坐席</translation>
    </message>
    <message>
        <source>Result code</source>
        <translation>通话结果代码</translation>
    </message>
    <message>
        <source>Coached or not</source>
        <translation>全部（辅导与否）</translation>
    </message>
    <message>
        <source>Coached</source>
        <translation>已辅导</translation>
    </message>
    <message>
        <source>Talk ≥ </source>
        <translation>通话 ≥ </translation>
    </message>
    <message>
        <source>Search</source>
        <translation>查询</translation>
    </message>
    <message>
        <source>Play / pause</source>
        <translation>播放 / 暂停</translation>
    </message>
    <message>
        <source>Blue: agent (left) · green: customer (right)</source>
        <translation>蓝：坐席（左声道）· 绿：客户（右声道）</translation>
    </message>
    <message>
        <source>Mark time</source>
        <translation>标记时间</translation>
    </message>
    <message>
        <source>Stamps the playback position on the selected item</source>
        <translation>把当前播放位置记到所选项目上</translation>
    </message>
    <message>
        <source>Overall comment</source>
        <translation>总体评语</translation>
    </message>
    <message>
        <source>Save evaluation</source>
        <translation>保存辅导表</translation>
    </message>
    <message>
        <source>%1 recorded calls</source>
        <translation>%1 条录音</translation>
    </message>
    <message>
        <source>Live: %1&apos;s call. Fill it in while you listen; finish it on the recording later</source>
        <translation>监听中：%1 的通话。边听边填，录音上传后可在此继续完善</translation>
    </message>
    <message>
        <source>Loading the recording…</source>
        <translation>正在加载录音…</translation>
    </message>
    <message>
        <source>This call has no campaign form</source>
        <translation>此通话所属活动没有辅导表</translation>
    </message>
    <message>
        <source>acknowledged by the agent</source>
        <translation>坐席已确认</translation>
    </message>
    <message>
        <source>disputed by the agent</source>
        <translation>坐席有异议</translation>
    </message>
    <message>
        <source>not yet answered by the agent</source>
        <translation>坐席尚未回应</translation>
    </message>
    <message>
        <source>Evaluated before (%1); saving corrects it</source>
        <translation>已辅导过（%1）；保存即为更正</translation>
    </message>
    <message>
        <source>Score %1</source>
        <translation>得分 %1</translation>
    </message>
    <message>
        <source>Saved; it reaches the server with the next sync</source>
        <translation>已保存；下次同步时送达服务器</translation>
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
    <name>DailyReport</name>
    <message>
        <source>Agent</source>
        <translation>坐席</translation>
    </message>
    <message>
        <source>Calls</source>
        <translation>通次</translation>
    </message>
    <message>
        <source>Talk (min)</source>
        <translation>通时(分)</translation>
    </message>
    <message>
        <source>Connected</source>
        <translation>接通</translation>
    </message>
    <message>
        <source>Connect rate</source>
        <translation>接通率</translation>
    </message>
    <message>
        <source>Conversions</source>
        <translation>成交</translation>
    </message>
    <message>
        <source>Conversion rate</source>
        <translation>成交率</translation>
    </message>
    <message>
        <source>Callbacks set</source>
        <translation>预约回访</translation>
    </message>
    <message>
        <source>Avg handle (s)</source>
        <translation>平均处理(秒)</translation>
    </message>
    <message>
        <source>Avg wrap-up (s)</source>
        <translation>平均话后(秒)</translation>
    </message>
    <message>
        <source>Refused &lt; 30 s</source>
        <translation>30秒内拒绝</translation>
    </message>
    <message>
        <source>Targets met</source>
        <translation>达标</translation>
    </message>
    <message>
        <source>Hour</source>
        <translation>时段</translation>
    </message>
    <message>
        <source>Yes</source>
        <translation>是</translation>
    </message>
    <message>
        <source>No</source>
        <translation>否</translation>
    </message>
    <message>
        <source>Total</source>
        <translation>合计</translation>
    </message>
    <message>
        <source>Period</source>
        <translation>时间段</translation>
    </message>
    <message>
        <source>Today</source>
        <translation>今天</translation>
    </message>
    <message>
        <source>Yesterday</source>
        <translation>昨天</translation>
    </message>
    <message>
        <source>Last 7 days</source>
        <translation>近7天</translation>
    </message>
    <message>
        <source>This month</source>
        <translation>本月</translation>
    </message>
    <message>
        <source>Refresh</source>
        <translation>刷新</translation>
    </message>
    <message>
        <source>Export Excel…</source>
        <translation>导出 Excel…</translation>
    </message>
    <message>
        <source>All views, one sheet each</source>
        <translation>所有视图，每个一张工作表</translation>
    </message>
    <message>
        <source>Export CSV…</source>
        <translation>导出 CSV…</translation>
    </message>
    <message>
        <source>The view shown</source>
        <translation>当前视图</translation>
    </message>
    <message>
        <source>By agent</source>
        <translation>按坐席</translation>
    </message>
    <message>
        <source>By hour</source>
        <translation>按小时</translation>
    </message>
    <message>
        <source>Loading…</source>
        <translation>正在加载…</translation>
    </message>
    <message>
        <source>Updated %1</source>
        <translation>%1 已更新</translation>
    </message>
    <message>
        <source>Saved to %1</source>
        <translation>已保存到 %1</translation>
    </message>
    <message>
        <source>Daily report</source>
        <translation>日报表</translation>
    </message>
    <message>
        <source>%1 · %2 agents · target per agent and day: %3 calls, %4 min talk · %5 at target</source>
        <translation>%1 · %2 名坐席 · 每人每日目标：通次 %3，通时 %4 分钟 · 达标 %5</translation>
    </message>
    <message>
        <source>Calls and talk time by hour</source>
        <translation>各时段通次与通时</translation>
    </message>
    <message>
        <source>Conversions by agent</source>
        <translation>各坐席成交</translation>
    </message>
    <message>
        <source>Excel workbook (*.xlsx)</source>
        <translation>Excel 工作簿 (*.xlsx)</translation>
    </message>
    <message>
        <source>CSV file (*.csv)</source>
        <translation>CSV 文件 (*.csv)</translation>
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
    <name>Distribution</name>
    <message>
        <source>Agent</source>
        <translation>坐席</translation>
    </message>
    <message>
        <source>Open leads</source>
        <translation>未完成名单</translation>
    </message>
    <message>
        <source>Contacts today</source>
        <translation>今日联系</translation>
    </message>
    <message>
        <source>Connected today</source>
        <translation>今日接通</translation>
    </message>
    <message>
        <source>Conversion rate</source>
        <translation>成交率</translation>
    </message>
    <message>
        <source>Planned</source>
        <translation>计划分配</translation>
    </message>
    <message>
        <source>After</source>
        <translation>分配后</translation>
    </message>
    <message>
        <source>Distribute leads</source>
        <translation>分配名单</translation>
    </message>
    <message>
        <source>Campaign</source>
        <translation>活动</translation>
    </message>
    <message>
        <source>Conversion rate over (days)</source>
        <translation>成交率统计天数</translation>
    </message>
    <message>
        <source>Refresh</source>
        <translation>刷新</translation>
    </message>
    <message>
        <source>Leads to hand out</source>
        <translation>分配条数</translation>
    </message>
    <message>
        <source>How</source>
        <translation>方式</translation>
    </message>
    <message>
        <source>Evenly</source>
        <translation>平均分配</translation>
    </message>
    <message>
        <source>Weighted by conversion rate</source>
        <translation>按成交率加权</translation>
    </message>
    <message>
        <source>At least per agent</source>
        <translation>每人保底</translation>
    </message>
    <message>
        <source>Preview</source>
        <translation>预览</translation>
    </message>
    <message>
        <source>Distribute</source>
        <translation>确认分配</translation>
    </message>
    <message>
        <source>Hands out exactly what the preview shows</source>
        <translation>按预览结果分配</translation>
    </message>
    <message>
        <source>Reclaim leads…</source>
        <translation>收回名单…</translation>
    </message>
    <message>
        <source>Take the selected agent&apos;s open leads back and hand them to the others</source>
        <translation>收回所选坐席的未完成名单并分给其他坐席</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>关闭</translation>
    </message>
    <message>
        <source>%1 call results were recorded for leads after they were reclaimed; they are kept</source>
        <translation>有 %1 条通话结果是在名单收回后记录的，均已保留</translation>
    </message>
    <message>
        <source>Unassigned leads: %1</source>
        <translation>未分配名单：%1 条</translation>
    </message>
    <message>
        <source>Changed: preview again before distributing</source>
        <translation>参数已变更：请重新预览后再分配</translation>
    </message>
    <message>
        <source>Preview: %1 leads to %2 agents. Nothing is assigned until you press Distribute.</source>
        <translation>预览：%1 条名单分给 %2 名坐席。点击“确认分配”前不会分配。</translation>
    </message>
    <message>
        <source>Distributed %1 leads.</source>
        <translation>已分配 %1 条名单。</translation>
    </message>
    <message>
        <source>Reclaim leads</source>
        <translation>收回名单</translation>
    </message>
    <message>
        <source>Take %1&apos;s %2 open leads back and hand them to the other agents?
Whatever %1 has recorded is kept.</source>
        <translation>收回%1的 %2 条未完成名单并分给其他坐席？
%1已记录的通话结果都会保留。</translation>
    </message>
    <message>
        <source>Reclaimed %1 leads.</source>
        <translation>已收回 %1 条名单。</translation>
    </message>
</context>
<context>
    <name>FloorUi</name>
    <message>
        <source>Team floor</source>
        <translation>班组监控</translation>
    </message>
    <message>
        <source>Show / hide the team floor</source>
        <translation>显示 / 隐藏班组监控</translation>
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
        <source>Import leads…</source>
        <translation>导入名单…</translation>
    </message>
    <message>
        <source>Import leads</source>
        <translation>导入名单</translation>
    </message>
    <message>
        <source>Lead lists (*.csv *.txt *.xlsx)</source>
        <translation>名单文件 (*.csv *.txt *.xlsx)</translation>
    </message>
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
    <name>Messages</name>
    <message>
        <source>{file}: {imported} leads imported ({inserted} new, {updated} updated); {skipped} rows skipped</source>
        <translation>{file}：已导入 {imported} 条名单（新增 {inserted}，更新 {updated}），跳过 {skipped} 行</translation>
    </message>
    <message>
        <source>{file} is not a CSV text file or an .xlsx workbook; nothing was imported</source>
        <translation>{file} 不是 CSV 文本文件或 .xlsx 工作簿，未导入任何数据</translation>
    </message>
    <message>
        <source>The characters of {file} cannot be read (use UTF-8, GBK or UTF-16); nothing was imported</source>
        <translation>{file} 的字符无法识别（请使用 UTF-8、GBK 或 UTF-16 编码），未导入任何数据</translation>
    </message>
    <message>
        <source>{file} is not a readable .xlsx workbook; nothing was imported</source>
        <translation>{file} 不是可读取的 .xlsx 工作簿，未导入任何数据</translation>
    </message>
    <message>
        <source>{file} does not exist</source>
        <translation>{file} 不存在</translation>
    </message>
    <message>
        <source>{file} is not a file</source>
        <translation>{file} 不是文件</translation>
    </message>
    <message>
        <source>{file} cannot be opened ({reason})</source>
        <translation>无法打开 {file}（{reason}）</translation>
    </message>
    <message>
        <source>{file} is an old .xls workbook; save it as .xlsx or CSV and import again</source>
        <translation>{file} 是旧版 .xls 工作簿，请另存为 .xlsx 或 CSV 后再导入</translation>
    </message>
    <message>
        <source>{file} is not a readable CSV file ({reason}); nothing was imported</source>
        <translation>{file} 不是可读取的 CSV 文件（{reason}），未导入任何数据</translation>
    </message>
    <message>
        <source>{file} is empty; nothing was imported</source>
        <translation>{file} 是空文件，未导入任何数据</translation>
    </message>
    <message>
        <source>{file}: the header row needs a name column (姓名) and a phone column (电话); nothing was imported</source>
        <translation>{file}：表头需要有“姓名”列和“电话”列，未导入任何数据</translation>
    </message>
    <message>
        <source>{file} has more than {max_rows} rows; split it and import the parts</source>
        <translation>{file} 超过 {max_rows} 行，请拆分后分批导入</translation>
    </message>
    <message>
        <source>{file} has no usable row ({skipped} rows skipped, e.g. {reason}); nothing was imported</source>
        <translation>{file} 没有可用的行（跳过 {skipped} 行，例如：{reason}），未导入任何数据</translation>
    </message>
    <message>
        <source>{file} cannot be read; nothing was imported</source>
        <translation>无法读取 {file}，未导入任何数据</translation>
    </message>
    <message>
        <source>Importing {file} failed ({error}); nothing was changed</source>
        <translation>导入 {file} 失败（{error}），数据未做任何更改</translation>
    </message>
    <message>
        <source>The disposition code {code} appears twice (entries {first} and {again}); the codes were not changed</source>
        <translation>通话结果代码 {code} 重复出现（第 {first} 项和第 {again} 项），结果代码未做更改</translation>
    </message>
    <message>
        <source>Disposition code entry {position} cannot be used ({detail}); the codes were not changed</source>
        <translation>第 {position} 项通话结果代码无法使用（{detail}），结果代码未做更改</translation>
    </message>
    <message>
        <source>The server's answer could not be read; nothing on this computer was changed. Retried shortly</source>
        <translation>无法识别服务器的回复，本机数据未做任何更改，稍后自动重试</translation>
    </message>
    <message>
        <source>This number is on the do-not-call list (registered on this computer); it may not be called</source>
        <translation>该号码在免打扰名单中（本地登记），不能拨打</translation>
    </message>
    <message>
        <source>This number is on the do-not-call list (registered by the server); it may not be called</source>
        <translation>该号码在免打扰名单中（服务器登记），不能拨打</translation>
    </message>
    <message>
        <source>It is {now}: outside the legal calling hours {start}–{end}</source>
        <translation>当前 {now} 不在法定外呼时间 {start}–{end} 内</translation>
    </message>
    <message>
        <source>It is {now}: outside this campaign&apos;s calling hours ({windows})</source>
        <translation>当前 {now} 不在本活动外呼时段（{windows}）内</translation>
    </message>
    <message>
        <source>This customer was called {count} times today, the daily limit of {limit}</source>
        <translation>该客户今日已拨打 {count} 次，达到每日上限 {limit} 次</translation>
    </message>
    <message>
        <source>Less than {minutes} minutes since the last call; call again in {wait} minutes</source>
        <translation>距上次拨打不足 {minutes} 分钟，请 {wait} 分钟后再拨</translation>
    </message>
    <message>
        <source>This customer is no longer in the list on this computer</source>
        <translation>该客户已不在本机名单中</translation>
    </message>
    <message>
        <source>This customer is completed; no need to call again</source>
        <translation>该客户已完成，无需再拨</translation>
    </message>
    <message>
        <source>This customer has no number that can be called</source>
        <translation>该客户没有可拨打的号码</translation>
    </message>
    <message>
        <source>Finish and save the wrap-up before the next call</source>
        <translation>请先完成并保存话后处理，再拨打下一通</translation>
    </message>
    <message>
        <source>A call is in progress</source>
        <translation>正在通话中</translation>
    </message>
    <message>
        <source>The phone line is not ready yet; please wait</source>
        <translation>电话线路尚未就绪，请稍候</translation>
    </message>
    <message>
        <source>You are on a break ({reason}); switch to Ready first</source>
        <translation>当前为小休（{reason}），请先切换为就绪</translation>
    </message>
    <message>
        <source>You are offline; switch to Ready first</source>
        <translation>当前为离线状态，请先切换为就绪</translation>
    </message>
    <message>
        <source>No customer to call</source>
        <translation>没有可拨打的客户</translation>
    </message>
    <message>
        <source>No customer to call: {reason}</source>
        <translation>没有可拨打的客户：{reason}</translation>
    </message>
    <message>
        <source>Invalid number: {reason}</source>
        <translation>号码无效：{reason}</translation>
    </message>
    <message>
        <source>Switched to automatic dialing (power mode)</source>
        <translation>已切换为自动外呼（预测拨号）</translation>
    </message>
    <message>
        <source>Switched to preview dialing</source>
        <translation>已切换为预览外呼</translation>
    </message>
    <message>
        <source>The call could not be placed: {detail}</source>
        <translation>呼叫失败：{detail}</translation>
    </message>
    <message>
        <source>Not connected (SIP {status})</source>
        <translation>未接通（SIP {status}）</translation>
    </message>
    <message>
        <source>Not connected: the line is busy (SIP {status})</source>
        <translation>未接通：对方忙线（SIP {status}）</translation>
    </message>
    <message>
        <source>Not connected: no answer (SIP {status})</source>
        <translation>未接通：无人接听（SIP {status}）</translation>
    </message>
    <message>
        <source>Not connected: the call was declined (SIP {status})</source>
        <translation>未接通：对方拒接（SIP {status}）</translation>
    </message>
    <message>
        <source>Not connected: the number does not exist (SIP {status})</source>
        <translation>未接通：号码不存在（SIP {status}）</translation>
    </message>
    <message>
        <source>No sound from the other side for {seconds} s. Can&apos;t hear them? Check the network and the headset</source>
        <translation>已 {seconds} 秒没有对方的声音。听不到对方？请检查网络和耳机</translation>
    </message>
    <message>
        <source>Choose the call result</source>
        <translation>请选择通话结果</translation>
    </message>
    <message>
        <source>“{label}” needs a callback time</source>
        <translation>「{label}」需要填写回访时间</translation>
    </message>
    <message>
        <source>The callback time must be later than now</source>
        <translation>回访时间必须晚于当前时间</translation>
    </message>
    <message>
        <source>“{label}” needs a note</source>
        <translation>「{label}」需要填写备注</translation>
    </message>
    <message>
        <source>The note may be at most {limit} characters long</source>
        <translation>备注不能超过 {limit} 字</translation>
    </message>
    <message>
        <source>Saving failed; the draft is kept: {error}</source>
        <translation>保存失败，草稿已保留：{error}</translation>
    </message>
    <message>
        <source>Saved</source>
        <translation>已保存</translation>
    </message>
    <message>
        <source>Added to the do-not-call list; this number will not be called again</source>
        <translation>已加入免打扰名单，今后不再拨打该号码</translation>
    </message>
    <message>
        <source>Saved; callback at {when}</source>
        <translation>已保存，预约回访 {when}</translation>
    </message>
    <message>
        <source>An unsaved wrap-up was restored; finish it first</source>
        <translation>恢复了未保存的话后处理，请先完成</translation>
    </message>
    <message>
        <source>The call was answered: “{label}” does not fit; give a reason to record it anyway</source>
        <translation>通话已接通，「{label}」与本次通话不符；如仍要记录，请填写原因</translation>
    </message>
    <message>
        <source>The call was not answered: “{label}” does not fit; give a reason to record it anyway</source>
        <translation>通话未接通，「{label}」与本次通话不符；如仍要记录，请填写原因</translation>
    </message>
    <message>
        <source>The reason may be at most {limit} characters long</source>
        <translation>原因最多 {limit} 个字</translation>
    </message>
    <message>
        <source>New question recorded; the team leader answers it the next day</source>
        <translation>新问题已记录，团队长会在次日答复</translation>
    </message>
    <message>
        <source>Sync failed; it is retried shortly</source>
        <translation>同步失败，稍后自动重试</translation>
    </message>
    <message>
        <source>Cannot reach the server; your work is kept on this computer and sent when it is back</source>
        <translation>无法连接服务器，记录已保存在本机，恢复连接后自动上传</translation>
    </message>
    <message>
        <source>Your session has ended; log in again. Nothing you recorded is lost.</source>
        <translation>登录已失效，请重新登录。已记录的内容不会丢失。</translation>
    </message>
    <message>
        <source>The server refused the sync (HTTP {status}): {detail}</source>
        <translation>服务器拒绝了同步（HTTP {status}）：{detail}</translation>
    </message>
    <message>
        <source>Sync stopped on an internal error ({error}); it is retried</source>
        <translation>同步因内部错误中断（{error}），稍后自动重试</translation>
    </message>
    <message>
        <source>Too many attempts; try again in {minutes} minutes</source>
        <translation>尝试次数过多，请 {minutes} 分钟后再试</translation>
    </message>
    <message>
        <source>Wrong user name or password</source>
        <translation>用户名或密码错误</translation>
    </message>
    <message>
        <source>{count} records of {user} on this computer are not uploaded yet; {user} must log in once to upload them</source>
        <translation>本机还有 {user} 的 {count} 条记录未上传，请先由 {user} 登录一次完成上传</translation>
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
        <source>Login failed: {detail}</source>
        <translation>登录失败：{detail}</translation>
    </message>
    <message>
        <source>Enter the server address, e.g. http://192.168.1.10:8765</source>
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
        <source>Save the open wrap-up before logging out</source>
        <translation>请先保存正在填写的话后处理，再退出登录</translation>
    </message>
    <message>
        <source>{count} records are not uploaded yet</source>
        <translation>还有 {count} 条记录未上传</translation>
    </message>
    <message>
        <source>The export failed: {error}</source>
        <translation>导出失败：{error}</translation>
    </message>
    <message>
        <source>Logged out, but the local data could not be cleared: {error}</source>
        <translation>已退出登录，但本机数据未能清除：{error}</translation>
    </message>
    <message>
        <source>Logged out; the customer data was removed from this computer</source>
        <translation>已退出登录，本机的客户数据已清除</translation>
    </message>
    <message>
        <source>Logged out; the customer data was removed from this computer · unsynced records exported to {path}</source>
        <translation>已退出登录，本机的客户数据已清除 · 未上传的记录已导出到 {path}</translation>
    </message>
    <message>
        <source>You are already monitoring {agent}; end that session first</source>
        <translation>你正在监听{agent}，请先结束该会话</translation>
    </message>
    <message>
        <source>Your phone line is not ready; monitoring needs it</source>
        <translation>你的电话线路尚未就绪，无法监听</translation>
    </message>
    <message>
        <source>{agent} is not in a call</source>
        <translation>{agent}当前不在通话中</translation>
    </message>
    <message>
        <source>{agent} has no phone line configured</source>
        <translation>{agent}未配置电话线路</translation>
    </message>
    <message>
        <source>The server refused monitoring ({status}: {detail})</source>
        <translation>服务器拒绝了监听（{status}：{detail}）</translation>
    </message>
    <message>
        <source>The server cannot be reached; monitoring needs its permission</source>
        <translation>无法连接服务器；监听需要服务器授权</translation>
    </message>
    <message>
        <source>The agent&apos;s softphone refused the monitoring (SIP {status})</source>
        <translation>坐席的软电话拒绝了监听（SIP {status}）</translation>
    </message>
    <message>
        <source>The agent&apos;s call has already ended</source>
        <translation>坐席的通话已经结束</translation>
    </message>
    <message>
        <source>The monitoring call failed (SIP {status})</source>
        <translation>监听呼叫失败（SIP {status}）</translation>
    </message>
    <message>
        <source>Monitoring ended</source>
        <translation>监听已结束</translation>
    </message>
    <message>
        <source>The agent&apos;s call ended; monitoring ended with it</source>
        <translation>坐席的通话已结束，监听随之结束</translation>
    </message>
    <message>
        <source>{name}: break ({reason}) ordered</source>
        <translation>已让 {name} 小休（{reason}）</translation>
    </message>
    <message>
        <source>{name}: ready ordered</source>
        <translation>已让 {name} 就绪</translation>
    </message>
    <message>
        <source>Message sent to {name}</source>
        <translation>消息已发给 {name}</translation>
    </message>
    <message>
        <source>Message sent to the team</source>
        <translation>消息已发给全组</translation>
    </message>
    <message>
        <source>The server refused: {detail}</source>
        <translation>服务器拒绝：{detail}</translation>
    </message>
    <message>
        <source>You may not play this recording: only the agent who made the call, their team leader and admins can</source>
        <translation>你无权播放这段录音：只有拨打该通话的坐席、其组长和管理员可以播放</translation>
    </message>
    <message>
        <source>This recording is not a 16-bit PCM WAV file and cannot be played</source>
        <translation>这段录音不是 16 位 PCM WAV 文件，无法播放</translation>
    </message>
    <message>
        <source>The server cannot be reached; try again</source>
        <translation>无法连接服务器，请重试</translation>
    </message>
    <message>
        <source>{by} put you on a break ({reason})</source>
        <translation>{by} 已将你设为小休（{reason}）</translation>
    </message>
    <message>
        <source>{by} put you on a break ({reason}); it starts once this call&apos;s wrap-up is saved</source>
        <translation>{by} 已将你设为小休（{reason}），本通话后处理保存后开始</translation>
    </message>
    <message>
        <source>{by} set you back to ready</source>
        <translation>{by} 已将你设为就绪</translation>
    </message>
    <message>
        <source>Something went wrong</source>
        <translation>出现错误</translation>
    </message>
    <message>
        <source>This cannot be used</source>
        <translation>无法使用该内容</translation>
    </message>
    <message>
        <source>The network, the disk or another program is in the way; try again</source>
        <translation>网络、磁盘或其他程序出现问题，请重试</translation>
    </message>
    <message>
        <source>no number was entered</source>
        <translation>未输入号码</translation>
    </message>
    <message>
        <source>a number may only contain digits</source>
        <translation>号码只能包含数字</translation>
    </message>
    <message>
        <source>this is not a phone number</source>
        <translation>这不是电话号码</translation>
    </message>
    <message>
        <source>not a valid phone number ({digits} digits)</source>
        <translation>不是有效的电话号码（{digits} 位）</translation>
    </message>
    <message>
        <source>SIP setting “{field}”: “{value}” cannot be used</source>
        <translation>SIP 设置「{field}」：无法使用「{value}」</translation>
    </message>
    <message>
        <source>SIP setting “{field}”: “{value}” is not a valid SIP user name</source>
        <translation>SIP 设置「{field}」：「{value}」不是有效的 SIP 用户名</translation>
    </message>
    <message>
        <source>SIP setting “{field}”: “{value}” is not a host name or host:port</source>
        <translation>SIP 设置「{field}」：「{value}」不是主机名或“主机:端口”</translation>
    </message>
    <message>
        <source>SIP setting “{field}”: “{value}” is not a SIP address (e.g. sip:pbx.example.com;lr)</source>
        <translation>SIP 设置「{field}」：「{value}」不是 SIP 地址（例如 sip:pbx.example.com;lr）</translation>
    </message>
    <message>
        <source>SIP setting “{field}”: “{value}” is not one of {choices}</source>
        <translation>SIP 设置「{field}」：「{value}」不在可选值 {choices} 之中</translation>
    </message>
    <message>
        <source>Mandatory SRTP needs the TLS transport (the encryption keys travel in the signalling)</source>
        <translation>强制 SRTP 需要使用 TLS 传输（加密密钥随信令传送）</translation>
    </message>
    <message>
        <source>Unknown codec “{value}”; known: {choices}</source>
        <translation>未知的编解码器「{value}」；可用：{choices}</translation>
    </message>
    <message>
        <source>SIP setting “{field}”: {value} is outside {low}–{high}</source>
        <translation>SIP 设置「{field}」：{value} 超出范围 {low}–{high}</translation>
    </message>
    <message>
        <source>SIP setting “{field}” is required</source>
        <translation>SIP 设置「{field}」为必填项</translation>
    </message>
    <message>
        <source>The CA certificate file “{value}” cannot be read</source>
        <translation>无法读取 CA 证书文件「{value}」</translation>
    </message>
    <message>
        <source>SIP account saved; registering again</source>
        <translation>SIP 账号已保存，正在重新注册</translation>
    </message>
    <message>
        <source>The server sent a new SIP account; registering again</source>
        <translation>服务器下发了新的 SIP 账号，正在重新注册</translation>
    </message>
    <message>
        <source>Registered</source>
        <translation>已注册</translation>
    </message>
    <message>
        <source>Registering…</source>
        <translation>正在注册…</translation>
    </message>
    <message>
        <source>Not registered</source>
        <translation>未注册</translation>
    </message>
    <message>
        <source>The PBX refused the user name or password (SIP {status})</source>
        <translation>交换机拒绝了用户名或密码（SIP {status}）</translation>
    </message>
    <message>
        <source>The PBX does not answer; check the network, the address and the proxy (SIP {status})</source>
        <translation>交换机无应答，请检查网络、地址和代理（SIP {status}）</translation>
    </message>
    <message>
        <source>The secure (TLS) connection to the PBX failed; check its certificate and the CA file (SIP {status})</source>
        <translation>与交换机的安全（TLS）连接失败，请检查其证书和 CA 文件（SIP {status}）</translation>
    </message>
    <message>
        <source>Registration failed (SIP {status} {reason})</source>
        <translation>注册失败（SIP {status} {reason}）</translation>
    </message>
    <message>
        <source>No SIP account is configured</source>
        <translation>尚未配置 SIP 账号</translation>
    </message>
    <message>
        <source>Not connected: the other side refused the call&apos;s audio settings, e.g. mandatory encryption (SRTP) it does not support (SIP {status})</source>
        <translation>未接通：对方不接受本通话的音频设置，例如对方不支持的强制加密（SRTP）（SIP {status}）</translation>
    </message>
    <message>
        <source>; </source>
        <comment>between problems on one line</comment>
        <translation>；</translation>
    </message>
    <message>
        <source>, </source>
        <comment>between the items of a list</comment>
        <translation>、</translation>
    </message>
    <message>
        <source>Saved; takes effect the next time Seatmate starts</source>
        <translation>已保存，下次启动坐席助手时生效</translation>
    </message>
    <message>
        <source>The settings could not be saved ({error}); nothing changed</source>
        <translation>设置无法保存（{error}），未做任何更改</translation>
    </message>
    <message>
        <source>“{value}” cannot be used here</source>
        <translation>此处不能使用「{value}」</translation>
    </message>
    <message>
        <source>The device “{name}” is not connected</source>
        <translation>设备「{name}」未连接</translation>
    </message>
    <message>
        <source>“{keys}” is not a key combination</source>
        <translation>「{keys}」不是有效的快捷键</translation>
    </message>
    <message>
        <source>{keys} is already used by “{action}”</source>
        <translation>{keys} 已被「{action}」占用</translation>
    </message>
    <message>
        <source>The recording policy is set by the server for your team</source>
        <translation>录音策略由服务器为您的团队统一设定</translation>
    </message>
    <message>
        <source>The agent&apos;s softphone refused the mode change (SIP {status}); the mode stays as it was</source>
        <translation>坐席的软电话拒绝了模式切换（SIP {status}），仍保持原模式</translation>
    </message>
</context>
<context>
    <name>MonitorBanner</name>
    <message>
        <source>Listening</source>
        <translation>监听中</translation>
    </message>
    <message>
        <source>Whispering to the agent</source>
        <translation>正在对坐席耳语</translation>
    </message>
    <message>
        <source>Barged in: all three talk</source>
        <translation>已强插：三方通话</translation>
    </message>
    <message>
        <source>Listen</source>
        <translation>监听</translation>
    </message>
    <message>
        <source>Whisper</source>
        <translation>耳语</translation>
    </message>
    <message>
        <source>Barge in</source>
        <translation>强插</translation>
    </message>
    <message>
        <source>End</source>
        <translation>结束</translation>
    </message>
    <message>
        <source>Monitoring %1</source>
        <translation>正在监听 %1</translation>
    </message>
    <message>
        <source>connecting…</source>
        <translation>正在接通…</translation>
    </message>
    <message>
        <source>Your mic: muted</source>
        <translation>你的麦克风：已静音</translation>
    </message>
    <message>
        <source>Your mic: on</source>
        <translation>你的麦克风：已打开</translation>
    </message>
    <message>
        <source>since %1 (%2)</source>
        <translation>自 %1 起（%2）</translation>
    </message>
</context>
<context>
    <name>MonitorIndicator</name>
    <message>
        <source>Team leader listening</source>
        <translation>班组长正在监听</translation>
    </message>
    <message>
        <source>Team leader whispering (the customer cannot hear)</source>
        <translation>班组长正在耳语（客户听不到）</translation>
    </message>
    <message>
        <source>Team leader in the call</source>
        <translation>班组长已加入通话</translation>
    </message>
</context>
<context>
    <name>MyCoaching</name>
    <message>
        <source>Coached</source>
        <translation>辅导时间</translation>
    </message>
    <message>
        <source>Call</source>
        <translation>通话</translation>
    </message>
    <message>
        <source>Score</source>
        <translation>得分</translation>
    </message>
    <message>
        <source>Your answer</source>
        <translation>我的回应</translation>
    </message>
    <message>
        <source>Not answered</source>
        <translation>未回应</translation>
    </message>
    <message>
        <source>Acknowledged</source>
        <translation>已确认</translation>
    </message>
    <message>
        <source>Disputed</source>
        <translation>有异议</translation>
    </message>
    <message>
        <source>My coaching</source>
        <translation>我的辅导</translation>
    </message>
    <message>
        <source>Play / pause</source>
        <translation>播放 / 暂停</translation>
    </message>
    <message>
        <source>Your comment (needed for a dispute)</source>
        <translation>我的说明（提出异议时必填）</translation>
    </message>
    <message>
        <source>Acknowledge</source>
        <translation>确认</translation>
    </message>
    <message>
        <source>Dispute</source>
        <translation>有异议</translation>
    </message>
    <message>
        <source>Double-click an item&apos;s time to hear that moment</source>
        <translation>双击项目的时间点即可收听那一刻</translation>
    </message>
    <message>
        <source>Saved; your team leader sees it after the next sync</source>
        <translation>已保存；下次同步后班组长即可看到</translation>
    </message>
    <message>
        <source>My coaching…</source>
        <translation>我的辅导…</translation>
    </message>
</context>
<context>
    <name>QuestionInbox</name>
    <message>
        <source>Question</source>
        <translation>问题</translation>
    </message>
    <message>
        <source>Asked</source>
        <translation>次数</translation>
    </message>
    <message>
        <source>Agents</source>
        <translation>坐席数</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <source>Time</source>
        <translation>时间</translation>
    </message>
    <message>
        <source>Agent</source>
        <translation>坐席</translation>
    </message>
    <message>
        <source>Customer</source>
        <translation>客户</translation>
    </message>
    <message>
        <source>Call</source>
        <translation>通话</translation>
    </message>
    <message>
        <source>Script section</source>
        <translation>话术章节</translation>
    </message>
    <message>
        <source>Wording</source>
        <translation>原话</translation>
    </message>
    <message>
        <source>Answered</source>
        <translation>已解答</translation>
    </message>
    <message>
        <source>Open</source>
        <translation>待解答</translation>
    </message>
    <message>
        <source>Question inbox</source>
        <translation>问题收集箱</translation>
    </message>
    <message>
        <source>All</source>
        <translation>全部</translation>
    </message>
    <message>
        <source>Refresh</source>
        <translation>刷新</translation>
    </message>
    <message>
        <source>Question (the heading in the script)</source>
        <translation>问题（话术中的标题）</translation>
    </message>
    <message>
        <source>Answer</source>
        <translation>解答</translation>
    </message>
    <message>
        <source>Post answer</source>
        <translation>发布解答</translation>
    </message>
    <message>
        <source>Adds it to the campaign&apos;s script under 异议处理; agents get it with their next sync</source>
        <translation>写入本活动话术的“异议处理”；坐席下次同步后即可看到</translation>
    </message>
    <message>
        <source>Answered in script version %1</source>
        <translation>已写入话术第 %1 版</translation>
    </message>
    <message>
        <source>Posted: script version %1; agents see it marked 新 after their next sync</source>
        <translation>已发布：话术第 %1 版；坐席下次同步后会看到“新”标记</translation>
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
        <source>Record new question</source>
        <translation>记录新问题</translation>
    </message>
    <message>
        <source>Search objection answers</source>
        <translation>搜索异议处理</translation>
    </message>
    <message>
        <source>No script for this campaign.</source>
        <translation>本活动暂无话术。</translation>
    </message>
    <message>
        <source>New</source>
        <translation>新</translation>
    </message>
    <message>
        <source>The customer&apos;s question the script does not answer:</source>
        <translation>话术中没有答案的客户问题：</translation>
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
        <extracomment>settings.json block for what the login dialog remembers (never the password). The server&apos;s throttle window (docs/sync-api.md: 5 failures per user per 5 min): the wait shown when the answer does not say how long. Why not (None when ok): a message code the UI words. &quot;ok&quot; | &quot;bad_credentials&quot; | &quot;throttled&quot; | &quot;unreachable&quot; | &quot;conflict&quot; | &quot;invalid&quot; | &quot;error&quot;</extracomment>
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
</context>
<context>
    <name>SettingsDialog</name>
    <message>
        <source>Settings</source>
        <translation>设置</translation>
    </message>
    <message>
        <source>Audio</source>
        <translation>音频</translation>
    </message>
    <message>
        <source>SIP account</source>
        <translation>SIP 账号</translation>
    </message>
    <message>
        <source>General</source>
        <translation>常规</translation>
    </message>
    <message>
        <source>Microphone</source>
        <translation>麦克风</translation>
    </message>
    <message>
        <source>Microphone level</source>
        <translation>麦克风音量</translation>
    </message>
    <message>
        <source>Speaker</source>
        <translation>扬声器</translation>
    </message>
    <message>
        <source>Ringer</source>
        <translation>振铃设备</translation>
    </message>
    <message>
        <source>Play a test tone</source>
        <translation>播放测试音</translation>
    </message>
    <message>
        <source>Echo test (hear yourself a second later)</source>
        <translation>回声测试（一秒后听到自己的声音）</translation>
    </message>
    <message>
        <source>A new choice applies at once, in a call too.</source>
        <translation>新的选择立即生效，通话中也一样。</translation>
    </message>
    <message>
        <source>This workstation runs without sound devices (audio_backend: tone).</source>
        <translation>本工作站以无声音设备模式运行（audio_backend: tone）。</translation>
    </message>
    <message>
        <source>Registration</source>
        <translation>注册状态</translation>
    </message>
    <message>
        <source>Last error</source>
        <translation>最近的错误</translation>
    </message>
    <message>
        <source>User / extension</source>
        <translation>用户 / 分机号</translation>
    </message>
    <message>
        <source>Domain (PBX)</source>
        <translation>域（交换机）</translation>
    </message>
    <message>
        <source>Authentication user</source>
        <translation>认证用户</translation>
    </message>
    <message>
        <source>Display name</source>
        <translation>显示名称</translation>
    </message>
    <message>
        <source>Transport</source>
        <translation>传输协议</translation>
    </message>
    <message>
        <source>Registrar</source>
        <translation>注册服务器</translation>
    </message>
    <message>
        <source>Secondary registrar</source>
        <translation>备用注册服务器</translation>
    </message>
    <message>
        <source>Outbound proxy</source>
        <translation>出站代理</translation>
    </message>
    <message>
        <source>STUN servers</source>
        <translation>STUN 服务器</translation>
    </message>
    <message>
        <source>SRTP (encrypted audio)</source>
        <translation>SRTP（加密语音）</translation>
    </message>
    <message>
        <source>Verify the server certificate</source>
        <translation>验证服务器证书</translation>
    </message>
    <message>
        <source>CA certificate file</source>
        <translation>CA 证书文件</translation>
    </message>
    <message>
        <source>Keep-alive (s)</source>
        <translation>保活间隔（秒）</translation>
    </message>
    <message>
        <source>Codecs, preferred first</source>
        <translation>编解码器（优先的在前）</translation>
    </message>
    <message>
        <source>unchanged (kept in the system keyring)</source>
        <translation>不变（保存在系统密钥环中）</translation>
    </message>
    <message>
        <source>Apply and register again</source>
        <translation>应用并重新注册</translation>
    </message>
    <message>
        <source>Set by the server for your account; a change here lasts until the server sends a new one.</source>
        <translation>由服务器为您的账号设定；此处的修改在服务器下发新设置前有效。</translation>
    </message>
    <message>
        <source>Recording</source>
        <translation>录音</translation>
    </message>
    <message>
        <source>Start minimised</source>
        <translation>启动时最小化</translation>
    </message>
    <message>
        <source>As the campaign says</source>
        <translation>按活动规定</translation>
    </message>
    <message>
        <source>Always</source>
        <translation>始终录音</translation>
    </message>
    <message>
        <source>Never</source>
        <translation>从不录音</translation>
    </message>
    <message>
        <source>Action</source>
        <translation>操作</translation>
    </message>
    <message>
        <source>Keys</source>
        <translation>按键</translation>
    </message>
    <message>
        <source>Settings…</source>
        <translation>设置…</translation>
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
    <name>TeamBoard</name>
    <message>
        <source>Agent</source>
        <translation>坐席</translation>
    </message>
    <message>
        <source>State</source>
        <translation>状态</translation>
    </message>
    <message>
        <source>Time in state</source>
        <translation>持续</translation>
    </message>
    <message>
        <source>Current call</source>
        <translation>当前通话</translation>
    </message>
    <message>
        <source>Calls</source>
        <translation>通次</translation>
    </message>
    <message>
        <source>Talk time</source>
        <translation>通时</translation>
    </message>
    <message>
        <source>Pace</source>
        <translation>进度</translation>
    </message>
    <message>
        <source>Connect rate</source>
        <translation>接通率</translation>
    </message>
    <message>
        <source>Conversions</source>
        <translation>成交</translation>
    </message>
    <message>
        <source>Last sync</source>
        <translation>最近同步</translation>
    </message>
    <message>
        <source>Long call</source>
        <translation>通话超长</translation>
    </message>
    <message>
        <source>Long pause</source>
        <translation>小休超长</translation>
    </message>
    <message>
        <source>Long wrap-up</source>
        <translation>话后处理超长</translation>
    </message>
    <message>
        <source>Idle in ready</source>
        <translation>就绪空闲过久</translation>
    </message>
    <message>
        <source>%1 (%2)</source>
        <extracomment>The order of the filter buttons (and of the state sort). Pace is measured from this local time (the floor&apos;s first session starts at 09:00–09:20). A projection later than this local time is &quot;behind&quot; rather than a time.</extracomment>
        <translation>%1（%2）</translation>
    </message>
    <message>
        <source>Target met</source>
        <translation>已达标</translation>
    </message>
    <message>
        <source>Behind</source>
        <translation>进度落后</translation>
    </message>
    <message>
        <source>On track for %1</source>
        <translation>预计 %1 达标</translation>
    </message>
    <message>
        <source>just now</source>
        <translation>刚刚</translation>
    </message>
    <message>
        <source>%1 min ago</source>
        <translation>%1 分钟前</translation>
    </message>
    <message>
        <source>%1 h ago</source>
        <translation>%1 小时前</translation>
    </message>
    <message>
        <source>monitored</source>
        <translation>监听中</translation>
    </message>
    <message>
        <source>%1/%2 min</source>
        <translation>%1/%2 分</translation>
    </message>
    <message>
        <source>Order from %1: %2</source>
        <translation>%1 的指令：%2</translation>
    </message>
    <message>
        <source>Listen</source>
        <translation>监听</translation>
    </message>
    <message>
        <source>Whisper</source>
        <translation>耳语</translation>
    </message>
    <message>
        <source>Barge in</source>
        <translation>强插</translation>
    </message>
    <message>
        <source>End</source>
        <translation>结束</translation>
    </message>
    <message>
        <source>Pause…</source>
        <translation>小休…</translation>
    </message>
    <message>
        <source>Ready</source>
        <translation>就绪</translation>
    </message>
    <message>
        <source>Message…</source>
        <translation>消息…</translation>
    </message>
    <message>
        <source>Team message…</source>
        <translation>全组消息…</translation>
    </message>
    <message>
        <source>Thresholds…</source>
        <translation>阈值…</translation>
    </message>
    <message>
        <source>Cards / table</source>
        <translation>卡片 / 表格</translation>
    </message>
    <message>
        <source>Search agents</source>
        <translation>搜索坐席</translation>
    </message>
    <message>
        <source>Listen to the selected agent&apos;s call (nobody hears you)</source>
        <translation>监听所选坐席的通话（双方都听不到你）</translation>
    </message>
    <message>
        <source>Whisper: the agent hears you, the customer does not</source>
        <translation>耳语：坐席能听到你，客户听不到</translation>
    </message>
    <message>
        <source>Barge in: everyone hears everyone</source>
        <translation>强插：三方互相都能听到</translation>
    </message>
    <message>
        <source>End monitoring</source>
        <translation>结束监听</translation>
    </message>
    <message>
        <source>Put the selected agent on a break (with a reason)</source>
        <translation>让所选坐席小休（选择原因）</translation>
    </message>
    <message>
        <source>Put the selected agent back to ready</source>
        <translation>让所选坐席恢复就绪</translation>
    </message>
    <message>
        <source>Send a message to the selected agent</source>
        <translation>给所选坐席发消息</translation>
    </message>
    <message>
        <source>Send a message to the whole team</source>
        <translation>给全组发消息</translation>
    </message>
    <message>
        <source>Change the alert thresholds</source>
        <translation>修改提醒阈值</translation>
    </message>
    <message>
        <source>Switch between the table and the cards</source>
        <translation>在表格和卡片之间切换</translation>
    </message>
    <message>
        <source>Search agents by name or pinyin</source>
        <translation>按姓名或拼音搜索坐席</translation>
    </message>
    <message>
        <source>Show the selected agent&apos;s details</source>
        <translation>查看所选坐席详情</translation>
    </message>
    <message>
        <source>Search agent (name or pinyin)</source>
        <translation>搜索坐席（姓名或拼音）</translation>
    </message>
    <message>
        <source>%1 · %2 agents</source>
        <translation>%1 · %2 名坐席</translation>
    </message>
    <message>
        <source>Team floor</source>
        <translation>班组监控</translation>
    </message>
    <message>
        <source>All %1</source>
        <translation>全部 %1</translation>
    </message>
    <message>
        <source>Live</source>
        <translation>实时</translation>
    </message>
    <message>
        <source>Connecting…</source>
        <translation>正在连接…</translation>
    </message>
    <message>
        <source>Data out of date · %1</source>
        <translation>数据已过期 · %1</translation>
    </message>
    <message>
        <source>Pause</source>
        <translation>小休</translation>
    </message>
    <message>
        <source>Put %1 on a break:</source>
        <translation>让 %1 小休，原因：</translation>
    </message>
    <message>
        <source>Message</source>
        <translation>消息</translation>
    </message>
    <message>
        <source>Message to %1:</source>
        <translation>发给 %1 的消息：</translation>
    </message>
    <message>
        <source>Message to the whole team:</source>
        <translation>发给全组的消息：</translation>
    </message>
</context>
<context>
    <name>TeamLeadDesk</name>
    <message>
        <source>&amp;Team</source>
        <translation>班组(&amp;T)</translation>
    </message>
    <message>
        <source>Daily report</source>
        <translation>日报表</translation>
    </message>
    <message>
        <source>Distribute leads…</source>
        <translation>分配名单…</translation>
    </message>
    <message>
        <source>Question inbox</source>
        <translation>问题收集箱</translation>
    </message>
    <message>
        <source>Coaching on recordings…</source>
        <translation>录音辅导…</translation>
    </message>
    <message>
        <source>Coaching form for this call</source>
        <translation>本通话辅导表</translation>
    </message>
    <message>
        <source>While listening: fill in the 辅导表 for the agent&apos;s call</source>
        <translation>监听时：为该坐席当前通话填写辅导表</translation>
    </message>
</context>
<context>
    <name>ThresholdsDialog</name>
    <message>
        <source>Alert thresholds</source>
        <translation>提醒阈值</translation>
    </message>
    <message>
        <source>Minutes in a state before the row turns red and an alert is raised (0 = off).</source>
        <translation>状态持续多少分钟后整行变红并提醒（0 = 关闭）。</translation>
    </message>
    <message>
        <source> min</source>
        <translation> 分钟</translation>
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
        <extracomment>&quot;1&quot; then a second digit within this time types 10–19 (campaigns with more than ten codes).</extracomment>
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
        <source>Other results…</source>
        <translation>其他结果…</translation>
    </message>
    <message>
        <source>Results that do not fit this call&apos;s outcome; recording one needs a reason</source>
        <translation>与本次通话结果不符的选项；选择需填写原因</translation>
    </message>
    <message>
        <source>Why this result anyway?</source>
        <translation>为何仍选此结果？</translation>
    </message>
    <message>
        <source>Reason (required, kept with the result)</source>
        <translation>原因（必填，随结果一并保存）</translation>
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
        <source>Does not fit this call&apos;s outcome; needs a reason</source>
        <translation>与本次通话结果不符，需填写原因</translation>
    </message>
    <message>
        <source>Note (required)</source>
        <translation>备注（必填）</translation>
    </message>
</context>
</TS>
