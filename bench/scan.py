"""Benchmark of rule matching and of one full scan cycle.

Matcher part: 2,000 generated rules in realistic tax vocabulary (slot rules with
subjects, regions, events and exclusions; proximity, regex, title-only and ``&``/
``+`` expressions; a few bare regexes) against 10,000 generated items (title plus a
200-character body, about 1 % matching). Compares ``RuleSet.match`` with plain loops
over every rule's matcher (checking they find the same rules) and measures the CPU
cost of an item that matches nothing.

Full-cycle part (in a child process, so its peak RSS is its own): 200 RSS sources
of 50 items each served by ``python -m http.server`` on 127.0.0.1 (another process,
so serving costs no CPU here), a temporary config.toml with those sources and the
2,000 rules loaded by ``bot.config.load``, one scan with ``bot.store.Store`` and
``bot.http.HttpFetcher``. Prints a table and one JSON line.

    .venv/bin/python bench/scan.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import socket
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.matching import RuleSet  # noqa: E402
from bot.rules import Matcher, Prepared, compile_expr  # noqa: E402

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.scan import ScanReport
    from bot.store import Store

TZ = ZoneInfo("Asia/Shanghai")
SEED = 20260417

SUBJECTS = (
    "个税 个人所得税 增值税 发票 电子发票 专票 社保费 医保费 税务局 税务所 税务分局 "
    "办税服务厅 12366 电子税务局 个税APP 汇算清缴 退税 留抵退税 出口退税 印花税 房产税 "
    "契税 土地增值税 企业所得税 消费税 车船税 环保税 城建税 教育费附加 残保金 税务稽查 "
    "税务人员 税收优惠 减税降费 金税四期 纳税信用 税控盘 核定征收 定额发票 灵活用工"
).split()
REGIONS = (
    "城关区 七里河区 西固区 安宁区 红古区 永登县 皋兰县 榆中县 天河区 越秀区 海珠区 "
    "荔湾区 白云区 黄埔区 番禺区 花都区 南沙区 从化区 增城区 朝阳区 海淀区 丰台区 "
    "东城区 西城区 石景山区 通州区 顺义区 昌平区 大兴区 浦东新区 黄浦区 徐汇区 长宁区 "
    "静安区 普陀区 虹口区 杨浦区 闵行区 宝山区 嘉定区 松江区 青浦区 奉贤区 金山区 "
    "武侯区 锦江区 青羊区 金牛区 成华区 龙泉驿区 双流区 郫都区 江北区 渝中区 南岸区 "
    "沙坪坝区 九龙坡区 江宁区 鼓楼区 玄武区 秦淮区 建邺区 栖霞区 雨花台区 西湖区 "
    "上城区 拱墅区 滨江区 萧山区 余杭区 历下区 槐荫区 天桥区 历城区 雁塔区 碑林区 "
    "莲湖区 未央区 灞桥区 洪山区 武昌区 江汉区 江岸区 硚口区 汉阳区 岳麓区 芙蓉区 "
    "天心区 开福区 南明区 云岩区 花溪区 五华区 盘龙区 官渡区 兰州 天水 白银 酒泉 "
    "张掖 武威 定西 陇南 平凉 庆阳 嘉峪关 金昌 临夏 甘南"
).split()
EVENTS = (
    "投诉 举报 维权 暴力执法 乱收费 乱罚款 不作为 刁难 吃拿卡要 索贿 受贿 贪污 上访 "
    "信访 围堵 聚集 冲突 打人 辱骂 拖延 推诿 态度恶劣 排长队 系统崩溃 无法登录 "
    "数据泄露 信息泄露 诈骗 冒充税务 虚开 偷税 逃税 骗税 重复征收 多扣 强制执行 查封 "
    "冻结账户 曝光 网传视频"
).split()
EXCLUDES = (
    "招聘 培训 讲座 考试 公务员 广告 代理记账 招标 中标 课程 直播带货 抽奖"
).split()
FILLER = (
    "近日有网友在论坛发帖称，",
    "据了解，相关部门已经关注此事。",
    "记者联系了当地有关单位，对方表示正在核实。",
    "该帖子在本地生活圈引发不少讨论，",
    "目前情况仍在进一步了解中。",
    "多位网友在评论区留言表示看法，",
    "有关负责人回应称将认真研究网友意见。",
    "今年以来本地营商环境持续优化，",
    "小编整理了大家关心的常见问题，",
    "办事群众可通过线上渠道咨询相关政策，",
    "本周天气晴好，适合外出办事。",
    "社区工作人员上门宣传最新政策，",
    "不少市民表示流程比以前方便多了。",
    "具体办理时间以官方通知为准。",
    "网友调侃说排队时刷完了一部电视剧，",
    "也有人认为这是正常的工作安排。",
)
REGEXES = (
    (
        r"1[3-9]\d{9}",
        lambda rng: f"联系电话1{rng.randint(3, 9)}{rng.randint(0, 10**9 - 1):09d}",
    ),
    (
        r"(多|乱)收.{0,4}费",
        lambda rng: f"被{rng.choice('多乱')}收了{rng.randint(2, 99)}元费",
    ),
    (r"\d{3,}元", lambda rng: f"罚款{rng.randint(100, 9999)}元"),
    (r"退.{0,3}税款", lambda rng: "一直退不回税款"),
)

Recipe = Callable[[random.Random], tuple[list[str], list[str]]]


@dataclass
class GenRule:
    name: str
    expr: str = ""
    slots: dict[str, list[str]] = field(default_factory=dict)
    recipe: Recipe = lambda rng: ([], [])

    @property
    def expression(self) -> str:
        if self.expr:
            return self.expr
        from bot.config import Rule

        return Rule(name=self.name, section="nfk", **self._slot_tuples()).expression

    def _slot_tuples(self) -> dict[str, tuple[str, ...]]:
        return {k: tuple(v) for k, v in self.slots.items()}


def _pick(rng: random.Random, words: list[str], low: int, high: int) -> list[str]:
    return rng.sample(words, rng.randint(low, high))


def make_rules(count: int, rng: random.Random) -> list[GenRule]:
    """A realistic mix: mostly slot rules, then proximity, regex, title, AND forms."""
    rules: list[GenRule] = []
    for n in range(count):
        name = f"规则{n:04d}"
        kind = rng.random()
        s = _pick(rng, SUBJECTS, 1, 3)
        r = _pick(rng, REGIONS, 1, 4)
        e = _pick(rng, EVENTS, 1, 3)
        if n < 3:  # a few bare regexes, evaluated for every item
            pattern, sample = REGEXES[n]
            rules.append(
                GenRule(
                    name, expr=f"/{pattern}/", recipe=lambda g, f=sample: ([], [f(g)])
                )
            )
        elif kind < 0.70:
            slots = {"subject": s, "region": r, "event": e}
            if rng.random() < 0.4:
                slots["exclude"] = _pick(rng, EXCLUDES, 1, 3)
            rules.append(
                GenRule(
                    name,
                    slots=slots,
                    recipe=lambda g, s=s, r=r, e=e: (
                        [g.choice(r)],
                        [g.choice(s), g.choice(e)],
                    ),
                )
            )
        elif kind < 0.80:
            d = rng.choice((5, 10, 20))
            rules.append(
                GenRule(
                    name,
                    expr=f"({' | '.join(r)}) {s[0]}~{d}~{e[0]}",
                    recipe=lambda g, s=s, r=r, e=e: (
                        [g.choice(r)],
                        [f"{s[0]}相关{e[0]}"],
                    ),
                )
            )
        elif kind < 0.88:
            pattern, sample = rng.choice(REGEXES)
            rules.append(
                GenRule(
                    name,
                    expr=f"({' | '.join(s)}) ({' | '.join(r)}) /{pattern}/",
                    recipe=lambda g, s=s, r=r, f=sample: (
                        [g.choice(r)],
                        [g.choice(s), f(g)],
                    ),
                )
            )
        elif kind < 0.95:
            rules.append(
                GenRule(
                    name,
                    expr=f"title:({' | '.join(e)}) ({' | '.join(s)}) "
                    f"({' | '.join(r)}) -{rng.choice(EXCLUDES)}",
                    recipe=lambda g, s=s, r=r, e=e: (
                        [g.choice(e), g.choice(r)],
                        [g.choice(s)],
                    ),
                )
            )
        else:
            x = rng.choice(EXCLUDES)
            rules.append(
                GenRule(
                    name,
                    expr=f"{s[0]} & {r[0]} + {e[0]} !{x}",
                    recipe=lambda g, s=s, r=r, e=e: ([r[0]], [s[0], e[0]]),
                )
            )
    return rules


@dataclass(frozen=True)
class GenItem:
    title: str
    body: str


def make_items(
    count: int, rules: list[GenRule], rng: random.Random, match_rate: float = 0.008
) -> list[GenItem]:
    """Tax-flavoured items; a small share built from a rule's words so it matches."""
    items = []
    for _ in range(count):
        title_words: list[str] = []
        body_words: list[str] = []
        if rng.random() < match_rate:
            title_words, body_words = rng.choice(rules).recipe(rng)
        else:  # background: subjects are common, regions less, events rare
            if rng.random() < 0.8:
                body_words.append(rng.choice(SUBJECTS))
            if rng.random() < 0.3:
                title_words.append(rng.choice(REGIONS))
            if rng.random() < 0.06:
                body_words.append(rng.choice(EVENTS))
            if rng.random() < 0.05:
                body_words.append(rng.choice(EXCLUDES))
        title = "".join(title_words) + rng.choice(
            ("情况反映", "相关问题", "网友热议", "最新消息")
        )
        pieces = [rng.choice(FILLER) for _ in range(3)]
        for word in body_words:
            pieces.insert(rng.randint(0, len(pieces)), word + "，")
        body = "".join(pieces)
        while len(body) < 200:
            body += rng.choice(FILLER)
        items.append(GenItem(title, body[:200]))
    return items


