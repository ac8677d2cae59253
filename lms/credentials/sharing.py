"""Sharing a credential: LinkedIn's "Add to profile" link, a QR code of its page, and baked badge images.

A baked badge is an image with the signed credential inside it (Open Badges 3.0, "Baking"): a PNG
carries it in an ``iTXt`` chunk with the keyword ``openbadgecredential``, an SVG in an
``<openbadges:credential>`` element, its JSON in a CDATA section. The holder can post the image
anywhere and a verifier gets the whole credential back from it, no link needed.

The verify page unbakes images uploaded by strangers, so reading is defensive: a size cap before
anything is parsed, every PNG chunk's length and checksum checked, a compressed chunk inflated only up
to the 1 MB a credential may have, and SVG parsed with defusedxml (no entity expansion, nothing
external fetched). Every refusal is a ValueError whose message tells the person what to do.

HTTP-free: the views call these with bytes, paths and values, and send what comes back.
"""

from __future__ import annotations

import io
import json
import logging
import re
import struct
import zlib
from datetime import datetime
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import segno
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser, ParseError

from lms.credentials.models import Credential
from lms.credentials.verification import MAX_DOCUMENT_BYTES

OB_NAMESPACE = "https://purl.imsglobal.org/ob/v3p0"
PNG_KEYWORD = b"openbadgecredential"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# A badge is a course asset (10 MB at most) with a credential (1 MB at most) baked in; anything larger
# is refused before it is parsed.
MAX_IMAGE_BYTES = 12 * 1024 * 1024
DEFAULT_BADGE = Path(__file__).resolve().parent.parent / "static" / "badge.svg"
BAKEABLE_TYPES = {".png": "image/png", ".svg": "image/svg+xml"}

log = logging.getLogger(__name__)

