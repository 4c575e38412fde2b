"""Pushing a model folder to a Hugging Face Hub and pulling it back, with the checks both ways."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TypeVar

import httpx2
from huggingface_hub import HfApi, snapshot_download
from huggingface_hub.errors import (
    EntryNotFoundError,
    GatedRepoError,
    HfHubHTTPError,
    LocalEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
    RevisionResolutionError,
)
from huggingface_hub.hf_api import RepoFile

from word2vec_hub.argument_checks import hub_offline
from word2vec_hub.folders.atomic import recover_folder
from word2vec_hub.folders.checks import CARD_FILE, REQUIRED_FILES, OutputError, check_output_dir, replace_or_refuse
from word2vec_hub.folders.model_card import write_model_card
from word2vec_hub.modeling import Word2VecModel
from word2vec_hub.modeling.modeling_word2vec import file_key
from word2vec_hub.resources import readable_size

TRANSIENT_STATUS = (500, 502, 503, 504)
RETRY_WAITS = (1.0, 3.0, 9.0)
REFUSED_TOKEN = "the Hub refused the token (invalid credentials): check HF_TOKEN, `hf auth login` or --token"
# Written into each push's commit description, so that a commit whose answer was lost can be found again.
PUSH_ID_LABEL = "word2vec-hub push "

logger = logging.getLogger(__name__)
Result = TypeVar("Result")


def transient_status(error: BaseException) -> int | None:
    """The 5xx status behind `error` (also when the revision resolution fell back on it), else None."""
    if isinstance(error, RevisionResolutionError) and error.__cause__ is not None:
        error = error.__cause__
    if isinstance(error, HfHubHTTPError) and error.response is not None:
        status = error.response.status_code
        return status if status in TRANSIENT_STATUS else None
    return None


def with_retries(action: Callable[[], Result], what: str) -> Result:
    """Run `action`, trying again after a transient server error (5xx); huggingface_hub retries some calls
    itself (LFS transfers) but not the commit, so a 5xx there would otherwise end the push."""
    for wait in RETRY_WAITS:
        try:
            return action()
        except (HfHubHTTPError, RevisionResolutionError) as error:
            status = transient_status(error)
            if status is None:
                raise
            logger.warning("%s: the Hub answered %s, trying again in %.0f s", what, status, wait)
            time.sleep(wait)
    return action()


class HubError(RuntimeError):
    """A push or pull that cannot go on; the message is one line for the user."""


@dataclass
class PullResult:
    folder: Path
    verification: str
    model: Word2VecModel


@dataclass
class PushResult:
    repo_url: str
    commit_url: str
    commit_sha: str
    pull_request_url: str | None


def check_model_folder(folder: str | Path, name: str | None = None) -> Word2VecModel:
    """Load the folder as a user would, so that nothing that fails to load is ever uploaded (or pulled over a
    model that loads). `name` is what the messages call the folder (default: its path)."""
    folder = Path(folder)
    name = name or str(folder)
    try:
        recover_folder(folder)
    except OSError as error:  # also FolderBusy: another process is writing the folder
        raise HubError(f"{name}: {first_line(error)}") from error
    if not folder.is_dir():
        raise HubError(f"{name} is not a folder; pass the model folder that `word2vec train` wrote")
    missing = [name for name in REQUIRED_FILES if not (folder / name).exists()]
    if missing:
        raise HubError(f"{name} is not a complete model folder: missing {', '.join(missing)}")
    try:
        model, loading_info = Word2VecModel.from_pretrained(folder, output_loading_info=True)
    except (OSError, ValueError) as error:  # CheckpointMismatchError is an OSError
        raise HubError(f"{name} would not load: {first_line(error)}") from error
    problem = incomplete_or_broken(model, loading_info)
    if problem:
        raise HubError(f"{name} {problem}: retrain or reconvert the model before sharing it")
    return model


def incomplete_or_broken(model: Word2VecModel, loading_info: dict) -> str | None:
    """What makes a loaded folder unfit to share, or None. Loading initialises a tensor the file lacks (as
    transformers does), so a loadable folder may still have lost its table, its context vectors or its counts."""
    missing = sorted(file_key(key) for key in loading_info["missing_keys"])
    if missing:
        return f"is incomplete: model.safetensors lacks {', '.join(missing)}"
    broken_rows = model.non_finite_rows()
    if broken_rows:
        words = ", ".join(repr(model.index_to_key[row]) for row in broken_rows[:3])
        return f"has {len(broken_rows)} word vector(s) with NaN or infinite values ({words}...)"
    return None


def push_model_folder(
    folder: str | Path,
    repo_id: str,
    private: bool = False,
    revision: str | None = None,
    commit_message: str | None = None,
    create_pr: bool = False,
    token: str | None = None,
) -> PushResult:
    """Check the folder, create the repo (and branch) if needed, and commit the folder in one commit: the pushed
    revision holds exactly the folder's files (a file deleted locally is deleted there; hidden files are not sent).

    `token` defaults to `HF_TOKEN` or the login cache, as everywhere in huggingface_hub.
    """
    folder = Path(folder)
    if hub_offline():
        raise HubError("pushing needs the Hub, and HF_HUB_OFFLINE=1 turns it off: push with HF_HUB_OFFLINE=0")
    model = check_model_folder(folder)
    if not (folder / CARD_FILE).exists():
        write_model_card(model, folder, model_id=repo_id)
    api = HfApi(token=token)
    branch = revision or "main"
    push_id = uuid.uuid4().hex
    attempts = 0

    def commit_once() -> PushResult:
        nonlocal attempts
        attempts += 1
        if attempts > 1:
            landed = find_landed_push(api, repo_id, branch, create_pr, push_id, pull_requests_before)
            if landed is not None:
                return landed
        commit = api.upload_folder(
            folder_path=folder,
            repo_id=repo_id,
            revision=branch,
            commit_message=commit_message or f"Upload word2vec model ({model.config.vocab_size:,} words)",
            commit_description=PUSH_ID_LABEL + push_id,
            create_pr=create_pr,
            ignore_patterns=[".*", ".*/**"],
            delete_patterns="*",
        )
        return PushResult(repo_url, commit.commit_url, commit.oid, commit.pr_url)

    try:
        repo_url = str(api.create_repo(repo_id, private=private, exist_ok=True))
        if branch != "main":
            api.create_branch(repo_id, branch=branch, exist_ok=True)
        pull_requests_before = open_pull_requests(api, repo_id) if create_pr else set()
        return with_retries(commit_once, f"upload to {repo_id}")
    except HfHubHTTPError as error:
        raise HubError(describe_hub_error(error, repo_id, revision)) from error
    except (httpx2.ConnectError, httpx2.ConnectTimeout) as error:
        raise HubError(unreachable(api, error, "push")) from error
    except httpx2.TransportError as error:
        raise HubError(f"upload to {repo_id} failed: {first_line(error)}; push again") from error


def open_pull_requests(api: HfApi, repo_id: str) -> set[str]:
    return {ref.ref for ref in api.list_repo_refs(repo_id, include_pull_requests=True).pull_requests}


def find_landed_push(
    api: HfApi, repo_id: str, branch: str, create_pr: bool, push_id: str, pull_requests_before: set[str]
) -> PushResult | None:
    """The commit (or pull request) of push `push_id` if an attempt whose answer was lost made it, else None:
    committing again would land the same files twice (and open a second pull request)."""
    repo_url = f"{api.endpoint}/{repo_id}"
    if create_pr:
        new_refs = open_pull_requests(api, repo_id) - pull_requests_before
        for ref in new_refs:
            head = api.list_repo_commits(repo_id, revision=ref)[0]
            if push_id in f"{head.title}\n{head.message}":
                number = ref.removeprefix("refs/pr/")
                return PushResult(
                    repo_url, f"{repo_url}/commit/{head.commit_id}", head.commit_id, f"{repo_url}/discussions/{number}"
                )
        return None
    for commit in api.list_repo_commits(repo_id, revision=branch):
        if push_id in f"{commit.title}\n{commit.message}":
            return PushResult(repo_url, f"{repo_url}/commit/{commit.commit_id}", commit.commit_id, None)
    return None


def pull_model_folder(
    repo_id: str, revision: str | None = None, output: str | Path | None = None, token: str | None = None
) -> PullResult:
    """Download a model repo into the Hub cache (or take it from there), check every file against the repo's
    metadata, load it as `check_model_folder` does, and, with `output`, put the checked files there. Returns the
    folder, how it was checked, and the model loaded (on the CPU).

    The revision is resolved to a commit once, and both the download and the check use that commit, so that a
    push in between cannot make good files look corrupt. The download goes to the cache, never into `output`: a
    cut transfer resumes there on the next pull, and `output` (which must be empty or one of our model folders) is
    replaced in one step only once every file has passed the check (`folders.atomic.replace_folder`), so a pull
    that fails for any reason leaves the previous folder as it was.
    """
    if output is not None:
        try:
            output = check_output_dir(output)
        except (OutputError, OSError) as error:  # OSError: FolderBusy, another process is writing the folder
            raise HubError(str(error)) from error
    api = HfApi(token=token)
    try:
        commit = resolve_commit(api, repo_id, revision)
        snapshot = Path(
            with_retries(
                lambda: snapshot_download(repo_id, revision=commit, token=token, local_files_only=hub_offline()),
                f"download of {repo_id}",
            )
        )
        files, verification = (
            verify_against_cache(snapshot) if hub_offline() else verify_against_hub(snapshot, api, repo_id, commit)
        )
    except (HfHubHTTPError, LocalEntryNotFoundError, EntryNotFoundError, RevisionResolutionError) as error:
        raise HubError(describe_hub_error(error, repo_id, revision)) from error
    except (httpx2.ConnectError, httpx2.ConnectTimeout) as error:
        raise HubError(unreachable(api, error, "pull", repo_id)) from error
    except (OSError, httpx2.TransportError) as error:
        raise HubError(
            f"download of {repo_id} failed: {first_line(error)}; pull again (it resumes from the cache)"
        ) from error
    # Loading attaches the folder's tokenizer after checking it against the table: no second parse is needed.
    model = check_model_folder(snapshot, name=repo_id)
    if output is None:
        return PullResult(snapshot, verification, model)
    place_files(snapshot, files, output)
    return PullResult(output, verification, model)


def resolve_commit(api: HfApi, repo_id: str, revision: str | None) -> str:
    """The commit `revision` names, recorded in the cache so that an offline pull finds it later.

    Online, the Hub must answer first: when it cannot be reached, `resolve_revision` falls back on the commit the
    cache recorded, and the check against the Hub would then retry for half a minute before failing.
    """
    if not hub_offline():
        with_retries(lambda: api.repo_info(repo_id, revision=revision), f"resolving {revision or 'main'} of {repo_id}")
    resolved = with_retries(
        lambda: api.resolve_revision(repo_id, revision=revision, local_files_only=hub_offline()),
        f"resolving {revision or 'main'} of {repo_id}",
    )
    return resolved.resolved


def unreachable(api: HfApi, error: BaseException, action: str, repo_id: str | None = None) -> str:
    """One line for a Hub that cannot be reached: where, why, and what can be done without it."""
    message = f"cannot reach the Hub at {api.endpoint} ({first_line(error)}): check the connection and {action} again"
    if repo_id is not None and in_cache(repo_id):
        message += f"; {repo_id} was pulled before, so HF_HUB_OFFLINE=1 uses the cached copy"
    return message


def in_cache(repo_id: str) -> bool:
    from huggingface_hub import constants
    from huggingface_hub.file_download import repo_folder_name

    snapshots = Path(constants.HF_HUB_CACHE) / repo_folder_name(repo_id=repo_id, repo_type="model") / "snapshots"
    return snapshots.is_dir() and any(snapshots.iterdir())


def place_files(snapshot: Path, files: list[str], output: Path) -> None:
    """Copy the checked files from the cache into `output`, replacing it in one step (copies, not links into the
    cache: a user who edits a file of the folder must not change the cached blob)."""

    def fill(staging: Path) -> None:
        for name in files:
            target = staging / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(snapshot / name, target)

    def model_size() -> str:
        return f"the model takes {readable_size(sum((snapshot / name).stat().st_size for name in files))}"

    try:
        # Checked again now: the download may have taken minutes, and the folder may have changed meanwhile.
        replace_or_refuse(check_output_dir(output), fill, model_size)
    except OutputError as error:
        raise HubError(str(error)) from error
    except OSError as error:
        raise HubError(f"could not write {output}: {first_line(error)}; {output} is as it was") from error


def safe_repo_path(path: str) -> bool:
    """A repo file name that stays inside the folder it is placed in."""
    parts = PurePosixPath(path).parts
    return bool(parts) and not path.startswith("/") and "\\" not in path and ".." not in parts


def verify_against_hub(folder: Path, api: HfApi, repo_id: str, commit: str) -> tuple[list[str], str]:
    """Compare every file of the downloaded commit with the repo's tree: the size of each, the sha256 of LFS files
    and the git blob id of the others. Returns the files and a summary."""
    entries = with_retries(
        lambda: [
            entry
            for entry in api.list_repo_tree(repo_id, revision=commit, recursive=True)
            if isinstance(entry, RepoFile)
        ],
        f"listing the files of {repo_id}",
    )
    for entry in entries:
        if not safe_repo_path(entry.path):
            raise HubError(f"{repo_id} lists a file outside the repository ({entry.path!r}); nothing was written")
    for entry in entries:
        local = folder / entry.path
        problem = None
        if not local.exists():
            problem = "is missing"
        elif local.stat().st_size != entry.size:
            problem = f"has {local.stat().st_size} bytes, the repo says {entry.size}"
        elif entry.lfs is not None and sha256_of(local) != entry.lfs.sha256:
            problem = "does not match the repo's sha256"
        elif entry.lfs is None and git_blob_id(local) != entry.blob_id:
            problem = "does not match the repo's git blob id"
        if problem:
            discard(local)
            raise HubError(f"{entry.path} {problem}: the download is corrupt and was removed; pull again")
    return [entry.path for entry in entries], (
        f"{len(entries)} files match the repo's sizes and hashes (sha256 of LFS files, git blob id of the others) at "
        f"commit {commit}"
    )


def verify_against_cache(folder: Path) -> tuple[list[str], str]:
    """Offline: an LFS file in the cache is stored under its sha256, so check the content against that name."""
    files, checked = [], 0
    for link in sorted(folder.rglob("*")):
        if link.is_dir():
            continue
        files.append(link.relative_to(folder).as_posix())
        if not link.is_symlink():
            continue
        blob_name = Path(os.readlink(link)).name
        if len(blob_name) == 64 and all(c in "0123456789abcdef" for c in blob_name):
            if sha256_of(link) != blob_name:
                raise HubError(f"{link.name} in the cache does not match its sha256; pull again online")
            checked += 1
    return files, f"offline: {checked} LFS files match the sha256 the cache recorded"


def git_blob_id(path: Path) -> str:
    """The id git (and the Hub) gives a file's content: sha1 of a "blob SIZE\\0" header and the content."""
    return hex_digest(path, hashlib.sha1(b"blob %d\0" % path.stat().st_size))


