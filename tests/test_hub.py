"""Push and pull against a Hub-compatible server on 127.0.0.1, with the real huggingface_hub and transformers."""

from __future__ import annotations

import errno
import json
import os
import shutil
import socket
import subprocess
import sys
import warnings
from importlib.metadata import version
from pathlib import Path

import pytest
import torch
import yaml
from huggingface_hub import HfApi
from safetensors.torch import load_file, save_file

from word2vec_hub.folders import model_card
from word2vec_hub.folders.model_card import build_model_card, write_model_card
from word2vec_hub.folders.model_folder import save_model_folder
from word2vec_hub.modeling import Word2VecConfig, Word2VecModel
from word2vec_hub.sharing.hub import HubError, check_model_folder, place_files
from word2vec_hub.tokenization.word_level import empty_word_level_tokenizer, wrap_tokenizer

from .conftest import REPO_ROOT, a_callers_matplotlib, handmade_model, one_line_error
from .hub_server import HubServer, StoredFile

TOKENS = {"hf_alice_secret_token": "alice", "hf_bob_secret_token": "bob"}
ALICE, BOB = "hf_alice_secret_token", "hf_bob_secret_token"


@pytest.fixture
def hub():
    with HubServer(TOKENS) as server:
        yield server


@pytest.fixture
def model_folder(trained_folder, tmp_path) -> Path:
    folder = tmp_path / "model"
    shutil.copytree(trained_folder, folder)
    return folder


def client_env(hub: HubServer, home: Path, token: str | None, offline: bool = False) -> dict:
    environment = {key: value for key, value in os.environ.items() if key != "HF_TOKEN"}
    environment.update(
        HF_ENDPOINT=hub.endpoint,
        HF_HUB_DISABLE_XET="1",
        HF_HOME=str(home),
        HF_HUB_CACHE=str(home / "hub"),
        HF_MODULES_CACHE=str(home / "modules"),
        HF_HUB_OFFLINE="1" if offline else "0",
    )
    if token:
        environment["HF_TOKEN"] = token
    return environment


def run_script(name: str, *arguments: str, env: dict) -> subprocess.CompletedProcess:
    completed = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / name), *arguments],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    for secret in TOKENS:
        assert secret not in completed.stdout + completed.stderr, "a token was printed"
    return completed


def push(hub, folder, repo_id, *arguments, token=ALICE, home=None) -> subprocess.CompletedProcess:
    home = home or folder.parent / "push-home"
    return run_script("push.py", str(folder), repo_id, *arguments, env=client_env(hub, home, token))


def pull(hub, repo_id, home, *arguments, token=ALICE, offline=False) -> subprocess.CompletedProcess:
    return run_script("pull.py", repo_id, "--device", "cpu", *arguments, env=client_env(hub, home, token, offline))


def publish(hub: HubServer, folder: Path, repo_id: str, private: bool = False, token: str = ALICE) -> str:
    """Seed a repo in this process with the real client (faster than the push script where it is not under test)."""
    api = HfApi(endpoint=hub.endpoint, token=token)
    api.create_repo(repo_id, private=private)
    return api.upload_folder(folder_path=folder, repo_id=repo_id).oid


def head_sha(hub: HubServer, repo_id: str, branch: str = "main") -> str:
    return hub.state.repos[repo_id].refs[branch]


