"""A Hub-compatible HTTP server on 127.0.0.1 for testing the real huggingface_hub and transformers clients.

It serves the contract in ../shared/docs/hub-protocol.md for model repositories: repo creation, the preupload /
LFS batch / commit upload flow, repo info, tree listing, file resolution with Range requests, refs, commits,
branches and tags, with tokens, private repositories and namespaces. Faults can be injected: fail the next
matching requests with a status code (before or after the request took effect, as when a commit lands but its
answer is lost), cut a download off after a part of the file, list files that no commit holds (such as a name
outside the repository), or run an action (such as another client's push) after a request.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

LFS_SUFFIXES = (".safetensors", ".bin", ".png", ".pt", ".npy")
LFS_THRESHOLD = 10 * 1024 * 1024


def git_blob_oid(content: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


@dataclass
class StoredFile:
    content: bytes
    lfs: bool

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    @property
    def blob_oid(self) -> str:
        if self.lfs:
            pointer = (
                f"version https://git-lfs.github.com/spec/v1\noid sha256:{self.sha256}\nsize {len(self.content)}\n"
            )
            return git_blob_oid(pointer.encode())
        return git_blob_oid(self.content)


@dataclass
class Commit:
    oid: str
    parent: str | None
    files: dict[str, StoredFile]
    title: str
    message: str
    author: str
    date: str


@dataclass
class Repo:
    repo_id: str
    owner: str
    private: bool
    refs: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    commits: dict[str, Commit] = field(default_factory=dict)
    pull_requests: int = 0


@dataclass
class Fault:
    """Answer the next `times` requests whose method matches and whose path contains `path_part` with `status`;
    with `after_effect` the request is carried out first and only its answer is replaced."""

    method: str
    path_part: str
    status: int
    times: int = 1
    after_effect: bool = False


@dataclass
class Cut:
    """Send only the first `keep` share of the next `times` downloads whose path contains `path_part`, then close
    the connection, as a network that drops in the middle of a transfer does."""

    path_part: str
    times: int = 1
    keep: float = 1 / 3


@dataclass
class Trigger:
    """Run `action` once, after the first request whose method matches and whose path contains `path_part`."""

    method: str
    path_part: str
    action: Callable[[], None]
    done: bool = False


class HubError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None):
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


class HubState:
    def __init__(self, tokens: dict[str, str]):
        self.tokens = tokens
        self.repos: dict[str, Repo] = {}
        self.lfs_objects: dict[str, bytes] = {}
        self.faults: list[Fault] = []
        self.triggers: list[Trigger] = []
        self.cut_downloads: list[Cut] = []
        # Files every revision lists and serves besides its own, as a compromised or buggy Hub might.
        self.extra_listed: dict[str, StoredFile] = {}
        self.requests: list[tuple[str, str]] = []
        self.lock = threading.RLock()

    def new_commit(self, repo: Repo, parent: str | None, files: dict, title: str, message: str, author: str) -> Commit:
        oid = hashlib.sha1(f"{repo.repo_id}{parent}{title}{uuid.uuid4()}".encode()).hexdigest()
        commit = Commit(oid, parent, files, title, message, author, now())
        repo.commits[oid] = commit
        return commit

    def resolve(self, repo: Repo, revision: str) -> Commit:
        revision = unquote(revision)
        oid = repo.refs.get(revision) or repo.tags.get(revision)
        if oid is None and revision in repo.commits:
            oid = revision
        if oid is None:
            raise HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")
        return repo.commits[oid]

    def files_of(self, commit: Commit) -> dict[str, StoredFile]:
        return {**commit.files, **self.extra_listed}


class HubHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: HubServer

    def log_message(self, format, *args):  # the test output stays readable
        pass

    # ---------------------------------------------------------------- plumbing

    @property
    def state(self) -> HubState:
        return self.server.state

    @property
    def endpoint(self) -> str:
        return self.server.endpoint

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, body: bytes = b"", headers: dict | None = None, content_type="application/json"):
        if self._lost_answer is not None:
            status, body, headers = self._lost_answer, b'{"error": "injected fault"}', {}
            content_type = "application/json"
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, payload, status: int = 200, headers: dict | None = None):
        self._send(status, json.dumps(payload).encode(), headers)

    def _error(self, error: HubError):
        headers = {"X-Error-Message": error.message}
        if error.code:
            headers["X-Error-Code"] = error.code
        self._json({"error": error.message}, error.status, headers)

    def _user(self) -> str | None:
        authorization = self.headers.get("Authorization", "")
        if not authorization.startswith("Bearer "):
            return None
        user = self.state.tokens.get(authorization.removeprefix("Bearer ").strip())
        if user is None:
            raise HubError(401, "Invalid credentials in Authorization header")
        return user

    def _repo(self, repo_id: str, write: bool = False) -> Repo:
        user = self._user()
        repo = self.state.repos.get(repo_id)
        if repo is None or (repo.private and user != repo.owner):
            if user is None:
                raise HubError(401, "Repository not found", "RepoNotFound")
            raise HubError(404, "Repository not found", "RepoNotFound")
        if write and user != repo.owner:
            raise HubError(403, f"You don't have the rights to write to {repo_id}")
        return repo

    def _matching_fault(self) -> Fault | None:
        with self.state.lock:
            for fault in self.state.faults:
                if fault.times > 0 and fault.method == self.command and fault.path_part in self.path:
                    fault.times -= 1
                    return fault
        return None

    def _run_triggers(self):
        with self.state.lock:
            due = [
                trigger
                for trigger in self.state.triggers
                if not trigger.done and trigger.method == self.command and trigger.path_part in self.path
            ]
            for trigger in due:
                trigger.done = True
        for trigger in due:
            trigger.action()

    def _dispatch(self):
        self.state.requests.append((self.command, self.path))
        self._lost_answer = None
        fault = self._matching_fault()
        if fault is not None and not fault.after_effect:
            self._body()
            self._json({"error": "injected fault"}, fault.status)
            return
        if fault is not None:
            self._lost_answer = fault.status
        url = urlsplit(self.path)
        parts = [unquote(part) for part in url.path.strip("/").split("/")]
        query = {key: values[-1] for key, values in parse_qs(url.query).items()}
        try:
            self._route(parts, query)
        except HubError as error:
            self._error(error)
        self._run_triggers()

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = lambda self: self._dispatch()

    # ---------------------------------------------------------------- routes

    def _route(self, parts: list[str], query: dict):
        method = self.command
        if parts[:2] == ["api", "repos"]:
            return self._create_repo() if parts[2:] == ["create"] else self._delete_repo()
        if parts == ["api", "whoami-v2"]:
            user = self._user()
            if user is None:
                raise HubError(401, "Invalid credentials in Authorization header")
            return self._json({"type": "user", "name": user, "orgs": [], "auth": {"type": "access_token"}})
        if parts == ["api", "validate-yaml"]:
            self._body()
            return self._json({"errors": [], "warnings": []})
        if parts[:2] == ["api", "models"] and len(parts) >= 4:
            return self._api_models(f"{parts[2]}/{parts[3]}", parts[4:], query)
        if parts[0] == "lfs-upload" and method == "PUT":
            return self._lfs_put(parts[1])
        if len(parts) >= 3 and parts[1].endswith(".git") and parts[2:] == ["info", "lfs", "objects", "batch"]:
            return self._lfs_batch(f"{parts[0]}/{parts[1].removesuffix('.git')}")
        if len(parts) >= 5 and parts[2] == "resolve":
            return self._resolve(f"{parts[0]}/{parts[1]}", parts[3], "/".join(parts[4:]))
        raise HubError(404, f"no route for {method} {self.path}")

    def _create_repo(self):
        user = self._user()
        if user is None:
            raise HubError(401, "You must be authenticated to create a repository")
        payload = json.loads(self._body() or b"{}")
        namespace = payload.get("organization") or user
        repo_id = f"{namespace}/{payload['name']}"
        if namespace != user:
            raise HubError(403, f"You don't have the rights to create a model under the namespace {namespace}")
        url = f"{self.endpoint}/{repo_id}"
        with self.state.lock:
            if repo_id in self.state.repos:
                return self._json({"error": "You already created this model repo", "url": url}, 409)
            # huggingface_hub 2.4 sends "visibility"; older clients send "private".
            private = bool(payload.get("private")) or payload.get("visibility") == "private"
            repo = Repo(repo_id=repo_id, owner=user, private=private)
            gitattributes = StoredFile(b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n", lfs=False)
            commit = self.state.new_commit(repo, None, {".gitattributes": gitattributes}, "initial commit", "", user)
            repo.refs["main"] = commit.oid
            self.state.repos[repo_id] = repo
        return self._json({"url": url, "name": repo_id})

    def _delete_repo(self):
        payload = json.loads(self._body() or b"{}")
        repo_id = f"{payload.get('organization') or self._user()}/{payload['name']}"
        self._repo(repo_id, write=True)
        del self.state.repos[repo_id]
        return self._json({})

    def _api_models(self, repo_id: str, rest: list[str], query: dict):
        if not rest:
            return self._repo_info(repo_id, "main", query)
        action = rest[0]
        if action == "revision":
            return self._repo_info(repo_id, "/".join(rest[1:]), query)
        if action == "tree":
            return self._tree(repo_id, rest[1], "/".join(rest[2:]), query)
        if action == "preupload":
            return self._preupload(repo_id, "/".join(rest[1:]))
        if action == "commit":
            return self._commit(repo_id, "/".join(rest[1:]), query)
        if action == "refs":
            repo = self._repo(repo_id)
            branches = [
                {"name": n, "ref": f"refs/heads/{n}", "targetCommit": o}
                for n, o in repo.refs.items()
                if not n.startswith("refs/pr/")
            ]
            tags = [{"name": n, "ref": f"refs/tags/{n}", "targetCommit": o} for n, o in repo.tags.items()]
            payload = {"branches": branches, "tags": tags, "converts": []}
            if query.get("include_prs") in ("1", "true", "True"):
                payload["pullRequests"] = [
                    {"name": n, "ref": n, "targetCommit": o} for n, o in repo.refs.items() if n.startswith("refs/pr/")
                ]
            return self._json(payload)
        if action == "commits":
            return self._commits(repo_id, "/".join(rest[1:]))
        if action == "branch":
            return self._create_branch(repo_id, "/".join(rest[1:]))
        if action == "tag":
            return self._create_tag(repo_id, "/".join(rest[1:]))
        raise HubError(404, f"no route for {self.command} {self.path}")

    def _repo_info(self, repo_id: str, revision: str, query: dict):
        repo = self._repo(repo_id)
        commit = self.state.resolve(repo, revision)
        siblings = []
        for path, stored in sorted(self.state.files_of(commit).items()):
            sibling = {"rfilename": path}
            if query.get("blobs") in ("true", "True", "1"):
                sibling.update(size=len(stored.content), blobId=stored.blob_oid)
                if stored.lfs:
                    sibling["lfs"] = {"sha256": stored.sha256, "size": len(stored.content), "pointerSize": 134}
            siblings.append(sibling)
        return self._json(
            {
                "_id": hashlib.md5(repo_id.encode()).hexdigest()[:24],
                "id": repo_id,
                "modelId": repo_id,
                "author": repo.owner,
                "sha": commit.oid,
                "lastModified": commit.date,
                "createdAt": commit.date,
                "private": repo.private,
                "disabled": False,
                "gated": False,
                "downloads": 0,
                "likes": 0,
                "tags": [],
                "siblings": siblings,
            }
        )

    def _tree(self, repo_id: str, revision: str, path: str, query: dict):
        repo = self._repo(repo_id)
        commit = self.state.resolve(repo, revision)
        prefix = f"{path.strip('/')}/" if path.strip("/") else ""
        recursive = query.get("recursive") in ("true", "True", "1")
        entries, folders = [], set()
        for file_path, stored in sorted(self.state.files_of(commit).items()):
            if not file_path.startswith(prefix):
                continue
            relative = file_path[len(prefix) :]
            if "/" in relative and not recursive:
                folders.add(prefix + relative.split("/")[0])
                continue
            if recursive:
                pieces = relative.split("/")[:-1]
                folders.update(prefix + "/".join(pieces[: i + 1]) for i in range(len(pieces)))
            entry = {"type": "file", "oid": stored.blob_oid, "size": len(stored.content), "path": file_path}
            if stored.lfs:
                entry["lfs"] = {"oid": stored.sha256, "size": len(stored.content), "pointerSize": 134}
            entries.append(entry)
        if prefix and not entries and not folders:
            raise HubError(404, f"{path} does not exist on {revision}", "EntryNotFound")
        for folder in sorted(folders):
            entries.append({"type": "directory", "oid": hashlib.sha1(folder.encode()).hexdigest(), "path": folder})
        return self._json(entries)

    def _preupload(self, repo_id: str, revision: str):
        self._repo(repo_id, write=True)
        payload = json.loads(self._body())
        files = []
        for item in payload["files"]:
            lfs = item["path"].endswith(LFS_SUFFIXES) or item["size"] > LFS_THRESHOLD
            files.append({"path": item["path"], "uploadMode": "lfs" if lfs else "regular", "shouldIgnore": False})
        return self._json({"files": files, "commitOid": None})

    def _lfs_batch(self, repo_id: str):
        self._repo(repo_id, write=True)
        payload = json.loads(self._body())
        objects = []
        for item in payload["objects"]:
            entry = {"oid": item["oid"], "size": item["size"], "authenticated": True}
            if item["oid"] not in self.state.lfs_objects:
                entry["actions"] = {"upload": {"href": f"{self.endpoint}/lfs-upload/{item['oid']}"}}
            objects.append(entry)
        return self._json({"transfer": "basic", "objects": objects})

    def _lfs_put(self, oid: str):
        content = self._body()
        if hashlib.sha256(content).hexdigest() != oid:
            raise HubError(400, "uploaded content does not match its sha256")
        self.state.lfs_objects[oid] = content
        return self._json({})

    def _commit(self, repo_id: str, revision: str, query: dict):
        user = self._user()
        repo = self._repo(repo_id, write=True)
        lines = [json.loads(line) for line in self._body().decode().splitlines() if line.strip()]
        header = next(line["value"] for line in lines if line["key"] == "header")
        with self.state.lock:
            parent = self.state.resolve(repo, revision)
            if header.get("parentCommit") and header["parentCommit"] != parent.oid:
                raise HubError(412, "A commit has happened since the parent commit")
            files = dict(parent.files)
            for line in lines:
                key, value = line["key"], line["value"]
                if key == "file":
                    files[value["path"]] = StoredFile(base64.b64decode(value["content"]), lfs=False)
                elif key == "lfsFile":
                    if value["oid"] not in self.state.lfs_objects:
                        raise HubError(422, f"LFS object {value['oid']} was never uploaded")
                    files[value["path"]] = StoredFile(self.state.lfs_objects[value["oid"]], lfs=True)
                elif key == "deletedFile":
                    files.pop(value["path"], None)
                elif key == "deletedFolder":
                    folder = value["path"].rstrip("/") + "/"
                    files = {path: stored for path, stored in files.items() if not path.startswith(folder)}
            title = header.get("summary") or "Upload"
            commit = self.state.new_commit(repo, parent.oid, files, title, header.get("description", ""), user)
            pull_request_url = None
            if query.get("create_pr") in ("1", "true", "True"):
                repo.pull_requests += 1
                repo.refs[f"refs/pr/{repo.pull_requests}"] = commit.oid
                pull_request_url = f"{self.endpoint}/{repo_id}/discussions/{repo.pull_requests}"
            else:
                repo.refs[unquote(revision)] = commit.oid
        return self._json(
            {
                "commitUrl": f"{self.endpoint}/{repo_id}/commit/{commit.oid}",
                "commitOid": commit.oid,
                "pullRequestUrl": pull_request_url,
            }
        )

    def _commits(self, repo_id: str, revision: str):
        repo = self._repo(repo_id)
        commit = self.state.resolve(repo, revision)
        history = []
        while commit is not None:
            history.append(
                {
                    "id": commit.oid,
                    "title": commit.title,
                    "message": commit.message,
                    "authors": [{"user": commit.author}],
                    "date": commit.date,
                }
            )
            commit = repo.commits.get(commit.parent) if commit.parent else None
        return self._json(history)

    def _create_branch(self, repo_id: str, branch: str):
        repo = self._repo(repo_id, write=True)
        payload = json.loads(self._body() or b"{}")
        if branch in repo.refs:
            raise HubError(409, f"Reference refs/heads/{branch} already exists")
        repo.refs[branch] = self.state.resolve(repo, payload.get("startingPoint") or "main").oid
        return self._json({})

    def _create_tag(self, repo_id: str, revision: str):
        repo = self._repo(repo_id, write=True)
        payload = json.loads(self._body() or b"{}")
        if payload["tag"] in repo.tags:
            raise HubError(409, f"Tag {payload['tag']} already exists")
        repo.tags[payload["tag"]] = self.state.resolve(repo, revision).oid
        return self._json({})

    def _resolve(self, repo_id: str, revision: str, path: str):
        repo = self._repo(repo_id)
        commit = self.state.resolve(repo, revision)
        stored = self.state.files_of(commit).get(path)
        if stored is None:
            raise HubError(404, f"{path} does not exist on {revision}", "EntryNotFound")
        headers = {"X-Repo-Commit": commit.oid, "Accept-Ranges": "bytes"}
        if stored.lfs:
            headers.update(
                {
                    "ETag": f'"{stored.sha256}"',
                    "X-Linked-Etag": f'"{stored.sha256}"',
                    "X-Linked-Size": str(len(stored.content)),
                }
            )
        else:
            headers["ETag"] = f'"{stored.blob_oid}"'
        content = stored.content
        status = 200
        range_header = self.headers.get("Range")
        if range_header and range_header.startswith("bytes="):
            start_text, _, end_text = range_header.removeprefix("bytes=").partition("-")
            start = int(start_text or 0)
            end = int(end_text) if end_text else len(content) - 1
            headers["Content-Range"] = f"bytes {start}-{end}/{len(content)}"
            content = content[start : end + 1]
            status = 206
        keep = self._cut(path) if self.command == "GET" else None
        if keep is not None:
            self.send_response(status)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(content)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(content[: int(len(content) * keep)])
            self.wfile.flush()
            self.close_connection = True
            return None
        return self._send(status, content, headers, content_type="application/octet-stream")

    def _cut(self, path: str) -> float | None:
        """The share of the file to send if this download is to be cut, else None."""
        with self.state.lock:
            for cut in self.state.cut_downloads:
                if cut.times > 0 and cut.path_part in path:
                    cut.times -= 1
                    return cut.keep
        return None


class HubServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, tokens: dict[str, str]):
        super().__init__(("127.0.0.1", 0), HubHandler)
        self.state = HubState(tokens)
        self.endpoint = f"http://127.0.0.1:{self.server_address[1]}"
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    def __enter__(self) -> HubServer:
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.shutdown()
        self.server_close()
        self._thread.join(timeout=5)

    def fail_next(self, method: str, path_part: str, status: int = 500, times: int = 1) -> Fault:
        fault = Fault(method, path_part, status, times)
        self.state.faults.append(fault)
        return fault

    def lose_answer(self, method: str, path_part: str, status: int = 502, times: int = 1) -> Fault:
        """Carry out the next matching requests but answer `status`, as when a proxy drops the Hub's answer."""
        fault = Fault(method, path_part, status, times, after_effect=True)
        self.state.faults.append(fault)
        return fault

    def after_request(self, method: str, path_part: str, action: Callable[[], None]) -> Trigger:
        trigger = Trigger(method, path_part, action)
        self.state.triggers.append(trigger)
        return trigger

    def cut_download(self, path_part: str, times: int = 1, keep: float = 1 / 3) -> Cut:
        cut = Cut(path_part, times, keep)
        self.state.cut_downloads.append(cut)
        return cut

    def list_extra_file(self, path: str, content: bytes) -> None:
        """Make every revision list and serve `path` (which may name a place outside the repository)."""
        self.state.extra_listed[path] = StoredFile(content, lfs=False)
