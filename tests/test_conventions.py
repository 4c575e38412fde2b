"""Word2VecModel keeps the conventions every transformers model follows, in the style of transformers' per-model tests:
a model tester with a tiny config, and each convention asserted where a model that broke it would fail."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file, save_file
from torch import nn
from transformers.integrations.neftune import activate_neftune
from transformers.testing_utils import CaptureLogger
from transformers.utils import logging

from word2vec_hub.modeling import CheckpointMismatchError, Word2VecConfig, Word2VecModel
from word2vec_hub.modeling import modeling_word2vec as modeling_module


class Word2VecModelTester:
    """A tiny model and inputs for it, as transformers' `*ModelTester` classes give them."""

    vocab_size = 99
    hidden_size = 32
    batch_size = 3
    seq_length = 7

    def get_config(self, **overrides) -> Word2VecConfig:
        return Word2VecConfig(vocab_size=self.vocab_size, hidden_size=self.hidden_size, **overrides)

    def model(self, **overrides) -> Word2VecModel:
        torch.manual_seed(0)
        model = Word2VecModel(self.get_config(**overrides))
        with torch.no_grad():
            model.context.normal_()
            model.counts.copy_(torch.arange(self.vocab_size))
        return model

    def inputs(self) -> dict[str, torch.Tensor]:
        generator = torch.Generator().manual_seed(1)
        input_ids = torch.randint(2, self.vocab_size, (self.batch_size, self.seq_length), generator=generator)
        attention_mask = torch.ones_like(input_ids)
        attention_mask[0, -2:] = 0
        return {"input_ids": input_ids, "attention_mask": attention_mask}


@pytest.fixture
def tester() -> Word2VecModelTester:
    return Word2VecModelTester()


# ---------------------------------------------------------------------- input embeddings: the module forward calls


def test_get_input_embeddings_returns_the_same_module_each_time(tester):
    model = tester.model()
    embeddings = model.get_input_embeddings()
    assert isinstance(embeddings, nn.Embedding)
    assert embeddings is model.get_input_embeddings()
    assert embeddings.weight is model.embeddings


def test_a_forward_hook_on_the_input_embeddings_sees_every_lookup(tester):
    model = tester.model()
    seen = []
    model.get_input_embeddings().register_forward_hook(lambda module, args, output: seen.append(args[0]))
    inputs = tester.inputs()
    model(**inputs)
    assert len(seen) == 1 and torch.equal(seen[0], inputs["input_ids"])


def test_a_forward_hook_that_replaces_the_output_changes_the_model_output(tester):
    model = tester.model()
    model.get_input_embeddings().register_forward_hook(lambda module, args, output: torch.ones_like(output))
    inputs = tester.inputs()
    hidden = model(**inputs).last_hidden_state
    assert torch.equal(hidden, inputs["attention_mask"].unsqueeze(-1).float().expand_as(hidden))


def test_enable_input_require_grads_gives_a_frozen_model_an_output_gradient(tester):
    model = tester.model()
    model.requires_grad_(False)
    inputs = tester.inputs()
    assert not model(**inputs).last_hidden_state.requires_grad
    model.enable_input_require_grads()
    hidden = model(**inputs).last_hidden_state
    assert hidden.requires_grad
    hidden.sum().backward()  # what an adapter over the frozen base needs to train
    assert model.embeddings.grad is None


def test_neftune_noise_reaches_the_output_in_training_only(tester):
    model = tester.model()
    inputs = tester.inputs()
    clean = model(**inputs).last_hidden_state
    handle = activate_neftune(model, neftune_noise_alpha=5.0)
    model.train()
    noisy = model(**inputs).last_hidden_state
    assert not torch.equal(noisy, clean)
    assert (noisy - clean).abs().max() <= 5.0 / (tester.seq_length * tester.hidden_size) ** 0.5 + 1e-6
    model.eval()
    assert torch.equal(model(**inputs).last_hidden_state, clean)
    handle.remove()


def test_set_input_embeddings_installs_the_given_module(tester):
    model = tester.model()
    layer = nn.Embedding(tester.vocab_size, tester.hidden_size)
    model.set_input_embeddings(layer)
    assert model.get_input_embeddings() is layer
    assert model.embeddings is layer.weight
    inputs = tester.inputs()
    assert torch.equal(model(**inputs).last_hidden_state[1], layer.weight[inputs["input_ids"][1]])