def test_push_then_pull_gives_identical_tensors_and_loads_through_hf_endpoint(hub, model_folder, tmp_path):
    pushed = push(hub, model_folder, "alice/w2v")
    assert pushed.returncode == 0, pushed.stderr
    sha = head_sha(hub, "alice/w2v")
    assert f"repo:     {hub.endpoint}/alice/w2v" in pushed.stdout
    assert f"commit:   {hub.endpoint}/alice/w2v/commit/{sha}" in pushed.stdout
    assert f"revision: {sha}" in pushed.stdout
    stored = hub.state.repos["alice/w2v"].commits[sha].files
    assert {"config.json", "model.safetensors", "tokenizer.json", "README.md", "word_map.png"} <= set(stored)
    assert stored["model.safetensors"].lfs and stored["word_map.png"].lfs

    output = tmp_path / "pulled"
    pulled = pull(hub, "alice/w2v", tmp_path / "pull-home", "--output", str(output))
    assert pulled.returncode == 0, pulled.stderr
    assert "files match the repo's sizes and hashes" in pulled.stdout
    assert "vocabulary: 262 tokens, dimension 32" in pulled.stdout
    original, downloaded = load_file(model_folder / "model.safetensors"), load_file(output / "model.safetensors")
    assert original.keys() == downloaded.keys()
    assert all(torch.equal(original[key], downloaded[key]) for key in original)

    script = (
        "import sys, torch\nfrom transformers import AutoModel, AutoTokenizer\n"
        "model = AutoModel.from_pretrained('alice/w2v', trust_remote_code=True, dtype=torch.float16)\n"
        "tokenizer = AutoTokenizer.from_pretrained('alice/w2v', trust_remote_code=True)\n"
        "ids = tokenizer('a3 b3', return_tensors='pt')['input_ids']\n"
        "print(type(model).__module__.split('.')[0], model.embeddings.dtype, model(ids).last_hidden_state.shape)\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=client_env(hub, tmp_path / "auto-home", ALICE),
        cwd=tmp_path,
        timeout=300,
    )
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    assert loaded.stdout.split() == ["transformers_modules", "torch.float16", "torch.Size([1,", "2,", "32])"]


def test_second_push_makes_a_second_commit_and_the_first_revision_stays(hub, model_folder, tmp_path):
    first_sha = publish(hub, model_folder, "alice/w2v")
    first_weights = load_file(model_folder / "model.safetensors")

    model = Word2VecModel.from_pretrained(model_folder)
    with torch.no_grad():
        model.embeddings.mul_(2)
    model.save_pretrained(model_folder)
    second = push(hub, model_folder, "alice/w2v", "--commit-message", "Double the vectors")
    assert second.returncode == 0, second.stderr
    second_sha = head_sha(hub, "alice/w2v")
    assert second_sha != first_sha
    assert hub.state.repos["alice/w2v"].commits[second_sha].parent == first_sha
    assert hub.state.repos["alice/w2v"].commits[second_sha].title == "Double the vectors"

    output = tmp_path / "first"
    assert pull(hub, "alice/w2v", tmp_path / "home", "--revision", first_sha, "--output", str(output)).returncode == 0
    assert torch.equal(load_file(output / "model.safetensors")["embeddings"], first_weights["embeddings"])
    latest = tmp_path / "latest"
    assert pull(hub, "alice/w2v", tmp_path / "home", "--output", str(latest)).returncode == 0
    assert torch.equal(load_file(latest / "model.safetensors")["embeddings"], first_weights["embeddings"] * 2)


def test_push_to_a_branch_and_as_a_pull_request(hub, model_folder):
    publish(hub, model_folder, "alice/w2v")
    branch = push(hub, model_folder, "alice/w2v", "--revision", "experiment")
    assert branch.returncode == 0, branch.stderr
    assert "experiment" in hub.state.repos["alice/w2v"].refs
    request = push(hub, model_folder, "alice/w2v", "--create-pr")
    assert request.returncode == 0, request.stderr
    assert f"pull request: {hub.endpoint}/alice/w2v/discussions/1" in request.stdout


def test_private_repos_refuse_anonymous_and_other_users(hub, model_folder, tmp_path):
    publish(hub, model_folder, "alice/secret", private=True)
    assert hub.state.repos["alice/secret"].private
    anonymous = one_line_error(pull(hub, "alice/secret", tmp_path / "anon", token=None))
    assert "repository alice/secret not found, or it is private" in anonymous
    other_user = one_line_error(pull(hub, "alice/secret", tmp_path / "bob", token=BOB))
    assert "repository alice/secret not found, or it is private" in other_user
    assert pull(hub, "alice/secret", tmp_path / "alice").returncode == 0
    bad_token = one_line_error(pull(hub, "alice/secret", tmp_path / "bad", token="hf_not_a_real_token"))
    assert "refused the token" in bad_token


