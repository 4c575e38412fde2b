"""Writing folders: only ours are replaced, permissions follow the umask, and a crash mid-write is recovered."""

from __future__ import annotations

import errno
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import word2vec_hub.folders.atomic as atomic_module
from word2vec_hub.folders.atomic import (
    FolderBusy,
    exchange,
    leftovers_of,
    recover_folder,
    replace_folder,
    replacing_file,
    write_file,
)
from word2vec_hub.folders.checks import OutputError, check_output_dir
from word2vec_hub.folders.model_folder import save_model_folder

from .conftest import REPO_ROOT, handmade_model

ATOMIC_MODULE = REPO_ROOT / "folders" / "atomic.py"


@pytest.fixture(scope="module")
def small_model():
    return handmade_model({"apple": [1.0, 0.0], "pear": [0.9, 0.1], "car": [0.0, 1.0]})


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def contents(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in folder.iterdir()}


@pytest.fixture
def umask():
    """Set the process umask for one test and put the old one back."""
    previous = os.umask(0o022)
    yield os.umask
    os.umask(previous)


@pytest.mark.parametrize(("mask", "file_mode", "folder_mode"), [(0o022, 0o644, 0o755), (0o077, 0o600, 0o700)])
def test_a_saved_folder_gets_the_permissions_of_the_umask(small_model, tmp_path, umask, mask, file_mode, folder_mode):
    umask(mask)
    output = save_model_folder(small_model, small_model.tokenizer, tmp_path / "model")
    assert mode_of(output) == folder_mode
    assert {name: mode_of(output / name) for name in contents(output)} == dict.fromkeys(contents(output), file_mode)
    write_file(tmp_path / "evaluation.json", "[]\n")
    assert mode_of(tmp_path / "evaluation.json") == file_mode


def test_rewriting_a_file_keeps_its_permissions_and_leaves_nothing_beside_it(tmp_path):
    card = tmp_path / "README.md"
    card.write_text("old")
    card.chmod(0o640)
    write_file(card, "new")
    assert card.read_text() == "new" and mode_of(card) == 0o640
    assert sorted(path.name for path in tmp_path.iterdir()) == ["README.md"]


def test_a_failed_file_write_leaves_the_old_file_and_nothing_beside_it(tmp_path):
    evaluation = tmp_path / "evaluation.json"
    evaluation.write_text("[1]")
    with pytest.raises(RuntimeError, match="disk full"), replacing_file(evaluation) as temporary:
        temporary.write_text("[")
        raise RuntimeError("disk full")
    assert evaluation.read_text() == "[1]"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["evaluation.json"]


def foreign_folders(tmp_path: Path) -> dict[str, Path]:
    bert = tmp_path / "bert-base"
    bert.mkdir()
    (bert / "config.json").write_text(json.dumps({"model_type": "bert", "hidden_size": 768}))
    (bert / "notes.txt").write_text("my notes")
    untyped = tmp_path / "untyped"
    untyped.mkdir()
    (untyped / "config.json").write_text("{}")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("not json")
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "thesis.txt").write_text("keep me")
    return {"bert": bert, "untyped": untyped, "broken": broken, "notes": notes}


@pytest.mark.parametrize("kind", ["bert", "untyped", "broken", "notes"])
def test_a_folder_that_is_not_ours_is_refused_by_name_and_left_alone(small_model, tmp_path, kind):
    folder = foreign_folders(tmp_path)[kind]
    before = contents(folder)
    with pytest.raises(OutputError, match="is not replaced") as refusal:
        save_model_folder(small_model, small_model.tokenizer, folder)
    assert str(folder) in str(refusal.value)
    assert contents(folder) == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["bert-base", "broken", "notes", "untyped"]