def test_set_input_embeddings_of_more_rows_grows_context_counts_and_config(tester):
    model = tester.model()
    context, counts = model.context.detach().clone(), model.counts.clone()
    model.set_input_embeddings(nn.Embedding(tester.vocab_size + 5, tester.hidden_size))
    assert model.config.vocab_size == tester.vocab_size + 5
    assert model.context.shape == (tester.vocab_size + 5, tester.hidden_size)
    assert torch.equal(model.context[: tester.vocab_size], context)
    assert torch.equal(model.context[tester.vocab_size :], torch.zeros(5, tester.hidden_size))
    assert torch.equal(model.counts, torch.cat([counts, torch.zeros(5, dtype=torch.int64)]))
    assert model(torch.tensor([[tester.vocab_size + 4]])).last_hidden_state.shape == (1, 1, tester.hidden_size)


def test_set_input_embeddings_of_another_width_drops_the_context_vectors_and_says_so(tester):
    model = tester.model()
    with CaptureLogger(logging.get_logger(modeling_module.__name__)) as captured:
        model.set_input_embeddings(nn.Embedding(tester.vocab_size, 8))
    assert "context vectors are dropped" in captured.out
    assert model.config.hidden_size == 8 and not model.config.has_context_vectors
    assert model.context is None and "context" not in model.state_dict()
    assert model(**tester.inputs()).last_hidden_state.shape[-1] == 8


def test_set_input_embeddings_refuses_to_lose_the_special_rows(tester):
    model = tester.model(unk_token_id=5)
    with pytest.raises(ValueError, match="must keep the special tokens' rows"):
        model.set_input_embeddings(nn.Embedding(4, tester.hidden_size))
    assert model.config.vocab_size == tester.vocab_size


# ---------------------------------------------------------------------- from_pretrained as in transformers


def drop_from_checkpoint(folder, name: str) -> None:
    tensors = load_file(folder / "model.safetensors")
    del tensors[name]
    save_file(tensors, folder / "model.safetensors", metadata={"format": "pt"})


def test_a_missing_tensor_is_initialised_reported_and_warned_about(tester, tmp_path):
    model = tester.model()
    model.save_pretrained(tmp_path)
    drop_from_checkpoint(tmp_path, "counts")
    with CaptureLogger(logging.get_logger("transformers.modeling_utils")) as captured:
        loaded, loading_info = Word2VecModel.from_pretrained(tmp_path, output_loading_info=True)
    assert loading_info["missing_keys"] == {"counts"}
    assert "counts" in captured.out and "MISSING" in captured.out
    assert torch.equal(loaded.counts, torch.zeros(tester.vocab_size, dtype=torch.int64))
    assert torch.equal(loaded.embeddings, model.embeddings) and torch.equal(loaded.context, model.context)


def test_a_checkpoint_without_the_table_gets_gensims_initialisation(tester, tmp_path):
    tester.model().save_pretrained(tmp_path)
    drop_from_checkpoint(tmp_path, "embeddings")
    loaded, loading_info = Word2VecModel.from_pretrained(tmp_path, output_loading_info=True)
    assert loading_info["missing_keys"] == {"word_embeddings.weight"}
    bound = 1.0 / tester.hidden_size
    assert 0 < loaded.embeddings.abs().max() <= bound
    assert torch.equal(loaded.embeddings[:2], torch.zeros(2, tester.hidden_size)), "[PAD] and [UNK] start at zero"


def test_a_size_mismatch_names_both_shapes_and_the_ways_out(tester, tmp_path):
    tester.model().save_pretrained(tmp_path)
    with pytest.raises(CheckpointMismatchError) as raised:
        Word2VecModel.from_pretrained(tmp_path, vocab_size=120)
    message = str(raised.value)
    assert "embeddings is [99, 32] in the checkpoint but [120, 32] by the config" in message
    assert "context is [99, 32]" in message and "counts is [99]" in message
    assert "config.json" in message and "ignore_mismatched_sizes=True" in message
    assert isinstance(raised.value, RuntimeError) and isinstance(raised.value, OSError)