def sha256_of(path: Path) -> str:
    return hex_digest(path, hashlib.sha256())


def hex_digest(path: Path, digest: hashlib._Hash) -> str:
    """`digest` fed with the file's content, a block at a time."""
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def discard(path: Path) -> None:
    target = path.resolve()
    path.unlink(missing_ok=True)
    if target != path:
        target.unlink(missing_ok=True)


def first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def describe_hub_error(error: Exception, repo_id: str, revision: str | None) -> str:
    """One line that says what went wrong and what to do."""
    if isinstance(error, GatedRepoError):
        return f"{repo_id} is gated: accept its conditions on the Hub, then pass a token with access"
    if isinstance(error, RepositoryNotFoundError):
        if "Invalid credentials" in str(error):
            return REFUSED_TOKEN
        return (
            f"repository {repo_id} not found, or it is private and this token cannot read it: check the name, "
            "or pass a token with access (HF_TOKEN or `hf auth login`)"
        )
    if isinstance(error, RevisionNotFoundError):
        return f"revision {revision!r} not found in {repo_id}: check the branch, tag or commit"
    if isinstance(error, LocalEntryNotFoundError | RevisionResolutionError):
        return (
            f"{repo_id} is not in the local cache and downloading is off (HF_HUB_OFFLINE=1 or no connection): "
            "pull it once online"
        )
    if isinstance(error, EntryNotFoundError):
        return f"a file is missing from {repo_id}: {first_line(error)}"
    if isinstance(error, HfHubHTTPError):
        status = error.response.status_code if error.response is not None else None
        if status == 401:
            return REFUSED_TOKEN
        if status == 403:
            return f"this token may not write to {repo_id}: {first_line(error)}"
        return f"the Hub answered {status} for {repo_id}: {first_line(error)}"
    return first_line(error)
