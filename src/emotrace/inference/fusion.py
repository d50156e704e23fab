"""Text + speech + face: one prediction per modality that has input, and a fused one.

The fused answer comes from a learned multimodal model (the shipped `fusion` bundle is CMATH) when one is given,
else from late fusion: the modalities' calibrated distributions mapped onto the canonical vocabulary and averaged
(a class a modality cannot predict gets 0 from it). A broken or missing recording is reported for that utterance
and modality only; the other modalities still answer.
"""

from __future__ import annotations

from typing import Any

from emotrace.errors import EmotraceError
from emotrace.inference.predict import predict, predictions_of_probabilities, probabilities_of_prepared
from emotrace.labels import to_canonical
from emotrace.models.base import ERCModel
from emotrace.schema import Conversation, Prediction


def fuse(by_modality: dict[str, Prediction], errors: dict[str, str], abstain_below: float | None = None) -> Prediction:
    labels: list[str] = []
    for prediction in by_modality.values():
        labels += [to_canonical(label) for label in prediction.probabilities if to_canonical(label) not in labels]
    totals = dict.fromkeys(labels, 0.0)
    for prediction in by_modality.values():
        for label, probability in prediction.probabilities.items():
            totals[to_canonical(label)] += probability / len(by_modality)
    text = by_modality.get("text")
    fused = Prediction.from_probabilities(
        labels,
        [totals[label] for label in labels],
        list(text.sentiment_probabilities) if text and text.sentiment_probabilities else None,
        list(text.sentiment_probabilities.values()) if text and text.sentiment_probabilities else None,
        abstain_below=abstain_below,
    )
    fused.modalities = by_modality
    fused.errors = errors or None
    return fused


MediaResults = tuple[list[Prediction | None], list[str | None], dict[int, Any]]


def _media_predictions(model: ERCModel, conversation: Conversation) -> MediaResults:
    """A media model's predictions for the utterances whose media load; an error message for those whose media
    do not; None for utterances without that kind of media; and the decoded media by utterance index. Each
    recording is decoded once: the checked media go straight into the model's inputs, and on to a learned fusion."""
    errors: list[str | None] = [None] * len(conversation)
    usable, loaded = [], []
    for index, utterance in enumerate(conversation.utterances):
        if not any(kind in utterance.media for kind in model.media):
            continue
        try:
            loaded.append(model.load_media(utterance))
            usable.append(index)
        except EmotraceError as error:
            errors[index] = str(error)
    results: list[Prediction | None] = [None] * len(conversation)
    if usable:
        subset = Conversation(id=conversation.id, utterances=[conversation.utterances[i] for i in usable], metadata=conversation.metadata)
        emotion, sentiment = probabilities_of_prepared(model, [model.prepare_loaded(subset, loaded)], [len(subset)])
        predictions = predictions_of_probabilities([subset], model.labels, emotion, model.sentiment_labels, sentiment)[0]
        for index, prediction, media in zip(usable, predictions, loaded):
            prediction.evidence = model.media_summary(media)
            results[index] = prediction
    return results, errors, dict(zip(usable, loaded))


def _fusion_items(fusion_model: ERCModel, conversation: Conversation, media_models: dict[str, ERCModel], by_media: dict[str, MediaResults]) -> list[Any]:
    """The learned fusion model's input, built from the media the media models decoded, and without those they
    found unusable (a multimodal modality is "audio" for the model reading audio, "face" for images or video)."""
    loaded: list[dict[str, Any]] = [{} for _ in conversation.utterances]
    for name, model in media_models.items():
        modality = "audio" if "audio" in model.media else "face"
        _, errors, decoded = by_media[name]
        for index, media in decoded.items():
            loaded[index][modality] = media
        for index, error in enumerate(errors):
            if error is not None:
                loaded[index][modality] = None
    return [fusion_model.prepare_loaded(conversation, loaded)]


def predict_multimodal(
    text_model: ERCModel,
    media_models: dict[str, ERCModel],
    conversations: list[Conversation],
    progress: bool = False,
    mc_passes: int = 0,
    abstain_below: float | None = None,
    fusion_model: ERCModel | None = None,
) -> list[list[Prediction]]:
    """Per utterance: text always (with MC-dropout uncertainty if asked), each media model (e.g. "speech",
    "face") where the utterance has usable media of its kind, and their fusion as the top-level answer
    (abstaining on the fused confidence if asked). The fusion is `fusion_model` (a learned multimodal model such
    as CMATH, which reads every modality itself) for conversations where some utterance has usable media, else the
    late fusion above."""
    text_predictions = predict(text_model, conversations, progress=progress, mc_passes=mc_passes)
    fused: list[list[Prediction]] = []
    for conversation, texts in zip(conversations, text_predictions):
        by_media = {name: _media_predictions(model, conversation) for name, model in media_models.items()}
        multimodal = any(result is not None for results, _, _ in by_media.values() for result in results)
        learned = None
        if fusion_model is not None and multimodal:
            items = _fusion_items(fusion_model, conversation, media_models, by_media)
            learned = predict(fusion_model, [conversation], mc_passes=mc_passes, abstain_below=abstain_below, items=items)[0]
        row = []
        for index, text in enumerate(texts):
            by_modality = {"text": text} | {name: results[index] for name, (results, _, _) in by_media.items() if results[index] is not None}
            errors = {name: messages[index] for name, (_, messages, _) in by_media.items() if messages[index] is not None}
            if learned is None:
                row.append(fuse(by_modality, errors, abstain_below))  # type: ignore[arg-type]
                continue
            prediction = learned[index]
            prediction.sentiment, prediction.sentiment_probabilities = text.sentiment, text.sentiment_probabilities
            prediction.modalities, prediction.errors = by_modality, errors or None  # type: ignore[assignment]
            row.append(prediction)
        fused.append(row)
    return fused
