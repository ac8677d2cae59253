"""Sharing services: the LinkedIn link, the QR code, baking credentials into PNG and SVG badges and back."""

from __future__ import annotations

import json
import re
import struct
import zlib
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit
from xml.etree import ElementTree

import pytest
import segno
from defusedxml.ElementTree import fromstring as defused_fromstring

from lms.credentials import keys, proof, sharing
from lms.credentials.models import Credential
from tests.credentials.test_proof import sample_credential

ROOT = Path(__file__).resolve().parents[2]
PROJECT_SVGS = sorted([*ROOT.glob("lms/static/*.svg"), *ROOT.glob("courses/*/assets/*.svg")])
PROJECT_PNGS = sorted(ROOT.glob("courses/*/assets/*.png"))
OB = "{https://purl.imsglobal.org/ob/v3p0}"
SVG = "{http://www.w3.org/2000/svg}"
SIGNED_AT = datetime(2026, 12, 6, 13, 0, tzinfo=UTC)
NOT_A_BADGE = "upload the credential's .json file or a baked PNG/SVG badge"


@pytest.fixture(scope="module")
def credential() -> dict:
    """A signed credential with what breaks careless baking: non-ASCII, emoji, "]]>", markup, quotes."""
    key = keys.generate_private_key()
    document = sample_credential(keys.did_key(key.public_key()), learner="Zoë Ångström 🎓")
    document["credentialSubject"]["achievement"]["description"] = (
        'Ends a CDATA section: ]]> and <script>alert("x")</script> & «guillemets» — 中文 🎉')
    return proof.sign(document, key, keys.did_key_verification_method(key.public_key()), SIGNED_AT)


def _verified(document: dict) -> bool:
    return proof.verify(document, keys.public_key_from_did_key).verified


# -- LinkedIn ----------------------------------------------------------------------------------------

def test_linkedin_link_fills_in_the_certification_form_with_every_value_encoded():
    url = sharing.linkedin_add_to_profile_url(
        name="Données & analyse: Zoë’s «Python»", organization_name="Skillmark Académie & Co",
        issued_at=datetime(2026, 3, 9, 23, 59, tzinfo=UTC), expires_at=datetime(2028, 11, 1, tzinfo=UTC),
        credential_url="https://learn.example.org/credentials/3f9c?x=1&y=2", credential_id="3f9c")
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "www.linkedin.com", "/profile/add")
    assert " " not in url and "&Co" not in url and "«" not in url  # (all of it percent-encoded)
    assert parse_qsl(parts.query, strict_parsing=True) == [
        ("startTask", "CERTIFICATION_NAME"), ("name", "Données & analyse: Zoë’s «Python»"),
        ("organizationName", "Skillmark Académie & Co"), ("issueYear", "2026"), ("issueMonth", "3"),
        ("expirationYear", "2028"), ("expirationMonth", "11"),
        ("certUrl", "https://learn.example.org/credentials/3f9c?x=1&y=2"), ("certId", "3f9c")]


def test_a_credential_that_does_not_expire_sends_no_expiration(credential):
    issued = Credential(document=credential | {"id": "https://learn.example.org/credentials/abc"}, public_id="abc",
                        issued_at=datetime(2026, 12, 6, tzinfo=UTC), valid_until=None)
    query = dict(parse_qsl(urlsplit(sharing.linkedin_url_for(issued)).query))
    assert query == {"startTask": "CERTIFICATION_NAME", "name": "Data analysis with Python",
                     "organizationName": "Skillmark Académie", "issueYear": "2026", "issueMonth": "12",
                     "certUrl": "https://learn.example.org/credentials/abc", "certId": "abc"}


# -- QR code -----------------------------------------------------------------------------------------

def _dark_modules(path: str) -> set[tuple[int, int]]:
    """The modules a segno SVG path draws: it moves (M, m) and draws horizontal runs (h) of stroke."""
    dark, x, y = set(), 0.0, 0.0
    for command, a, b in re.findall(r"([Mmh])(-?[\d.]+)(?: (-?[\d.]+))?", path):
        if command == "M":
            x, y = float(a), float(b)
        elif command == "m":
            x, y = x + float(a), y + float(b)
        else:
            dark |= {(column, int(y)) for column in range(int(x), int(x + float(a)))}
            x += float(a)
    assert re.sub(r"[Mmh](-?[\d.]+)( -?[\d.]+)?", "", path) == "", "a path command this test cannot read"
    return dark


