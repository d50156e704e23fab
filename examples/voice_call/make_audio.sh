#!/usr/bin/env bash
# Regenerates the synthetic speech of voice_call.jsonl with espeak-ng (apt-get install espeak-ng).
# Pitch (-p), speed (-s) and loudness (-a) are varied to hint at each turn's mood; the voices are synthetic.
set -euo pipefail
cd "$(dirname "$0")"
say() { espeak-ng -v en-us -w "$1" -p "$2" -s "$3" -a "$4" "$5"; }
say 1.wav 50 160 100 "Hi, I'm calling because my order still hasn't arrived."
say 2.wav 40 150 100 "I'm sorry to hear that. Let me check the tracking for you."
say 3.wav 75 210 180 "This is the third time! I am really angry about this!"
say 4.wav 45 140 100 "I understand. I have sent a replacement by express, free of charge."
say 5.wav 80 190 140 "Oh, wonderful! Thank you so much!"