def test_pushing_into_another_namespace_fails_cleanly(hub, model_folder):
    message = one_line_error(push(hub, model_folder, "bob/stolen"))
    assert "this token may not write to bob/stolen" in message
    assert "bob/stolen" not in hub.state.repos
    publish(hub, model_folder, "bob/own", token=BOB)
    assert "this token may not write to bob/own" in one_line_error(push(hub, model_folder, "bob/own"))


def test_transient_server_errors_are_retried(hub, model_folder, tmp_path):
    hub.fail_next("POST", "/commit/", status=500)
    hub.fail_next("PUT", "/lfs-upload/", status=503)
    pushed = push(hub, model_folder, "alice/w2v")
    assert pushed.returncode == 0, pushed.stderr
    assert all(fault.times == 0 for fault in hub.state.faults), "the faults were hit"

    hub.fail_next("GET", "/resolve/", status=502)
    output = tmp_path / "pulled"
    pulled = pull(hub, "alice/w2v", tmp_path / "home", "--output", str(output))
    assert pulled.returncode == 0, pulled.stderr
    assert hub.state.faults[-1].times == 0
    assert torch.equal(
        load_file(output / "model.safetensors")["embeddings"],
        load_file(model_folder / "model.safetensors")["embeddings"],
    )


def folder_bytes(folder: Path) -> dict[str, bytes]:
    return {path.relative_to(folder).as_posix(): path.read_bytes() for path in folder.rglob("*") if path.is_file()}


def test_a_cut_download_is_resumed_from_the_cache(hub, model_folder, tmp_path):
    publish(hub, model_folder, "alice/w2v")
    hub.cut_download("model.safetensors", times=1)
    output = tmp_path / "resumed"
    resumed = pull(hub, "alice/w2v", tmp_path / "home", "--output", str(output))
    assert resumed.returncode == 0, resumed.stderr
    assert hub.state.cut_downloads[0].times == 0, "the transfer was not cut"
    assert (output / "model.safetensors").read_bytes() == (model_folder / "model.safetensors").read_bytes()


