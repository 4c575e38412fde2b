"""`word2vec train` as a user runs it: output, clear one-line errors, and no half-written folders."""

from __future__ import annotations

import bz2
import errno
import gzip
import lzma
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from safetensors import SafetensorError

import word2vec_hub.folders.atomic as atomic_module
import word2vec_hub.folders.model_folder as output_module
from word2vec_hub.cli import run_command
from word2vec_hub.folders.checks import OutputError
from word2vec_hub.folders.model_folder import save_model_folder
from word2vec_hub.modeling import Word2VecModel
from word2vec_hub.resources import readable_size

from .conftest import REPO_ROOT, one_line_error, scattered_corpus

TRAIN_SCRIPT = REPO_ROOT / "scripts" / "train.py"


def run_train(*arguments: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(TRAIN_SCRIPT), "--no-progress", "--device", "cpu", *arguments],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


def train_main(*arguments: str) -> int:
    """`word2vec train` in this process (faster than a subprocess for the error paths)."""
    return run_command(["train", "--no-progress", "--device", "cpu", *arguments])


def leftovers(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if path.name.startswith("."))


def test_training_a_user_corpus_writes_a_model_and_prints_neighbours(tmp_path, planted_lines):
    corpus = tmp_path / "planted.txt"
    corpus.write_text("\n".join(planted_lines[:3000]) + "\n")
    completed = run_train(
        "--corpus", str(corpus), "--dim", "16", "--epochs", "2", "--probe", "a3", "nothere", cwd=tmp_path
    )
    assert completed.returncode == 0, completed.stderr
    output = tmp_path / "word2vec-planted"
    assert "saved to word2vec-planted" in completed.stdout
    assert "  a3: " in completed.stdout and "nothere: not in the vocabulary" in completed.stdout
    model = Word2VecModel.from_pretrained(output)
    assert model.config.hidden_size == 16 and model.config.epochs == 2
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(
    ("content", "arguments", "message"),
    [
        (None, (), "error: corpus file not found: "),
        ("", (), "is empty: it holds no words"),
        ("rare words only here\n", (), "occurs at least min_count=5 times"),
        ("x y z\n" * 10, ("--min-alpha", "1.0"), "need 0 < min_alpha <= alpha"),
        ("x y z\n" * 10, ("--sync-every", "0"), "--sync-every must be at least 1 word"),
    ],
)
def test_bad_input_gets_one_clear_line_and_writes_nothing(tmp_path, content, arguments, message, capsys):
    corpus = tmp_path / "corpus.txt"
    if content is not None:
        corpus.write_text(content)
    exit_code = train_main("--corpus", str(corpus), "--output", str(tmp_path / "out"), *arguments)
    stderr = capsys.readouterr().err
    assert exit_code == 2
    assert message in stderr
    assert stderr.startswith("error: ") and stderr.strip().count("\n") == 0, stderr
    assert not (tmp_path / "out").exists()
    assert leftovers(tmp_path) == []


def test_an_output_folder_that_is_not_a_model_is_never_overwritten(tmp_path, capsys):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("a b c d e\n" * 20)
    precious = tmp_path / "notes"
    precious.mkdir()
    (precious / "thesis.txt").write_text("keep me")
    assert train_main("--corpus", str(corpus), "--output", str(precious)) == 2
    assert "is not a model folder" in capsys.readouterr().err
    assert (precious / "thesis.txt").read_text() == "keep me"