@pytest.mark.parametrize("url", ["https://learn.example.org/credentials/3f9c1a7e-2b1d-4e55-9a0f-6d8e2c4b7a10",
                                 "https://learn.example.org/c/é?a=1&b=<2>"])
def test_qr_code_is_inline_svg_that_draws_the_urls_code(url):
    markup = sharing.qr_code_svg(url, title='Scan to verify "Data" <now> & here')
    assert markup.startswith("<svg ") and "<?xml" not in markup
    assert "<script" not in markup.lower() and not re.search(r"\son\w+=", markup)
    root = ElementTree.fromstring(markup)  # (well-formed, so it is also a valid .svg file)
    assert root.tag == f"{SVG}svg" and root.get("role") == "img" and root.get("class") == "qr-code"
    assert root.get("width") is None and root.get("height") is None  # CSS sizes it
    assert root.find(f"{SVG}title").text == 'Scan to verify "Data" <now> & here'
    _, _, width, height = map(int, root.get("viewBox").split())
    background, code = root.findall(f"{SVG}path")
    assert background.get("fill") == "#fff" and code.get("stroke") == "#000"  # scans on a dark page too
    matrix = segno.make_qr(url, error="m").matrix
    border = 4  # the quiet zone a scanner needs
    assert width == height == len(matrix) + 2 * border
    expected = {(x + border, y + border) for y, row in enumerate(matrix) for x, bit in enumerate(row) if bit}
    assert _dark_modules(code.get("d")) == expected


# -- PNG ---------------------------------------------------------------------------------------------

def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _make_png(width: int = 5, height: int = 3, *extra: bytes) -> bytes:
    """A real RGB PNG (a small gradient), with ``extra`` chunks before its image data."""
    # Each row: its filter type (0), then red, green and blue for each pixel.
    rows = b"".join(b"\0" + bytes(c for x in range(width) for c in (x * 40 % 256, y * 60 % 256, 200))
                    for y in range(height))
    return (sharing.PNG_SIGNATURE + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + b"".join(extra) + _chunk(b"IDAT", zlib.compress(rows)) + _chunk(b"IEND", b""))


def _walk(png: bytes) -> list[tuple[bytes, bytes]]:
    """Every chunk, asserting its checksum; the file ends with IEND."""
    assert png.startswith(sharing.PNG_SIGNATURE)
    found, offset = [], 8
    while offset < len(png):
        length, kind = struct.unpack_from(">I4s", png, offset)
        data = png[offset + 8:offset + 8 + length]
        assert struct.unpack_from(">I", png, offset + 8 + length)[0] == zlib.crc32(kind + data), kind
        found.append((kind, data))
        offset += 12 + length
    assert found[0][0] == b"IHDR" and found[-1] == (b"IEND", b"")
    return found


def _itxt(text: bytes, keyword: bytes = b"openbadgecredential", compressed: bool = False) -> bytes:
    body = zlib.compress(text) if compressed else text
    return _chunk(b"iTXt", keyword + b"\0" + bytes([compressed, 0]) + b"\0\0" + body)


@pytest.mark.parametrize("png", [_make_png(), *PROJECT_PNGS], ids=lambda p: getattr(p, "name", "generated"))
def test_a_baked_png_is_still_a_valid_png_with_one_credential_chunk_before_iend(png, credential):
    original = png.read_bytes() if isinstance(png, Path) else png
    baked = sharing.bake_png(original, credential)
    chunks = _walk(baked)
    assert chunks[:-2] + chunks[-1:] == _walk(original)  # nothing else moved or changed
    kind, data = chunks[-2]
    assert kind == b"iTXt"
    keyword, rest = data.split(b"\0", 1)
    assert keyword == b"openbadgecredential" and rest[:4] == b"\0\0\0\0"  # uncompressed; no language, no translation
    assert json.loads(rest[4:].decode("utf-8")) == credential
    assert "Zoë Ångström 🎓".encode() in rest  # UTF-8 as it is, not \u escapes
    unbaked = sharing.unbake(baked)
    assert unbaked == credential and _verified(unbaked)