def test_empty_folders_our_models_and_our_checkpoints_are_replaced(small_model, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert (save_model_folder(small_model, small_model.tokenizer, empty) / "model.safetensors").is_file()
    checkpoint = tmp_path / "checkpoint"
    save_model_folder(small_model, small_model.tokenizer, checkpoint, extra_files={"trainer_state.json": "{}"})
    save_model_folder(small_model, small_model.tokenizer, checkpoint, card=False)
    assert not (checkpoint / "trainer_state.json").exists(), "the old folder's files did not go"
    save_model_folder(small_model, small_model.tokenizer, empty)
    assert json.loads((empty / "config.json").read_text())["model_type"] == "word2vec"


def test_a_symlink_to_our_folder_still_leads_to_the_new_folder(small_model, tmp_path):
    real = tmp_path / "models" / "v1"
    real.parent.mkdir()
    save_model_folder(small_model, small_model.tokenizer, real)
    (real / "evaluation.json").write_text("[]")
    link = tmp_path / "current"
    link.symlink_to(real, target_is_directory=True)
    assert check_output_dir(link) == real
    save_model_folder(small_model, small_model.tokenizer, link)
    assert link.is_symlink() and link.resolve() == real
    assert (link / "model.safetensors").is_file() and not (real / "evaluation.json").exists()
    foreign = tmp_path / "bert-link"
    foreign.symlink_to(foreign_folders(tmp_path)["bert"], target_is_directory=True)
    with pytest.raises(OutputError, match="of type 'bert'"):
        save_model_folder(small_model, small_model.tokenizer, foreign)


CRASHING_WRITE = """
import importlib.util, os, shutil, sys
from pathlib import Path

spec = importlib.util.spec_from_file_location("atomic", sys.argv[1])
atomic = importlib.util.module_from_spec(spec)
spec.loader.exec_module(atomic)
target, crash_at = Path(sys.argv[2]), sys.argv[3]


def crash(*args, **kwargs):
    os._exit(17)  # as a power cut or SIGKILL: no clean-up code runs


def fill(staging):
    (staging / "weights").write_text("new")
    if crash_at == "while-filling":
        crash()


if crash_at == "before-the-swap":
    atomic.swap_into_place = crash
elif crash_at == "after-the-exchange":
    real_exchange = atomic.exchange
    atomic.exchange = lambda first, second: real_exchange(first, second) and crash()
elif crash_at == "between-the-two-renames":
    atomic.exchange = lambda first, second: False
    real_rename, renames = os.rename, []

    def rename_then_crash(source, destination):
        renames.append(source)
        if len(renames) == 2:
            crash()
        real_rename(source, destination)

    os.rename = rename_then_crash
atomic.replace_folder(target, fill)
"""


def crash_a_write(target: Path, crash_at: str) -> None:
    completed = subprocess.run(
        [sys.executable, "-c", CRASHING_WRITE, str(ATOMIC_MODULE), str(target), crash_at],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 17, completed.stderr


@pytest.mark.parametrize(
    ("crash_at", "left_behind", "recovered"),
    [
        ("while-filling", {"target": "old", "staging": 1, "parked": 0}, "old"),
        ("before-the-swap", {"target": "old", "staging": 1, "parked": 0}, "new"),
        ("after-the-exchange", {"target": "new", "staging": 1, "parked": 0}, "new"),
        ("between-the-two-renames", {"target": None, "staging": 1, "parked": 1}, "new"),
    ],
)
def test_a_write_interrupted_by_a_crash_is_finished_or_rolled_back(tmp_path, crash_at, left_behind, recovered):
    if crash_at == "after-the-exchange":
        first, second = tmp_path / "first", tmp_path / "second"
        first.mkdir()
        second.mkdir()
        if not exchange(first, second):
            pytest.skip("this file system cannot exchange two folders atomically")
    target = tmp_path / "model"
    target.mkdir()
    (target / "weights").write_text("old")
    crash_a_write(target, crash_at)

    staging, parked = leftovers_of(target)
    state = (target / "weights").read_text() if target.exists() else None
    assert {"target": state, "staging": len(staging), "parked": len(parked)} == left_behind
    recover_folder(target)
    assert (target / "weights").read_text() == recovered
    assert sorted(path.name for path in target.iterdir()) == ["weights"], "the completion marker was left in"
    assert leftovers_of(target) == ([], [])


def test_an_interrupted_first_write_is_finished_or_cleared_by_the_next_save(small_model, tmp_path):
    target = tmp_path / "model"
    crash_a_write(target, "before-the-swap")
    assert not target.exists()
    recover_folder(target)
    assert (target / "weights").read_text() == "new"

    fresh = tmp_path / "fresh"
    crash_a_write(fresh, "while-filling")
    save_model_folder(small_model, small_model.tokenizer, fresh)
    assert (fresh / "model.safetensors").is_file()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["fresh", "model"]


def test_leftovers_of_a_similarly_named_folder_are_not_touched(tmp_path):
    other_staging = tmp_path / ".model.v2.abcdefgh.partial"
    other_staging.mkdir()
    replace_folder(tmp_path / "model", lambda staging: (staging / "weights").write_text("new"))
    assert other_staging.is_dir()


SLOW_WRITE = """
import importlib.util, sys, time
from pathlib import Path

spec = importlib.util.spec_from_file_location("atomic", sys.argv[1])
atomic = importlib.util.module_from_spec(spec)
spec.loader.exec_module(atomic)


def fill(staging):
    (staging / "weights").write_text("first writer")
    print("filling", flush=True)
    time.sleep(120)


atomic.replace_folder(Path(sys.argv[2]), fill)
"""


def test_a_second_writer_is_told_another_process_is_writing_and_a_killed_one_blocks_nobody(tmp_path):
    target = tmp_path / "model"
    target.mkdir()
    (target / "weights").write_text("old")
    first = subprocess.Popen(
        [sys.executable, "-c", SLOW_WRITE, str(ATOMIC_MODULE), str(target)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert first.stdout.readline() == "filling\n"
        for second_writer in (
            lambda: replace_folder(target, lambda staging: (staging / "weights").write_text("second writer")),
            lambda: check_output_dir(target),
        ):
            with pytest.raises(FolderBusy, match=f"another process is writing {target} "):
                second_writer()
        staging, _ = leftovers_of(target)
        assert [(path / "weights").read_text() for path in staging] == ["first writer"], "its staging folder is kept"
    finally:
        first.kill()  # as SIGKILL or a power cut: the lock file stays, the kernel drops the lock
        first.wait(timeout=60)
    assert (target / "weights").read_text() == "old"
    replace_folder(target, lambda staging: (staging / "weights").write_text("second writer"))
    assert (target / "weights").read_text() == "second writer"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["model"], "no staging folder or lock file is left"


def test_a_folder_with_nothing_to_recover_is_read_without_taking_its_lock(tmp_path, monkeypatch):
    target = tmp_path / "model"
    replace_folder(target, lambda staging: (staging / "weights").write_text("new"))

    def unwritable_parent(target):
        raise PermissionError(13, "Permission denied", str(tmp_path / ".model.lock"))

    monkeypatch.setattr(atomic_module, "folder_lock", unwritable_parent)
    recover_folder(target)  # as `word2vec push` does on a folder it may read but not write
    (tmp_path / ".model.abcdefgh.partial").mkdir()
    with pytest.raises(PermissionError):
        recover_folder(target)


def test_a_file_system_without_flock_is_written_unlocked_and_left_clean(tmp_path, monkeypatch):
    def no_locks(descriptor, operation):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(atomic_module.fcntl, "flock", no_locks)
    replace_folder(tmp_path / "model", lambda staging: (staging / "weights").write_text("new"))
    assert (tmp_path / "model" / "weights").read_text() == "new"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["model"]