@pytest.mark.parametrize("option", ["--output", "--checkpoint-dir"])
def test_another_libraries_model_folder_is_refused_before_training(tmp_path, capsys, option):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("a b c d e\n" * 20)
    bert = tmp_path / "bert-base"
    bert.mkdir()
    (bert / "config.json").write_text('{"model_type": "bert"}')
    (bert / "notes.md").write_text("my notes")
    assert train_main("--corpus", str(corpus), option, str(bert), "--epochs", "1", "--dim", "4") == 2
    stderr = capsys.readouterr().err
    assert stderr.startswith(f"error: {bert} holds a model of type 'bert'") and stderr.count("\n") == 1, stderr
    assert sorted(path.name for path in bert.iterdir()) == ["config.json", "notes.md"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["bert-base", "corpus.txt"]


def test_a_missing_corpus_fails_without_a_traceback_from_the_command_line(tmp_path):
    completed = run_train("--corpus", str(tmp_path / "missing.txt"), cwd=tmp_path)
    assert completed.returncode == 2
    assert completed.stderr == f"error: corpus file not found: {tmp_path / 'missing.txt'}\n"


def test_non_utf8_corpus_trains_with_a_warning(tmp_path):
    corpus = tmp_path / "latin1.txt"
    corpus.write_bytes(("caf\xe9 au lait and more words here\n" * 30).encode("latin-1"))
    completed = run_train("--corpus", str(corpus), "--dim", "8", "--epochs", "1", cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr.count("is not valid UTF-8") == 1
    assert "warning: " in completed.stderr and "sys:1" not in completed.stderr


def test_a_failed_save_leaves_the_previous_folder_untouched(trained, tmp_path, monkeypatch):
    output = tmp_path / "model"
    save_model_folder(trained.model, trained.tokenizer, output)
    before = {path.name: path.read_bytes() for path in output.iterdir()}

    def broken_save(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(trained.tokenizer, "save_pretrained", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_model_folder(trained.model, trained.tokenizer, output)
    assert {path.name: path.read_bytes() for path in output.iterdir()} == before
    assert leftovers(tmp_path) == []
    fresh = tmp_path / "fresh"
    with pytest.raises(OSError, match="disk full"):
        save_model_folder(trained.model, trained.tokenizer, fresh)
    assert not fresh.exists()
    assert leftovers(tmp_path) == []


def test_an_existing_file_is_not_an_output_folder(trained, tmp_path):
    target = tmp_path / "file.txt"
    target.write_text("x")
    with pytest.raises(OutputError, match="exists and is a file"):
        save_model_folder(trained.model, trained.tokenizer, target)


def test_training_that_diverges_is_one_line_and_keeps_the_previous_model(tmp_path, capsys):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(scattered_corpus())
    output = tmp_path / "model"
    common = ("--corpus", str(corpus), "--output", str(output), "--dim", "8", "--epochs", "1", "--workers", "1")
    assert train_main(*common) == 0
    before = {path.name: path.read_bytes() for path in output.iterdir()}
    capsys.readouterr()
    # A rate whose first steps overflow float32: the numba kernel leaves saturated rows alone, which kept its tables
    # finite at the smaller rates tried (tests/test_training_runs.py).
    assert train_main(*common, "--alpha", "3e38") == 2
    stderr = capsys.readouterr().err
    assert stderr.startswith("error: training diverged: ") and stderr.count("\n") == 1, stderr
    assert "(--alpha 3e+38)" in stderr and "smaller --alpha" in stderr
    assert {path.name: path.read_bytes() for path in output.iterdir()} == before
    assert leftovers(tmp_path) == []


def test_tables_larger_than_the_memory_are_refused_before_they_are_allocated(tmp_path, capsys):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(scattered_corpus())
    # 52 rows x 10^10 dimensions x 4 bytes x 2 tables: 3.8 TiB, which no test machine has.
    assert train_main("--corpus", str(corpus), "--output", str(tmp_path / "out"), "--dim", "10000000000") == 2
    stderr = capsys.readouterr().err
    assert stderr.startswith("error: 52 words x 10,000,000,000 dimensions need about 3.8 TiB of memory to train")
    assert "lower --dim" in stderr and stderr.count("\n") == 1, stderr
    assert not (tmp_path / "out").exists() and leftovers(tmp_path) == []


def damaged(compressed: bytes, how: str) -> bytes:
    if how == "truncated":
        return compressed[: len(compressed) // 2]
    if how == "trailing garbage":
        return compressed + b"this is not compressed data, as a file appended to by mistake has"
    middle = len(compressed) // 2
    return (
        compressed[:middle]
        + bytes(byte ^ 0x55 for byte in compressed[middle : middle + 64])
        + compressed[middle + 64 :]
    )


# Data after a .bz2's or .xz's last stream is ignored, as bzip2 and Python's readers ignore it; gzip's is an error.
DAMAGES = [(suffix, how) for suffix in (".gz", ".bz2", ".xz") for how in ("truncated", "corrupt")]


@pytest.mark.parametrize(("suffix", "how"), [*DAMAGES, (".gz", "trailing garbage")])
def test_a_damaged_compressed_corpus_is_named_with_where_it_breaks(tmp_path, capsys, suffix, how):
    compress = {".gz": gzip.compress, ".bz2": bz2.compress, ".xz": lzma.compress}[suffix]
    corpus = tmp_path / f"corpus.txt{suffix}"
    corpus.write_bytes(damaged(compress(scattered_corpus(lines=20_000).encode()), how))
    assert train_main("--corpus", str(corpus), "--output", str(tmp_path / "out")) == 2
    stderr = capsys.readouterr().err
    assert stderr.startswith(f"error: {corpus} is truncated or damaged: ") and stderr.count("\n") == 1, stderr
    offset = int(re.search(r"at about byte ([\d,]+) of ", stderr).group(1).replace(",", ""))
    assert 0 < offset <= corpus.stat().st_size
    assert not (tmp_path / "out").exists() and leftovers(tmp_path) == []


def test_a_disk_filling_while_the_corpus_is_encoded_is_one_error_line_and_nothing_is_left(
    tmp_path, capsys, monkeypatch
):
    from word2vec_hub.training import encoding

    corpus = tmp_path / "corpus.txt"
    corpus.write_text(scattered_corpus())
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "temporary"))
    (tmp_path / "temporary").mkdir()

    def open_on_a_full_disk(file, *args, **kwargs):
        # /dev/full answers every write with ENOSPC, as a full disk does.
        return open("/dev/full" if str(file).endswith("ids.int32") else file, *args, **kwargs)

    monkeypatch.setattr(encoding, "open", open_on_a_full_disk, raising=False)
    assert train_main("--corpus", str(corpus), "--output", str(tmp_path / "out")) == 2
    stderr = capsys.readouterr().err
    assert stderr.startswith("error: the disk filled while the corpus was written to ") and stderr.count("\n") == 1
    assert "free some space there or point TMPDIR at a larger disk" in stderr, stderr
    # No model folder, checkpoint or staging folder beside the corpus, and no temporary id stream.
    assert sorted(path.name for path in tmp_path.iterdir()) == ["corpus.txt", "temporary"]
    assert list((tmp_path / "temporary").iterdir()) == []


def fail_with(monkeypatch, trained, failure: str) -> None:
    """Make the next save fail as a full or read-only disk makes it fail, at the step where each library reports
    it: safetensors and tokenizers (Rust) only in their message, an fsync with a bare errno and no path."""
    no_space = "No space left on device (os error 28)"

    def raise_(error):
        def failing(*args, **kwargs):
            raise error

        return failing

    if failure == "safetensors":
        error = SafetensorError(f"Error while serializing: I/O error: {no_space}")
        monkeypatch.setattr(Word2VecModel, "save_pretrained", raise_(error))
    elif failure == "tokenizers":
        monkeypatch.setattr(trained.tokenizer, "save_pretrained", raise_(Exception(no_space)))
    elif failure == "fsync":
        monkeypatch.setattr(atomic_module, "flush_to_disk", raise_(OSError(errno.ENOSPC, "No space left on device")))
    else:
        error = OSError(errno.EROFS, "Read-only file system", "x.partial")
        monkeypatch.setattr(atomic_module.tempfile, "mkdtemp", raise_(error))


@pytest.mark.parametrize("failure", ["safetensors", "tokenizers", "fsync", "read-only"])
def test_a_full_or_read_only_disk_is_named_with_the_free_space_and_the_previous_folder_stays(
    trained, tmp_path, monkeypatch, failure
):
    output = tmp_path / "model"
    save_model_folder(trained.model, trained.tokenizer, output)
    before = {path.name: path.read_bytes() for path in output.iterdir()}
    fail_with(monkeypatch, trained, failure)
    with pytest.raises(OutputError) as refusal:
        save_model_folder(trained.model, trained.tokenizer, output)
    problem = "the file system is read-only" if failure == "read-only" else "the disk is full"
    message = str(refusal.value)
    assert message.startswith(f"cannot save {output}: {problem} (") and "\n" not in message
    assert f"free of {readable_size(shutil.disk_usage(tmp_path).total)} on the file system of {tmp_path}" in message
    assert f"nothing was saved and {output} is as it was" in message
    assert {path.name: path.read_bytes() for path in output.iterdir()} == before
    assert leftovers(tmp_path) == []


def test_a_full_disk_at_the_end_of_training_is_one_line_and_creates_nothing(trained, tmp_path, monkeypatch, capsys):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(scattered_corpus())
    fail_with(monkeypatch, trained, "safetensors")
    assert train_main("--corpus", str(corpus), "--output", str(tmp_path / "out"), "--dim", "8", "--epochs", "1") == 2
    stderr = capsys.readouterr().err
    assert stderr.startswith(f"error: cannot save {tmp_path / 'out'}: the disk is full (") and stderr.count("\n") == 1
    assert f"{tmp_path / 'out'} was not created" in stderr
    assert not (tmp_path / "out").exists() and leftovers(tmp_path) == []


def test_a_read_only_output_disk_is_refused_before_training(tmp_path, monkeypatch, capsys):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(scattered_corpus())
    monkeypatch.setattr(os, "statvfs", lambda path: SimpleNamespace(f_flag=os.ST_RDONLY))
    assert train_main("--corpus", str(corpus), "--output", str(tmp_path / "out")) == 2
    captured = capsys.readouterr()
    assert (
        captured.err == f"error: cannot write {tmp_path / 'out'}: {tmp_path} is on a read-only file system; "
        "choose another folder\n"
    )
    assert "trained" not in captured.out and not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("interrupted", "previous", "told"),
    [
        ("while-filling", True, "the model was not saved and {output} still holds the model it held before"),
        ("while-filling", False, "the model was not saved and {output} was not created"),
        ("after-the-swap", True, "the model was saved to {output} all the same"),
    ],
)
def test_ctrl_c_while_saving_says_training_was_complete_and_what_was_kept(
    tmp_path, monkeypatch, capsys, interrupted, previous, told
):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(scattered_corpus())
    output = tmp_path / "model"
    common = ("--corpus", str(corpus), "--output", str(output), "--dim", "8", "--epochs", "1", "--workers", "1")
    if previous:
        assert train_main(*common, "--seed", "1") == 0
    before = {path.name: path.read_bytes() for path in output.iterdir()} if previous else None

    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    if interrupted == "while-filling":
        monkeypatch.setattr(output_module, "write_model_card", ctrl_c)
    else:
        swap = atomic_module.swap_into_place
        monkeypatch.setattr(atomic_module, "swap_into_place", lambda *args: (swap(*args), ctrl_c()))
    capsys.readouterr()
    assert train_main(*common, "--seed", "2") == 130
    stderr = capsys.readouterr().err
    assert (
        stderr
        == f"interrupted while saving, after training was complete: {told.format(output=output)}"
        + ("" if interrupted == "after-the-swap" else "; run the command again to train it anew")
        + "\n"
    )
    after = {path.name: path.read_bytes() for path in output.iterdir()} if output.exists() else None
    assert (after == before) == (interrupted == "while-filling")
    assert leftovers(tmp_path) == []


def run_word2vec(*arguments: str, cwd: Path) -> subprocess.CompletedProcess:
    """`word2vec ARGUMENTS` in a fresh process; the last line of its output names the heavy modules it imported."""
    report_heavy = (
        "import atexit, sys\n"
        "atexit.register(lambda: print('heavy', [name for name in ('torch', 'transformers') if name in sys.modules]))\n"
        "from word2vec_hub.cli import main\n"
        "main(sys.argv[1:])\n"
    )
    return subprocess.run(
        [sys.executable, "-c", report_heavy, *arguments], capture_output=True, text=True, cwd=cwd, timeout=120
    )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("evaluate", "nosuchmodel"), "nosuchmodel: no local folder of that name, and not a Hub repository id"),
        (("evaluate", "./no-such-folder"), "./no-such-folder: no local folder of that name, and not a Hub"),
        (("evaluate", "alice/no-such-model"), "HF_HUB_OFFLINE is set while the Hub cache holds no such model"),
        (("evaluate", "notes.txt"), "notes.txt is a file; pass a model folder"),
        (("evaluate", "empty-folder"), "empty-folder: the folder has no config.json"),
        (("train", "--corpus", "missing.txt"), "corpus file not found: missing.txt"),
        (("train", "--corpus", "notes.txt", "--init-from", "nosuch"), "--init-from nosuch: no local folder"),
        (("train", "--corpus", "notes.txt", "--resume", "nosuch"), "--resume nosuch: folder not found"),
        (("train", "--corpus", "notes.txt", "--epochs", "0"), "epochs must be at least 1, got 0"),
        (
            ("train", "--corpus", "notes.txt", "--negative", "0"),
            "--negative 0 leaves no output layer to train: add --hs",
        ),
        (("train", "--corpus", "notes.txt", "--output", "notes.txt"), "notes.txt exists and is a file"),
        (("train", "--corpus", "notes.txt", "--log-file", "no/log.jsonl"), "log.jsonl: the folder"),
        (("train", "--dataset", "./no-such-dataset"), "--dataset ./no-such-dataset: no such file or folder"),
        (("convert", "missing.bin", "--from", "word2vec-bin", "--output", "out"), "missing.bin: file not found"),
        (("convert", "nosuchmodel", "--to", "word2vec-bin", "--output", "out.bin"), "no local folder of that name"),
        (("classify",), "--model word2vec-ptb: no local folder of that name"),
        (("push", "missing", "alice/model"), "missing: no such model folder"),
        (("pull", "not a repo"), "not a repo is not a Hub repository id"),
    ],
)
def test_argument_and_path_mistakes_are_reported_before_torch_is_imported(tmp_path, arguments, message):
    (tmp_path / "notes.txt").write_text("my notes\n")
    (tmp_path / "empty-folder").mkdir()
    completed = run_word2vec(*arguments, cwd=tmp_path)
    assert message in one_line_error(completed)
    assert completed.stdout.splitlines()[-1] == "heavy []", completed.stdout
    assert sorted(path.name for path in tmp_path.iterdir()) == ["empty-folder", "notes.txt"]


