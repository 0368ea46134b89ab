"""Rebuild public/music.mp3 and public/silence.mp3 from nothing but arithmetic.

The music is a short, gentle chord loop synthesised here, so the project owns
its audio outright and anyone can regenerate it with `make audio`
(or `python tools/make_audio.py OUT_DIR` to write elsewhere).
Both files are mono, 16 kHz, 32 kbit/s CBR MP3: plenty for a phone line
(which carries 300-3400 Hz) and small enough for Vonage to fetch quickly.
"""

from __future__ import annotations

import math
import sys
from array import array
from pathlib import Path

import lameenc

SAMPLE_RATE = 16_000
BIT_RATE_KBPS = 32
SILENCE_SECONDS = 60
PUBLIC = Path(__file__).resolve().parent.parent / "public"

BEATS_PER_MINUTE = 96
BEAT = 60 / BEATS_PER_MINUTE
# I - vi - IV - V - I - vi - ii - V: the V at the end leads straight back into
# the I at the start, so the loop point sounds like the next bar, not a seam.
PROGRESSION = [
    ("C", [60, 64, 67]),
    ("Am", [57, 60, 64]),
    ("F", [53, 57, 60]),
    ("G", [55, 59, 62]),
    ("C", [60, 64, 67]),
    ("Am", [57, 60, 64]),
    ("Dm", [50, 53, 57]),
    ("G", [55, 59, 62]),
]
ARPEGGIO = [0, 1, 2, 1, 0, 1, 2, 1]  # chord-tone index per eighth note, octave up on 2
MELODY = [  # (bar, beat, length in beats, MIDI note): a simple tune on top
    (0, 0, 2, 76),
    (0, 2, 2, 79),
    (1, 0, 3, 76),
    (1, 3, 1, 74),
    (2, 0, 2, 72),
    (2, 2, 2, 69),
    (3, 0, 4, 71),
    (4, 0, 2, 76),
    (4, 2, 1, 79),
    (4, 3, 1, 81),
    (5, 0, 3, 79),
    (5, 3, 1, 76),
    (6, 0, 2, 74),
    (6, 2, 2, 77),
    (7, 0, 3, 74),
    (7, 3, 1, 71),
]


def frequency(midi_note: int) -> float:
    return 440.0 * 2 ** ((midi_note - 69) / 12)


def add_note(samples: list[float], start: float, length: float, midi_note: int, volume: float) -> None:
    """Mix one soft electric-piano-like note in, faded to zero at both ends.

    A short linear attack and release keep every note click-free, and the last
    note ends before the loop point, so the file loops without a pop.
    """
    first = int(start * SAMPLE_RATE)
    count = int(length * SAMPLE_RATE)
    attack = int(0.008 * SAMPLE_RATE)
    release = int(0.060 * SAMPLE_RATE)
    step = 2 * math.pi * frequency(midi_note) / SAMPLE_RATE
    for i in range(count):
        t = i / SAMPLE_RATE
        envelope = math.exp(-2.2 * t) * min(1.0, i / attack, (count - i) / release)
        phase = step * i
        tone = math.sin(phase) + 0.35 * math.sin(2 * phase) + 0.12 * math.sin(3 * phase)
        samples[first + i] += volume * envelope * tone


def music() -> array:
    bar = 4 * BEAT
    samples = [0.0] * int(len(PROGRESSION) * bar * SAMPLE_RATE)
    for index, (_, chord) in enumerate(PROGRESSION):
        bar_start = index * bar
        add_note(samples, bar_start, 2 * BEAT, chord[0] - 12, 0.30)
        add_note(samples, bar_start + 2 * BEAT, 2 * BEAT, chord[0] - 12, 0.25)
        for eighth, tone in enumerate(ARPEGGIO):
            note = chord[tone] + (12 if eighth % 4 == 2 else 0)
            add_note(samples, bar_start + eighth * BEAT / 2, BEAT / 2, note, 0.12)
    for bar_index, beat, beats, note in MELODY:
        add_note(samples, bar_index * bar + beat * BEAT, beats * BEAT, note, 0.22)
    peak = max(abs(s) for s in samples)
    return array("h", (int(s / peak * 0.8 * 32767) for s in samples))


def encode(pcm: array) -> bytes:
    encoder = lameenc.Encoder()
    encoder.set_channels(1)
    encoder.set_in_sample_rate(SAMPLE_RATE)
    encoder.set_out_sample_rate(SAMPLE_RATE)
    encoder.set_bit_rate(BIT_RATE_KBPS)
    encoder.set_quality(2)
    return bytes(encoder.encode(pcm.tobytes()) + encoder.flush())


def main(out_dir: Path = PUBLIC) -> None:
    out_dir.mkdir(exist_ok=True)
    (out_dir / "music.mp3").write_bytes(encode(music()))
    (out_dir / "silence.mp3").write_bytes(encode(array("h", bytes(2 * SILENCE_SECONDS * SAMPLE_RATE))))
    for name in ("music.mp3", "silence.mp3"):
        print(f"wrote {out_dir / name}: {(out_dir / name).stat().st_size // 1024} KB")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else PUBLIC)