_CREDENTIAL_TAG = "{" + OB_NAMESPACE + "}credential"  # (as ElementTree names it)
_OB2_TAG = "{http://openbadges.org}assertion"  # an Open Badges 2.0 badge baked into an SVG
_ASK_AGAIN = "Ask the holder for a fresh copy of the badge, or for the credential's .json file."
_NOT_A_BADGE = "upload the credential's .json file or a baked PNG/SVG badge"
# Characters JSON may carry that a CDATA section or UTF-8 cannot: ">" (so "]]>" never occurs), lone
# surrogates, and the two non-characters XML forbids. In JSON they only ever occur inside strings,
# where "\u003e" is the same string, so the escaped text is the same JSON.
_UNSAFE_IN_CDATA = re.compile("[>\ud800-\udfff\ufffe\uffff]")
_COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+")
_XML_ENCODING = re.compile(rb"""\A<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_SVG_ROOT = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?svg[\s/>]")
_SVG_SNIFF_BYTES = 64 * 1024  # an XML declaration, comments and a DOCTYPE come before the root; not more
_MEDIA_PATH = re.compile(r"/media/([0-9a-f]{64})(\.png|\.svg)\Z")


# -- links and QR codes ------------------------------------------------------------------------------

def linkedin_add_to_profile_url(*, name: str, organization_name: str, issued_at: datetime,
                                expires_at: datetime | None, credential_url: str, credential_id: str) -> str:
    """LinkedIn's "Add to profile" link for a certification, with the form filled in.

    The learner still confirms on LinkedIn; nothing is posted for them. Dates are taken as given (UTC
    from the database), and LinkedIn wants only the year and month.
    """
    params = {"startTask": "CERTIFICATION_NAME", "name": name, "organizationName": organization_name,
              "issueYear": issued_at.year, "issueMonth": issued_at.month}
    if expires_at is not None:
        params |= {"expirationYear": expires_at.year, "expirationMonth": expires_at.month}
    params |= {"certUrl": credential_url, "certId": credential_id}
    return "https://www.linkedin.com/profile/add?" + urlencode(params)


def linkedin_url_for(credential: Credential) -> str:
    """The "Add to profile" link for an issued credential, named as its signed document names things."""
    document = credential.document
    return linkedin_add_to_profile_url(
        name=document["credentialSubject"]["achievement"]["name"], organization_name=document["issuer"]["name"],
        issued_at=credential.issued_at, expires_at=credential.valid_until, credential_url=document["id"],
        credential_id=credential.public_id)


def qr_code_svg(url: str, *, title: str, css_class: str = "qr-code") -> str:
    """A QR code of ``url`` as SVG markup to put in a page (or save as a file): no XML declaration, a
    <title> for screen readers, a viewBox and no fixed size, so CSS decides how large it is."""
    # Medium error correction: the code is also printed (a certificate), where a smudge must not spoil it.
    qr = segno.make_qr(url, error="m")
    out = io.BytesIO()
    # A white background and the 4-module quiet zone: on a dark page a transparent code does not scan.
    qr.save(out, kind="svg", xmldecl=False, svgns=True, nl=False, title=title, svgclass=css_class, lineclass=None,
            omitsize=True, dark="#000", light="#fff")
    return out.getvalue().decode("utf-8").replace("<svg ", '<svg role="img" ', 1)


# -- the badge image ---------------------------------------------------------------------------------

def badge_image_source(document: dict, *, media_dir: Path, default: Path = DEFAULT_BADGE) -> tuple[bytes, str]:
    """The image to bake a credential into, as (bytes, media type): its achievement's image when the
    platform holds it (a course asset, under ``media_dir`` by content hash), else the default badge.

    The image is found from the signed document, not the achievement's current definition, so a badge
    shows what was awarded even after the course changed its image.
    """
    image = ((document.get("credentialSubject") or {}).get("achievement") or {}).get("image")
    image_id = image.get("id") if isinstance(image, dict) else None
    # The path alone: the file is on this platform's disk whatever host name the credential was issued under.
    match = _MEDIA_PATH.search(urlsplit(image_id).path) if isinstance(image_id, str) else None
    if match:
        path = media_dir / f"{match[1]}{match[2]}"
        if path.is_file():
            return path.read_bytes(), BAKEABLE_TYPES[match[2]]
    return default.read_bytes(), BAKEABLE_TYPES[default.suffix]


def bake_image(image: bytes, media_type: str, credential: dict) -> bytes:
    """``image`` with ``credential`` baked in, for either kind :func:`badge_image_source` returns."""
    if media_type == "image/png":
        return bake_png(image, credential)
    if media_type == "image/svg+xml":
        return bake_svg(image, credential).encode("utf-8")
    raise ValueError(f"only PNG and SVG images can carry a credential, not {media_type}")


def baked_badge(document: dict, *, media_dir: Path, default: Path = DEFAULT_BADGE) -> tuple[bytes, str]:
    """The badge to download: the credential baked into :func:`badge_image_source`'s image, as (bytes,
    media type). A course image that cannot carry it (an SVG saved in another encoding than UTF-8, a
    damaged PNG) gives way to the default badge, so the download never fails for the course's sake."""
    image, media_type = badge_image_source(document, media_dir=media_dir, default=default)
    try:
        return bake_image(image, media_type, document), media_type
    except ValueError as exc:
        fallback = default.read_bytes(), BAKEABLE_TYPES[default.suffix]
        if (image, media_type) == fallback:
            raise
        log.warning("the default badge stands in for a course image that cannot be baked: %s", exc)
        return bake_image(*fallback, document), fallback[1]


def unbake(data: bytes) -> dict | None:
    """The credential baked into an uploaded PNG or SVG badge (None when it carries none); ValueError,
    saying what to upload instead, for any other file or a damaged one.

    The kind is told from the content, never from a file name."""
    if data.startswith(PNG_SIGNATURE):
        return unbake_png(data)
    head = data[:_SVG_SNIFF_BYTES].removeprefix(b"\xef\xbb\xbf").lstrip()
    if head.startswith(b"<") and _SVG_ROOT.search(head):
        return unbake_svg(data)
    raise ValueError(f"That file is neither a credential nor a PNG or SVG badge: {_NOT_A_BADGE}.")


def _credential_text(credential: dict, *, ascii_only: bool = False) -> str:
    """The credential as compact JSON text, safe inside a CDATA section and in UTF-8 (see _UNSAFE_IN_CDATA);
    ``ascii_only`` for an SVG that declares itself ASCII (then every other character is a \\u escape)."""
    text = json.dumps(credential, ensure_ascii=ascii_only, separators=(",", ":"), allow_nan=False)
    text = _UNSAFE_IN_CDATA.sub(lambda m: f"\\u{ord(m[0]):04x}", text)
    if len(text.encode("utf-8")) > MAX_DOCUMENT_BYTES:
        # (unbaking refuses more, so a badge baked here can always be read back)
        raise ValueError("the credential is larger than 1 MB, too large to bake")
    return text


