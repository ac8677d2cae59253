"""The independent verifier in ../shared/tools/vc-verify (Digital Bazaar's libraries, Node), run offline.

The tool's folder is read-only and has no node_modules, so it is copied once into .cache/vc-verify/
(keyed by its package-lock.json) and `npm ci` installs its packages there; a lock keeps parallel test
workers from installing twice. Where Node or the tool is missing the tests that need it skip and say
why, except under CI, where that is a failure.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TOOL = Path(os.environ.get("LMS_VC_VERIFY_DIR", REPO.parent / "shared" / "tools" / "vc-verify"))
SCHEMA = Path(os.environ.get("LMS_OB_SCHEMA",
                             REPO.parent / "shared" / "spec" / "ob_v3p0_achievementcredential_schema.json"))
CACHE = REPO / ".cache" / "vc-verify"


@dataclass
class Verdict:
    verified: bool
    proof_verified: bool
    errors: list[str]
    warnings: list[str]


def _unavailable(reason: str):
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (under CI the shared verifier must run)")
    pytest.skip(reason)


def prepared_tool() -> Path:
    """The verifier's folder with its packages installed; skips (fails under CI) when it cannot be."""
    node = shutil.which("node")
    if node is None:
        _unavailable("Node is not installed: the shared verifier (../shared/tools/vc-verify) needs Node 20")
    if not (TOOL / "verify.mjs").exists():
        _unavailable(f"the shared verifier is not at {TOOL} (set LMS_VC_VERIFY_DIR to its folder)")
    lock_digest = hashlib.sha256((TOOL / "package-lock.json").read_bytes()).hexdigest()[:16]
    target = CACHE / lock_digest
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / ".installed").exists():
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(TOOL, target, ignore=shutil.ignore_patterns("node_modules", "out"))
            result = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=target, capture_output=True,
                                    text=True, timeout=600, check=False)
            if result.returncode != 0:
                _unavailable(f"npm ci for the shared verifier failed: {result.stderr.strip()[-500:]}")
            (target / ".installed").touch()
    return target


def verify_files(paths: list[Path], *, schema: bool = True, now: str | None = None) -> list[Verdict]:
    tool = prepared_tool()
    args = ["node", "verify.mjs"]
    if schema:
        if not SCHEMA.exists():
            _unavailable(f"the OB 3.0 JSON Schema is not at {SCHEMA} (set LMS_OB_SCHEMA)")
        args.append(f"--schema={SCHEMA}")
    if now:
        args.append(f"--now={now}")
    result = subprocess.run([*args, *map(str, paths)], cwd=tool, capture_output=True, text=True, timeout=300,
                            check=False)  # exit 1 means "not all verified": the verdicts say which
    verdicts = []
    for line in result.stdout.splitlines():
        if line.startswith("{"):
            data = json.loads(line)
            verdicts.append(Verdict(data["verified"], data.get("proofVerified", False), data.get("errors", []),
                                    data.get("warnings", [])))
    assert len(verdicts) == len(paths), (result.stdout, result.stderr)
    return verdicts


def verify_documents(tmp_path: Path, documents: list[dict], **kwargs) -> list[Verdict]:
    paths = []
    for index, document in enumerate(documents):
        path = tmp_path / f"credential-{index}.json"
        path.write_text(json.dumps(document, ensure_ascii=False, indent=2), encoding="utf-8")
        paths.append(path)
    return verify_files(paths, **kwargs)