def test_baking_again_replaces_the_credential(credential):
    once = sharing.bake_png(_make_png(), {"id": "urn:uuid:old"})
    twice = sharing.bake_png(once, credential)
    assert [kind for kind, data in _walk(twice) if data.startswith(b"openbadgecredential\0")] == [b"iTXt"]
    assert sharing.unbake_png(twice) == credential
    assert sharing.bake_png(twice, credential) == twice


def test_a_png_without_a_credential_gives_none_and_other_text_chunks_are_kept():
    note = _chunk(b"tEXt", b"Software\0a chart tool")
    png = _make_png(4, 4, note)
    assert sharing.unbake_png(png) is None
    assert (b"tEXt", b"Software\0a chart tool") in _walk(sharing.bake_png(png, {"a": 1}))


def test_a_compressed_credential_chunk_is_read(credential):
    text = json.dumps(credential, ensure_ascii=False).encode()
    assert sharing.unbake(_make_png(3, 3, _itxt(text, compressed=True))) == credential


def _damaged(png: bytes, offset: int, replacement: bytes) -> bytes:
    return png[:offset] + replacement + png[offset + len(replacement):]


PNG = _make_png()
IDAT_AT = 8 + 25  # after the signature and IHDR
BAD_PNGS = {
    "not a PNG": (b"GIF89a\x01\x00\x01\x00", "not a PNG image"),
    "cut short": (PNG[:-20], "cut short"),
    "no IEND": (PNG[:-12], "cut short"),
    "bad checksum": (_damaged(PNG, IDAT_AT + 10, b"\xff"), "checksum of its IDAT chunk does not match"),
    "huge declared length": (_damaged(PNG, IDAT_AT, b"\x7f\xff\xff\xf0"), "claims 2147483632 bytes"),
    "length over 2^31": (_damaged(PNG, IDAT_AT, b"\xff\xff\xff\xff"), "claims 4294967295 bytes"),
    "chunk type not letters": (_damaged(PNG, IDAT_AT + 4, b"ID1T"), "is not four letters"),
    "no header first": (sharing.PNG_SIGNATURE + PNG[IDAT_AT:], "does not begin with its header chunk"),
    "credential chunk incomplete": (_make_png(2, 2, _chunk(b"iTXt", b"openbadgecredential\0")), "incomplete"),
    "unknown compression": (_make_png(2, 2, _chunk(b"iTXt", b"openbadgecredential\0\x01\x07\0\0x")),
                            "unknown compression"),
    "compression garbage": (_make_png(2, 2, _chunk(b"iTXt", b"openbadgecredential\0\x01\0\0\0garbage")),
                            "cannot be decompressed"),
    "compressed stream cut": (_make_png(2, 2, _chunk(b"iTXt", b"openbadgecredential\0\x01\0\0\0"
                                                     + zlib.compress(b'{"a": 1}' * 50)[:-8])), "cut short"),
    "zip bomb": (_make_png(2, 2, _itxt(b"{" + b" " * (50 * 1024 * 1024) + b"}", compressed=True)),
                 "larger than any credential"),
    "credential over 1 MB": (_make_png(2, 2, _itxt(b'{"a": "' + b"x" * (1024 * 1024) + b'"}')),
                             "larger than any credential"),
    "not JSON": (_make_png(2, 2, _itxt(b"{not json")), "not valid JSON"),
    "deeply nested JSON": (_make_png(2, 2, _itxt(b"[" * 200_000)), "not valid JSON"),
    "JSON but no object": (_make_png(2, 2, _itxt(b"[1, 2]")), "not a credential"),
    "not UTF-8": (_make_png(2, 2, _itxt(b'{"a": "\xff"}')), "not UTF-8"),
    "VC-JWT": (_make_png(2, 2, _itxt(b"eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl")), "VC-JWT"),
    "Open Badges 2.0": (_make_png(2, 2, _itxt(b'{"type": "Assertion"}', keyword=b"openbadges")),
                        "Open Badges 2.0"),
    "too large an image": (PNG + b"\0" * sharing.MAX_IMAGE_BYTES, "larger than any badge"),
}


