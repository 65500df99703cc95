"""The filler prompt (issue 11, fillers): with ``filler_prompt`` every English window is decoded
with it, no other language gets it; off by default. Fake engine, no weights; the effect on
real tiny.en output is tested in test_transcribe_fidelity.py."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from fixtures_speech import make_session

from guide_tui.transcribe.models import ResolvedModel
from guide_tui.transcribe.runner import FILLER_PROMPT, Transcriber, _prompt
from guide_tui.transcribe.types import EngineInfo, Segment, TranscribeOptions, Word


class RecordingEngine:
    """A word every second over the whole window; records the prompt of each call (``passes``:
    of the filler pass, greedy at temperature 0)."""

    def __init__(self) -> None:
        self.info = EngineInfo("fake", "0", "fake", "fake", "float32")
        self.prompts: list[str | None] = []
        self.passes: list[str | None] = []

    def detect_language(self, audio):
        return "da", 1.0

    def transcribe(
        self,
        audio,
        *,
        language,
        prompt,
        seed,
        condition_on_previous_text=None,
        temperature=None,
        beam_size=None,
    ):
        if temperature is not None:
            assert (temperature, beam_size) == ((0.0,), 1)
        (self.prompts if temperature is None else self.passes).append(prompt)
        for k in range(len(audio) // 16000):
            # A different word each second: one word again and again is a loop, which the
            # runner decodes a second time on its own, without a prompt.
            word = f" ord{k}"
            yield Segment(k, k + 1.0, word, words=(Word(k + 0.05, k + 0.95, word, 0.9),))


def _run(tmp_path: Path, monkeypatch, model_name: str, **options) -> tuple[RecordingEngine, dict]:
    rate = 16000
    rng = np.random.default_rng(1)
    x = (0.2 * rng.standard_normal(30 * rate)).astype(np.float32)  # "speech" throughout
    wav = tmp_path / "a.wav"
    sf.write(str(wav), x, rate, subtype="PCM_16")
    folder = make_session(tmp_path / "s", [wav])
    fake = RecordingEngine()
    model = ResolvedModel(model_name, tmp_path, "ct2", "path")
    monkeypatch.setattr(Transcriber, "_model_for", lambda self, language: model)
    monkeypatch.setattr(Transcriber, "_engine", lambda self, m: fake)
    Transcriber(TranscribeOptions(vad_filter=False, window_s=10.0, **options)).run(folder)
    return fake, json.loads((folder / "transcript.json").read_text())


@pytest.mark.parametrize(
    ("model", "options", "expected"),
    [
        ("fake.en", {"filler_prompt": True}, FILLER_PROMPT),
        ("fake.en", {}, None),
        # An English prompt could pull Danish towards English; "auto": detected as Danish.
        ("fake", {"language": "da", "filler_prompt": True}, None),
        ("fake", {"language": "auto", "filler_prompt": True}, None),
        ("fake", {"language": "en", "filler_prompt": True}, FILLER_PROMPT),
    ],
)
def test_every_english_window_gets_the_filler_prompt(
    tmp_path: Path, monkeypatch, model: str, options: dict, expected: str | None
) -> None:
    fake, tr = _run(tmp_path, monkeypatch, model, **options)
    prompts = fake.prompts
    assert len(prompts) >= 3  # 30 s in windows of at most 10 s, each decoded once
    assert prompts == [expected] * len(prompts)
    assert tr["options"]["initial_prompt"] == expected
    # English without the filler prompt: every window gets the filler pass (with it, the first
    # decode has the fillers; other languages: no English prompt at all).
    english = model.endswith(".en") or options.get("language") == "en"
    passes = [FILLER_PROMPT] * len(prompts) if english and expected is None else []
    assert fake.passes == passes
    assert tr["options"]["filler_pass"] is bool(passes)


def test_no_filler_pass_when_switched_off(tmp_path: Path, monkeypatch) -> None:
    fake, tr = _run(tmp_path, monkeypatch, "fake.en", filler_pass=False)
    assert fake.passes == [] and tr["options"]["filler_pass"] is False


def test_filler_prompt_comes_before_the_glossary() -> None:
    opts = TranscribeOptions(vocabulary_prompt=True, filler_prompt=True)
    glossary = "Glossary: triage, physiotherapist."
    assert _prompt(opts, ("triage", "physiotherapist"), "en") == f"{FILLER_PROMPT} {glossary}"
    assert _prompt(opts, ("triage", "physiotherapist"), "da") == glossary
    assert _prompt(TranscribeOptions(filler_prompt=True), (), "en") == FILLER_PROMPT
    assert _prompt(TranscribeOptions(), (), "en") is None


def test_cli_switches_the_filler_prompt_on() -> None:
    import argparse

    from guide_tui.commands import transcribe

    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    transcribe.register(sub)
    assert parser.parse_args(["transcribe", "x"]).filler_prompt is False
    assert parser.parse_args(["transcribe", "x", "--filler-prompt"]).filler_prompt is True

    # The filler pass follows the style unless it is set: verbatim has fillers, clean has none.
    def filler_pass(*flags: str) -> bool:
        args = parser.parse_args(["transcribe", "x", "--device", "cpu", *flags])
        return transcribe.options_from(args).filler_pass

    assert filler_pass() is True
    assert filler_pass("--clean") is False
    assert filler_pass("--no-filler-pass") is False
    assert filler_pass("--clean", "--filler-pass") is True


class GuessingEngine:
    """Prompted, it writes a real "um" at 0.5 s and a guessed "Um," (p 0.001) over the question
    at 6-9 s; a stretch decoded on its own gives the question's words."""

    def __init__(self) -> None:
        self.calls: list[tuple[str | None, bool | None]] = []

    def transcribe(self, audio, *, language, prompt, seed, condition_on_previous_text=None, **_):
        self.calls.append((prompt, condition_on_previous_text))
        if condition_on_previous_text is False:  # a stretch, from its own start
            words = tuple(Word(0.3 + 0.5 * i, 0.7 + 0.5 * i, f" {t}", 0.9) for i, t in
                          enumerate("when do you refer".split()))  # fmt: skip
            yield Segment(0.3, 2.3, "when do you refer", words=words)
            return
        um = " um," if prompt else ""
        first = (Word(0.5, 0.9, " um,", 0.6),) if prompt else ()
        words = (
            *first,
            *(Word(1.0 + 0.5 * i, 1.4 + 0.5 * i, f" {t}", 0.9) for i, t in enumerate("abcdef")),
        )
        yield Segment(0.5, 4.0, f"{um} a b c d e f", words=words)
        if prompt:
            yield Segment(6.0, 9.0, "Um,", words=(Word(7.5, 8.0, " Um,", 0.001),))