def _read_credential(text: bytes) -> dict:
    """The credential in a badge's baked text; ValueError saying why when it is not one."""
    if len(text) > MAX_DOCUMENT_BYTES:
        raise ValueError("The credential in that badge is larger than any credential (1 MB at most). " + _ASK_AGAIN)
    try:
        value = text.decode("utf-8-sig").strip()
    except UnicodeDecodeError:
        raise ValueError("The credential in that badge is not UTF-8 text. " + _ASK_AGAIN) from None
    if _COMPACT_JWS.fullmatch(value):
        raise _vc_jwt_badge()
    try:
        document = json.loads(value)
    except (json.JSONDecodeError, RecursionError):
        raise ValueError("The credential in that badge is not valid JSON. " + _ASK_AGAIN) from None
    if not isinstance(document, dict):
        raise ValueError("What is baked into that badge is not a credential (a JSON object). " + _ASK_AGAIN)
    return document


def _vc_jwt_badge() -> ValueError:
    return ValueError("That badge carries a VC-JWT credential (a signed token), which this page does not check. "
                      "Ask the holder for the credential's .json file.")


def _ob2_badge() -> ValueError:
    return ValueError("That is an Open Badges 2.0 badge; this page checks Open Badges 3.0 credentials. Ask its "
                      "issuer for an Open Badges 3.0 credential.")


# -- PNG ---------------------------------------------------------------------------------------------

def _png_chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    """The chunks of a PNG up to IEND as (type, data), every length and checksum checked."""
    if not png.startswith(PNG_SIGNATURE):
        raise ValueError("That file is not a PNG image (it does not begin with the PNG signature).")
    if len(png) > MAX_IMAGE_BYTES:
        raise ValueError(f"That image is larger than any badge ({MAX_IMAGE_BYTES // 1024 // 1024} MB at most). "
                         + _ASK_AGAIN)
    chunks, offset = [], len(PNG_SIGNATURE)
    while True:
        if offset + 12 > len(png):
            raise ValueError("That PNG is cut short: it ends before its last chunk (IEND). " + _ASK_AGAIN)
        length, kind = struct.unpack_from(">I4s", png, offset)
        name = kind.decode("latin-1")
        if not kind.isalpha():
            raise ValueError(f"That PNG is damaged: a chunk's type ({name!r}) is not four letters. " + _ASK_AGAIN)
        # (a declared length beyond the file, however large, is refused here, before anything is read)
        if length > 0x7FFFFFFF or offset + 12 + length > len(png):
            raise ValueError(f"That PNG is cut short or damaged: its {name} chunk claims {length} bytes, more than "
                             f"the file holds. " + _ASK_AGAIN)
        data = png[offset + 8:offset + 8 + length]
        (crc,) = struct.unpack_from(">I", png, offset + 8 + length)
        if zlib.crc32(kind + data) != crc:
            raise ValueError(f"That PNG is damaged: the checksum of its {name} chunk does not match. " + _ASK_AGAIN)
        if not chunks and kind != b"IHDR":
            raise ValueError("That PNG is damaged: it does not begin with its header chunk (IHDR). " + _ASK_AGAIN)
        chunks.append((kind, data))
        offset += 12 + length
        if kind == b"IEND":
            return chunks  # (bytes after IEND are not part of the image)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I4s", len(data), kind) + data + struct.pack(">I", zlib.crc32(kind + data))


def _is_credential_chunk(kind: bytes, data: bytes) -> bool:
    return kind == b"iTXt" and data.startswith(PNG_KEYWORD + b"\0")


def bake_png(png: bytes, credential: dict) -> bytes:
    """``png`` with ``credential`` in an uncompressed ``iTXt`` chunk (keyword ``openbadgecredential``)
    just before IEND. A credential already baked in is replaced: the chunk may appear only once."""
    chunks = [(kind, data) for kind, data in _png_chunks(png) if not _is_credential_chunk(kind, data)]
    # keyword NUL, compression flag 0 and method 0, empty language tag NUL, empty translated keyword NUL, text
    baked = PNG_KEYWORD + b"\0\0\0\0\0" + _credential_text(credential).encode("utf-8")
    return b"".join([PNG_SIGNATURE, *(_png_chunk(k, d) for k, d in chunks[:-1]), _png_chunk(b"iTXt", baked),
                     _png_chunk(*chunks[-1])])


