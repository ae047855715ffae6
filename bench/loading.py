"""`bench/run.py loading`: one survey file loaded and checked, cold, against parsing its YAML."""

from __future__ import annotations

import statistics
import time

import yaml
from big_survey import big_survey
from common import check, header, report

from bot import catalog, loader, templates

# A survey file of the size authors write, in one language and in two; and a big one.
CASES = (("21 questions, en", 21, ("en",)), ("21 questions, en+es", 21, ("en", "es")))
BIG = ("150 questions, en+es", 150, ("en", "es"))
LIMIT_MS = 20.0  # issue 19: loading one 21-question survey, checks included


def cold_load(data: bytes, path: str) -> float:
    """Seconds to load and check `data` as the catalog does, with no cache warm."""
    catalog._LENGTHS_CHECKED.clear()
    caches = ("parsed", "_compiled_text", "_compiled_expr")
    found = [getattr(templates, name, None) for name in caches] + [
        getattr(loader, "_top_lines", None)
    ]
    for cache in found:
        if cache is not None:  # absent from a checkout older than the caches
            cache.cache_clear()
    started = time.perf_counter()
    catalog.load_file(data, path)
    return time.perf_counter() - started


def yaml_parse(data: bytes) -> float:
    """Seconds for PyYAML's fastest loader to read the same bytes: the floor to compare with."""
    started = time.perf_counter()
    yaml.load(data, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return time.perf_counter() - started


def cmd_loading(args) -> int:
    """Median time to load each case, alternating with a plain YAML parse of the same file."""
    header("loading one survey file (catalog.load_file: parse, checks, message lengths)", args)
    rows, targets = {}, []
    for name, questions, languages in (*CASES, *([BIG] if args.big else [])):
        data = big_survey(questions, languages).encode()
        loads, parses = [], []
        cold_load(data, "/bench/warm-up.yaml")  # once, uncounted: a process's one-time costs
        for n in range(args.rounds):
            edited = data + f"# round {n}\n".encode()  # a new version each time, as after a save
            loads.append(cold_load(edited, "/bench/big.yaml"))
            parses.append(yaml_parse(edited))
        load_ms, parse_ms = statistics.median(loads) * 1e3, statistics.median(parses) * 1e3
        rows[name] = {"load_ms": load_ms, "yaml_ms": parse_ms, "ratio": load_ms / parse_ms}
        print(f"  {name}: load {load_ms:.1f} ms, YAML alone {parse_ms:.1f} ms, "
              f"ratio {load_ms / parse_ms:.1f}")  # fmt: skip
        if questions == 21:
            targets.append(check(f"load {name}", load_ms, "<=", LIMIT_MS, " ms"))
    return report("loading", rows, targets, {"args": vars(args)})


def add_parser(sub) -> None:
    """The `loading` measure's command line."""
    p = sub.add_parser("loading", help="one 21-question survey loaded and checked, cold")
    p.add_argument("--rounds", type=int, default=21)
    p.add_argument("--big", action="store_true", help="also a 150-question bilingual file")
    p.set_defaults(run=cmd_loading)