def test_a_guessed_filler_over_a_question_does_not_hide_it() -> None:
    import numpy as np

    from guide_tui.transcribe.audio import FRAME_S, AudioFile, Window
    from guide_tui.transcribe.runner import decode_window
    from guide_tui.transcribe.transcript import has_fillers

    # Speech 0.4-4.2 s (the answer) and 6-9 s (the question); silence elsewhere; 10 s.
    db = np.full(round(10 / FRAME_S), -80.0, np.float32)
    db[round(0.4 / FRAME_S) : round(4.2 / FRAME_S)] = -20.0
    db[round(6.0 / FRAME_S) : round(9.0 / FRAME_S)] = -20.0
    f = AudioFile(Path("a.wav"), 0.0, 160000, 16000, 1)
    f.frame_db = db
    w = Window(0, f, [(0, 160000)])
    engine = GuessingEngine()
    segs = decode_window(engine, w, np.zeros(160000, np.float32), "en", FILLER_PROMPT)
    text = " ".join(s.text for s in segs)
    assert has_fillers(text) >= 1 and "when do you" in text, text
    # Speech without words: the window again without the prompt (no better here, so the
    # prompted text and its filler stay), then the stretch on its own, from two starts (its
    # words are kept where the two decodes agree).
    assert engine.calls == [(FILLER_PROMPT, None), (None, None), (None, False), (None, False)]


def test_a_window_cancelled_in_its_filler_pass_is_decoded_again_on_resume(
    tmp_path: Path, monkeypatch
) -> None:
    """Ctrl+C during the filler pass (or a redecode, which also stop early rather than raise):
    the window is not checkpointed half done; the resumed run decodes it whole."""
    rate = 16000
    rng = np.random.default_rng(1)
    wav = tmp_path / "a.wav"
    sf.write(str(wav), (0.2 * rng.standard_normal(30 * rate)).astype(np.float32), rate)
    folder = make_session(tmp_path / "s", [wav])
    straight = tmp_path / "straight"
    shutil.copytree(folder, straight)
    model = ResolvedModel("fake.en", tmp_path, "ct2", "path")
    monkeypatch.setattr(Transcriber, "_model_for", lambda self, language: model)
    options = TranscribeOptions(vad_filter=False, window_s=10.0)

    class CancelInSecondPass(RecordingEngine):
        def transcribe(self, audio, **kw):
            for k, segment in enumerate(super().transcribe(audio, **kw)):
                if len(self.passes) == 2 and k == 1:
                    transcriber.cancel.set()
                yield segment

    transcriber = Transcriber(options)
    monkeypatch.setattr(Transcriber, "_engine", lambda self, m: CancelInSecondPass())
    with pytest.raises(KeyboardInterrupt):
        transcriber.run(folder)
    partial = (folder / "transcript.partial.jsonl").read_text().splitlines()
    assert sum('"window"' in line for line in partial) == 1  # the first only

    monkeypatch.setattr(Transcriber, "_engine", lambda self, m: RecordingEngine())

    def content(folder: Path) -> dict:
        Transcriber(options).run(folder)
        tr = json.loads((folder / "transcript.json").read_text())
        tr.pop("created")
        return tr | {"timings": tr["timings"]["resumed_audio_s"]}

    resumed = content(folder)
    fresh = content(straight)
    assert resumed.pop("timings") > 0 and fresh.pop("timings") == 0
    assert resumed == fresh
