"""Keep request signatures out of the logs.

The RPC v2 clients (`?Signature=`) and Aidge's `sign_ver=v2` calls (`?sign=`) carry their signature in the
query string, and a development server logs every request line. A signature is not the secret, but a v2
sign is valid for any request within its timestamp window (see the README), so no log line keeps one.
"""

from __future__ import annotations

import logging
import re

_SIGNATURE_FIELD = re.compile(r"(?i)\b(signature|sign|x-acs-bearer-token)=[^&\s\"']*")


def redact(text: str) -> str:
    return _SIGNATURE_FIELD.sub(lambda match: f"{match.group(1)}=[redacted]", text)


class SignatureRedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True