def test_ctrl_c_while_a_subcommand_imports_torch_prints_one_line(tmp_path):
    """SIGINT is sent once torch's files are being loaded (seen in /proc/PID/maps), so that it lands inside the
    import."""
    if not Path("/proc/self/maps").exists():
        pytest.skip("needs /proc to see when the import of torch begins")
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text('{"model_type": "word2vec"}')
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("a\tb\t1.0\n")
    process = subprocess.Popen(
        [sys.executable, "-m", "word2vec_hub", "evaluate", str(folder), "--wordsim", str(pairs)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    maps = Path(f"/proc/{process.pid}/maps")
    deadline = time.monotonic() + 60
    while process.poll() is None and "torch" not in maps.read_text() and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGINT)
    stderr = process.communicate(timeout=60)[1]
    assert process.returncode == 130, stderr
    assert stderr == "interrupted\n"


def test_training_shows_reading_training_and_saving_progress_and_the_last_line_once(tmp_path, planted_lines):
    corpus = tmp_path / "planted.txt"
    corpus.write_text("\n".join(planted_lines[:3000]) + "\n")
    arguments = ["--device", "cpu", "--corpus", str(corpus), "--dim", "8", "--epochs", "2", "--output", "out"]
    # Every update drawn (tqdm reads TQDM_* defaults from the environment), so the last block's is drawn too.
    shown = subprocess.run(
        [sys.executable, "-m", "word2vec_hub", "train", *arguments],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "TQDM_MININTERVAL": "0", "TQDM_MINITERS": "1"},
    )
    assert shown.returncode == 0, shown.stderr
    assert "reading: " in shown.stderr and "27.0kword" in shown.stderr, shown.stderr  # 3,000 lines of 9 words
    assert shown.stderr.count("training: 100%") == 1, shown.stderr
    assert "saving out [" in shown.stderr, shown.stderr
    hidden = subprocess.run(
        [sys.executable, "-m", "word2vec_hub", "train", "--no-progress", *arguments],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert hidden.returncode == 0 and hidden.stderr == "", hidden.stderr


def test_a_hub_name_with_the_hub_out_of_reach_is_one_line_at_once(tmp_path, monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setenv("HF_ENDPOINT", "http://hub.invalid")  # .invalid never resolves (RFC 6761)
    for variable in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(variable, raising=False)
    completed = run_word2vec("evaluate", "alice/no-such-model", cwd=tmp_path)
    message = one_line_error(completed)
    assert "alice/no-such-model: no local folder of that name, and the Hub (hub.invalid) cannot be reached" in message
    assert "warning" not in completed.stderr
    assert completed.stdout.splitlines()[-1] == "heavy []", completed.stdout


def test_help_gives_each_option_its_default(capsys):
    with pytest.raises(SystemExit):
        run_command(["train", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    for option, default in [("--dim DIM", "100"), ("--workers WORKERS", "0"), ("--epochs EPOCHS", "5")]:
        assert re.search(rf"{option} [^-]*\(default: {default}\)", help_text), option
    assert "(default: None)" not in help_text
    assert "--no-progress hide the progress bar" in help_text
    assert "hide the progress bar (default" not in help_text, "a flag's default is its absence"


def test_a_hub_client_warning_prints_once_in_the_warning_form(trained_folder, tmp_path):
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("a3\tb3\t9.0\na1\tt1_0\t5.0\nw1\tw2\t1.0\n")
    script = (
        "import sys\n"
        "from huggingface_hub.utils import logging\n"
        "from word2vec_hub.cli import run_command\n"
        "assert run_command(sys.argv[1:]) == 0\n"
        "logging.get_logger('huggingface_hub.file_download').warning('Retrying in 1s [Retry 1/5].')\n"
    )
    arguments = ["evaluate", str(trained_folder), "--wordsim", str(pairs)]
    completed = subprocess.run([sys.executable, "-c", script, *arguments], capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    retries = [line for line in completed.stderr.splitlines() if "Retrying" in line]
    assert retries == ["warning: Retrying in 1s [Retry 1/5]."]


def test_evaluate_resolves_and_checks_its_benchmark_files_once(trained_folder, tmp_path, monkeypatch, capsys):
    from word2vec_hub.commands import evaluate

    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("t0_0\tt0_1\t9.0\nt0_0\tw5\t1.0\nt1_0\tt1_2\t8.0\n")
    questions = tmp_path / "questions.txt"
    questions.write_text(": planted\na1 b1 a2 b2\n")
    resolved, checked = [], []
    monkeypatch.setattr(
        evaluate,
        "benchmark_files",
        lambda options, original=evaluate.benchmark_files: resolved.append(1) or original(options),
    )
    monkeypatch.setattr(
        evaluate,
        "check_file",
        lambda path, option, original=evaluate.check_file: checked.append(path) or original(path, option),
    )
    assert run_command(["evaluate", str(trained_folder), "--wordsim", str(pairs), "--analogy", str(questions)]) == 0
    assert len(resolved) == 1 and checked == [pairs, questions]
    assert "pairs" in capsys.readouterr().out