def test_ignore_mismatched_sizes_initialises_the_mismatched_tensors(tester, tmp_path):
    model = tester.model()
    model.save_pretrained(tmp_path)
    loaded, loading_info = Word2VecModel.from_pretrained(
        tmp_path, vocab_size=120, ignore_mismatched_sizes=True, output_loading_info=True
    )
    assert {key for key, _, _ in loading_info["mismatched_keys"]} == {"word_embeddings.weight", "context", "counts"}
    assert loaded.embeddings.shape == (120, tester.hidden_size)
    assert torch.equal(loaded.context, torch.zeros(120, tester.hidden_size))


def test_from_pretrained_takes_a_state_dict_and_a_config(tester):
    model = tester.model()
    for state_dict in (model.state_dict(), {"embeddings": model.embeddings.detach(), **model.state_dict()}):
        loaded = Word2VecModel.from_pretrained(None, config=model.config, state_dict=state_dict)
        for name in ("embeddings", "context", "counts"):
            assert torch.equal(getattr(loaded, name), getattr(model, name)), name


def test_load_state_dict_takes_the_names_of_the_file(tester, tmp_path):
    model = tester.model()
    model.save_pretrained(tmp_path)
    fresh = Word2VecModel(tester.get_config())
    fresh.load_state_dict(load_file(tmp_path / "model.safetensors"))
    assert torch.equal(fresh.embeddings, model.embeddings)


# ---------------------------------------------------------------------- forward


def test_inputs_embeds_take_the_place_of_input_ids(tester):
    model = tester.model()
    inputs = tester.inputs()
    vectors = torch.randn(tester.batch_size, tester.seq_length, tester.hidden_size)
    hidden = model(inputs_embeds=vectors, attention_mask=inputs["attention_mask"]).last_hidden_state
    assert torch.equal(hidden, vectors * inputs["attention_mask"].unsqueeze(-1))
    with pytest.raises(ValueError, match="exactly one of input_ids or inputs_embeds"):
        model(input_ids=inputs["input_ids"], inputs_embeds=vectors)
    with pytest.raises(ValueError, match="exactly one of input_ids or inputs_embeds"):
        model()


def test_output_hidden_states_returns_the_embedding_output(tester):
    model = tester.model()
    inputs = tester.inputs()
    assert model(**inputs).hidden_states is None
    output = model(**inputs, output_hidden_states=True)
    assert len(output.hidden_states) == 1 and torch.equal(output.hidden_states[0], output.last_hidden_state)
    model.config.output_hidden_states = True
    as_tuple = model(**inputs, return_dict=False)
    assert len(as_tuple) == 2 and torch.equal(as_tuple[1][0], output.last_hidden_state)


def test_config_return_dict_false_gives_a_tuple(tester):
    model = tester.model(return_dict=False)
    output = model(**tester.inputs())
    assert isinstance(output, tuple) and len(output) == 1


@pytest.mark.parametrize("argument", ["token_type_ids", "output_attentions", "position_ids"])
def test_an_argument_forward_does_not_take_is_a_type_error_naming_it(tester, argument):
    model = tester.model()
    with pytest.raises(TypeError, match=argument):
        model(**tester.inputs(), **{argument: None})


# ---------------------------------------------------------------------- adapters


def test_a_lora_adapter_trains_over_the_frozen_model_and_changes_its_output(tester):
    peft = pytest.importorskip("peft")
    model = tester.model()
    table = model.embeddings.detach().clone()
    inputs = tester.inputs()
    before = model(**inputs).last_hidden_state.detach()
    adapted = peft.get_peft_model(model, peft.LoraConfig(r=4, target_modules=["word_embeddings"]))
    trainable = [parameter for parameter in adapted.parameters() if parameter.requires_grad]
    assert trainable and all(parameter is not model.embeddings for parameter in trainable)
    optimizer = torch.optim.Adam(trainable, lr=0.05)
    target = torch.ones(tester.hidden_size)
    for _ in range(20):
        optimizer.zero_grad()
        hidden = adapted(**inputs).last_hidden_state
        loss = (hidden[inputs["attention_mask"].bool()] - target).pow(2).mean()
        loss.backward()
        optimizer.step()
    after = adapted(**inputs).last_hidden_state.detach()
    mask = inputs["attention_mask"].bool()
    assert (after[mask] - target).pow(2).mean() < (before[mask] - target).pow(2).mean()
    assert torch.equal(model.get_input_embeddings().base_layer.weight, table), "the base table is frozen"
