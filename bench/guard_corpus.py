#!/usr/bin/env python3
"""Recall and false-positive rate of `slipway guard scan` (the injection
detector), on a public corpus that ships inside a package.

Attacks: spikee's seed datasets (PyPI package `spikee`, pinned below), read
from its wheel, fetched with `pip download --no-deps` into a cache; nothing
of the corpus is committed. Each jailbreak template is filled with each
instruction of its seed folder. Templates are split by a hash of their id:
the "tune" half was looked at while the patterns were written, the
"held-out" half was not; the held-out figures are the ones to quote.

Benign text: spikee's false-positive seeds (ordinary user questions), this
repository's own source files and docs, Python's standard library sources,
Debian's package READMEs, and real Python test logs and stack traces made by
running a small failing suite.

Usage: python3 bench/guard_corpus.py [--slipway target/release/slipway]
"""

import argparse
import hashlib
import json
import pathlib
import random
import subprocess
import sys
import tempfile
import zipfile

SPIKEE = "spikee==0.9.2"
CACHE = pathlib.Path.home() / ".cache" / "slipway-bench"
SEEDS = [
    "seeds-cybersec-2026-01",
    "seeds-llm-mailbox",
    "seeds-sysmsg-extraction-2025-04",
    "seeds-investment-advice",
    "seeds-mini-test",
]
CHUNK = 2000


def wheel() -> pathlib.Path:
    CACHE.mkdir(parents=True, exist_ok=True)
    found = sorted(CACHE.glob("spikee-0.9.2-*.whl"))
    if not found:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", SPIKEE, "-d", str(CACHE)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        found = sorted(CACHE.glob("spikee-0.9.2-*.whl"))
    return found[0]


def jsonl(z: zipfile.ZipFile, name: str) -> list:
    try:
        text = z.read(name).decode()
    except KeyError:
        return []
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def split_of(key: str) -> str:
    return "tune" if hashlib.sha256(key.encode()).digest()[0] % 2 == 0 else "held-out"


def attacks() -> list:
    out = []
    with zipfile.ZipFile(wheel()) as z:
        root = "spikee/data/workspace/datasets/"
        for seed in SEEDS:
            jailbreaks = jsonl(z, f"{root}{seed}/jailbreaks.jsonl")
            instructions = jsonl(z, f"{root}{seed}/instructions.jsonl")
            for jb in jailbreaks:
                for ins in instructions:
                    text = jb["text"].replace("<INSTRUCTION>", ins["instruction"])
                    out.append(
                        {
                            "split": split_of(jb["id"]),
                            "type": jb.get("jailbreak_type", "?"),
                            "text": text,
                        }
                    )
        fp = jsonl(z, f"{root}seeds-investment-advice-fp/standalone_user_inputs.jsonl")
    return out, [row["text"] for row in fp]


def chunks(text: str) -> list:
    return [text[i : i + CHUNK] for i in range(0, len(text), CHUNK) if text[i : i + CHUNK].strip()]


def benign(fp_inputs: list) -> dict:
    rng = random.Random(7)
    repo = pathlib.Path(__file__).resolve().parent.parent
    groups = {"user questions (spikee fp seeds)": list(fp_inputs)}
    files = sorted(p for p in repo.glob("crates/**/*.rs")) + sorted(repo.glob("**/*.md"))
    files = [p for p in files if "target" not in p.parts]
    groups["this repository: source and docs"] = [
        c for p in files for c in chunks(p.read_text(errors="replace"))
    ]
    stdlib = pathlib.Path(json.__file__).resolve().parent.parent
    py = sorted(stdlib.glob("*.py"))
    rng.shuffle(py)
    groups["Python standard library sources"] = [
        c for p in py[:60] for c in chunks(p.read_text(errors="replace"))
    ]
    readmes = sorted(pathlib.Path("/usr/share/doc").glob("*/README*"))
    readmes = [p for p in readmes if p.suffix not in (".gz", ".bz2", ".xz")]
    groups["Debian package READMEs"] = [
        c for p in readmes[:200] for c in chunks(p.read_text(errors="replace"))
    ]
    groups["Python test logs and stack traces"] = test_logs()
    return groups


FAILING_SUITE = '''
import json, unittest, decimal, collections
class T(unittest.TestCase):
    def test_ok(self): self.assertEqual(1 + 1, 2)
    def test_key(self): {}["missing"]
    def test_json(self): json.loads("{bad json")
    def test_zero(self): 1 / 0
    def test_assert(self): self.assertEqual([1, 2, 3], [1, 2, 4])
    def test_decimal(self): decimal.Decimal("x")
    def test_attr(self): collections.OrderedDict().nope()
    def test_index(self): [][3]
    def test_type(self): "a" + 1
'''


def test_logs() -> list:
    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp) / "test_suite.py"
        path.write_text(FAILING_SUITE)
        logs = []
        for flags in ([], ["-v"]):
            run = subprocess.run(
                [sys.executable, "-m", "unittest", *flags, "test_suite"],
                cwd=tmp,
                capture_output=True,
                text=True,
            )
            logs.extend(chunks(run.stderr + run.stdout))
        return logs


def scan(slipway: str, text: str) -> bool:
    run = subprocess.run([slipway, "guard", "scan", "-"], input=text.encode(), capture_output=True)
    if run.returncode not in (0, 1):
        raise SystemExit(f"slipway guard scan failed: {run.stderr.decode()}")
    return run.returncode == 1


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--slipway", default="target/release/slipway")
    args = parser.parse_args()
    rows, fp_inputs = attacks()
    print("| split | attacks | detected | recall |")
    print("| --- | --- | --- | --- |")
    for split in ("tune", "held-out"):
        sample = [r for r in rows if r["split"] == split]
        hit = sum(scan(args.slipway, r["text"]) for r in sample)
        print(f"| {split} | {len(sample)} | {hit} | {100 * hit / len(sample):.1f}% |")
    held = [r for r in rows if r["split"] == "held-out"]
    by_type = {}
    for r in held:
        by_type.setdefault(r["type"], []).append(scan(args.slipway, r["text"]))
    print("\nheld-out recall by jailbreak type:")
    for kind, hits in sorted(by_type.items()):
        print(f"  {kind}: {sum(hits)}/{len(hits)}")
    print("\n| benign text | samples | flagged | false-positive rate |")
    print("| --- | --- | --- | --- |")
    total, flagged_all = 0, 0
    for name, texts in benign(fp_inputs).items():
        flagged = sum(scan(args.slipway, t) for t in texts)
        total += len(texts)
        flagged_all += flagged
        print(f"| {name} | {len(texts)} | {flagged} | {100 * flagged / max(len(texts), 1):.1f}% |")
    print(f"| all | {total} | {flagged_all} | {100 * flagged_all / total:.1f}% |")


if __name__ == "__main__":
    main()