@pytest.mark.parametrize("name", BAD_PNGS)
def test_a_malformed_png_is_refused_with_what_is_wrong(name):
    data, message = BAD_PNGS[name]
    with pytest.raises(ValueError, match=re.escape(message)) as caught:
        sharing.unbake(data) if data.startswith(sharing.PNG_SIGNATURE) else sharing.unbake_png(data)
    assert str(caught.value)[0].isupper() and str(caught.value).endswith(".")  # a sentence for a person


@pytest.mark.parametrize("not_png", [b"", b"<svg xmlns='http://www.w3.org/2000/svg'/>", b"\xff\xd8\xff\xe0JFIF"])
def test_baking_refuses_what_is_not_a_png(not_png):
    with pytest.raises(ValueError, match="not a PNG image"):
        sharing.bake_png(not_png, {"a": 1})


def test_a_credential_too_large_to_read_back_is_not_baked():
    with pytest.raises(ValueError, match="larger than 1 MB"):
        sharing.bake_png(PNG, {"a": "x" * (1024 * 1024)})


# -- SVG ---------------------------------------------------------------------------------------------

def _defused_tree(svg: str) -> ElementTree.Element:
    return defused_fromstring(svg.encode("utf-8"))


@pytest.mark.parametrize("path", PROJECT_SVGS, ids=lambda p: p.name)
def test_the_projects_svgs_bake_and_read_back_with_the_rest_unchanged(path, credential):
    original = path.read_text(encoding="utf-8")
    baked = sharing.bake_svg(original, credential)
    root = _defused_tree(baked)
    assert root.tag == f"{SVG}svg"
    assert root[0].tag == f"{OB}credential" and len(root.findall(f"{OB}credential")) == 1
    assert f'xmlns:openbadges="{sharing.OB_NAMESPACE}"' in baked[:baked.index(">")]
    assert "<![CDATA[" in baked and baked.count("]]>") == 1  # the one that closes the section
    assert json.loads(root[0].text) == credential
    # Taking the namespace and the element out again gives the file back, byte for byte.
    element = re.search(r"<openbadges:credential>.*?</openbadges:credential>", baked, re.S)[0]
    assert baked.replace(element, "", 1).replace(f' xmlns:openbadges="{sharing.OB_NAMESPACE}"', "", 1) == original
    unbaked = sharing.unbake(baked.encode("utf-8"))
    assert unbaked == credential and _verified(unbaked)


def test_svg_baking_again_replaces_the_credential_and_accepts_bytes(credential):
    original = (ROOT / "lms/static/badge.svg").read_bytes()
    once = sharing.bake_svg(original, {"id": "urn:uuid:old"})
    twice = sharing.bake_svg(once.encode("utf-8"), credential)
    assert twice.count("<openbadges:credential") == 1 and twice.count("xmlns:openbadges") == 1
    assert sharing.unbake_svg(twice) == credential
    assert sharing.bake_svg(twice, credential) == twice


SVG_VARIANTS = {
    "declaration, comment and DOCTYPE": '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'
        '<!-- made by hand -->\n<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n'
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 8 8"><rect width="8" height="8"/></svg>\n',
    "a '>' in an attribute": "<svg xmlns='http://www.w3.org/2000/svg' data-x='a > b'><g/></svg>",
    "empty root": '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1" />',
    "prefixed root": '<s:svg xmlns:s="http://www.w3.org/2000/svg"><s:rect/></s:svg>',
    "already baked, empty element": '<svg xmlns="http://www.w3.org/2000/svg" '
        'xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0"><openbadges:credential/><g/></svg>',
    "already baked, another prefix": '<svg xmlns="http://www.w3.org/2000/svg"><ob:credential '
        'xmlns:ob="https://purl.imsglobal.org/ob/v3p0"><![CDATA[{"old": true}]]></ob:credential><g/></svg>',
    "the openbadges prefix taken by Open Badges 2.0": '<svg xmlns="http://www.w3.org/2000/svg" '
        'xmlns:openbadges="http://openbadges.org"><openbadges:assertion verify="x"/><g/></svg>',
    "byte order mark": "\ufeff<svg xmlns='http://www.w3.org/2000/svg'/>",
}


