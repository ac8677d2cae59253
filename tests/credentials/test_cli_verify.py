"""`flask credentials verify`: files in, a verdict per file with its reasons, exit 1 unless all are valid.

The status list is served by a real HTTP server on localhost, as the platform would serve it.
"""

from __future__ import annotations

import copy
import http.server
import json
import threading

import pytest

from lms.credentials import keys, proof, status_list
from lms.credentials.document import StatusEntry, build_credential
from lms.credentials.fetch import fetch_status_list
from tests.credentials.test_document_and_verification import NOW, _content


@pytest.fixture
def served():
    """A localhost HTTP server answering with whatever ``documents[path]`` holds (404 otherwise)."""
    documents: dict[str, bytes] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the http.server API)
            body = documents.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", documents
    server.shutdown()


def _issue(key, list_url: str) -> dict:
    content = _content(keys.did_key(key.public_key()), status=StatusEntry(list_url, 7))
    return proof.sign(build_credential(content), key, keys.did_key_verification_method(key.public_key()), NOW)


def _publish(documents, key, list_url: str, path: str, revoked=()) -> None:
    bits = status_list.empty_bitstring()
    for index in revoked:
        status_list.set_bit(bits, index)
    listing = status_list.status_list_credential(list_url, keys.did_key(key.public_key()), bits, NOW)
    documents[path] = json.dumps(proof.sign(listing, key, keys.did_key_verification_method(key.public_key()),
                                            NOW)).encode()


def test_verify_reports_valid_revoked_and_tampered_files(app, tmp_path, served):
    base, documents = served
    key = keys.generate_private_key()
    list_url = f"{base}/credentials/status/1"
    credential = _issue(key, list_url)
    good = tmp_path / "good.json"
    good.write_text(json.dumps(credential), encoding="utf-8")
    _publish(documents, key, list_url, "/credentials/status/1")
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["credentials", "verify", str(good)])
    assert ok.exit_code == 0, ok.output
    assert f"{good}: valid" in ok.output and "revocation: not revoked" in ok.output
    _publish(documents, key, list_url, "/credentials/status/1", revoked=(7,))
    revoked = runner.invoke(args=["credentials", "verify", str(good)])
    assert revoked.exit_code == 1 and f"{good}: revoked" in revoked.output
    offline = runner.invoke(args=["credentials", "verify", "--offline", str(good)])
    assert offline.exit_code == 1 and "status unknown" in offline.output
    tampered = copy.deepcopy(credential)
    tampered["credentialSubject"]["name"] = "Someone Else"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(tampered), encoding="utf-8")
    junk = tmp_path / "junk.json"
    junk.write_text("not json at all", encoding="utf-8")
    both = runner.invoke(args=["credentials", "verify", str(bad), str(junk)])
    assert both.exit_code == 1
    assert f"{bad}: invalid" in both.output and "signature: The signature does not match" in both.output
    assert f"{junk}: not checked: That is not JSON" in both.output


def test_fetching_a_status_list_that_is_missing_or_not_json_says_why(served):
    base, documents = served
    documents["/text"] = b"hello"
    documents["/array"] = b"[1]"
    with pytest.raises(LookupError, match="Not Found"):
        fetch_status_list(f"{base}/missing")
    with pytest.raises(LookupError, match="not JSON"):
        fetch_status_list(f"{base}/text")
    with pytest.raises(LookupError, match="not a JSON object"):
        fetch_status_list(f"{base}/array")
    with pytest.raises(LookupError, match="only http"):
        fetch_status_list("file:///etc/passwd")
