"""SignalR JSON hub messages, built and read with signalrcore's sans-IO message types and codec.

This is the only module that imports signalrcore, and it imports only its protocol layer
(`signalrcore.messages`, `signalrcore.protocol.json_hub_protocol`): no transport, no threads. That
import takes about 20 ms, does no I/O, builds no SSL context and starts no thread; Home Assistant
2026.2.3 imports a custom integration's modules in its import executor (`import_executor` defaults
to true in `homeassistant.loader.Integration`), so it stays off the event loop.

Where a call into signalrcore misbehaves it is wrapped here, never patched (docs/hub.md):
`JsonHubProtocol.parse_messages` logs every raw frame at DEBUG and raises on the first bad record,
so records are split, decoded and checked here and only then given to `get_message`, one at a time;
`encode` logs the encoded message at DEBUG, so its JSON encoder is called directly; its messages
carry a `headers` object (its own client copies the Authorization header into it), which is dropped;
`decode_handshake` raises several kinds of error on an odd reply, which become one.
"""

from __future__ import annotations

from dataclasses import dataclass
import json
from typing import Any, Final

from signalrcore.messages.invocation_message import InvocationMessage
from signalrcore.messages.ping_message import PingMessage
from signalrcore.protocol.json_hub_protocol import JsonHubProtocol

RECORD_SEPARATOR: Final = "\x1e"

_INVOCATION: Final = 1
_COMPLETION: Final = 3
_PING: Final = 6
_CLOSE: Final = 7
_NONE: Final = type(None)
# What a client of a PORTOS hub receives; stream items, stream invocations, cancels, acks and
# sequences belong to features we never ask for, so they are malformed here.
# The fields used of each type, with the JSON types accepted (signalrcore takes len() of an error
# and hashes ids, so anything else would raise inside it).
_FIELD_TYPES: Final[dict[int, dict[str, tuple[type, ...]]]] = {
    _INVOCATION: {"target": (str,), "arguments": (list,), "invocationId": (str, _NONE)},
    _COMPLETION: {"invocationId": (str, _NONE), "error": (str, _NONE)},
    _PING: {},
    _CLOSE: {"error": (str, _NONE), "allowReconnect": (bool, _NONE)},
}
_REQUIRED_FIELDS: Final[dict[int, tuple[str, ...]]] = {_INVOCATION: ("target", "arguments")}
_EXCERPT: Final = 80

_PROTOCOL: Final = JsonHubProtocol()


class BadRecordError(Exception):
    """A record that is not a usable hub message; `reason` says why, `excerpt` shows its start."""

    def __init__(self, reason: str, record: str) -> None:
        """Keep the reason and a short, printable excerpt of the record."""
        super().__init__(reason)
        self.reason = reason
        self.excerpt = excerpt(record)


@dataclass(frozen=True, slots=True)
class Invocation:
    """The server calls a client method (PORTOS: `OnEvent` with the notification)."""

    target: str
    arguments: list[Any]


@dataclass(frozen=True, slots=True)
class Completion:
    """The server finished an invocation of ours; `error` is set when the hub method failed."""

    invocation_id: str | None
    error: str | None


@dataclass(frozen=True, slots=True)
class Ping:
    """A keep-alive message."""


@dataclass(frozen=True, slots=True)
class Close:
    """The server closes the connection, with an error and whether a reconnect is welcome."""

    error: str | None
    allow_reconnect: bool | None


type HubMessage = Invocation | Completion | Ping | Close

PING: Final = Ping()


def _encode(message: object) -> str:
    """Encode a signalrcore message as one record, without its headers and without logging it."""
    # Its messages default to an empty headers object; a PORTOS hub reads none.
    vars(message).pop("headers", None)
    text: str = _PROTOCOL.encoder.encode(message)
    return text + RECORD_SEPARATOR


HANDSHAKE_REQUEST: Final = _encode(_PROTOCOL.handshake_message())
PING_RECORD: Final = _encode(PingMessage())


def encode_invocation(target: str, arguments: list[Any], invocation_id: str) -> str:
    """Return the record of a blocking invocation (one the server answers with a completion)."""
    return _encode(InvocationMessage(invocation_id, target, arguments))


def parse_handshake(record: str) -> str | None:
    """Return the error of a handshake reply (None when the server accepted); raise if unusable."""
    try:
        reply, _ = _PROTOCOL.decode_handshake(record + RECORD_SEPARATOR)
    except (ValueError, RecursionError, AttributeError, IndexError, TypeError) as err:
        raise BadRecordError("handshake reply is not a JSON object", record) from err
    error = reply.error
    return None if error is None else str(error)


def decode_record(record: str) -> HubMessage | None:
    """Decode one record (without its separator); None for an empty object `{}`.

    Raises:
        BadRecordError: not JSON, not an object, or not a message a client can use.

    """
    try:
        data = json.loads(record)
    except (ValueError, RecursionError) as err:  # RecursionError: nested too deeply
        raise BadRecordError("not JSON", record) from err
    if not isinstance(data, dict):
        raise BadRecordError("not a JSON object", record)
    if not data:
        return None
    kind = data.get("type")
    problem = _problem(kind, data)
    if problem is not None:
        raise BadRecordError(problem, record)
    try:
        message = _PROTOCOL.get_message(data)
    except (ValueError, TypeError, KeyError, AttributeError) as err:
        # e.g. a key named like a parameter of its message classes (`message_type`)
        raise BadRecordError("not a SignalR message", record) from err
    if kind == _INVOCATION:
        return Invocation(message.target, message.arguments)
    if kind == _COMPLETION:
        return Completion(message.invocation_id, message.error)
    if kind == _CLOSE:
        return Close(message.error, message.allow_reconnect)
    return PING


def _problem(kind: object, data: dict[str, Any]) -> str | None:
    """Return why a decoded record is not a message we accept, or None."""
    # bool is an int, and signalrcore reads True as an invocation: insist on a real int.
    if type(kind) is not int:
        return "no message type"
    fields = _FIELD_TYPES.get(kind)
    if fields is None:
        return "unsupported message type"
    if not isinstance(data.get("headers", {}), dict):
        return "bad headers"
    for name in _REQUIRED_FIELDS.get(kind, ()):
        if name not in data:
            return f"no {name}"
    for name, types in fields.items():
        if not isinstance(data.get(name), types):
            return f"bad {name}"
    return None


def excerpt(text: object) -> str:
    """Return a short, printable excerpt for a log line."""
    return repr(str(text)[:_EXCERPT])