def _itxt_text(data: bytes) -> bytes:
    """The text of an ``iTXt`` chunk's data, inflated (to at most a credential's size) when compressed."""
    _keyword, _, rest = data.partition(b"\0")
    if len(rest) < 2 or rest[2:].count(b"\0") < 2:
        raise ValueError("That PNG is damaged: its credential chunk is incomplete. " + _ASK_AGAIN)
    compressed, method = rest[0], rest[1]
    _language, _, rest = rest[2:].partition(b"\0")
    _translated_keyword, _, text = rest.partition(b"\0")
    if compressed == 0:
        return text
    if compressed != 1 or method != 0:
        raise ValueError("That PNG is damaged: its credential chunk names an unknown compression. " + _ASK_AGAIN)
    inflater = zlib.decompressobj()
    try:
        # Never more than a credential's size, however much the chunk would inflate to (a zip bomb).
        text = inflater.decompress(text, MAX_DOCUMENT_BYTES + 1)
    except zlib.error:
        raise ValueError("That PNG is damaged: its credential chunk cannot be decompressed. " + _ASK_AGAIN) from None
    if len(text) > MAX_DOCUMENT_BYTES or inflater.unconsumed_tail:
        raise ValueError("The credential in that badge is larger than any credential (1 MB at most). " + _ASK_AGAIN)
    if not inflater.eof:
        raise ValueError("That PNG is damaged: its credential chunk is cut short. " + _ASK_AGAIN)
    return text


def unbake_png(data: bytes) -> dict | None:
    """The credential baked into a PNG (the first ``openbadgecredential`` chunk), or None."""
    chunks = _png_chunks(data)
    for kind, chunk in chunks:
        if _is_credential_chunk(kind, chunk):
            return _read_credential(_itxt_text(chunk))
    if any(kind in (b"iTXt", b"tEXt") and chunk.startswith(b"openbadges\0") for kind, chunk in chunks):
        raise _ob2_badge()
    return None


# -- SVG ---------------------------------------------------------------------------------------------

class _SvgLayout:
    """A parser target that notes, in byte offsets, where the root's start tag and the baked credentials
    are, so baking can splice the credential in and leave every other byte of the image as it was."""

    def __init__(self) -> None:
        self.expat = None  # the parser's expat parser, which knows the offset of the tag being read
        self._depth = 0
        self._in_credential: tuple[int, int] | None = None  # (its start offset, its depth)
        self._text: list[str] | None = None  # the first credential's text, while it is being read
        self.root: tuple[str, int] | None = None  # (its tag, as {namespace}name; its start offset)
        self.root_prefixes: dict[str, str] = {}  # the namespace prefixes the root declares
        self.credentials: list[tuple[int, int]] = []  # (offset of its start tag, offset of its end tag)
        self.first_credential: tuple[dict, list[str]] | None = None  # its attributes and text
        self.ob2 = False
        self.ascii_only = False  # the document declares itself US-ASCII

    def start_ns(self, prefix: str, uri: str) -> None:
        if self._depth == 0:
            self.root_prefixes[prefix] = uri

    def start(self, tag: str, attrib: dict) -> None:
        offset = self.expat.CurrentByteIndex
        if self.root is None:
            self.root = (tag, offset)
        elif tag == _CREDENTIAL_TAG and self._in_credential is None:
            self._in_credential = (offset, self._depth)
            if self.first_credential is None:
                self._text = []
                self.first_credential = (attrib, self._text)
        self.ob2 = self.ob2 or tag == _OB2_TAG
        self._depth += 1

    def data(self, text: str) -> None:
        if self._text is not None and self._depth == self._in_credential[1] + 1:
            self._text.append(text)  # (CDATA comes as text; a child element's text does not count)

    def end(self, tag: str) -> None:
        self._depth -= 1
        if self._in_credential is not None and self._in_credential[1] == self._depth:
            self.credentials.append((self._in_credential[0], self.expat.CurrentByteIndex))
            self._in_credential, self._text = None, None

    def close(self) -> _SvgLayout:
        return self


