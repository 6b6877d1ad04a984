"""A local server that imitates SendGrid's v3 `POST /v3/mail/send`, for tests and benchmarks.

It validates each request against the official schema (../shared/specs/sendgrid, patched
where it is known to be wrong) and the documented rules the schema misses, answers as the
real API does (202 + X-Message-Id; 400/401/403/413 error bodies; 429 with X-RateLimit-*),
can inject 429, 500, 503, slow answers and dropped connections at a set rate, can accept a
request and then lose its answer (drop, hang past the client's timeout, or cut the status line),
and records every accepted recipient so tests can count deliveries per address.
"""

from __future__ import annotations

import copy
import json
import random
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

SPEC = Path(__file__).resolve().parents[3] / "shared" / "specs" / "sendgrid" / "tsg_mail_v3.json"
SCHEMA_POINTER = "#/components/requestBodies/PostMailSend/content/application~1json/schema"
FORBIDDEN_HEADERS = {
    "x-sg-id",
    "x-sg-eid",
    "received",
    "dkim-signature",
    "content-type",
    "content-transfer-encoding",
    "to",
    "from",
    "subject",
    "reply-to",
    "cc",
    "bcc",
}
LOST = ("accept_drop", "accept_timeout", "truncated")
UNAUTHORIZED = "The provided authorization grant is invalid, expired, or revoked"
HELP = "https://docs.sendgrid.com/api-reference/mail-send/errors"


class Problem(Exception):
    """One documented error: HTTP status, message and the field it is about."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field


def _validator(spec: Path) -> Any:
    """A Draft 2020-12 validator for the request body, with the schema's known defects fixed."""
    from jsonschema import Draft202012Validator

    doc = json.loads(spec.read_text(encoding="utf-8"))
    body = doc["components"]["requestBodies"]["PostMailSend"]["content"]["application/json"]
    schema = body["schema"]
    props = schema["properties"]
    props["custom_args"] = {"type": "object", "additionalProperties": {"type": "string"}}
    props["content"] = {**props["content"], "minItems": 1}
    root = copy.copy(doc)
    root["$ref"] = SCHEMA_POINTER
    return Draft202012Validator(root, format_checker=Draft202012Validator.FORMAT_CHECKER)


@dataclass
class Faults:
    """What to inject, as rates in [0, 1] per request, drawn from a seeded generator."""

    rate_429: float = 0.0
    rate_500: float = 0.0
    rate_503: float = 0.0
    rate_drop: float = 0.0
    rate_slow: float = 0.0
    slow_seconds: float = 0.2
    reset_in: int = 1  # seconds until X-RateLimit-Reset on a 429
    hang_seconds: float = 2.0  # how long "accept_timeout" keeps the answer back
    seed: int = 0


