"""Fill a cache fast with realistic generated leads (benchmarks, UI tests).

Not demo data for people: see app.demo.campaign for that. Names, plates and numbers
are random but plausible (valid Chinese mobile prefixes, provincial plates).
Rows go in with executemany in one transaction: 100,000 leads take a few
seconds.
"""

from __future__ import annotations

import datetime as dt
import random

from cache.db import CacheHandle
from cache.repository import local_campaign_id, local_lead_id
from core.pinyin import name_keys

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国建华志强文博子涵雨欣浩然宇轩梓涵一诺欣怡"
    "佳怡俊杰晨阳思远诗涵梦瑶家豪嘉怡子轩海峰春梅玉兰红梅国强德华振华晓东晓燕丹丹婷婷"
)
GIVEN_TOKENS = [GIVEN[i : i + 1] for i in range(len(GIVEN))] + [GIVEN[i : i + 2] for i in range(0, len(GIVEN) - 1, 2)]
CITIES = (("宜昌", "鄂E"), ("武汉", "鄂A"), ("襄阳", "鄂F"), ("荆州", "鄂D"), ("十堰", "鄂C"), ("黄石", "鄂B"),
          ("长沙", "湘A"), ("郑州", "豫A"), ("成都", "川A"), ("重庆", "渝A"))
VEHICLES = ("大众 朗逸", "丰田 卡罗拉", "本田 雅阁", "日产 轩逸", "别克 英朗", "吉利 帝豪", "哈弗 H6",
            "比亚迪 秦PLUS", "奥迪 A4L", "宝马 3系", "长安 CS75", "五菱 宏光")
SOURCES = ("无服务经理续保", "历史脱保", "次新车", "网点自拓", "转介绍")
MOBILE_PREFIXES = ("130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "155",
                   "156", "157", "158", "159", "176", "177", "180", "181", "182", "183", "186", "187", "188", "189")
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"


def generate_leads(handle: CacheHandle, n: int = 100_000, campaign_name: str = "压测名单", seed: int = 20261125,
                   callback_share: float = 0.1, done_share: float = 0.2) -> str:
    """Insert ``n`` generated leads into a campaign (created if needed); returns the campaign id."""
    rng = random.Random(seed)
    campaign_id = local_campaign_id(campaign_name)
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)
    today = now.date()
    sur_keys = {c: name_keys(c) for c in SURNAMES}
    given_keys = {g: name_keys(g) for g in GIVEN_TOKENS}
    leads, phones = [], []
    used_numbers: set[str] = set()
    for i in range(n):
        sur, given = rng.choice(SURNAMES), rng.choice(GIVEN_TOKENS)
        name = sur + given
        sp, si = sur_keys[sur]
        gp, gi = given_keys[given]
        # Surnames with two readings carry two variants; pair each with the given name.
        pinyin = " ".join(v + gp for v in sp.split())
        initials = " ".join(v + gi for v in si.split())
        city, plate_prefix = rng.choice(CITIES)
        plate = plate_prefix + rng.choice(PLATE_LETTERS) + "".join(rng.choice("0123456789ABCDEFGHJK") for _ in range(4))
        r = rng.random()
        status, callback = "new", None
        if r < done_share:
            status = rng.choice(("done", "closed"))
        elif r < done_share + callback_share:
            status = "callback"
            callback = now + dt.timedelta(minutes=rng.randint(-3 * 24 * 60, 7 * 24 * 60))
        lead_id = local_lead_id(campaign_id, f"GEN-{i:07d}")
        leads.append((lead_id, campaign_id, f"GEN-{i:07d}", name, pinyin, initials, rng.choice("男女"), city,
                      plate, rng.choice(VEHICLES), today + dt.timedelta(days=rng.randint(-30, 90)),
                      rng.choice((2850, 3120, 3680, 4200, 5600)), rng.choice(SOURCES), rng.randint(1, 3), "",
                      status, callback, now, now))
        for pos in range(1 if rng.random() < 0.85 else 2):
            while True:
                number = "+86" + rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"
                if number not in used_numbers:
                    used_numbers.add(number)
                    break
            phones.append((lead_id, number, number[-4:], "", pos))
    leads.sort()  # primary-key order: appends to the b-tree instead of random inserts
    phones.sort()
    with handle.engine.connect() as conn, conn.execution_options(sqlite_begin="IMMEDIATE").begin():
        dbapi = conn.connection.driver_connection
        dbapi.execute("PRAGMA cache_size=-131072")  # 128 MB for the bulk insert's many indexes
        # The change-journal triggers double the insert time; drop them for the bulk load and
        # leave a hole in the journal instead, which makes every search index rebuild.
        triggers = dbapi.execute(
            "SELECT name, sql FROM sqlite_master WHERE type='trigger' AND sql LIKE '%lead_changes%'"
        ).fetchall()
        for name, _sql in triggers:
            dbapi.execute(f"DROP TRIGGER {name}")
        dbapi.execute(
            "INSERT OR IGNORE INTO campaigns (id, name, rules, updated_at) VALUES (?, ?, '{}', ?)",
            (campaign_id, campaign_name, now),
        )
        dbapi.executemany(
            "INSERT OR REPLACE INTO leads (id, campaign_id, external_id, name, name_pinyin, name_initials, gender,"
            " city, plate, vehicle, policy_expiry, last_premium, source, priority, notes, status,"
            " next_callback_at, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [(*row[:10], row[10].isoformat(), *row[11:16],
              row[16].isoformat(sep=" ") if row[16] else None, row[17].isoformat(sep=" "),
              row[18].isoformat(sep=" ")) for row in leads],
        )
        dbapi.executemany(
            "INSERT INTO lead_phones (lead_id, number_e164, tail4, label, position) VALUES (?,?,?,?,?)", phones
        )
        for _name, sql in triggers:
            dbapi.execute(sql)
        dbapi.execute("INSERT INTO lead_changes (seq, lead_id) "
                      "VALUES ((SELECT coalesce(max(seq), 0) + 2 FROM lead_changes), '*')")
    with handle.engine.connect() as conn:
        conn.connection.driver_connection.execute("PRAGMA cache_size=-2000")  # back to the default
    return campaign_id
