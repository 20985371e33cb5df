"""Event conformance: larkdesk's webhooks through the official Python SDK's event dispatcher
(lark-oapi `EventDispatcherHandler`).

Run twice, once without and once with an encrypt key. Each run:
- creates its own app (admin API), so events of one run never reach the other run's
  receiver and the delivery log can be filtered by app_id;
- starts a stdlib HTTP receiver that feeds every request to `EventDispatcherHandler.do()`
  (headers passed the way lark-oapi's own Flask adapter passes them);
- sets the app's request URL (admin API). larkdesk sends the url_verification challenge, and
  the SDK answers it. A challenge the SDK rejects (wrong token/key) must not be saved;
- subscribes the app to the helpdesk's ticket events (`helpdesk.v1.event.subscribe`);
- drives one ticket: start_service (-> ticket.created_v1), agent_enter (-> ticket.updated_v1,
  old status 3), guest message "hi" (-> ticket_message.created_v1), ticket.update with a
  comment (-> ticket.updated_v1), and a second guest message, now on a ticket with a comment;
- checks what the SDK decoded (typed objects), the dispatcher's answers, the raw `event`
  against the SDK's declared model types, and the delivery log (`delivered`).

lark-oapi 1.7.5 checks `header.token` on every event, and with an encrypt key it decrypts the
body and checks `X-Lark-Signature` over the raw body. Without a key it does not check the
signature, so this script checks it itself (as older lark-oapi versions did).

Run by conformance/run.sh, which provides LARKDESK_CREDS (the server's credentials file).
Prints PASS/FAIL per check and exits 1 if any check failed.
"""

import base64
import hashlib
import importlib.metadata
import json
import os
import re
import secrets
import sys
import threading
import time
import traceback
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import lark_oapi as lark
from lark_oapi.api.helpdesk.v1 import (
    CreateNotificationRequest,
    Notification,
    NotificationUser,
    P2HelpdeskNotificationApproveV1,
    P2HelpdeskNotificationApproveV1Data,
    SubmitApproveNotificationRequest,
    SubmitApproveNotificationRequestBody,
    Comments,
    Event,
    P2HelpdeskTicketCreatedV1,
    P2HelpdeskTicketCreatedV1Data,
    P2HelpdeskTicketMessageCreatedV1,
    P2HelpdeskTicketMessageCreatedV1Data,
    P2HelpdeskTicketUpdatedV1,
    P2HelpdeskTicketUpdatedV1Data,
    StartServiceTicketRequest,
    StartServiceTicketRequestBody,
    SubscribeEventRequest,
    SubscribeEventRequestBody,
    Ticket,
    TicketEvent,
    TicketEventUpdateInfo,
    TicketMessageContent,
    TicketUserEvent,
    UpdateTicketRequest,
    UpdateTicketRequestBody,
    UserId,
)
from lark_oapi.core.utils import AESCipher

creds = json.load(open(os.environ["LARKDESK_CREDS"]))
demo = creds["demo"]
BASE_URL = creds["base_url"]

CREATED = "helpdesk.ticket.created_v1"
UPDATED = "helpdesk.ticket.updated_v1"
MESSAGE = "helpdesk.ticket_message.created_v1"
APPROVE = "helpdesk.notification.approve_v1"

# Checks that fail because of a known larkdesk discrepancy (reported, not yet fixed).
# They print XFAIL instead of failing the run; CONFORMANCE_STRICT=1 makes them count.
# When one starts passing it prints XPASS: delete it from this set.
# Checks expected to fail for a known server-side reason: reported as XFAIL, not failures.
# (Empty: the three issues this script found -- comments as an object and agent_owner in the
# event-user shape inside message events, and lower-case push headers -- are fixed.)
KNOWN_ISSUES: set = set()
STRICT = os.environ.get("CONFORMANCE_STRICT") == "1"

failures = 0
known = 0


def check(name, ok, detail=""):
    """Record one check; `detail` is printed only on failure."""
    global failures, known
    suffix = f"  -- {detail}" if detail else ""
    if name in KNOWN_ISSUES and not STRICT:
        if ok:
            print(f"XPASS {name}  -- known issue fixed: remove it from KNOWN_ISSUES")
        else:
            known += 1
            print(f"XFAIL {name}{suffix}")
    elif ok:
        print(f"PASS  {name}")
    else:
        failures += 1
        print(f"FAIL  {name}{suffix}")


