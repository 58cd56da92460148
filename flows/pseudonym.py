"""Keyed pseudonyms for suspects: HMAC-SHA256 computed in DuckDB SQL over a whole file.

sources.md, "Personal data": BSN, birth date and surname never enter the warehouse as
delivered. At ingest each row gets

- ``bsn_status``: ``valid`` (9 digits, passes the elfproef, not all zeros), ``invalid``
  (anything else that is not blank) or ``missing`` (blank);
- ``person_pseudonym``: HMAC-SHA256 of ``bsn:<bsn>`` when the BSN is valid, else of
  ``gbn:<birth date JJJJ-MM-DD>:<normalised surname>`` (an invalid BSN counts as missing);
- ``name_pseudonym``: HMAC-SHA256 of ``gbn:<birth date>:<normalised surname>`` always, so
  that a row without a valid BSN can still be matched on birth date and surname with a
  row that has one.

The surname is normalised in SQL (``normalised_surname_sql``): every run of white space
(RE2 ``\\s`` and Unicode separators ``\\p{Z}``, so also the no-break space) becomes one
space, leading and trailing spaces go, the text is put in Unicode NFC, lowered with
DuckDB's ``lower()``, and ``ß`` becomes ``ss`` and ``µ`` becomes ``μ``. For every
Latin-1 letter that equals Python's ``str.casefold()``. Nothing else is changed:
hyphens, apostrophes, prefixes (``van der``) and accents are part of the name.

HMAC in SQL (RFC 2104): the key, zero-padded to 64 bytes, is XORed with 0x36 and 0x5C
in Python once per file (64 bytes, not per row) and the two pads reach DuckDB as
prepared-statement parameters ``$hmac_ipad`` and ``$hmac_opad``; per row DuckDB computes
``sha256(opad || unhex(sha256(ipad || encode(message))))`` (``encode`` gives the UTF-8
bytes, ``sha256`` returns lower-case hex). The key and the pads never enter a table or
a log line.

The key lives in ``secrets/pseudonym.key`` under DWH_HOME (``Settings().pseudonym_key``):
64 hex digits (32 random bytes), created with mode 0600 when absent.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

from flows.errors import DwhError

KEY_BYTES = 32
BLOCK_BYTES = 64  # SHA-256 block size
ELFPROEF_WEIGHTS = (9, 8, 7, 6, 5, 4, 3, 2, -1)


class PseudonymKeyError(DwhError):
    """The pseudonym key is missing where personal data arrives, or its file is unusable."""


def load_or_create_key(path: Path) -> bytes:
    """The pseudonym key in ``path``; created (32 random bytes as hex, mode 0600) when absent."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.fchmod(descriptor, 0o600)  # whatever the umask
            os.write(descriptor, (secrets.token_hex(KEY_BYTES) + "\n").encode("ascii"))
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        try:
            # A hard link creates the name only if it is still absent: when two processes
            # race, both end up reading the one key that won.
            os.link(temporary, path)
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
    text = path.read_text(encoding="ascii", errors="replace").strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != KEY_BYTES:
        raise PseudonymKeyError(
            f"pseudonym key file {path} does not hold {KEY_BYTES} bytes as hex; restore it "
            f"from the backup (a new key would give every person a new pseudonym)"
        )
    return key


def require_key(key: bytes | None, file_name: str) -> bytes:
    """The key for a file with personal data; refuse to read the file without one."""
    if not key:
        raise PseudonymKeyError(
            f"{file_name} holds personal data (BSN, birth date, surname) and no pseudonym key "
            f"was given: call ingest_landing(..., pseudonym_key=load_or_create_key("
            f"Settings().pseudonym_key)); nothing of the file was stored"
        )
    return key


def key_parameters(key: bytes) -> dict[str, bytes]:
    """The HMAC inner and outer pads of a key: the parameters ``hmac_sha256_sql`` needs."""
    if len(key) > BLOCK_BYTES:
        key = hashlib.sha256(key).digest()
    padded = key.ljust(BLOCK_BYTES, b"\0")
    return {
        "hmac_ipad": bytes(byte ^ 0x36 for byte in padded),
        "hmac_opad": bytes(byte ^ 0x5C for byte in padded),
    }


def hmac_sha256_sql(message: str) -> str:
    """SQL: hex HMAC-SHA256 of a VARCHAR expression; needs the ``key_parameters``."""
    inner = f"sha256($hmac_ipad::blob || encode({message}))"
    return f"sha256($hmac_opad::blob || unhex({inner}))"


def normalised_surname_sql(surname: str) -> str:
    """SQL: the surname as it takes part in the identity (see the module docstring)."""
    collapsed = f"trim(regexp_replace(coalesce({surname}, ''), '[\\s\\p{{Z}}]+', ' ', 'g'))"
    return f"replace(replace(lower(nfc_normalize({collapsed})), 'ß', 'ss'), 'µ', 'μ')"


def bsn_status_sql(bsn: str) -> str:
    """SQL: 'valid', 'invalid' or 'missing' for a BSN expression (VARCHAR, may be NULL)."""
    trimmed = f"trim(coalesce({bsn}, ''))"
    weighted = " + ".join(
        f"({weight}) * cast(substr({trimmed}, {position}, 1) as integer)"
        for position, weight in enumerate(ELFPROEF_WEIGHTS, start=1)
    )
    return f"""case
        when {trimmed} = '' then 'missing'
        when not regexp_full_match({trimmed}, '[0-9]{{9}}') then 'invalid'
        when {trimmed} = '000000000' then 'invalid'
        when ({weighted}) % 11 = 0 then 'valid'
        else 'invalid'
    end"""


def name_identity_sql(birth_date: str, surname: str) -> str:
    """SQL: the identity message of birth date (a DATE expression) and surname."""
    return (
        f"'gbn:' || strftime({birth_date}, '%Y-%m-%d') || ':' || {normalised_surname_sql(surname)}"
    )


def pseudonym_columns_sql(bsn: str, birth_date: str, surname: str) -> str:
    """SQL select items: bsn_status, name_pseudonym and person_pseudonym of one row.

    ``birth_date`` must be a DATE expression; where it is NULL (unreadable birth date)
    ``name_pseudonym`` is NULL, and so is ``person_pseudonym`` unless the BSN is valid; such
    a row is quarantined by its module. Where the BSN is not valid the person pseudonym is
    the name pseudonym (the same message), so it is referred to, not computed again (a
    lateral column alias: the items must stay in this order in one select list, whose FROM
    has no column named ``bsn_status`` or ``name_pseudonym``).
    """
    return f"""
        {bsn_status_sql(bsn)} as bsn_status,
        {hmac_sha256_sql(name_identity_sql(birth_date, surname))} as name_pseudonym,
        case
            when bsn_status = 'valid' then {hmac_sha256_sql(f"'bsn:' || trim({bsn})")}
            else name_pseudonym
        end as person_pseudonym"""