def test_a_cut_pull_into_a_new_folder_writes_nothing(hub, model_folder, tmp_path):
    publish(hub, model_folder, "alice/w2v")
    hub.cut_download("model.safetensors", times=100)
    output = tmp_path / "pulls" / "broken"
    home = tmp_path / "home"
    message = one_line_error(pull(hub, "alice/w2v", home, "--output", str(output)))
    assert "alice/w2v" in message and "pull again" in message
    # Nothing at all: not even the parent folder `pulls`, which a successful pull makes.
    assert not output.parent.exists()
    complete = [path for path in (home / "hub").rglob("*") if path.is_file() and not path.name.endswith(".incomplete")]
    weights_size = (model_folder / "model.safetensors").stat().st_size
    assert all(path.stat().st_size != weights_size // 3 for path in complete), "a cut file was kept as complete"
    assert not [path for path in (home / "hub").rglob("model.safetensors") if path.exists()]


@pytest.mark.parametrize("replacement", ["new commit of the same repo", "another repo"])
def test_a_cut_pull_over_an_existing_model_leaves_it_whole(hub, model_folder, tmp_path, replacement):
    publish(hub, model_folder, "alice/w2v")
    output = tmp_path / "pulls" / "model"
    home = tmp_path / "home"
    assert pull(hub, "alice/w2v", home, "--output", str(output)).returncode == 0
    before = folder_bytes(output)

    other_model = handmade_model({"apple": [1.0, 0.0, 0.5], "pear": [0.9, 0.1, 0.4]})
    other = save_model_folder(other_model, other_model.tokenizer, tmp_path / "other-model")
    if replacement == "another repo":
        repo_id = "bob/w2v"
        publish(hub, other, repo_id, token=BOB)
    else:
        repo_id = "alice/w2v"
        HfApi(endpoint=hub.endpoint, token=ALICE).upload_folder(folder_path=other, repo_id=repo_id, delete_patterns="*")
    hub.cut_download("model.safetensors", times=100)
    message = one_line_error(pull(hub, repo_id, home, "--output", str(output)))
    assert "pull again" in message
    assert folder_bytes(output) == before, "the previous model was changed"
    assert [path.name for path in output.parent.iterdir()] == ["model"], "a pull left residue beside the folder"
    assert Word2VecModel.from_pretrained(output).config.vocab_size == 262

    hub.state.cut_downloads.clear()
    assert pull(hub, repo_id, home, "--output", str(output)).returncode == 0
    assert Word2VecModel.from_pretrained(output).config.vocab_size == 4
    assert [path.name for path in output.parent.iterdir()] == ["model"]


def test_a_pulled_model_that_does_not_load_never_replaces_the_folder(hub, model_folder, tmp_path):
    publish(hub, model_folder, "alice/w2v")
    output, home = tmp_path / "pulls" / "model", tmp_path / "home"
    assert pull(hub, "alice/w2v", home, "--output", str(output)).returncode == 0
    before = folder_bytes(output)
    weights = load_file(model_folder / "model.safetensors")
    del weights["counts"]
    save_file(weights, model_folder / "model.safetensors", metadata={"format": "pt"})
    HfApi(endpoint=hub.endpoint, token=ALICE).upload_folder(folder_path=model_folder, repo_id="alice/w2v")
    message = one_line_error(pull(hub, "alice/w2v", home, "--output", str(output)))
    assert "alice/w2v is incomplete: model.safetensors lacks counts" in message
    assert folder_bytes(output) == before and [path.name for path in output.parent.iterdir()] == ["model"]


def test_a_full_disk_while_placing_a_pull_names_the_free_space_and_keeps_the_folder(
    trained_folder, tmp_path, monkeypatch
):
    snapshot, output = tmp_path / "snapshot", tmp_path / "pulls" / "model"
    shutil.copytree(trained_folder, snapshot)
    shutil.copytree(trained_folder, output)
    (snapshot / "config.json").write_text((snapshot / "config.json").read_text().replace("{", '{"new": 1, ', 1))
    before = folder_bytes(output)

    def disk_full(source, target):
        raise OSError(errno.ENOSPC, "No space left on device", str(target))

    monkeypatch.setattr(shutil, "copyfile", disk_full)
    with pytest.raises(HubError, match=r"cannot save .*: the disk is full \(.* free of .*; the model takes "):
        place_files(snapshot, sorted(path.name for path in snapshot.iterdir()), output)
    assert folder_bytes(output) == before and [path.name for path in output.parent.iterdir()] == ["model"]


def test_a_listing_that_names_a_file_outside_the_repo_writes_nothing(hub, model_folder, tmp_path):
    publish(hub, model_folder, "alice/w2v")
    hub.list_extra_file("../outside.txt", b"planted")
    output = tmp_path / "pulls" / "model"
    completed = pull(hub, "alice/w2v", tmp_path / "home", "--output", str(output))
    assert completed.returncode == 2, completed.stdout + completed.stderr
    assert "Traceback" not in completed.stderr
    assert not output.exists() and not output.parent.exists()
    assert not [path for path in tmp_path.rglob("outside.txt")], "a file outside the repo was written"


def closed_endpoint() -> str:
    """An address on loopback where nothing listens: connections are refused, as when the Hub is down."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def test_pull_with_the_hub_down_says_so_once_and_keeps_the_folder(hub, model_folder, tmp_path):
    publish(hub, model_folder, "alice/w2v")
    output, home = tmp_path / "model", tmp_path / "home"
    assert pull(hub, "alice/w2v", home, "--output", str(output)).returncode == 0
    before = folder_bytes(output)
    down = {**client_env(hub, home, ALICE), "HF_ENDPOINT": closed_endpoint()}
    completed = run_script("pull.py", "alice/w2v", "--device", "cpu", "--output", str(output), env=down)
    message = one_line_error(completed)
    assert f"cannot reach the Hub at {down['HF_ENDPOINT']}" in message
    assert "alice/w2v was pulled before, so HF_HUB_OFFLINE=1 uses the cached copy" in message
    lines = completed.stderr.splitlines()
    assert len(lines) == len(set(lines)), f"a message was printed twice: {completed.stderr}"
    assert folder_bytes(output) == before

    down["HF_HOME"], down["HF_HUB_CACHE"] = str(tmp_path / "fresh"), str(tmp_path / "fresh" / "hub")
    never_pulled = one_line_error(run_script("pull.py", "alice/w2v", "--device", "cpu", env=down))
    assert "cannot reach the Hub" in never_pulled and "HF_HUB_OFFLINE" not in never_pulled


def test_push_offline_or_with_the_hub_down_says_so_in_one_line(hub, model_folder, tmp_path):
    home = tmp_path / "home"
    offline = {**client_env(hub, home, ALICE), "HF_HUB_OFFLINE": "1"}
    message = one_line_error(run_script("push.py", str(model_folder), "alice/w2v", env=offline))
    assert "HF_HUB_OFFLINE=1" in message and "HF_HUB_OFFLINE=0" in message
    down = {**client_env(hub, home, ALICE), "HF_ENDPOINT": closed_endpoint()}
    message = one_line_error(run_script("push.py", str(model_folder), "alice/w2v", env=down))
    assert f"cannot reach the Hub at {down['HF_ENDPOINT']}" in message and "push again" in message
    assert hub.state.requests == []


def test_pull_refuses_an_output_folder_that_is_not_ours(hub, model_folder, tmp_path):
    publish(hub, model_folder, "alice/w2v")
    bert = tmp_path / "bert-base"
    bert.mkdir()
    (bert / "config.json").write_text('{"model_type": "bert"}')
    message = one_line_error(pull(hub, "alice/w2v", tmp_path / "home", "--output", str(bert)))
    assert f"{bert} holds a model of type 'bert'" in message
    assert (bert / "config.json").read_text() == '{"model_type": "bert"}' and len(list(bert.iterdir())) == 1


def test_missing_repo_and_revision_give_one_clear_line(hub, model_folder, tmp_path):
    assert "repository alice/nothing not found" in one_line_error(pull(hub, "alice/nothing", tmp_path / "a"))
    publish(hub, model_folder, "alice/w2v")
    message = one_line_error(pull(hub, "alice/w2v", tmp_path / "b", "--revision", "no-such-branch"))
    assert "revision 'no-such-branch' not found in alice/w2v" in message


def test_pull_works_offline_from_the_cache(hub, model_folder, tmp_path):
    publish(hub, model_folder, "alice/w2v")
    home = tmp_path / "home"
    assert pull(hub, "alice/w2v", home).returncode == 0
    requests_before = len(hub.state.requests)
    offline = pull(hub, "alice/w2v", home, offline=True)
    assert offline.returncode == 0, offline.stderr
    assert "offline: 2 LFS files match" in offline.stdout
    assert len(hub.state.requests) == requests_before, "offline pull reached the server"
    never_pulled = one_line_error(pull(hub, "alice/other", home, offline=True))
    assert "not in the local cache" in never_pulled


@pytest.mark.parametrize("broken", ["tokenizer", "size", "width", "nan", "counts", "table"])
def test_push_refuses_a_folder_that_would_not_load_before_uploading(hub, model_folder, broken):
    if broken == "tokenizer":
        (model_folder / "tokenizer.json").unlink()
        expected = "missing tokenizer.json"
    elif broken in ("counts", "table"):
        weights = load_file(model_folder / "model.safetensors")
        del weights["counts" if broken == "counts" else "embeddings"]
        save_file(weights, model_folder / "model.safetensors", metadata={"format": "pt"})
        expected = f"is incomplete: model.safetensors lacks {'counts' if broken == 'counts' else 'embeddings'}"
    elif broken == "nan":
        weights = load_file(model_folder / "model.safetensors")
        weights["embeddings"][[5, 9]] = torch.tensor([float("nan"), float("inf")]).unsqueeze(1)
        save_file(weights, model_folder / "model.safetensors", metadata={"format": "pt"})
        words = Word2VecModel.from_pretrained(model_folder).index_to_key
        expected = f"has 2 word vector(s) with NaN or infinite values ({words[5]!r}, {words[9]!r}"
    elif broken == "width":
        config = json.loads((model_folder / "config.json").read_text())
        (model_folder / "config.json").write_text(json.dumps({**config, "hidden_size": config["hidden_size"] + 1}))
        expected = "would not load: "
    else:
        config = json.loads((model_folder / "config.json").read_text())
        Word2VecModel(Word2VecConfig(vocab_size=10, hidden_size=config["hidden_size"])).save_pretrained(model_folder)
        expected = "would not load: "
    assert expected in one_line_error(push(hub, model_folder, "alice/w2v"))
    assert hub.state.requests == [], "nothing may be sent for a folder that does not load"
    with pytest.raises(HubError):
        check_model_folder(model_folder)


def test_model_card_metadata_picture_and_evaluation(trained, model_folder):
    card_text = (model_folder / "README.md").read_text()
    metadata = yaml.safe_load(card_text.split("---")[1])
    assert metadata["library_name"] == "transformers"
    assert metadata["pipeline_tag"] == "feature-extraction"
    assert metadata["tags"] == ["word2vec", "skip-gram", "static-embeddings"]
    assert metadata["license"] == "other", "a card written without a license says so"
    assert "![" in card_text and "(word_map.png)" in card_text
    assert "trust_remote_code=True" in card_text and "frozen_embedding()" in card_text
    assert "| `window` | 5 |" in card_text
    assert (model_folder / "word_map.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    evaluation = [{"task": "word-similarity", "dataset": "wordsim353", "metric": "spearmanr", "value": 0.61}]
    card = build_model_card(trained.model, "alice/w2v", evaluation, language="en")
    metadata = yaml.safe_load(str(card).split("---")[1])
    assert metadata["language"] == "en"
    result = metadata["model-index"][0]["results"][0]
    assert result["dataset"]["type"] == "wordsim353"
    assert result["metrics"][0] == {"type": "spearmanr", "value": 0.61, "name": "spearmanr"}
    assert "| wordsim353 | spearmanr | 0.6100 |" in str(card)


def test_the_card_keeps_an_edited_license_and_states_the_saved_tokenizer(tmp_path):
    model = handmade_model({"Apple": [1.0, 0.0], "pear": [0.9, 0.1], "car": [0.0, 1.0]})
    model.set_tokenizer(
        wrap_tokenizer(
            empty_word_level_tokenizer(
                vocab={word: index for index, word in enumerate(["[PAD]", "[UNK]", "Apple", "pear", "car"])},
                lowercase=False,
                split_punctuation=False,
            )
        )
    )
    folder = save_model_folder(model, model.tokenizer, tmp_path / "cased")
    card = (folder / "README.md").read_text()
    assert "(NFKC; split at whitespace only; a WordLevel vocabulary" in card
    assert "lowercase" not in card
    assert f"needs transformers >={version('transformers').split('.')[0]}." in card

    card_file = folder / "README.md"
    card_file.write_text(card.replace("license: other", "license: apache-2.0"))
    write_model_card(model, folder)
    assert yaml.safe_load(card_file.read_text().split("---")[1])["license"] == "apache-2.0"
    assert sorted(path.name for path in folder.iterdir() if path.name.startswith(".")) == []


def test_a_push_during_a_pull_does_not_make_good_files_look_corrupt(hub, model_folder, tmp_path):
    first_sha = publish(hub, model_folder, "alice/w2v")
    original = (model_folder / "model.safetensors").read_bytes()
    changed = original[:-1] + bytes([original[-1] ^ 0xFF])  # same size, another sha256

    def another_push():
        repo = hub.state.repos["alice/w2v"]
        parent = repo.commits[repo.refs["main"]]
        files = {**parent.files, "model.safetensors": StoredFile(changed, lfs=True)}
        repo.refs["main"] = hub.state.new_commit(repo, parent.oid, files, "Double", "", "alice").oid

    hub.after_request("GET", "model.safetensors", another_push)
    output = tmp_path / "pulled"
    pulled = pull(hub, "alice/w2v", tmp_path / "home", "--output", str(output))
    assert pulled.returncode == 0, pulled.stderr
    assert head_sha(hub, "alice/w2v") != first_sha, "the other push did not happen during the pull"
    assert f"blob id of the others) at commit {first_sha}" in pulled.stdout
    assert (output / "model.safetensors").read_bytes() == original


@pytest.mark.parametrize("create_pr", [False, True])
def test_a_commit_whose_answer_was_lost_is_not_made_twice(hub, model_folder, create_pr):
    publish(hub, model_folder, "alice/w2v")
    repo = hub.state.repos["alice/w2v"]
    commits_before = len(repo.commits)
    lost = hub.lose_answer("POST", "/commit/", status=502)
    pushed = push(hub, model_folder, "alice/w2v", "--commit-message", "Retrained", *(["--create-pr"] * create_pr))
    assert pushed.returncode == 0, pushed.stderr
    assert lost.times == 0, "the commit's answer was not lost"
    assert len(repo.commits) == commits_before + 1
    landed = repo.refs["refs/pr/1" if create_pr else "main"]
    assert repo.commits[landed].title == "Retrained"
    assert f"revision: {landed}" in pushed.stdout
    if create_pr:
        assert repo.pull_requests == 1
        assert f"pull request: {hub.endpoint}/alice/w2v/discussions/1" in pushed.stdout


def test_the_pushed_revision_mirrors_the_folder(hub, model_folder):
    (model_folder / "notes.txt").write_text("draft")
    publish(hub, model_folder, "alice/w2v")
    (model_folder / "notes.txt").unlink()
    (model_folder / ".hidden").write_text("local only")
    pushed = push(hub, model_folder, "alice/w2v")
    assert pushed.returncode == 0, pushed.stderr
    stored = set(hub.state.repos["alice/w2v"].commits[head_sha(hub, "alice/w2v")].files)
    local = {path.name for path in model_folder.iterdir() if not path.name.startswith(".")}
    assert stored == local | {".gitattributes"}


def test_drawing_the_word_map_leaves_the_callers_matplotlib_backend_and_figures_as_they_were(tmp_path):
    model = handmade_model({"market": [1.0, 0.0], "stock": [0.9, 0.1], "bank": [0.0, 1.0]})
    with a_callers_matplotlib():
        model_card.draw_word_map(model, tmp_path / "map.png")
    assert (tmp_path / "map.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_a_word_map_whose_words_no_font_can_draw_warns_naming_the_font_package(tmp_path, monkeypatch):
    monkeypatch.setattr(model_card, "FALLBACK_FONTS", ())  # matplotlib's own font alone, whatever is installed
    chinese = handmade_model({"北京": [1.0, 0.0], "上海": [0.9, 0.1], "市场": [0.0, 1.0]})
    with pytest.warns(UserWarning, match=r"glyphs for 上京北场市海.*apt install fonts-noto-cjk"):
        model_card.draw_word_map(chinese, tmp_path / "zh.png")
    english = handmade_model({"market": [1.0, 0.0], "stock": [0.9, 0.1], "bank": [0.0, 1.0]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model_card.draw_word_map(english, tmp_path / "en.png")