def check_eq(name, got, want, typ=None):
    """Equal value and (optionally) exact Python type (bool is not accepted as int)."""
    ok = got == want and (typ is None or type(got) is typ)
    check(name, ok, f"got {got!r} ({type(got).__name__}), want {want!r}"
          + (f" ({typ.__name__})" if typ else ""))


def http(method, path, body=None, headers=None):
    """Plain HTTP to larkdesk (not an SDK call). Returns (HTTP status, parsed JSON)."""
    h = {"Content-Type": "application/json; charset=utf-8"}
    h.update(headers or {})
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(BASE_URL + path, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=15) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def admin_call(method, path, body=None):
    return http(method, f"/larkdesk/admin/v1{path}", body,
                {"Authorization": f"Bearer {creds['admin_token']}"})


def admin(path, body):
    """larkdesk admin API: set-up and emulator actions; must succeed."""
    status, resp = admin_call("POST", path, body)
    if resp.get("code") != 0:
        raise RuntimeError(f"admin {path} failed: HTTP {status} {resp}")
    return resp["data"]


def helpdesk_option(user_access_token=None):
    # X-Lark-Helpdesk-Authorization: base64(helpdesk_id:helpdesk_token), as in python.py.
    cred = base64.b64encode(f"{demo['helpdesk_id']}:{demo['helpdesk_token']}".encode()).decode()
    b = lark.RequestOption.builder().headers({"X-Lark-Helpdesk-Authorization": cred})
    if user_access_token:
        b = b.user_access_token(user_access_token)
    return b.build()


def wire_mismatches(value, typ, path="event"):
    """Where the JSON `value` disagrees with the SDK's declared type `typ` (a model class
    with `_types`, List[...], or a scalar). Same as in python.py: lark-oapi copies scalars
    unchecked and drops unknown keys, so this is where a wrong type or extra key shows."""
    if value is None:
        return []
    origin = getattr(typ, "__origin__", None)
    if origin is list:
        if not isinstance(value, list):
            return [f"{path}: {type(value).__name__}, SDK declares a list"]
        return [m for i, v in enumerate(value) for m in wire_mismatches(v, typ.__args__[0], f"{path}[{i}]")]
    if hasattr(typ, "_types"):
        if not isinstance(value, dict):
            return [f"{path}: {type(value).__name__}, SDK declares {typ.__name__}"]
        out = []
        for k, v in value.items():
            if k not in typ._types:
                out.append(f"{path}.{k}: not in the SDK's {typ.__name__}")
            else:
                out += wire_mismatches(v, typ._types[k], f"{path}.{k}")
        return out
    ok = {
        str: lambda v: isinstance(v, str),
        bool: lambda v: isinstance(v, bool),
        int: lambda v: type(v) is int,
        float: lambda v: type(v) in (int, float),  # a JSON number
    }.get(typ, lambda v: True)(value)
    return [] if ok else [f"{path}: {value!r} ({type(value).__name__}), SDK declares {typ.__name__}"]


class Receiver:
    """A stdlib HTTP server that hands every POST to the SDK's dispatcher and logs it."""

    def __init__(self, path, dispatcher, encrypt_key, verbatim_dispatcher=None):
        self.path = path
        self.log = []  # one dict per request, in arrival order
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path != receiver.path:
                    self.send_error(404)
                    return
                wire = list(self.headers.items())
                # As lark_oapi.adapter.flask.parse_req does: the WSGI header names, which
                # werkzeug spells Title-Case (X-Lark-Signature), whatever the wire case.
                req = lark.RawRequest()
                req.uri = self.path
                req.body = body
                req.headers = {k.title(): v for k, v in wire}
                resp = dispatcher.do(req)
                entry = {"wire_headers": wire, "body": body, "status": resp.status_code,
                         "answer": resp.content or b""}
                if verbatim_dispatcher is not None:
                    raw = lark.RawRequest()
                    raw.uri, raw.body, raw.headers = self.path, body, dict(wire)
                    v = verbatim_dispatcher.do(raw)
                    entry["verbatim"] = (v.status_code, v.content or b"")
                try:
                    outer = json.loads(body)
                    entry["plain"] = (json.loads(AESCipher(encrypt_key).decrypt_str(outer["encrypt"]))
                                      if encrypt_key and "encrypt" in outer else outer)
                    entry["outer"] = outer
                except Exception as e:  # noqa: BLE001 - a body we cannot read is logged as such
                    entry["plain"] = {"unreadable": repr(e)}
                    entry["outer"] = {}
                with receiver.lock:
                    receiver.log.append(entry)
                self.send_response(resp.status_code)
                for k, v in (resp.headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(resp.content or b"")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}{path}"

    def entries(self):
        with self.lock:
            return list(self.log)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def ticket_of(plain):
    """The ticket id a pushed event is about."""
    ev = plain.get("event") or {}
    t = (plain.get("header") or {}).get("event_type")
    if t == CREATED:
        return ev.get("ticket_id")
    if t == UPDATED:
        return (ev.get("object") or {}).get("ticket_id")
    if t == MESSAGE:
        return (ev.get("ticket") or {}).get("ticket_id")
    return None