@pytest.mark.parametrize("name", SVG_VARIANTS)
def test_svgs_written_in_other_ways_bake_to_one_readable_credential(name, credential):
    baked = sharing.bake_svg(SVG_VARIANTS[name], credential)
    root = _defused_tree(baked)
    assert root[0].tag == f"{OB}credential" and len(list(root.iter(f"{OB}credential"))) == 1
    assert sharing.unbake(baked.encode("utf-8")) == credential


BILLION_LAUGHS = ('<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
                  '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]><svg xmlns="http://www.w3.org/2000/svg">&c;</svg>')
EXTERNAL = ('<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            '<svg xmlns="http://www.w3.org/2000/svg"><text>&x;</text></svg>')
BAD_SVGS = {
    "entity expansion": (BILLION_LAUGHS, "declares XML entities"),
    "external entity": (EXTERNAL, "declares XML entities"),
    "not well-formed": ('<svg xmlns="http://www.w3.org/2000/svg"><g></svg>', "not well-formed XML (line 1, column"),
    "not an SVG": ('<?xml version="1.0"?><html><svg/></html>', "not an SVG image (its root element is <html>)"),
    "another encoding": ('<?xml version="1.0" encoding="ISO-8859-1"?><svg/>', "save it as UTF-8"),
    "VC-JWT": ('<svg xmlns="http://www.w3.org/2000/svg" xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0">'
               '<openbadges:credential verify="a.b.c"></openbadges:credential></svg>', "VC-JWT"),
    "not JSON": ('<svg xmlns="http://www.w3.org/2000/svg" xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0">'
                 '<openbadges:credential><![CDATA[{oops]]></openbadges:credential></svg>', "not valid JSON"),
    "Open Badges 2.0": ('<svg xmlns="http://www.w3.org/2000/svg" xmlns:openbadges="http://openbadges.org">'
                        '<openbadges:assertion verify="a.b.c"/></svg>', "Open Badges 2.0"),
}


@pytest.mark.parametrize("name", BAD_SVGS)
def test_a_malformed_or_hostile_svg_is_refused_with_what_is_wrong(name):
    data, message = BAD_SVGS[name]
    with pytest.raises(ValueError, match=re.escape(message)):
        sharing.unbake(data.encode("utf-8"))
    if name not in ("VC-JWT", "not JSON", "Open Badges 2.0"):
        with pytest.raises(ValueError, match=re.escape(message)):
            sharing.bake_svg(data, {"a": 1})


def test_characters_xml_or_utf8_cannot_carry_still_round_trip():
    odd = {"name": "lone \ud800 surrogate, non-characters \ufffe\uffff, an end ]]> and a NUL \x00"}
    svg = sharing.bake_svg("<svg xmlns='http://www.w3.org/2000/svg'/>", odd)
    assert sharing.unbake_svg(svg.encode("utf-8")) == odd
    assert sharing.unbake_png(sharing.bake_png(PNG, odd)) == odd


def test_an_svg_that_declares_ascii_stays_ascii(credential):
    baked = sharing.bake_svg('<?xml version="1.0" encoding="US-ASCII"?><svg xmlns="http://www.w3.org/2000/svg"/>',
                             credential)
    assert baked.isascii() and sharing.unbake_svg(baked.encode("ascii")) == credential


def test_an_svg_without_a_credential_gives_none():
    assert sharing.unbake_svg((ROOT / "lms/static/favicon.svg").read_text()) is None


def test_an_svg_not_in_utf8_is_refused_when_baking():
    with pytest.raises(ValueError, match="not UTF-8"):
        sharing.bake_svg("<svg xmlns='http://www.w3.org/2000/svg'><text>é</text></svg>".encode("latin-1"), {})


# -- uploads and the badge image ---------------------------------------------------------------------

@pytest.mark.parametrize("upload", [b"", b"\xff\xd8\xff\xe0\x00\x10JFIF", b"GIF89a", b"hello", b"<html><p>hi</p>",
                                    b"RIFF\x00\x00\x00\x00WEBPVP8 "])
def test_an_upload_that_is_neither_png_nor_svg_says_what_to_upload(upload):
    with pytest.raises(ValueError, match=re.escape(NOT_A_BADGE)):
        sharing.unbake(upload)


@pytest.fixture
def media_dir(tmp_path) -> Path:
    (tmp_path / f"{'a' * 64}.png").write_bytes(PNG)
    (tmp_path / f"{'b' * 64}.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'><title>Course</title></svg>")
    (tmp_path / f"{'c' * 64}.jpg").write_bytes(b"\xff\xd8\xff")
    return tmp_path


def _with_image(credential: dict, image_id: str | None) -> dict:
    document = json.loads(json.dumps(credential))
    if image_id is not None:
        document["credentialSubject"]["achievement"]["image"] = {"id": image_id, "type": "Image"}
    return document


@pytest.mark.parametrize(("image_id", "expected"), [
    (f"https://learn.example.org/media/{'a' * 64}.png", "image/png"),
    (f"https://old-host.example/media/{'b' * 64}.svg", "image/svg+xml"),
])
def test_the_badge_image_is_the_courses_own(image_id, expected, credential, media_dir):
    document = _with_image(credential, image_id)
    image, media_type = sharing.badge_image_source(document, media_dir=media_dir)
    assert media_type == expected and image == (media_dir / urlsplit(image_id).path.rpartition("/")[2]).read_bytes()
    assert sharing.unbake(sharing.bake_image(image, media_type, document)) == document


@pytest.mark.parametrize("image_id", [
    None, f"https://learn.example.org/media/{'d' * 64}.png",  # none, or a file the platform does not have
    f"https://learn.example.org/media/{'c' * 64}.jpg",  # not a kind that can be baked
    f"https://learn.example.org/media/../{'a' * 64}.png", "https://learn.example.org/media/../../etc/passwd.png",
    "not a url", "",
])
def test_otherwise_it_is_the_platforms_default_badge(image_id, credential, media_dir):
    image, media_type = sharing.badge_image_source(_with_image(credential, image_id), media_dir=media_dir)
    assert (image, media_type) == (sharing.DEFAULT_BADGE.read_bytes(), "image/svg+xml")


def test_the_download_is_the_course_image_baked_or_else_the_default_badge(credential, media_dir):
    course_image = _with_image(credential, f"https://learn.example.org/media/{'a' * 64}.png")
    image, media_type = sharing.baked_badge(course_image, media_dir=media_dir)
    assert media_type == "image/png" and sharing.unbake(image) == course_image
    # A course SVG that cannot carry a credential (not UTF-8) gives way to the default badge.
    (media_dir / f"{'b' * 64}.svg").write_bytes(b'<?xml version="1.0" encoding="ISO-8859-1"?><svg/>')
    odd_image = _with_image(credential, f"https://learn.example.org/media/{'b' * 64}.svg")
    image, media_type = sharing.baked_badge(odd_image, media_dir=media_dir)
    assert media_type == "image/svg+xml" and b"<title>Credential badge</title>" in image
    assert sharing.unbake(image) == odd_image
    with pytest.raises(ValueError, match="larger than 1 MB"):  # (the default cannot carry that either)
        sharing.baked_badge(odd_image | {"name": "x" * 1024 * 1024}, media_dir=media_dir)


def test_the_default_badge_is_an_accessible_svg_that_bakes(credential):
    root = _defused_tree(sharing.DEFAULT_BADGE.read_text(encoding="utf-8"))
    assert root.get("role") == "img" and root.find(f"{SVG}title").text and root.get("viewBox")
    baked = sharing.bake_image(sharing.DEFAULT_BADGE.read_bytes(), "image/svg+xml", credential)
    assert sharing.unbake(baked) == credential


def test_only_png_and_svg_are_baked():
    with pytest.raises(ValueError, match="only PNG and SVG"):
        sharing.bake_image(b"\xff\xd8\xff", "image/jpeg", {"a": 1})
