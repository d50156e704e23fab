"""What transcription costs emotion recognition: MELD test utterances spoken by espeak-ng, transcribed by Whisper
tiny.en (encoders/asr.py), then labelled by the default text model from the transcript and from the gold text.

    python benchmarks/asr_meld.py [--data DIR] [--utterances 500]

- Utterances: whole MELD test conversations in order until at least `--utterances`; each speaker gets one espeak-ng
  voice (an English accent with a voice variant), kept across conversations.
- Transcription: each spoken utterance alone (it is one turn already, so voice activity is not re-run), Whisper as
  `emotrace analyze RECORDING` runs it.
- WER: word edits (substitutions + deletions + insertions) over all utterances / gold words. Both sides are
  normalised the same way: Unicode NFKC, lower case, curly quotes made straight, every character but a-z, 0-9 and
  the apostrophe made a space, apostrophes dropped ("Y'know!" -> "yknow"). Numbers are not spelt out, so "27" against
  "twenty seven" counts as errors.
- Emotion: weighted F1 (×100, canonical labels, as every MELD number in the README) of the default model
  (`Analyzer`, `emotrace analyze`'s model) over the same conversations with gold text and with transcribed text. A turn
  whose transcript is empty is left out of the model's input (as the pipeline leaves out a textless turn) and counts
  as wrong.

Synthetic voices are a limit of this test: espeak-ng speaks clearly, without emotion, noise or overlap, so the WER
here is not that of real calls, and the emotion cost is that of lost words and punctuation, not of emotional speech.

Audio (16 kHz FLAC) and transcripts are cached in benchmarks/runs/asr_meld/; writes benchmarks/results/asr_meld.json
and the README block `asr_meld`.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import unicodedata
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DEFAULT_DATA, RESULTS, RUNS, cpu_description, update_readme, write_text_atomic  # noqa: E402

from emotrace.datasets import load_dataset  # noqa: E402
from emotrace.schema import Conversation, Utterance  # noqa: E402

CACHE = RUNS / "asr_meld"
ACCENTS = ("en-us", "en-gb", "en-gb-scotland", "en-029", "en-gb-x-rp", "en-us-nyc")
VARIANTS = ("m3", "f2", "m1", "f4", "m5", "f1", "m7", "f3", "m2", "f5", "m4", "m6")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=DEFAULT_DATA)
    parser.add_argument("--utterances", type=int, default=500, help="at least this many, in whole conversations")
    args = parser.parse_args()
    conversations = first_conversations(load_dataset("meld", "test", args.data), args.utterances)
    utterances = [u for c in conversations for u in c.utterances]
    voices = speaker_voices(utterances)
    audio = [synthesize(u, voices[u.speaker]) for u in utterances]
    transcripts = transcribe(utterances, audio)
    references, hypotheses = [normalise(u.text) for u in utterances], [normalise(t) for t in transcripts]
    edits = sum(edit_distance(r, h) for r, h in zip(references, hypotheses))
    words = sum(len(r) for r in references)
    result = {
        "date": date.today().isoformat(),
        "command": "python benchmarks/asr_meld.py" + (f" --utterances {args.utterances}" if args.utterances != 500 else ""),
        "machine": cpu_description(),
        "data": f"MELD test, the first {len(conversations)} conversations ({len(utterances)} utterances, {len(voices)} speakers, one espeak-ng voice each)",
        "audio_seconds": round(sum(_seconds(path) for path in audio), 1),
        "wer": round(100 * edits / words, 2),
        "reference_words": words,
        "utterances": len(utterances),
        "exact_utterances": sum(r == h for r, h in zip(references, hypotheses)),
        "empty_transcripts": sum(not t.strip() for t in transcripts),
        "exclamation_marks": {"gold": sum("!" in u.text for u in utterances), "transcribed": sum("!" in t for t in transcripts)},
        "weighted_f1": emotion_scores(conversations, transcripts),
    }
    write_text_atomic(RESULTS / "asr_meld.json", json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    update_readme("asr_meld", readme_block(result))
    print(json.dumps(result, ensure_ascii=False))


def first_conversations(conversations: list[Conversation], at_least: int) -> list[Conversation]:
    chosen: list[Conversation] = []
    for conversation in conversations:
        if sum(len(c) for c in chosen) >= at_least:
            break
        chosen.append(conversation)
    return chosen


def speaker_voices(utterances: list[Utterance]) -> dict[str, str]:
    """One espeak-ng voice per speaker, in order of first appearance; accent and variant both change between neighbours."""
    combinations = [f"{ACCENTS[i % len(ACCENTS)]}+{VARIANTS[i % len(VARIANTS)]}" for i in range(len(ACCENTS) * len(VARIANTS))]
    speakers = list(dict.fromkeys(u.speaker for u in utterances))
    return {speaker: combinations[i % len(combinations)] for i, speaker in enumerate(speakers)}


def synthesize(utterance: Utterance, voice: str) -> Path:
    """The utterance spoken by `voice`, as cached 16 kHz FLAC (espeak-ng reads the text on stdin, so a leading '-' is text)."""
    import soundfile
    from scipy.signal import resample_poly

    path = CACHE / "audio" / f"{utterance.id}.{voice.replace('+', '_')}.flac"
    if path.is_file():
        return path
    with tempfile.TemporaryDirectory() as folder:
        wav = Path(folder) / "spoken.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-w", str(wav), "--stdin"], input=utterance.text.encode(), check=True)
        wave, rate = soundfile.read(wav, dtype="float32")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial.flac")
    soundfile.write(partial, resample_poly(wave, 16_000, rate).astype(np.float32), 16_000, subtype="PCM_16")
    partial.replace(path)
    return path


def transcribe(utterances: list[Utterance], audio: list[Path]) -> list[str]:
    """Whisper's text per spoken utterance, cached by audio file name and model."""
    from emotrace.encoders.asr import MODEL_NAME, Transcriber
    from emotrace.encoders.audio import load_audio

    cache_file = CACHE / "transcripts.json"
    cache: dict[str, Any] = json.loads(cache_file.read_text(encoding="utf-8")) if cache_file.is_file() else {}
    if cache.get("model") != MODEL_NAME:
        cache = {"model": MODEL_NAME, "texts": {}}
    transcriber = Transcriber("en")
    for number, path in enumerate(audio, 1):
        if path.name not in cache["texts"]:
            cache["texts"][path.name] = transcriber.transcribe([load_audio(path)])[0]
            if number % 50 == 0 or number == len(audio):
                write_text_atomic(cache_file, json.dumps(cache, ensure_ascii=False))
                print(f"transcribed {number}/{len(audio)}", file=sys.stderr)
    write_text_atomic(cache_file, json.dumps(cache, ensure_ascii=False))
    return [cache["texts"][path.name] for path in audio]


