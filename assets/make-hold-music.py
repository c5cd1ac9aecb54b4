#!/usr/bin/env python3
"""Generate assets/hold-music.wav: flexhooks' own hold music.

30 seconds of a soft, synthesised arpeggio over four chords (C, A minor,
F, G; 7.5 s each), 8 kHz mono 16-bit PCM (Twilio's <Play> takes WAV; a
telephone line carries 8 kHz anyway).  No recording of anyone else's is
involved, and the output is deterministic: the same script gives the same
bytes, so `git diff` shows when it changed.

    python3 assets/make-hold-music.py [OUTPUT]      (default: next to me)
"""

import math
import os
import struct
import sys
import wave

RATE = 8000
SECONDS = 30
CHORDS = [  # MIDI notes: root position triads plus the octave
    (60, 64, 67, 72),   # C
    (57, 60, 64, 69),   # A minor
    (53, 57, 60, 65),   # F
    (55, 59, 62, 67),   # G
]
NOTE_S = 0.375          # one arpeggio step
AMP = 0.22              # of full scale: quiet, no clipping


def freq(midi):
    return 440.0 * 2.0 ** ((midi - 69) / 12.0)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "hold-music.wav")
    total = RATE * SECONDS
    chord_len = total // len(CHORDS)
    step = int(RATE * NOTE_S)
    frames = bytearray()
    for i in range(total):
        chord = CHORDS[min(i // chord_len, len(CHORDS) - 1)]
        t = i / RATE
        # a pad: the chord's root and fifth, an octave down, very soft
        pad = 0.35 * (math.sin(2 * math.pi * freq(chord[0] - 12) * t) +
                      math.sin(2 * math.pi * freq(chord[2] - 12) * t)) / 2
        # the arpeggio: up and down the chord, each note decaying
        k = (i // step) % 6
        note = chord[(0, 1, 2, 3, 2, 1)[k]]
        nt = (i % step) / RATE
        env = math.exp(-3.0 * nt) * min(1.0, nt * 200.0)
        arp = env * math.sin(2 * math.pi * freq(note) * t)
        # fade in and out, so the loop joins without a click
        edge = min(1.0, t / 0.5, (SECONDS - t) / 0.5)
        v = AMP * edge * (0.6 * arp + 0.4 * pad)
        frames += struct.pack("<h", int(round(v * 32767)))
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(bytes(frames))


if __name__ == "__main__":
    main()
