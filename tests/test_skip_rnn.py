from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import synthetic_conversations

import emotrace.research.skip_rnn as skip_rnn
from emotrace.inference.predict import predict_probabilities
from emotrace.models.bundle import load_bundle, save_bundle
from emotrace.models.registry import create_model
from emotrace.research.skip_rnn import SkipBiGRU, SkipGRUCell

LABELS = ["anger", "joy", "neutral"]


def _batch(lengths: list[int], seed: int = 0) -> dict[str, torch.Tensor]:
    """Random sentence vectors for dialogues of the given lengths, padded at the end."""
    generator = torch.Generator().manual_seed(seed)
    steps = max(lengths)
    mask = torch.arange(steps)[None, :] < torch.tensor(lengths)[:, None]
    return {
        "embeddings": torch.randn(len(lengths), steps, 384, generator=generator),
        "speakers": torch.randint(0, 3, (len(lengths), steps), generator=generator),
        "mask": mask,
    }


def _mixed_gates(model: SkipBiGRU) -> None:
    """Gate weights that make some turns update and others skip, so both branches of the cell are exercised."""
    with torch.no_grad():
        for cell in (model.context.forward_cell, model.context.backward_cell):
            cell.update_gate.weight.normal_(0.0, 0.5)
            cell.update_gate.bias.fill_(-0.3)


def test_skip_gru_gives_logits_per_utterance_and_two_gates_per_utterance() -> None:
    model = create_model("skip-gru", labels=LABELS, sentiment_labels=["negative", "neutral", "positive"], budget=0.5)
    batch = _batch([5, 2, 3])
    output = model(batch)
    assert output.emotion.shape == (10, 3)
    assert output.sentiment is not None and output.sentiment.shape == (10, 3)
    features, updates = model.context(model.project(torch.cat([batch["embeddings"], model.speaker(batch["speakers"])], -1)), batch["mask"])
    assert features.shape == (10, 3 * 192) and updates.shape == (10, 2)
    assert (model.context.last_updates, model.context.last_steps) == (int(updates.sum()), 20)
    assert set(output.losses) == {"budget"}
    assert "budget" not in model.eval()(batch).losses
    assert create_model("skip-gru", labels=LABELS, budget=0.0)(batch).losses == {}


def test_untrained_gate_updates_every_turn() -> None:
    model = create_model("skip-gru", labels=LABELS)
    model(_batch([4, 6]))
    assert model.context.last_updates == model.context.last_steps == 20


def test_every_utterance_sees_earlier_and_later_turns() -> None:
    torch.manual_seed(0)
    model = create_model("skip-gru", labels=LABELS).eval()
    batch = _batch([5])
    for grad in (True, False):
        with torch.set_grad_enabled(grad):
            before = model(batch).emotion
            for changed, others in ((0, slice(1, 5)), (4, slice(0, 4))):
                edited = {name: value.clone() for name, value in batch.items()}
                edited["embeddings"][0, changed] += 1.0
                assert ((model(edited).emotion - before)[others].abs().sum(1) > 1e-4).all()


def test_a_dialogue_gets_the_same_outputs_alone_and_padded_in_a_batch() -> None:
    torch.manual_seed(0)
    model = create_model("skip-gru", labels=LABELS).eval()
    _mixed_gates(model)
    batch = _batch([6, 3, 1])
    alone = {name: value[1:2, :3] for name, value in batch.items()}
    for grad in (True, False):
        with torch.set_grad_enabled(grad):
            together = model(batch).emotion[6:9]
            by_itself = model(alone).emotion
        torch.testing.assert_close(together, by_itself, atol=1e-5, rtol=0)


def test_inference_skips_the_cell_and_matches_the_training_computation() -> None:
    torch.manual_seed(0)
    model = create_model("skip-gru", labels=LABELS).eval()
    _mixed_gates(model)
    batch = _batch([7, 5, 4, 2], seed=1)
    rows_computed = []
    model.context.forward_cell.cell.register_forward_hook(lambda module, inputs, output: rows_computed.append(inputs[0].shape[0]))
    dense = model(batch).emotion
    updates = model.context.last_updates
    rows_computed.clear()
    with torch.inference_mode():
        sparse = model(batch).emotion
    assert 0 < updates < model.context.last_steps
    assert model.context.last_updates == updates
    assert sum(rows_computed) < 18  # the forward cell ran on fewer rows than there are turns
    torch.testing.assert_close(dense, sparse, atol=1e-5, rtol=0)