def normalise(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text).lower().replace("\u2019", "'").replace("\u2018", "'")
    return re.sub(r"[^a-z0-9']+", " ", text).replace("'", "").split()


def edit_distance(reference: list[str], hypothesis: list[str]) -> int:
    """Levenshtein distance over words: the substitutions, deletions and insertions that turn one into the other."""
    previous = list(range(len(hypothesis) + 1))
    for i, word in enumerate(reference, 1):
        current = [i]
        for j, heard in enumerate(hypothesis, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (word != heard)))
        previous = current
    return previous[-1]


def emotion_scores(conversations: list[Conversation], transcripts: list[str]) -> dict[str, float]:
    """Weighted F1 of the default model from the gold text and from the transcripts, on the same utterances."""
    from sklearn.metrics import f1_score

    from emotrace.inference.pipeline import Analyzer, PipelineOptions
    from emotrace.labels import to_canonical
    from emotrace.schema import NO_ANSWER_LABEL

    gold = [to_canonical(u.emotion or "") for c in conversations for u in c.utterances]
    analyzer = Analyzer()
    from_gold = [p.label for predicted in analyzer.analyze(conversations, PipelineOptions()) for p in predicted]
    heard = iter(transcripts)
    spoken = [Conversation(c.id, [Utterance(u.speaker, text, id=u.id) for u in c.utterances if (text := next(heard)).strip()]) for c in conversations]
    spoken = [c for c in spoken if c.utterances]
    labels = {u.id: p.label for c, predicted in zip(spoken, analyzer.analyze(spoken, PipelineOptions())) for u, p in zip(c.utterances, predicted)}
    from_transcripts = [labels.get(u.id, NO_ANSWER_LABEL) for c in conversations for u in c.utterances]

    def score(predicted: list[str]) -> float:
        return round(100 * f1_score(gold, [to_canonical(label) for label in predicted], average="weighted"), 2)

    # Whisper hears no exclamation in espeak's flat voice (5 "!" in 511 transcripts, 167 in the gold text): this row
    # tells how much of the cost is that one mark rather than wrong words.
    flat = [Conversation(c.id, [Utterance(u.speaker, u.text.replace("!", "."), id=u.id) for u in c.utterances]) for c in conversations]
    from_flat = [p.label for predicted in analyzer.analyze(flat, PipelineOptions()) for p in predicted]
    return {"gold text": score(from_gold), "gold text, '!' made '.'": score(from_flat), "transcribed text": score(from_transcripts)}


def _seconds(path: Path) -> float:
    import soundfile

    return float(soundfile.info(str(path)).duration)


def readme_block(result: dict[str, Any]) -> str:
    scores = result["weighted_f1"]
    cost = scores["transcribed text"] - scores["gold text"]
    flat, marks = scores["gold text, '!' made '.'"], result["exclamation_marks"]
    return (
        "| words | WER | utterances transcribed exactly | empty transcripts | weighted F1, gold text | gold text, '!' made '.' | transcribed | cost |\n"
        "|---|---|---|---|---|---|---|---|\n"
        f"| {result['reference_words']:,} | {result['wer']:.1f} % | {result['exact_utterances']} of {result['utterances']} | {result['empty_transcripts']} | "
        f"{scores['gold text']:.2f} | {flat:.2f} | {scores['transcribed text']:.2f} | {cost:+.2f} |\n\n"
        f"Utterances with '!': {marks['gold']} in the gold text, {marks['transcribed']} in the transcripts (espeak-ng speaks without "
        "exclamation, so Whisper writes none); the middle column is the gold text with every '!' made '.', to show how much of the cost is "
        "that one mark rather than wrong words.\n\n"
        f"{result['data']}; {result['audio_seconds']:.0f} s of speech; Whisper tiny.en int8 on each utterance; WER after lower-casing and "
        "removing punctuation (numbers not spelt out); the `default` text model's MELD weighted F1 on the same utterances. "
        "**Synthetic voices are a limit of this test**: espeak-ng speaks clearly and without emotion, noise or overlap, so "
        "real calls will have a higher WER, and the cost shown is that of lost words and punctuation, not of emotional speech. "
        f"Generated by `{result['command']}` on {result['date']} ({result['machine']}, 1 thread, beside a training job)."
    )


if __name__ == "__main__":
    main()
