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
from emotrace.schema import NO_ANSWER_LABEL, Conversation, Prediction


def fuse(by_modality: dict[str, Prediction], errors: dict[str, str], abstain_below: float | None = None) -> Prediction:
    if not by_modality:  # a textless utterance whose media all failed: its errors are the answer
        return Prediction(label=NO_ANSWER_LABEL, probabilities={}, confidence=0.0, errors=errors or {"text": "no text and no usable media"})
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


def _text_predictions(text_model: ERCModel, conversations: list[Conversation], progress: bool, mc_passes: int) -> list[list[Prediction | None]]:
    """The text model's answer per utterance, None for a textless one. Textless turns are left out of the text
    model's input rather than fed as empty strings: the model reads neighbouring turns as context and never saw an
    empty turn in training, so the context it gets is the spoken words in order, as in its training data."""
    spoken = [[index for index, u in enumerate(c.utterances) if u.text.strip()] for c in conversations]
    texts = [Conversation(id=c.id, utterances=[c.utterances[i] for i in kept], metadata=c.metadata) for c, kept in zip(conversations, spoken) if kept]
    answers = iter(predict(text_model, texts, progress=progress, mc_passes=mc_passes) if texts else [])
    rows: list[list[Prediction | None]] = []
    for conversation, kept in zip(conversations, spoken):
        row: list[Prediction | None] = [None] * len(conversation)
        for index, prediction in zip(kept, next(answers) if kept else []):
            row[index] = prediction
        rows.append(row)
    return rows


def predict_multimodal(
    text_model: ERCModel,
    media_models: dict[str, ERCModel],
    conversations: list[Conversation],
    progress: bool = False,
    mc_passes: int = 0,
    abstain_below: float | None = None,
    fusion_model: ERCModel | None = None,
) -> list[list[Prediction]]:
    """Per utterance: text where it has some (with MC-dropout uncertainty if asked), each media model (e.g. "speech",
    "face") where the utterance has usable media of its kind, and their fusion as the top-level answer
    (abstaining on the fused confidence if asked). The fusion is `fusion_model` (a learned multimodal model such
    as CMATH, which reads every modality itself) for conversations where some utterance has usable media, else the
    late fusion above."""
    text_predictions = _text_predictions(text_model, conversations, progress, mc_passes)
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
            by_modality = ({"text": text} if text else {}) | {name: results[index] for name, (results, _, _) in by_media.items() if results[index] is not None}
            errors = {name: messages[index] for name, (_, messages, _) in by_media.items() if messages[index] is not None}
            if learned is None or text is None:  # the learned fusion was trained with text on every turn
                row.append(fuse(by_modality, errors, abstain_below))  # type: ignore[arg-type]
                continue
            prediction = learned[index]
            prediction.sentiment, prediction.sentiment_probabilities = text.sentiment, text.sentiment_probabilities
            prediction.modalities, prediction.errors = by_modality, errors or None  # type: ignore[assignment]
            row.append(prediction)
        fused.append(row)
    return fused