def wait_for(label, cond, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.1)
    return cond()


def run(mode, encrypt_key):
    p = f"events {mode}"
    suffix = secrets.token_hex(3)
    tenant_key = demo["tenant_key"]
    hd = demo["helpdesk_id"]
    vt = f"vt-{mode}-{suffix}"

    # ---- an app of our own, its SDK clients, a guest and an agent --------------------------
    app = admin("/apps", {"tenant_key": tenant_key, "name": f"sdk-python events {mode} {suffix}"})
    app_id, app_secret = app["app_id"], app["app_secret"]
    client = (lark.Client.builder().app_id(app_id).app_secret(app_secret).domain(BASE_URL)
              .log_level(lark.LogLevel.WARNING).build())
    # ticket.update is user-token-only; lark-oapi sends a user token only with enable_set_token.
    user_client = (lark.Client.builder().app_id(app_id).app_secret(app_secret).domain(BASE_URL)
                   .enable_set_token(True).log_level(lark.LogLevel.WARNING).build())
    guest = admin("/users", {"tenant_key": tenant_key, "name": f"ev-py guest {suffix}", "is_agent": False})
    agent = admin("/users", {"tenant_key": tenant_key, "name": f"ev-py agent {suffix}", "is_agent": True})
    user_token = admin(f"/tenants/{tenant_key}/users/{agent['id']}/user_access_token",
                       {"app_id": app_id})["user_access_token"]

    # ---- the SDK's dispatcher behind a stdlib HTTP server ---------------------------------
    calls = []  # (event_type, the SDK's typed object), in call order

    def record(event_type):
        return lambda data: calls.append((event_type, data))

    def dispatcher_for(key, token, on):
        # The third argument sets the SDK's logger level. CRITICAL: the rejections we provoke
        # (and the known issues) would otherwise print tracebacks; the checks report them.
        return (lark.EventDispatcherHandler.builder(key or "", token, lark.LogLevel.CRITICAL)
                .register_p2_helpdesk_ticket_created_v1(on(CREATED))
                .register_p2_helpdesk_ticket_updated_v1(on(UPDATED))
                .register_p2_helpdesk_ticket_message_created_v1(on(MESSAGE))
                .register_p2_helpdesk_notification_approve_v1(on(APPROVE))
                .build())

    dispatcher = dispatcher_for(encrypt_key, vt, record)
    # Same settings, handlers that do nothing: fed the headers exactly as they came in.
    verbatim = dispatcher_for(encrypt_key, vt, lambda t: (lambda data: None)) if encrypt_key else None
    receiver = Receiver(f"/webhook/python-{mode}", dispatcher, encrypt_key, verbatim)
    try:
        run_with_receiver(p, mode, encrypt_key, vt, app_id, client, user_client, guest, agent,
                          user_token, hd, receiver, calls)
    finally:
        admin_call("DELETE", f"/apps/{app_id}/events")
        receiver.stop()


