"""``guide-tui check`` and ``show`` through the real entry point, as a user runs them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from guide_tui.cli import main

ROOT = Path(__file__).resolve().parent.parent
GUIDES = sorted((ROOT / "guides").glob("*.yaml"))


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "guide_tui", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )


def test_version() -> None:
    result = run_cli("--version")
    assert result.returncode == 0 and result.stdout.startswith("guide-tui ")


def test_check_shipped_guides_exit_zero() -> None:
    result = run_cli("check", *map(str, GUIDES))
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(": ok") == len(GUIDES)


def test_check_broken_guide_lists_all_errors_without_traceback(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        "id: x\ntitle: X\nversion: 1\nlangauge: en\nduration_minutes: many\n"
        "topics:\n  - title: A\n    questons: [Q]\n",
        encoding="utf-8",
    )
    result = run_cli("check", str(broken), str(GUIDES[0]))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if ": error: " in line]
    assert [line.split(":")[1:3] for line in lines] == [["4", "1"], ["5", "19"], ["8", "5"]]
    assert "did you mean 'language'" in lines[0] and "did you mean 'questions'" in lines[2]
    assert ": ok" in result.stdout  # the valid guide is still checked


def test_show_gp_guide_has_every_topic_and_question() -> None:
    from guide_tui.guide import load_guide

    guide = load_guide(ROOT / "guides" / "gp-delegation-lbp.yaml")
    result = run_cli("show", "guides/gp-delegation-lbp.yaml")
    assert result.returncode == 0, result.stderr
    flat = " ".join(result.stdout.split())
    for topic in guide.topics:
        assert " ".join(topic.title.split()) in flat
        for question in topic.questions:
            assert " ".join(question.text.split()) in flat


def test_show_markdown_with_group_uses_variants(capsys: pytest.CaptureFixture[str]) -> None:
    from guide_tui.guide import load_guide

    path = ROOT / "guides" / "cross-sectoral-lbp.yaml"
    guide = load_guide(path)
    group, question = next(
        (q.variants[0][0], q) for t in guide.topics for q in t.questions if q.variants
    )
    assert main(["show", str(path), "--group", group, "--format", "markdown"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"# {guide.title}")
    assert question.text_for(group) in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["show", "nope.yaml"], "no such guide file"),
        (["show", "guides/demo.yaml", "--group", "astronaut"], "unknown group"),
        (["check", "guides"], "is a folder"),
    ],
)
def test_bad_input_is_one_clear_line(args: list[str], message: str) -> None:
    result = run_cli(*args)
    assert result.returncode != 0
    assert message in result.stderr and "Traceback" not in result.stderr
