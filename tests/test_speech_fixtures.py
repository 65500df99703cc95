"""The espeak-ng fixtures are the same audio on every run and every machine with the same tools:
the real-weight tests' thresholds (WER, turn recall) are measured on them, so a fixture that came
out different each time (sox dithered from an unseeded generator) made them pass on one draw and
fail on the next."""

from __future__ import annotations

import numpy as np
from fixtures_speech import say


def test_an_utterance_synthesised_twice_is_the_same_audio() -> None:
    text = "Honestly, more time for training, and a medical student now and then would help a lot."
    first = say(text, "en-gb+f3", 48000)
    again = say(text, "en-gb+f3", 48000)
    assert len(first) > 48000  # about 5 s of speech
    assert np.array_equal(first, again)