def run_with_receiver(p, mode, encrypt_key, vt, app_id, client, user_client, guest, agent,
                      user_token, hd, receiver, calls):
    guest_id, agent_id = guest["id"], agent["id"]

    # ---- a challenge the SDK rejects is not saved ------------------------------------------
    # Wrong verification token (plain) or wrong encrypt key (encrypted): lark-oapi answers 500.
    bad = {"request_url": receiver.url, "verification_token": vt}
    if encrypt_key:
        bad["encrypt_key"] = "not-the-receivers-key"
        what = "wrong encrypt key"
    else:
        bad["verification_token"] = "not-the-receivers-token"
        what = "wrong verification token"
    status, resp = admin_call("PUT", f"/apps/{app_id}/events", bad)
    check(f"{p}: PUT events with a {what}: rejected (the SDK refused the challenge)",
          resp.get("code") != 0 and status != 200, f"HTTP {status} {resp}")
    check(f"{p}: PUT events with a {what}: the SDK answered the challenge with an error",
          [e["status"] for e in receiver.entries()] == [500],
          repr([(e["status"], e["answer"][:120]) for e in receiver.entries()]))
    n_before = len(receiver.entries())

    # ---- the request URL: larkdesk's url_verification, answered by the SDK -----------------
    settings = {"request_url": receiver.url, "verification_token": vt}
    if encrypt_key:
        settings["encrypt_key"] = encrypt_key
    status, resp = admin_call("PUT", f"/apps/{app_id}/events", settings)
    check(f"{p}: PUT events: code 0 (the SDK answered the challenge)", resp.get("code") == 0,
          f"HTTP {status} {resp}")
    check_eq(f"{p}: PUT events: data echoes the settings", resp.get("data"),
             {"app_id": app_id, "request_url": receiver.url, "verification_token": vt,
              "encrypt_key": encrypt_key})
    challenges = [e for e in receiver.entries()[n_before:]
                  if e["plain"].get("type") == "url_verification"]
    check(f"{p}: one url_verification challenge reached the receiver", len(challenges) == 1,
          repr([e["plain"] for e in receiver.entries()[n_before:]]))
    if challenges:
        c = challenges[0]
        check_eq(f"{p}: challenge: token is the verification token", c["plain"].get("token"), vt, str)
        answer = json.loads(c["answer"] or b"null")
        check(f"{p}: challenge: the SDK answered 200 with the challenge",
              c["status"] == 200 and answer == {"challenge": c["plain"].get("challenge")},
              f"{c['status']} {c['answer']!r}")
        if encrypt_key:
            check(f"{p}: challenge: the body is only {{\"encrypt\": …}}",
                  list(c["outer"]) == ["encrypt"], repr(c["body"][:80]))

    # ---- subscribe through the SDK's generated method --------------------------------------
    events = [Event.builder().type(t).subtype(s).build() for t, s in (
        ("helpdesk.ticket", "ticket.created_v1"),
        ("helpdesk.ticket", "ticket.updated_v1"),
        ("helpdesk.ticket_message", "ticket_message.created_v1"),
        ("helpdesk.notification", "notification.approve_v1"))]
    req = (SubscribeEventRequest.builder()
           .request_body(SubscribeEventRequestBody.builder().events(events).build()).build())
    resp = client.helpdesk.v1.event.subscribe(req, helpdesk_option())
    check(f"{p}: helpdesk.v1.event.subscribe: code 0", resp.success(),
          f"code={resp.code} msg={resp.msg!r}")

    # ---- one ticket's life -----------------------------------------------------------------
    req = (StartServiceTicketRequest.builder()
           .request_body(StartServiceTicketRequestBody.builder().open_id(guest_id).human_service(True).build())
           .build())
    resp = client.helpdesk.v1.ticket.start_service(req, helpdesk_option())
    ticket_id = getattr(resp.data, "ticket_id", None)
    chat_id = getattr(resp.data, "chat_id", None)
    check(f"{p}: start_service: a ticket", resp.success() and bool(ticket_id),
          f"code={resp.code} msg={resp.msg!r}")
    if not ticket_id:
        return
    admin(f"/helpdesks/{hd}/tickets/{ticket_id}/agent_enter", {"agent_id": agent_id})
    msg1 = admin(f"/helpdesks/{hd}/tickets/{ticket_id}/guest_message", {"content": "hi"})
    req = (UpdateTicketRequest.builder().ticket_id(ticket_id)
           .request_body(UpdateTicketRequestBody.builder().comment("from sdk").build()).build())
    resp = user_client.helpdesk.v1.ticket.update(req, helpdesk_option(user_access_token=user_token))
    check(f"{p}: ticket.update (comment, user token): code 0", resp.success(),
          f"code={resp.code} msg={resp.msg!r}")
    msg2 = admin(f"/helpdesks/{hd}/tickets/{ticket_id}/guest_message", {"content": "after the comment"})

    # ---- wait for the five pushes, then for their delivery outcomes ------------------------
    def pushes():
        return [e for e in receiver.entries() if ticket_of(e["plain"]) == ticket_id]

    expected = {CREATED: 1, UPDATED: 2, MESSAGE: 2}

    def counts():
        out = {}
        for e in pushes():
            t = e["plain"]["header"]["event_type"]
            out[t] = out.get(t, 0) + 1
        return out

    wait_for("pushes", lambda: all(counts().get(t, 0) >= n for t, n in expected.items()))
    check_eq(f"{p}: pushes received for the ticket (by event_type)", counts(), expected)

    def deliveries():
        _, r = admin_call("GET", f"/event_deliveries?app_id={app_id}&limit=100")
        return {d["event_id"]: d for d in (r.get("data") or {}).get("deliveries", [])}

    ids = [e["plain"]["header"]["event_id"] for e in pushes()]
    # Settled: delivered, or an attempt recorded (a failed push waits 15 s for its retry).
    wait_for("deliveries", lambda: all(
        (d := deliveries().get(i)) and (d["status"] != "pending" or d["last_error"]) for i in ids),
        timeout=10)
    dlog = deliveries()

    # ---- every push: envelope, headers, signature (one check each, over all pushes) -------
    problems = {}

    def every(name, ok, detail):
        problems.setdefault(f"{p}: every push: {name}", [])
        if not ok:
            problems[f"{p}: every push: {name}"].append(detail)

    for e in pushes():
        ph = e["plain"].get("header") or {}
        lbl = f"{ph.get('event_type')} {ph.get('event_id')}"
        wire = {k.lower(): v for k, v in e["wire_headers"]}
        ts, nonce, sig = (wire.get("x-lark-request-timestamp"), wire.get("x-lark-request-nonce"),
                          wire.get("x-lark-signature"))
        want = hashlib.sha256(((ts or "") + (nonce or "") + (encrypt_key or "")).encode() + e["body"]).hexdigest()
        every("timestamp (s) and nonce headers, X-Lark-Signature = sha256(ts + nonce + key + raw body)",
              bool(ts and ts.isdigit() and len(ts) == 10 and nonce and sig == want),
              f"{lbl}: ts={ts!r} nonce={nonce!r} sig={sig!r}")
        if encrypt_key:
            every("the body is only {\"encrypt\": …}", list(e["outer"]) == ["encrypt"], f"{lbl}: {e['body'][:80]!r}")
        every("schema 2.0", e["plain"].get("schema") == "2.0", f"{lbl}: {e['plain'].get('schema')!r}")
        every("header has exactly event_id, event_type, create_time, token, app_id, tenant_key",
              sorted(ph) == sorted(["event_id", "event_type", "create_time", "token", "app_id", "tenant_key"]),
              f"{lbl}: {sorted(ph)}")
        every("header.event_id is 32 hex, header.create_time is ms digits",
              bool(re.fullmatch(r"[0-9a-f]{32}", str(ph.get("event_id", ""))))
              and str(ph.get("create_time", "")).isdigit() and len(str(ph.get("create_time", ""))) == 13,
              f"{lbl}: {ph!r}")
    for name, bad in problems.items():
        check(name, not bad, "; ".join(bad[:3]))
    if encrypt_key:
        bad = [f"{e['plain']['header']['event_type']}: HTTP {e['verbatim'][0]} {e['verbatim'][1][:80]!r}"
               for e in pushes() if e["verbatim"][0] != 200]
        names = sorted({k for e in pushes() for k, _ in e["wire_headers"] if k.lower().startswith("x-lark")})
        check(f"{p}: dispatcher fed the wire headers verbatim answers every event with 200", not bad,
              "; ".join(bad[:2]) + f"; header names on the wire: {', '.join(names)}")

    # ---- per event: dispatcher answer, the SDK's handler, decoded fields, delivery ---------
    def the(event_type, pick, label):
        """The push (and the SDK's object, if its handler ran) for one expected event."""
        found = [e for e in pushes() if e["plain"]["header"]["event_type"] == event_type and pick(e["plain"])]
        check(f"{p}: {label}: pushed once", len(found) == 1, f"{len(found)} pushes")
        if not found:
            return None, None
        e = found[0]
        ph = e["plain"]["header"]
        check(f"{p}: {label}: dispatcher answered 200",
              e["status"] == 200 and json.loads(e["answer"] or b"{}") == {"msg": "success"},
              f"HTTP {e['status']} {e['answer'][:200]!r}")
        objs = [d for t, d in calls if t == event_type and getattr(d.header, "event_id", None) == ph["event_id"]]
        check(f"{p}: {label}: handler called", len(objs) == 1, f"{len(objs)} calls")
        d = dlog.get(ph["event_id"])
        check(f"{p}: {label}: delivery delivered", bool(d) and d["status"] == "delivered",
              repr(d and {k: d[k] for k in ("status", "attempts", "last_error")}))
        model = {CREATED: P2HelpdeskTicketCreatedV1Data, UPDATED: P2HelpdeskTicketUpdatedV1Data,
                 MESSAGE: P2HelpdeskTicketMessageCreatedV1Data}[event_type]
        bad = wire_mismatches(e["plain"].get("event"), model)
        check(f"{p}: {label}: wire event matches the SDK model types", not bad, "; ".join(bad[:10]))
        obj = objs[0] if objs else None
        if obj is not None:
            h = obj.header
            check_eq(f"{p}: {label}: header.event_type", h.event_type, event_type, str)
            check_eq(f"{p}: {label}: header.token (the verification token)", h.token, vt, str)
            check_eq(f"{p}: {label}: header.app_id", h.app_id, app_id, str)
            check_eq(f"{p}: {label}: header.tenant_key", h.tenant_key, demo["tenant_key"], str)
            check_eq(f"{p}: {label}: schema", obj.schema, "2.0", str)
        return e, obj

    def user_event(label, u, open_id, name):
        check(f"{label} is TicketUserEvent", isinstance(u, TicketUserEvent), type(u).__name__)
        check(f"{label}.id is UserId", isinstance(getattr(u, "id", None), UserId),
              type(getattr(u, "id", None)).__name__)
        check_eq(f"{label}.id.open_id", getattr(getattr(u, "id", None), "open_id", None), open_id, str)
        check_eq(f"{label}.name", getattr(u, "name", None), name, str)

    # helpdesk.ticket.created_v1
    _, obj = the(CREATED, lambda pl: True, CREATED)
    if obj is not None:
        lbl = f"{p}: {CREATED}"
        check(f"{lbl}: is P2HelpdeskTicketCreatedV1", isinstance(obj, P2HelpdeskTicketCreatedV1), type(obj).__name__)
        ev = obj.event
        check(f"{lbl}: event is P2HelpdeskTicketCreatedV1Data",
              isinstance(ev, P2HelpdeskTicketCreatedV1Data), type(ev).__name__)
        check_eq(f"{lbl}: event.ticket_id", ev.ticket_id, ticket_id, str)
        check_eq(f"{lbl}: event.helpdesk_id", ev.helpdesk_id, hd, str)
        check_eq(f"{lbl}: event.chat_id (start_service's)", ev.chat_id, chat_id, str)
        check_eq(f"{lbl}: event.status 3 (queued)", ev.status, 3, int)
        check_eq(f"{lbl}: event.stage 2 (human)", ev.stage, 2, int)
        check(f"{lbl}: event.created_at is ms", type(ev.created_at) is int and ev.created_at > 10**12,
              repr(ev.created_at))
        check(f"{lbl}: event.customized_fields is a list", isinstance(ev.customized_fields, list),
              repr(ev.customized_fields))
        user_event(f"{lbl}: event.guest", ev.guest, guest_id, guest["name"])

    # helpdesk.ticket.updated_v1: the agent entered (queued 3 -> processing 2)
    _, obj = the(UPDATED, lambda pl: (pl["event"].get("old_object") or {}).get("status") == 3,
                 f"{UPDATED} (agent_enter)")
    if obj is not None:
        lbl = f"{p}: {UPDATED} (agent_enter)"
        check(f"{lbl}: is P2HelpdeskTicketUpdatedV1", isinstance(obj, P2HelpdeskTicketUpdatedV1), type(obj).__name__)
        o, old = obj.event.object, obj.event.old_object
        check(f"{lbl}: event.object is TicketEvent", isinstance(o, TicketEvent), type(o).__name__)
        check(f"{lbl}: event.old_object is TicketEventUpdateInfo",
              isinstance(old, TicketEventUpdateInfo), type(old).__name__)
        check_eq(f"{lbl}: event.object.ticket_id", getattr(o, "ticket_id", None), ticket_id, str)
        check_eq(f"{lbl}: event.object.status 2 (processing)", getattr(o, "status", None), 2, int)
        check_eq(f"{lbl}: event.old_object.status 3", getattr(old, "status", None), 3, int)
        check_eq(f"{lbl}: event.object.chat_id", getattr(o, "chat_id", None), chat_id, str)
        user_event(f"{lbl}: event.object.guest", getattr(o, "guest", None), guest_id, guest["name"])
        agents = getattr(o, "agents", None) or []
        check(f"{lbl}: event.object.agents is a 1-element list", len(agents) == 1, repr(agents))
        if agents:
            user_event(f"{lbl}: event.object.agents[0]", agents[0], agent_id, agent["name"])

    # helpdesk.ticket.updated_v1: the comment (status unchanged, so no old status)
    _, obj = the(UPDATED, lambda pl: "status" not in (pl["event"].get("old_object") or {}),
                 f"{UPDATED} (comment)")
    if obj is not None:
        lbl = f"{p}: {UPDATED} (comment)"
        check_eq(f"{lbl}: event.object.ticket_id", getattr(obj.event.object, "ticket_id", None), ticket_id, str)
        old = obj.event.old_object
        check(f"{lbl}: event.old_object.updated_at is an int",
              type(getattr(old, "updated_at", None)) is int, repr(vars(old) if old else old))

    # helpdesk.ticket_message.created_v1, twice
    for n, text, sent in ((1, "hi", msg1), (2, "after the comment", msg2)):
        label = f"{MESSAGE} #{n}" + (" (ticket with a comment)" if n == 2 else "")
        _, obj = the(MESSAGE, lambda pl, text=text: pl["event"].get("text") == text, label)
        lbl = f"{p}: {label}"
        if obj is None:
            if n == 2:
                check(f"{lbl}: ticket.comments is a list of Comments", False, "the SDK did not decode the event")
            continue
        check(f"{lbl}: is P2HelpdeskTicketMessageCreatedV1",
              isinstance(obj, P2HelpdeskTicketMessageCreatedV1), type(obj).__name__)
        ev = obj.event
        check_eq(f"{lbl}: event.text", ev.text, text, str)
        check_eq(f"{lbl}: event.sender_type 2 (guest)", ev.sender_type, 2, int)
        check(f"{lbl}: event.sender_id is UserId", isinstance(ev.sender_id, UserId), type(ev.sender_id).__name__)
        check_eq(f"{lbl}: event.sender_id.open_id", getattr(ev.sender_id, "open_id", None), guest_id, str)
        check_eq(f"{lbl}: event.msg_type", ev.msg_type, "text", str)
        check_eq(f"{lbl}: event.message_id (guest_message's)", ev.message_id, sent["message_id"], str)
        check_eq(f"{lbl}: event.event_id (guest_message's, for answer_user_query)",
                 ev.event_id, sent["event_id"], str)
        check_eq(f"{lbl}: event.chat_id", ev.chat_id, chat_id, str)
        check(f"{lbl}: event.position is a digit string", isinstance(ev.position, str) and ev.position.isdigit(),
              repr(ev.position))
        check(f"{lbl}: event.ticket_message_id is a digit string",
              isinstance(ev.ticket_message_id, str) and ev.ticket_message_id.isdigit(), repr(ev.ticket_message_id))
        check(f"{lbl}: event.content is TicketMessageContent", isinstance(ev.content, TicketMessageContent),
              type(ev.content).__name__)
        check_eq(f"{lbl}: event.content.content", getattr(ev.content, "content", None), text, str)
        check_eq(f"{lbl}: event.content.msg_type", getattr(ev.content, "msg_type", None), "text", str)
        t = ev.ticket
        check(f"{lbl}: event.ticket is Ticket", isinstance(t, Ticket), type(t).__name__)
        check_eq(f"{lbl}: event.ticket.ticket_id", getattr(t, "ticket_id", None), ticket_id, str)
        check_eq(f"{lbl}: event.ticket.status 2", getattr(t, "status", None), 2, int)
        check_eq(f"{lbl}: event.ticket.ticket_type 2", getattr(t, "ticket_type", None), 2, int)
        if n == 1:
            check_eq(f"{lbl}: ticket.agent_owner.id is the agent's open_id (a string)",
                     getattr(getattr(t, "agent_owner", None), "id", None), agent_id, str)
        else:
            cs = getattr(t, "comments", None)
            check(f"{lbl}: ticket.comments is a list of Comments",
                  isinstance(cs, list) and len(cs) == 1 and isinstance(cs[0], Comments)
                  and cs[0].content == "from sdk", repr(cs))


    notification_approve(p, vt, app_id, user_client, user_token, guest_id, hd, receiver, calls)


