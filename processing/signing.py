"""The request signatures of the hosted services' client libraries, computed exactly as they compute them.

- **ACS3-HMAC-SHA256**: the Alibaba Cloud SDKs' default (`alibabacloud_tea_openapi.utils.Utils.get_authorization`).
  The canonical request is the method, the URI, the sorted query (`k=quote(v, safe='~')`), every signed header as
  `name:value` lines, the signed header names and the hex SHA-256 of the body; the signature is the hex
  HMAC-SHA256, keyed with the secret, of `"ACS3-HMAC-SHA256\\n" + hex SHA-256 of the canonical request`.
- **RPC v2** (`signature_algorithm='v2'`, `Utils.get_rpcsignature`): the query and form parameters without
  `Signature`, sorted and joined as `quote(k)=quote(v)` with `&`; the string to sign is
  `METHOD&%2F&` + that string quoted once more; the signature is base64 HMAC-SHA1 keyed with `secret + "&"`.
- **Open platform (IOP) sha256** (the Aidge seed's `IopClient`, PyPI `lazop-sdk`): upper-case hex HMAC-SHA256
  over the API path followed by every parameter as `key + value`, sorted by key, `sign` left out.
- **Aidge `sign_ver=v2`** (Aidge's published HTTP samples): upper-case hex HMAC-SHA256 of `secret + timestamp`.

Only string work lives here (no Django, no database): processing/api.py finds the secret, checks the clock
and the nonce, and answers in each dialect's envelope.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, quote_plus

ACS3_ALGORITHM = "ACS3-HMAC-SHA256"
# Headers an ACS3 signature must cover, or a replayed or retargeted request could slip through.
ACS3_REQUIRED_HEADERS = ("host", "x-acs-date", "x-acs-signature-nonce", "x-acs-content-sha256")
ACS_TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


class SignatureFormatError(ValueError):
    """A signature, or the header carrying it, that cannot be read."""


@dataclass(frozen=True)
class Acs3Authorization:
    algorithm: str
    access_key_id: str
    signed_headers: tuple[str, ...]
    signature: str


def parse_acs3_authorization(header: str) -> Acs3Authorization:
    """`ACS3-HMAC-SHA256 Credential=AK,SignedHeaders=a;b;c,Signature=hex`."""
    algorithm, _, rest = header.strip().partition(" ")
    if algorithm != ACS3_ALGORITHM:
        raise SignatureFormatError(f"Only {ACS3_ALGORITHM} signatures are supported, not {algorithm[:40]!r}.")
    fields: dict[str, str] = {}
    for part in rest.split(","):
        name, equals, value = part.strip().partition("=")
        if equals:
            fields[name] = value.strip()
    missing = [name for name in ("Credential", "SignedHeaders", "Signature") if not fields.get(name)]
    if missing:
        raise SignatureFormatError(f"The Authorization header lacks {', '.join(missing)}.")
    signed = tuple(name.strip().lower() for name in fields["SignedHeaders"].split(";") if name.strip())
    return Acs3Authorization(algorithm, fields["Credential"], signed, fields["Signature"])


def acs3_canonical_request(
    method: str,
    path: str,
    query: Mapping[str, str],
    headers: Mapping[str, str],
    signed_headers: Iterable[str],
    payload_sha256: str,
) -> str:
    """`headers` maps each signed header's lower-case name to its value as received."""
    canonical_query = "&".join(f"{key}={quote(query[key], safe='~')}" for key in sorted(query))
    names = sorted(set(signed_headers))
    canonical_headers = "".join(f"{name}:{headers[name].strip()}\n" for name in names)
    return f"{method}\n{path or '/'}\n{canonical_query}\n{canonical_headers}\n{';'.join(names)}\n{payload_sha256}"


def acs3_signature(secret: str, canonical_request: str) -> str:
    digest = hashlib.sha256(canonical_request.encode()).hexdigest()
    string_to_sign = f"{ACS3_ALGORITHM}\n{digest}"
    return hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()


def rpc_string_to_sign(method: str, params: Mapping[str, str]) -> str:
    canonical = "&".join(
        f"{quote(key, safe='~')}={quote(params[key], safe='~')}"
        for key in sorted(params)
        if key != "Signature"
    )
    return f"{method}&%2F&{quote_plus(canonical, safe='~')}"


def rpc_signature(secret: str, method: str, params: Mapping[str, str]) -> str:
    string_to_sign = rpc_string_to_sign(method, params)
    digest = hmac.new(f"{secret}&".encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def iop_signatures(secret: str, api_path: str, params: Mapping[str, str]) -> set[str]:
    """The open platform's sign, as each SDK family computes it.

    lazop-sdk (Python) appends every parameter, empty ones as a bare key; the Java IopClient skips
    parameters whose value is empty (the seed's own sample sends `imageBase64` empty). Both are the
    same secret over the same path and values, so either is accepted.
    """
    signable = {key: value for key, value in params.items() if key != "sign"}
    every = api_path + "".join(f"{key}{signable[key]}" for key in sorted(signable))
    non_empty = api_path + "".join(f"{key}{signable[key]}" for key in sorted(signable) if signable[key] != "")
    return {_hmac_sha256_upper(secret, every), _hmac_sha256_upper(secret, non_empty)}


def aidge_v2_signature(secret: str, timestamp: str) -> str:
    """Aidge's `sign_ver=v2`: the secret and the timestamp only, neither the path nor a parameter."""
    return _hmac_sha256_upper(secret, secret + timestamp)


def _hmac_sha256_upper(secret: str, text: str) -> str:
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest().upper()


def parse_acs_timestamp(text: str) -> float:
    """The Alibaba Cloud SDKs' `2026-01-31T08:00:00Z` (UTC), as seconds since the epoch."""
    try:
        return datetime.strptime(text.strip(), ACS_TIMESTAMP_FORMAT).replace(tzinfo=UTC).timestamp()
    except ValueError:
        raise SignatureFormatError(
            f"The timestamp {text[:40]!r} is not in the form 2026-01-31T08:00:00Z (UTC)."
        ) from None


def parse_iop_timestamp(text: str) -> float:
    """The open platform's timestamp: milliseconds since the epoch (ten digits are read as seconds)."""
    value = text.strip()
    if not value.isdigit() or len(value) > 16:
        raise SignatureFormatError(f"timestamp {value[:40]!r} must be milliseconds since the epoch.")
    number = int(value)
    return number / 1000 if len(value) > 11 else float(number)


def matches(expected: str, given: str) -> bool:
    """Constant-time comparison, so a guesser learns nothing from how long a refusal takes."""
    return hmac.compare_digest(expected.encode(), given.encode())