# --- matcher part ------------------------------------------------------------------


def _cpu_loop(fn: Callable[[], object]) -> float:
    started = time.process_time()
    fn()
    return time.process_time() - started


def bench_matcher(
    rule_count: int, item_count: int, base_count: int
) -> dict[str, float]:
    rng = random.Random(SEED)
    gen_rules = make_rules(rule_count, rng)
    items = make_items(item_count, gen_rules, rng)

    started = time.perf_counter()
    compiled = [(g.name, compile_expr(g.expression)) for g in gen_rules]
    compile_s = time.perf_counter() - started
    started = time.perf_counter()
    ruleset = RuleSet(compiled)
    build_s = time.perf_counter() - started

    results: list[list[str]] = []

    def run_ruleset() -> None:
        for item in items:
            results.append([name for name, _ in ruleset.match(item.title, item.body)])

    ruleset_cpu = _cpu_loop(run_ruleset)
    matched_idx = [i for i, names in enumerate(results) if names]
    quiet = [items[i] for i, names in enumerate(results) if not names]

    def run_quiet() -> None:
        for item in quiet:
            ruleset.match(item.title, item.body)

    quiet_cpu = _cpu_loop(run_quiet)

    # Baselines on a subset: the first items plus every item the rule set matched.
    subset = sorted(set(range(min(base_count, len(items)))) | set(matched_idx))
    prepared_names: dict[int, list[str]] = {}

    def run_prepared() -> None:
        for i in subset:
            item = Prepared(items[i].title, items[i].body)
            prepared_names[i] = [
                name for name, m in compiled if m.match_prepared(item) is not None
            ]

    prepared_cpu = _cpu_loop(run_prepared)
    naive_subset = subset[: max(1, base_count // 5)]
    naive_names: dict[int, list[str]] = {}

    def run_naive() -> None:
        for i in naive_subset:
            naive_names[i] = [
                name for name, m in compiled if _naive(m, items[i]) is not None
            ]

    naive_cpu = _cpu_loop(run_naive)
    for i in subset:
        assert prepared_names[i] == results[i], (i, prepared_names[i], results[i])
    for i in naive_subset:
        assert naive_names[i] == results[i], (i, naive_names[i], results[i])

    ruleset_rate = len(items) / ruleset_cpu
    prepared_rate = len(subset) / prepared_cpu
    naive_rate = len(naive_subset) / naive_cpu
    return {
        "rules": rule_count,
        "items": len(items),
        "keys": ruleset.key_count,
        "always_evaluated": len(ruleset.always_evaluated),
        "matching_items": len(matched_idx),
        "matching_share": len(matched_idx) / len(items),
        "compile_s": compile_s,
        "build_s": build_s,
        "ruleset_items_per_s": ruleset_rate,
        "loop_items_per_s": prepared_rate,
        "naive_items_per_s": naive_rate,
        "speedup": ruleset_rate / prepared_rate,
        "speedup_naive": ruleset_rate / naive_rate,
        "quiet_cpu_us": quiet_cpu / max(1, len(quiet)) * 1e6,
        "checked_items": len(subset),
    }


def _naive(matcher: Matcher, item: GenItem) -> object:
    return matcher.match(item.title, item.body)


# --- full-cycle part (child process) -----------------------------------------------


def _toml_str(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # JSON escapes are valid TOML


def write_config(folder: Path, port: int, sources: int, rules: list[GenRule]) -> Path:
    lines = [
        'admins = ["admin"]',
        "",
        "[bot]",
        'name = "基准测试"',
        'data_dir = "data"',
        "",
        "[[sections]]",
        'id = "nfk"',
        'name = "纳税服务科"',
        'monitors = ["wangwu"]',
        'heads = ["zhaoliu"]',
        "",
        "[http]",
        "per_host_delay_s = 0",
        "per_host_concurrency = 16",
        "retries = 0",
        "",
    ]
    for n in range(sources):
        lines += [
            "[[sources]]",
            f'name = "来源{n:03d}"',
            'kind = "rss"',
            f'url = "http://127.0.0.1:{port}/feed{n:03d}.xml"',
            'section = "nfk"',
            "",
        ]
    for rule in rules:
        lines += ["[[rules]]", f"name = {_toml_str(rule.name)}", 'section = "nfk"']
        if rule.expr:
            lines.append(f"expr = {_toml_str(rule.expr)}")
        for slot, words in rule.slots.items():
            lines.append(f"{slot} = [{', '.join(_toml_str(w) for w in words)}]")
        lines.append("")
    path = folder / "config.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def write_feeds(
    folder: Path, sources: int, per_source: int, rules: list[GenRule], now: datetime
) -> int:
    rng = random.Random(SEED + 1)
    items = make_items(sources * per_source, rules, rng)
    for n in range(sources):
        entries = []
        for i in range(per_source):
            item = items[n * per_source + i]
            published = format_datetime(now - timedelta(minutes=n + i * 7))
            entries.append(
                f"<item><title>{escape(item.title)}</title>"
                f"<link>https://bbs.example.test/t/{n}/{i}</link>"
                f"<guid>https://bbs.example.test/t/{n}/{i}</guid>"
                f"<description>{escape(item.body)}</description>"
                f"<pubDate>{published}</pubDate></item>"
            )
        feed = (
            '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
            f"<title>来源{n:03d}</title><link>https://bbs.example.test/</link>"
            f"<description>bench</description>{''.join(entries)}</channel></rss>"
        )
        (folder / f"feed{n:03d}.xml").write_text(feed, encoding="utf-8")
    return len(items)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(port: int) -> None:
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"feed server did not start port={port}")


def run_cycle(rule_count: int, sources: int, per_source: int) -> dict[str, object]:
    from bot.config import load
    from bot.store import Store

    rng = random.Random(SEED)
    rules = make_rules(rule_count, rng)
    now = datetime.now(TZ)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        feeds = folder / "feeds"
        feeds.mkdir()
        item_count = write_feeds(feeds, sources, per_source, rules, now)
        port = _free_port()
        config = write_config(folder, port, sources, rules)
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "http.server",
                str(port),
                "--bind",
                "127.0.0.1",
                "--directory",
                str(feeds),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_for(port)
            started = time.perf_counter()
            settings = load(config, env={})
            load_s = time.perf_counter() - started
            (folder / "data").mkdir()
            store = Store.open(folder / "data", TZ)
            try:
                wall, cpu, api, report = asyncio.run(_scan(settings, store, now))
            finally:
                store.close()
        finally:
            server.terminate()
            server.wait(timeout=10)
    failed = [s for s in report.sources if not s.ok]
    return {
        "api": api,
        "sources": sources,
        "items": item_count,
        "items_read": sum(s.items for s in report.sources),
        "failed_sources": len(failed),
        "first_error": failed[0].error if failed else "",
        "hits": len(report.hits),
        "config_load_s": load_s,
        "wall_s": wall,
        "cpu_s": cpu,
        "cpu_us_per_item": cpu / item_count * 1e6,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


async def _scan(
    settings: Settings, store: Store, now: datetime
) -> tuple[float, float, str, ScanReport]:
    import bot.scan
    from bot.http import HttpFetcher

    fetcher = HttpFetcher(settings.http)
    try:
        wall0, cpu0 = time.perf_counter(), time.process_time()
        if hasattr(bot.scan, "scan_all"):
            api = "bot.scan.scan_all(settings, store, fetcher, now)"
            report = await bot.scan.scan_all(settings, store, fetcher, now)
        else:
            api = "bot.scan.Scanner(settings, store).scan_all(fetcher, now)"
            report = await bot.scan.Scanner(settings, store).scan_all(fetcher, now)
        return time.perf_counter() - wall0, time.process_time() - cpu0, api, report
    finally:
        await fetcher.aclose()


# --- main --------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    parser.add_argument("--cycle-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    rule_count = 500 if args.quick else 2000
    sources, per_source = (40, 50) if args.quick else (200, 50)

    if args.cycle_only:
        print(
            json.dumps(run_cycle(rule_count, sources, per_source), ensure_ascii=False)
        )
        return

    items = 2000 if args.quick else 10_000
    matcher = bench_matcher(rule_count, items, 200 if args.quick else 1000)
    child = subprocess.run(
        [
            sys.executable,
            __file__,
            "--cycle-only",
            *(["--quick"] if args.quick else []),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if child.returncode == 0:
        cycle: dict[str, object] = json.loads(child.stdout.strip().splitlines()[-1])
    else:
        cycle = {
            "error": child.stderr.strip().splitlines()[-1] if child.stderr else "?"
        }
    print_table(matcher, cycle)
    print(json.dumps({"matcher": matcher, "cycle": cycle}, ensure_ascii=False))


def print_table(m: dict[str, float], c: dict[str, object]) -> None:
    rows = [
        ("规则数 / 条目数", f"{m['rules']:,} / {m['items']:,}"),
        ("自动机关键词数", f"{m['keys']:,}"),
        ("每条都要评估的规则（纯正则）", f"{m['always_evaluated']}"),
        ("命中条目", f"{m['matching_items']} ({m['matching_share']:.2%})"),
        ("编译规则 / 建自动机", f"{m['compile_s']:.2f} s / {m['build_s']:.3f} s"),
        ("RuleSet.match", f"{m['ruleset_items_per_s']:,.0f} 条/秒"),
        ("逐条规则循环（文本只规范化一次）", f"{m['loop_items_per_s']:,.0f} 条/秒"),
        ("逐条规则 matcher.match", f"{m['naive_items_per_s']:,.0f} 条/秒"),
        ("加速比（对上两行）", f"{m['speedup']:.0f}x / {m['speedup_naive']:.0f}x"),
        ("未命中条目的 CPU 时间", f"{m['quiet_cpu_us']:.1f} µs/条"),
        ("结果一致性核对", f"{m['checked_items']} 条，与逐条循环相同"),
    ]
    if "error" in c:
        rows.append(("完整扫描", f"失败：{c['error']}"))
    else:
        rows += [
            ("完整扫描：来源 / 条目", f"{c['sources']} / {c['items']:,}"),
            ("读到条目 / 失败来源", f"{c['items_read']:,} / {c['failed_sources']}"),
            ("命中", f"{c['hits']}"),
            ("加载配置（含编译规则）", f"{c['config_load_s']:.2f} s"),
            ("扫描耗时（墙钟）", f"{c['wall_s']:.2f} s"),
            ("扫描 CPU", f"{c['cpu_s']:.2f} s，{c['cpu_us_per_item']:.0f} µs/条"),
            ("峰值内存 RSS", f"{c['peak_rss_mb']:.0f} MB"),
            ("调用", str(c["api"])),
        ]
        if c["first_error"]:
            rows.append(("首个来源错误", str(c["first_error"])))
    width = max(_width(label) for label, _ in rows) + 2
    for label, value in rows:
        print(f"{label}{' ' * (width - _width(label))}{value}")


def _width(text: str) -> int:
    """Terminal columns: wide (CJK) characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


if __name__ == "__main__":
    main()