def notification_approve(p, vt, app_id, user_client, user_token, guest_id, hd, receiver, calls):
    """A push job approved by the approver (admin API) pushes helpdesk.notification.approve_v1,
    which the SDK's dispatcher decodes into P2HelpdeskNotificationApproveV1."""
    lbl = f"{p}: {APPROVE}"
    job = (Notification.builder().job_name("events").push_content("{}").push_type(0).push_scope_type(2)
           .user_list([NotificationUser.builder().user_id(guest_id).build()]).build())
    opt = lambda: helpdesk_option(user_access_token=user_token)
    resp = user_client.helpdesk.v1.notification.create(CreateNotificationRequest.builder().request_body(job).build(), opt())
    nid = getattr(resp.data, "notification_id", None)
    check(f"{lbl}: notification.create", resp.success() and bool(nid), f"code={resp.code} msg={resp.msg!r}")
    if not nid:
        return
    req = (SubmitApproveNotificationRequest.builder().notification_id(nid)
           .request_body(SubmitApproveNotificationRequestBody.builder().reason("events").build()).build())
    resp = user_client.helpdesk.v1.notification.submit_approve(req, opt())
    check(f"{lbl}: notification.submit_approve", resp.success(), f"code={resp.code} msg={resp.msg!r}")
    admin(f"/helpdesks/{hd}/notifications/{nid}/approve", {})

    def pushes():
        return [e for e in receiver.entries()
                if (e["plain"].get("event") or {}).get("notification_id") == nid]

    wait_for("approve push", lambda: len(pushes()) >= 1)
    found = pushes()
    check(f"{lbl}: pushed once", len(found) == 1, f"{len(found)} pushes")
    if not found:
        return
    e = found[0]
    check(f"{lbl}: dispatcher answered 200",
          e["status"] == 200 and json.loads(e["answer"] or b"{}") == {"msg": "success"},
          f"HTTP {e['status']} {e['answer'][:200]!r}")
    bad = wire_mismatches(e["plain"].get("event"), P2HelpdeskNotificationApproveV1Data)
    check(f"{lbl}: wire event matches the SDK model types", not bad, "; ".join(bad[:10]))
    event_id = e["plain"]["header"]["event_id"]
    objs = [d for t, d in calls if t == APPROVE and getattr(d.header, "event_id", None) == event_id]
    check(f"{lbl}: handler called", len(objs) == 1, f"{len(objs)} calls")
    if objs:
        obj = objs[0]
        check(f"{lbl}: is P2HelpdeskNotificationApproveV1", isinstance(obj, P2HelpdeskNotificationApproveV1),
              type(obj).__name__)
        check_eq(f"{lbl}: header.event_type", obj.header.event_type, APPROVE, str)
        check_eq(f"{lbl}: header.token", obj.header.token, vt, str)
        check_eq(f"{lbl}: header.app_id", obj.header.app_id, app_id, str)
        check_eq(f"{lbl}: event.notification_id", obj.event.notification_id, nid, str)
        check_eq(f"{lbl}: event.helpdesk_id", obj.event.helpdesk_id, hd, str)
        check_eq(f"{lbl}: event.approve_status", obj.event.approve_status, "APPROVED", str)


def main():
    # Without an encrypt key, then with one; a fresh app (and receiver) for each.
    run("plain", None)
    run("encrypted", "ek-" + secrets.token_hex(12))


if __name__ == "__main__":
    try:
        main()
    except Exception:  # an SDK exception is a failure, not a crash without a verdict
        traceback.print_exc()
        failures += 1
        print("FAIL  unexpected exception")
    version = importlib.metadata.version("lark-oapi")
    print(f"python events (lark-oapi {version}): {'FAILED' if failures else 'all checks passed'} "
          f"({failures} failed, {known} known issues)")
    sys.exit(1 if failures else 0)