@dataclass
class FakeSendGrid:
    """The server's state: what it accepted, and what it should refuse or inject."""

    api_key: str = "SG.test-key"
    verified_senders: set[str] | None = None  # None: every sender is verified
    reject_emails: set[str] = field(default_factory=set)  # answered 400 naming the recipient
    max_bytes: int = 30 * 1024 * 1024
    validate_schema: bool = True
    # jsonschema takes ~0.35 ms per personalization; benchmarks check the schema on the
    # envelope plus the first and last personalization (every documented rule still runs
    # on all of them). None checks every personalization against the schema.
    schema_sample: int | None = None
    faults: Faults = field(default_factory=Faults)
    # Forced answers, first in first out: a status, "drop", "slow", or one of LOST (the mail
    # is accepted and recorded, then the answer never arrives whole).
    script: list[int | str] = field(default_factory=list)
    accepted: Counter[str] = field(default_factory=Counter)
    requests: list[dict[str, Any]] = field(default_factory=list)  # accepted request bodies
    keep_bodies: bool = True
    statuses: Counter[int | str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self.rng = random.Random(self.faults.seed)
        self.validator = _validator(SPEC) if self.validate_schema else None
        self.server: ThreadingHTTPServer | None = None

    # --- the rules -------------------------------------------------------------------------

    def check(self, body: Any) -> None:
        """Raise Problem for the first rule the request breaks."""
        if not isinstance(body, dict):
            raise Problem(400, "Bad Request", None)
        if self.validator is not None:
            checked = body
            pers = body.get("personalizations")
            if self.schema_sample is not None and isinstance(pers, list) and len(pers) > 2:
                checked = {**body, "personalizations": [pers[0], pers[-1]]}
            error = next(iter(self.validator.iter_errors(checked)), None)
            if error is not None:
                where = ".".join(str(p) for p in error.absolute_path) or None
                raise Problem(400, error.message, where)
        self._rules(body)

    def _rules(self, body: dict[str, Any]) -> None:
        pers = body.get("personalizations") or []
        if not pers:
            raise Problem(400, "You must have at least one personalization.", "personalizations")
        if len(pers) > 1000:
            raise Problem(
                400,
                "The personalization block is limited to 1000 personalizations per API request.",
                "personalizations",
            )
        total = 0
        for i, p in enumerate(pers):
            seen: set[str] = set()
            for kind in ("to", "cc", "bcc"):
                for j, r in enumerate(p.get(kind) or []):
                    total += 1
                    addr = str(r.get("email", "")).lower()
                    if addr in seen:
                        raise Problem(
                            400,
                            "Each email address in the personalization block should be unique "
                            "between to, cc, and bcc.",
                            f"personalizations.{i}.{kind}.{j}.email",
                        )
                    seen.add(addr)
                    name = r.get("name") or ""
                    if ";" in name or "," in name:
                        raise Problem(
                            400,
                            "The to name cannot contain ; or , characters.",
                            f"personalizations.{i}.{kind}.{j}.name",
                        )
                    if addr in self.reject_emails:
                        raise Problem(
                            400,
                            "Does not contain a valid address.",
                            f"personalizations.{i}.{kind}.{j}.email",
                        )
            subs = p.get("substitutions") or {}
            values = subs.values()
            if not all(isinstance(v, str) for v in values):
                raise Problem(
                    400, "Substitutions must be strings.", f"personalizations.{i}.substitutions"
                )
            # UTF-8 bytes of keys and values; counted by map, not a generator (same sum).
            if (
                sum(map(len, map(str.encode, subs))) + sum(map(len, map(str.encode, values)))
                > 10000
            ):
                raise Problem(
                    400,
                    "The substitutions for a personalization may not exceed 10000 bytes.",
                    f"personalizations.{i}.substitutions",
                )
            self._custom_args(p.get("custom_args"), f"personalizations.{i}.custom_args")
            self._headers(p.get("headers") or {}, f"personalizations.{i}.headers")
        if total > 1000:
            raise Problem(
                400,
                "There is a limit of 1000 total recipients (to + cc + bcc) per request.",
                "personalizations",
            )
        self._content(body)
        if "reply_to" in body and "reply_to_list" in body:
            raise Problem(400, "reply_to and reply_to_list are mutually exclusive.", "reply_to")
        self._custom_args(body.get("custom_args"), "custom_args")
        self._headers(body.get("headers") or {}, "headers")
        cats = body.get("categories") or []
        if len(cats) > 10 or len(set(cats)) != len(cats) or any(len(c) > 255 for c in cats):
            raise Problem(400, "Categories: at most 10, unique, 255 characters each.", "categories")
        sender = str((body.get("from") or {}).get("email", "")).lower()
        if self.verified_senders is not None and sender not in self.verified_senders:
            raise Problem(
                403,
                "The from address does not match a verified Sender Identity. Mail cannot be "
                "sent until this error is resolved.",
                "from",
            )

    @staticmethod
    def _content(body: dict[str, Any]) -> None:
        content = body.get("content")
        if not content:
            if "template_id" not in body:
                raise Problem(
                    400,
                    "Unless a valid template_id is provided, the content parameter is required.",
                    "content",
                )
            return
        types = [c.get("type") for c in content]
        for kind in ("text/plain", "text/html"):
            if types.count(kind) > 1:
                raise Problem(400, f"{kind} may only be given once.", "content")
        both = "text/plain" in types and "text/html" in types
        if both and types.index("text/plain") > types.index("text/html"):
            raise Problem(
                400,
                "If present, text/plain must be first, followed by "
                "text/html, followed by any other content.",
                "content",
            )
        for i, c in enumerate(content):
            if not c.get("value"):
                raise Problem(
                    400,
                    "The content value must be a string at least one character in length.",
                    f"content.{i}.value",
                )

    @staticmethod
    def _custom_args(args: Any, where: str) -> None:
        if args is None:
            return
        if not isinstance(args, dict):
            raise Problem(
                400, f"Invalid type. Expected: object, given: {type(args).__name__}.", where
            )
        if not all(isinstance(v, str) for v in args.values()):
            raise Problem(400, "Custom args must be strings.", where)
        # json.dumps writes at most 12 bytes per character (an escaped surrogate pair) plus
        # 8 per entry: below that bound the exact count cannot reach the limit either.
        chars = sum(map(len, args)) + sum(map(len, args.values()))
        if 12 * chars + 8 * len(args) + 2 >= 10000 and len(json.dumps(args).encode()) >= 10000:
            raise Problem(400, "Custom args may not exceed 10,000 bytes.", where)

    @staticmethod
    def _headers(headers: dict[str, Any], where: str) -> None:
        for name in headers:
            if name.lower() in FORBIDDEN_HEADERS:
                raise Problem(400, f"The header {name} is reserved and cannot be set.", where)

    # --- faults ------------------------------------------------------------------------------

    def fault(self) -> int | str | None:
        """The answer to inject for this request, if any: a status, "drop" or "slow"."""
        with self.lock:
            if self.script:
                return self.script.pop(0)
            f = self.faults
            roll = self.rng.random()
        for outcome, rate in (
            (429, f.rate_429),
            (500, f.rate_500),
            (503, f.rate_503),
            ("drop", f.rate_drop),
            ("slow", f.rate_slow),
        ):
            if roll < rate:
                return outcome
            roll -= rate
        return None

    def record(self, body: dict[str, Any]) -> str:
        """Count each recipient of an accepted request; returns its X-Message-Id."""
        message_id = uuid.uuid4().hex[:22]
        with self.lock:
            for p in body["personalizations"]:
                for r in p.get("to") or []:
                    self.accepted[str(r["email"]).lower()] += 1
            if self.keep_bodies:
                self.requests.append(body)
        return message_id

    # --- serving -----------------------------------------------------------------------------

    def start(self, port: int = 0) -> str:
        """Serve on `port` (0: a free one) in a thread; returns the base URL (the client's host)."""
        fake = self

        class Handler(_Handler):
            state = fake

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def stop(self) -> None:
        """Stop serving."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    @property
    def url(self) -> str:
        """The base URL while serving."""
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"


class _Handler(BaseHTTPRequestHandler):
    state: FakeSendGrid
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read the recorded state instead."""

    def _answer(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if data:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)
        self.close_connection = True
        with self.state.lock:
            self.state.statuses[status] += 1

    def _problem(self, p: Problem) -> None:
        self._answer(
            p.status,
            {"errors": [{"message": p.message, "field": p.field, "help": HELP}], "id": "fake"},
        )

    def do_GET(self) -> None:
        """GET /_fake/stats: what was accepted, for benchmarks running the fake elsewhere."""
        state = self.state
        with state.lock:
            stats = {
                "accepted": sum(state.accepted.values()),
                "recipients": len(state.accepted),
                "max_per_recipient": max(state.accepted.values(), default=0),
                "statuses": {str(k): v for k, v in state.statuses.items()},
            }
        self._answer(200, stats)

    def do_POST(self) -> None:
        """POST /v3/mail/send."""
        state = self.state
        length = int(self.headers.get("Content-Length") or 0)
        if self.path.rstrip("/") != "/v3/mail/send":
            self._answer(404, {"errors": [{"message": "not found", "field": None, "help": None}]})
            return
        if self.headers.get("Authorization") != f"Bearer {state.api_key}":
            self.rfile.read(length)
            self._answer(
                401,
                {
                    "errors": [
                        {
                            "message": UNAUTHORIZED,
                            "field": None,
                            "help": None,
                        }
                    ]
                },
            )
            return
        if length > state.max_bytes:
            self.rfile.read(length)
            self._answer(
                413, {"errors": [{"message": "Payload Too Large", "field": None, "help": None}]}
            )
            return
        raw = self.rfile.read(length)
        fault = state.fault()
        if fault == 202:  # a script's way to say "answer this one normally"
            fault = None
        if fault == "drop":
            with state.lock:
                state.statuses["drop"] += 1
            self.close_connection = True
            self.connection.shutdown(2)  # the request never lands
            return
        if fault == "slow":
            time.sleep(state.faults.slow_seconds)
        elif fault == 429:
            reset = int(time.time()) + state.faults.reset_in
            self._answer(
                429,
                {"errors": [{"field": None, "message": "too many requests"}]},
                {
                    "X-RateLimit-Limit": "600",
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": str(reset),
                },
            )
            return
        elif isinstance(fault, int):
            self._answer_html(fault)
            return
        try:
            body = json.loads(raw)
            state.check(body)
        except ValueError:
            self._problem(Problem(400, "Bad Request", None))
            return
        except Problem as p:
            self._problem(p)
            return
        message_id = state.record(body)
        if fault in LOST:
            self._lose_answer(str(fault))
            return
        self._answer(202, None, {"X-Message-Id": message_id})

    def _lose_answer(self, how: str) -> None:
        """The mail is accepted; the client never gets a whole answer."""
        with self.state.lock:
            self.state.statuses[how] += 1
        if how == "accept_timeout":
            time.sleep(self.state.faults.hang_seconds)
        elif how == "truncated":
            self.wfile.write(b"HTTP/1.1 20")  # cut inside the status line
            self.wfile.flush()
        self.close_connection = True
        self.connection.shutdown(2)

    def _answer_html(self, status: int) -> None:
        # 5xx from a proxy: not JSON.
        data = f"<html><body><h1>{status}</h1></body></html>".encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)
        self.close_connection = True
        with self.state.lock:
            self.state.statuses[status] += 1


def main() -> None:
    """Serve the fake in its own process: `python -m tests.fakes.sendgrid_api --port 0`."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--api-key", default="SG.test-key")
    parser.add_argument("--no-validate", action="store_true", help="skip the JSON schema check")
    parser.add_argument(
        "--sample-schema", action="store_true", help="schema-check 2 personalizations a request"
    )
    args = parser.parse_args()
    fake = FakeSendGrid(
        api_key=args.api_key,
        validate_schema=not args.no_validate,
        keep_bodies=False,
        schema_sample=2 if args.sample_schema else None,
    )
    fake.server = ThreadingHTTPServer(
        ("127.0.0.1", args.port), type("Handler", (_Handler,), {"state": fake})
    )
    fake.server.daemon_threads = True
    print(fake.url, flush=True)
    fake.server.serve_forever()


if __name__ == "__main__":
    main()