def test_updates_forced_to_zero_copy_the_initial_state(monkeypatch: pytest.MonkeyPatch) -> None:
    """The training recurrence, with u_t = 0 at every turn (ũ_1 = 1 forces the first update otherwise)."""
    cell = SkipGRUCell(16)
    with torch.no_grad():
        cell.initial_state.normal_()
    monkeypatch.setattr(skip_rnn, "binarize", lambda probability: torch.zeros_like(probability))
    states, updates = cell(torch.randn(3, 5, 16), torch.ones(3, 5, dtype=torch.bool))
    assert torch.equal(states, cell.initial_state.expand(3, 5, 16))
    assert not updates.any()


def test_a_closed_gate_copies_the_first_state_and_runs_the_cell_once_per_dialogue() -> None:
    cell = SkipGRUCell(16)
    with torch.no_grad():
        cell.update_gate.weight.zero_()
        cell.update_gate.bias.fill_(-30.0)  # Δũ ≈ 0: after the forced first update (ũ_1 = 1) ũ never reaches 0.5
    rows_computed = []
    cell.cell.register_forward_hook(lambda module, inputs, output: rows_computed.append(inputs[0].shape[0]))
    inputs, mask = torch.randn(2, 6, 16), torch.tensor([[True] * 6, [True] * 4 + [False] * 2])
    with torch.inference_mode():
        states, updates = cell(inputs, mask)
    assert torch.equal(states, states[:, :1].expand_as(states))
    assert updates[:, 0].tolist() == [1.0, 1.0] and not updates[:, 1:].any()
    assert rows_computed == [2]


def test_straight_through_gradient_reaches_the_update_gates_from_the_task_and_from_the_budget() -> None:
    torch.manual_seed(0)
    batch = _batch([6, 4, 3])
    for use_task in (True, False):
        model = create_model("skip-gru", labels=LABELS, budget=1.0).train()
        output = model(batch)
        loss = output.emotion.logsumexp(-1).mean() - output.emotion[:, 0].mean() if use_task else output.losses["budget"]
        loss.backward()
        for cell in (model.context.forward_cell, model.context.backward_cell):
            assert cell.update_gate.weight.grad is not None and cell.update_gate.weight.grad.abs().sum() > 0
            assert cell.update_gate.bias.grad is not None and cell.update_gate.bias.grad.abs() > 0


def test_a_heavy_budget_makes_the_model_skip_updates() -> None:
    torch.manual_seed(0)
    batch = _batch([8, 8, 6, 5, 5, 3], seed=2)
    gold = torch.randint(0, 3, (int(batch["mask"].sum()),), generator=torch.Generator().manual_seed(3))
    model = create_model("skip-gru", labels=LABELS, budget=50.0).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    fractions = []
    for _ in range(15):
        output = model(batch)
        fractions.append(model.context.last_updates / model.context.last_steps)
        loss = torch.nn.functional.cross_entropy(output.emotion, gold) + output.losses["budget"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert fractions[0] == 1.0
    assert fractions[-1] < 0.6


def test_bundle_round_trip_keeps_predictions_and_the_budget(tmp_path: Path) -> None:
    torch.manual_seed(0)
    conversations = synthetic_conversations(3, seed=4)
    model = create_model("skip-gru", labels=LABELS, budget=0.3).eval()
    _mixed_gates(model)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(0.01 * torch.randn_like(parameter))
    save_bundle(model, tmp_path / "bundle", {"data": {"name": "synthetic"}}, "# card\n")
    reloaded = load_bundle(tmp_path / "bundle")
    assert isinstance(reloaded, SkipBiGRU) and reloaded.budget == 0.3
    before, _ = predict_probabilities(model, conversations)
    after, _ = predict_probabilities(reloaded, conversations)
    np.testing.assert_array_equal(before, after)