def _svg_layout(data: bytes) -> _SvgLayout:
    """Parse an SVG safely (no entities, nothing fetched), and note where things are in it."""
    if len(data) > MAX_IMAGE_BYTES:
        raise ValueError(f"That image is larger than any badge ({MAX_IMAGE_BYTES // 1024 // 1024} MB at most). "
                         + _ASK_AGAIN)
    declared = _XML_ENCODING.match(data)
    if declared and declared[1].lower() not in (b"utf-8", b"utf8", b"us-ascii", b"ascii"):
        raise ValueError(f"That SVG is encoded as {declared[1].decode()}; save it as UTF-8.")
    layout = _SvgLayout()
    layout.ascii_only = bool(declared) and declared[1].lower() in (b"us-ascii", b"ascii")
    parser = DefusedXMLParser(target=layout)  # (its defaults refuse entity declarations and external references)
    layout.expat = parser.parser
    try:
        parser.feed(data)
        parser.close()
    except DefusedXmlException:
        raise ValueError("That SVG declares XML entities or refers to outside files, which a badge never needs; "
                         "it was not read. " + _ASK_AGAIN) from None
    except ParseError as exc:
        line, column = exc.position
        raise ValueError(f"That SVG is not well-formed XML (line {line}, column {column + 1}). " + _ASK_AGAIN) \
            from None
    tag = layout.root[0] if layout.root else ""
    if tag.rpartition("}")[2] != "svg":
        raise ValueError(f"That file is XML but not an SVG image (its root element is <{tag.rpartition('}')[2]}>): "
                         f"{_NOT_A_BADGE}.")
    return layout


def _tag_end(data: bytes, start: int) -> int:
    """The offset just past the tag that begins at ``start`` (a ">" in a quoted attribute value is not its end)."""
    quote = None
    for index in range(start, len(data)):
        byte = data[index]
        if quote is not None:
            quote = None if byte == quote else quote
        elif byte in b"\"'":
            quote = byte
        elif byte == ord(">"):
            return index + 1
    raise ValueError("That SVG ends inside a tag.")  # (the parser has accepted it, so this does not happen)


def bake_svg(svg: str | bytes, credential: dict) -> str:
    """``svg`` with ``credential`` baked in: the ``openbadges`` namespace declared on the root and, as its
    first child, ``<openbadges:credential>`` holding the JSON in CDATA. Any credential already baked in
    is removed (there may be only one); the rest of the image is left byte for byte as it was."""
    data = (svg.encode("utf-8") if isinstance(svg, str) else svg).removeprefix(b"\xef\xbb\xbf")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("That SVG is not UTF-8 text; save it as UTF-8.") from None
    layout = _svg_layout(data)
    root_start = layout.root[1]
    name = re.match(rb"<([^\s/>]+)", data[root_start:])[1]  # the root's name as written, e.g. b"svg"
    root_end = _tag_end(data, root_start)
    prefix = layout.root_prefixes.get("openbadges")
    declaration = f' xmlns:openbadges="{OB_NAMESPACE}"'.encode()
    # The root declares the namespace (as the specification asks) unless its "openbadges" prefix already
    # means something else, e.g. Open Badges 2.0's; then the element declares it for itself.
    on_root, on_element = (b"", b"") if prefix == OB_NAMESPACE else \
        (declaration, b"") if prefix is None else (b"", declaration)
    text = _credential_text(credential, ascii_only=layout.ascii_only).encode("utf-8")
    element = b"<openbadges:credential" + on_element + b"><![CDATA[" + text + b"]]></openbadges:credential>"
    head = data[:root_start + 1 + len(name)] + on_root + data[root_start + 1 + len(name):root_end]
    if head.endswith(b"/>"):  # an empty <svg/>: it gets a child, so it needs an end tag
        head, closing = head[:-2] + b">", b"</" + name + b">"
    else:
        closing = b""
    rest, copied = [], root_end
    for start, end_tag in layout.credentials:
        start_tag_end = _tag_end(data, start)
        # An empty <openbadges:credential/> is its start tag alone; a full one ends with its end tag.
        empty = data[start_tag_end - 2:start_tag_end] == b"/>"
        rest.append(data[copied:start])
        copied = start_tag_end if empty else _tag_end(data, end_tag)
    rest.append(data[copied:])
    return (head + element + closing + b"".join(rest)).decode("utf-8")


def unbake_svg(data: str | bytes) -> dict | None:
    """The credential baked into an SVG (its first ``<openbadges:credential>``), or None."""
    layout = _svg_layout(data.encode("utf-8") if isinstance(data, str) else data)
    if layout.first_credential is None:
        if layout.ob2:
            raise _ob2_badge()
        return None
    attributes, text = layout.first_credential
    if attributes.get("verify"):  # (where the specification puts a VC-JWT in an SVG)
        raise _vc_jwt_badge()
    return _read_credential("".join(text).encode("utf-8"))
