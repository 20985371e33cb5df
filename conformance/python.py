"""Conformance: the helpdesk ticket endpoints through the official Python SDK
(lark-oapi) against a running larkdesk server.

- GET ticket on the imported seed ticket (every field, errors, log id, token reuse);
- a ticket's life through the SDK's generated methods: start_service, get, update (with
  a user_access_token), list (filters, repeated status_list, paging), ticket messages
  (create, list), bot message, ticket customized fields (create, list with a GET body),
  and SDK-level error responses.

Run by conformance/run.sh, which provides:
  LARKDESK_CREDS  path of the server's credentials file (base_url, demo app, helpdesk)
  SEED_TICKET     path of seed_ticket.json (already imported into the demo helpdesk)

Prints PASS/FAIL per check and exits 1 if any check failed.
"""

import base64
import importlib.metadata
import json
import os
import secrets
import sys
import traceback
import urllib.request

import lark_oapi as lark
from lark_oapi.api.helpdesk.v1 import (
    BotMessage,
    Comments,
    CreateBotMessageRequest,
    CreateBotMessageResponseBody,
    CreateTicketCustomizedFieldRequest,
    CreateTicketMessageRequest,
    CreateTicketMessageRequestBody,
    CreateTicketMessageResponseBody,
    CustomizedFieldDisplayItem,
    GetTicketRequest,
    GetTicketResponse,
    GetTicketResponseBody,
    ListTicketCustomizedFieldRequest,
    ListTicketCustomizedFieldRequestBody,
    ListTicketCustomizedFieldResponseBody,
    ListTicketMessageRequest,
    ListTicketMessageResponseBody,
    ListTicketRequest,
    ListTicketResponseBody,
    StartServiceTicketRequest,
    StartServiceTicketRequestBody,
    StartServiceTicketResponseBody,
    TicketCustomizedField,
    TicketMessage,
    TicketTag,
    TicketUser,
    TicketV2,
    UpdateTicketRequest,
    UpdateTicketRequestBody,
)
from lark_oapi.core.cache import ICache

TICKET_ID = "6626871355780366331"

creds = json.load(open(os.environ["LARKDESK_CREDS"]))
seed = json.load(open(os.environ["SEED_TICKET"], encoding="utf-8"))
demo = creds["demo"]
BASE_URL = creds["base_url"]

# Checks that fail because of a known larkdesk discrepancy (reported, not yet fixed).
# They print XFAIL instead of failing the run; CONFORMANCE_STRICT=1 makes them count.
# When one starts passing it prints XPASS: delete it from this set.
# (The X-Tt-Logid header casing issue found here earlier is fixed by title-cased headers.)
# Checks expected to fail for a known server-side reason: reported as XFAIL, not failures.
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


def header(raw, name):
    """Case-insensitive header lookup on the SDK's RawResponse (a plain dict)."""
    for k, v in (raw.headers or {}).items():
        if k.lower() == name.lower():
            return v
    return None


class RecordingCache(ICache):
    """In-memory token cache that remembers what the SDK stored in it."""

    def __init__(self):
        self.values = {}
        self.sets = []

    def get(self, key):
        return self.values.get(key)

    def set(self, key, value, expire):
        self.sets.append(key)
        self.values[key] = value


def helpdesk_option(helpdesk_token=None, user_access_token=None):
    # The Python SDK has no helpdesk credential helper: the caller adds
    # X-Lark-Helpdesk-Authorization: base64(helpdesk_id:helpdesk_token) itself.
    # A fresh option per call: the SDK writes the token and Content-Type into it.
    cred = base64.b64encode(
        f"{demo['helpdesk_id']}:{helpdesk_token or demo['helpdesk_token']}".encode()).decode()
    b = lark.RequestOption.builder().headers({"X-Lark-Helpdesk-Authorization": cred})
    if user_access_token:
        b = b.user_access_token(user_access_token)
    return b.build()


def admin(path, body):
    """larkdesk admin API (plain HTTP, not an SDK call): set-up and emulator actions."""
    req = urllib.request.Request(
        f"{BASE_URL}/larkdesk/admin/v1{path}", data=json.dumps(body).encode(), method="POST",
        headers={"Authorization": f"Bearer {creds['admin_token']}",
                 "Content-Type": "application/json; charset=utf-8"})
    with urllib.request.urlopen(req, timeout=10) as r:
        resp = json.load(r)
    if resp.get("code") != 0:
        raise RuntimeError(f"admin {path} failed: {resp}")
    return resp["data"]


def get_ticket(client, ticket_id, option) -> GetTicketResponse:
    req = GetTicketRequest.builder().ticket_id(ticket_id).build()
    return client.helpdesk.v1.ticket.get(req, option)


def check_error(label, resp, code, status):
    check_eq(f"{label}: code", resp.code, code, int)
    check(f"{label}: success() is False", not resp.success())
    check_eq(f"{label}: HTTP status", resp.raw.status_code, status)
    check(f"{label}: msg non-empty", isinstance(resp.msg, str) and resp.msg != "", repr(resp.msg))
    # (Responses without a data schema, e.g. UpdateTicketResponse, have no `data` at all.)
    check(f"{label}: no data", getattr(resp, "data", None) is None, repr(getattr(resp, "data", None)))
    # GetTicketResponse's _types lacks "error", so the SDK leaves `error` a plain dict
    # (BaseResponse declares an Error object); accept either.
    err = resp.error
    err_log_id = err.get("log_id") if isinstance(err, dict) else getattr(err, "log_id", None)
    logid = header(resp.raw, "X-Tt-Logid")
    check(f"{label}: error.log_id equals X-Tt-Logid header",
          bool(logid) and err_log_id == logid, f"error={err!r}, header={logid!r}")


def user_checks(label, u, want):
    check(f"{label} is TicketUser", isinstance(u, TicketUser), type(u).__name__)
    if not isinstance(u, TicketUser):
        return
    for f in ("id", "avatar_url", "name", "email", "department", "city", "country"):
        check_eq(f"{label}.{f}", getattr(u, f), want[f], str)


def main():
    cache = RecordingCache()
    client = (
        lark.Client.builder()
        .app_id(demo["app_id"])
        .app_secret(demo["app_secret"])
        .domain(BASE_URL)  # http:// is accepted for 127.0.0.1 only
        .cache(cache)
        .log_level(lark.LogLevel.WARNING)
        .build()
    )

    # ---- success ------------------------------------------------------------------
    resp = get_ticket(client, TICKET_ID, helpdesk_option(demo["helpdesk_token"]))
    check_eq("ok: code", resp.code, 0, int)
    check("ok: success()", resp.success(), f"msg={resp.msg!r}")
    check_eq("ok: msg", resp.msg, "success", str)
    check_eq("ok: HTTP status", resp.raw.status_code, 200)
    check("ok: Content-Type application/json",
          (header(resp.raw, "Content-Type") or "").startswith("application/json"),
          repr(header(resp.raw, "Content-Type")))

    # The SDK fetched the tenant_access_token itself (app_id/app_secret -> cache).
    key = f"self_tenant_token:{demo['app_id']}"
    token = cache.values.get(key)
    check("ok: SDK fetched and cached tenant_access_token",
          key in cache.sets and isinstance(token, str) and token.startswith("t-"),
          f"sets={cache.sets}, token={token!r}")

    # Log id. lark-oapi's get_log_id() looks up "X-Tt-Logid" in a plain (case-sensitive)
    # dict of the response headers, so it needs the header spelled exactly that way,
    # as open.feishu.cn sends it.
    logid = header(resp.raw, "X-Tt-Logid")
    check("ok: X-Tt-Logid header present (any case)", bool(logid), repr(resp.raw.headers))
    check("ok: resp.get_log_id() non-empty", bool(resp.get_log_id()),
          f"get_log_id()={resp.get_log_id()!r}; header names sent: {sorted(resp.raw.headers)}")

    t = resp.data.ticket if resp.data is not None else None
    check("ok: data.ticket is TicketV2", isinstance(t, TicketV2), repr(t))
    if isinstance(t, TicketV2):
        check_eq("ticket_id", t.ticket_id, TICKET_ID, str)
        check_eq("helpdesk_id (the importing helpdesk)", t.helpdesk_id, demo["helpdesk_id"], str)
        user_checks("guest", t.guest, seed["guest"])
        check_eq("guest.name is \"abc\" (literal)", getattr(t.guest, "name", None), "abc", str)

        # comments is a single object in ticket_v2 (a list only in the old `ticket` type)
        c = t.comments
        check("comments is Comments", isinstance(c, Comments), type(c).__name__)
        if isinstance(c, Comments):
            check_eq("comments.content", c.content, "备注内容", str)
            check_eq("comments.created_at", c.created_at, 1690970837624, int)
            check_eq("comments.id", c.id, 12, int)
            check_eq("comments.user_avatar_url", c.user_avatar_url, "备注人头像", str)
            check_eq("comments.user_name", c.user_name, "备注人姓名", str)
            # > 2^53: must arrive as an exact JSON integer, not a float or string
            check_eq("comments.user_id (exact int > 2^53)", c.user_id, 7262656095919128578, int)

        check_eq("ticket_type", t.ticket_type, 1, int)
        check_eq("status", t.status, 50, int)
        check_eq("score", t.score, 1, int)
        check_eq("created_at", t.created_at, 1616920429000, int)
        check_eq("updated_at", t.updated_at, 1616920429000, int)
        check_eq("closed_at", t.closed_at, 1616920429000, int)

        dr = t.dissatisfaction_reason
        check_eq("dissatisfaction_reason.zh_cn", getattr(dr, "zh_cn", None), "答案看不懂", str)
        check_eq("dissatisfaction_reason.en_us", getattr(dr, "en_us", None), "I don't understand", str)
        check_eq("dissatisfaction_reason.ja_jp", getattr(dr, "ja_jp", None), "回答が複雑すぎる", str)

        check("agents is a 1-element list", isinstance(t.agents, list) and len(t.agents) == 1,
              repr(t.agents))
        if t.agents:
            user_checks("agents[0]", t.agents[0], seed["agents"][0])
        check_eq("channel (0 is present, not omitted)", t.channel, 0, int)
        check_eq("solve", t.solve, 1, int)
        user_checks("closed_by", t.closed_by, seed["closed_by"])
        check("collaborators is a 1-element list",
              isinstance(t.collaborators, list) and len(t.collaborators) == 1, repr(t.collaborators))
        if t.collaborators:
            user_checks("collaborators[0]", t.collaborators[0], seed["collaborators"][0])

        cf = t.customized_fields
        check("customized_fields is a 1-element list", isinstance(cf, list) and len(cf) == 1, repr(cf))
        if cf:
            f0 = cf[0]
            check("customized_fields[0] is CustomizedFieldDisplayItem",
                  isinstance(f0, CustomizedFieldDisplayItem), type(f0).__name__)
            check_eq("customized_fields[0].id", f0.id, "123", str)
            check_eq("customized_fields[0].value", f0.value, "value", str)
            check_eq("customized_fields[0].key_name", f0.key_name, "key", str)
            check_eq("customized_fields[0].display_name", f0.display_name, "display name", str)
            check_eq("customized_fields[0].position", f0.position, 1, int)
            check_eq("customized_fields[0].required", f0.required, True, bool)
            check_eq("customized_fields[0].editable", f0.editable, True, bool)

        check_eq("agent_service_duration", t.agent_service_duration, 42624.95, float)
        check_eq("agent_first_response_duration", t.agent_first_response_duration, 123869, int)
        check_eq("bot_service_duration", t.bot_service_duration, 1, int)
        check_eq("agent_resolution_time", t.agent_resolution_time, 66, int)
        check_eq("actual_processing_time", t.actual_processing_time, 68, int)
        check_eq("agent_entry_time", t.agent_entry_time, 1636444596000, int)
        check_eq("agent_first_response_time", t.agent_first_response_time, 1636444696000, int)
        check_eq("agent_last_response_time", t.agent_last_response_time, 1636444796000, int)
        user_checks("agent_owner", t.agent_owner, seed["agent_owner"])

        check("tags is a 1-element list", isinstance(t.tags, list) and len(t.tags) == 1, repr(t.tags))
        if t.tags:
            check("tags[0] is TicketTag", isinstance(t.tags[0], TicketTag), type(t.tags[0]).__name__)
            check_eq("tags[0].id", t.tags[0].id, "7474857595946745884", str)
            check_eq("tags[0].name", t.tags[0].name, "标签名称", str)

    # Whole wire object: exactly the seed (same keys, values and JSON types), except
    # helpdesk_id, which is the helpdesk the ticket was imported into.
    wire = json.loads(resp.raw.content)["data"]["ticket"]
    want = dict(seed, helpdesk_id=demo["helpdesk_id"])
    diff = sorted(k for k in set(wire) | set(want) if wire.get(k, "<missing>") != want.get(k, "<missing>"))
    check("ok: wire data.ticket equals the seed (bar helpdesk_id)", not diff,
          "differing keys: " + ", ".join(f"{k}: got {wire.get(k, '<missing>')!r}" for k in diff))

    # ---- errors -------------------------------------------------------------------
    resp = get_ticket(client, "1", helpdesk_option(demo["helpdesk_token"]))
    check_error("unknown ticket", resp, 154004, 404)

    resp = get_ticket(client, TICKET_ID, helpdesk_option("ht-wrong-token"))
    check_error("wrong helpdesk token", resp, 154001, 401)

    resp = get_ticket(client, TICKET_ID, lark.RequestOption())
    check_error("no helpdesk header", resp, 154001, 401)

    # ---- a ticket's life through the SDK's other generated methods ------------------
    # ticket.update and ticket_customized_field.create are declared user-token-only
    # (token_types {USER}). lark-oapi 1.7.5 sends a RequestOption's user_access_token only
    # if the client was built with enable_set_token(True); otherwise verify() raises
    # "need enable set token". So a second client, sharing the token cache.
    user_client = (
        lark.Client.builder()
        .app_id(demo["app_id"])
        .app_secret(demo["app_secret"])
        .domain(BASE_URL)
        .cache(cache)
        .enable_set_token(True)
        .log_level(lark.LogLevel.WARNING)
        .build()
    )
    lifecycle(client, user_client)

    check("tenant_access_token fetched once and reused",
          cache.sets.count(key) == 1, f"sets={cache.sets}")


def check_ok(label, resp, body_type=None):
    """A success envelope; with body_type, `data` must have been parsed into that class."""
    check_eq(f"{label}: code", resp.code, 0, int)
    check(f"{label}: success()", resp.success(),
          f"code={resp.code!r} msg={resp.msg!r} body={resp.raw.content[:300]!r}")
    check_eq(f"{label}: HTTP status", resp.raw.status_code, 200)
    if body_type is not None:
        check(f"{label}: data is {body_type.__name__}", isinstance(resp.data, body_type),
              type(resp.data).__name__)
    return resp.success()


def wire_mismatches(value, typ, path="data"):
    """Where the JSON `value` disagrees with the SDK's declared type `typ` (a model class
    with `_types`, List[...], or a scalar). The SDK's init() copies scalars unchecked and
    drops unknown keys silently, so this is the only place a wrong type would show."""
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


def check_wire(label, resp, body_type):
    """Every key and JSON type of the raw `data` agrees with the SDK's response model."""
    data = json.loads(resp.raw.content).get("data")
    bad = wire_mismatches(data, body_type)
    check(f"{label}: wire data matches the SDK model types", not bad, "; ".join(bad[:10]))


def lifecycle(client, user_client):
    suffix = secrets.token_hex(3)
    tenant_key = demo["tenant_key"]
    hd = demo["helpdesk_id"]

    # ---- set-up through the admin API (a guest and an agent of the demo tenant) ------
    guest = admin("/users", {"tenant_key": tenant_key, "name": f"sdk-python guest {suffix}",
                             "is_agent": False})
    agent = admin("/users", {"tenant_key": tenant_key, "name": f"sdk-python agent {suffix}",
                             "is_agent": True})
    guest_id, agent_id = guest["id"], agent["id"]
    user_token = admin(f"/tenants/{tenant_key}/users/{agent_id}/user_access_token",
                       {"app_id": demo["app_id"]})["user_access_token"]
    check("setup: guest/agent open_ids and agent user_access_token",
          guest_id.startswith("ou_") and agent_id.startswith("ou_") and user_token.startswith("u-"),
          f"guest={guest_id!r} agent={agent_id!r} token={user_token[:6]!r}")

    # ---- start_service ----------------------------------------------------------------
    req = (StartServiceTicketRequest.builder()
           .request_body(StartServiceTicketRequestBody.builder()
                         .open_id(guest_id).human_service(True).build())
           .build())
    resp = client.helpdesk.v1.ticket.start_service(req, helpdesk_option())
    check_ok("start_service", resp, StartServiceTicketResponseBody)
    check_wire("start_service", resp, StartServiceTicketResponseBody)
    chat_id = getattr(resp.data, "chat_id", None)
    ticket_id = getattr(resp.data, "ticket_id", None)
    check("start_service: chat_id starts with oc_",
          isinstance(chat_id, str) and chat_id.startswith("oc_"), repr(chat_id))
    check("start_service: ticket_id is a digit string",
          isinstance(ticket_id, str) and ticket_id.isdigit(), repr(ticket_id))
    if not (isinstance(ticket_id, str) and ticket_id.isdigit()):
        check("lifecycle: a ticket to work on", False, "start_service gave no ticket_id")
        return

    resp = get_ticket(client, ticket_id, helpdesk_option())
    check_ok("start_service: get", resp)
    check_wire("start_service: get", resp, GetTicketResponseBody)
    t = resp.data.ticket if resp.data is not None else None
    check_eq("start_service: get: status 3 (queued)", getattr(t, "status", None), 3, int)
    check_eq("start_service: get: ticket_type 2 (human)", getattr(t, "ticket_type", None), 2, int)
    check_eq("start_service: get: guest.id", getattr(getattr(t, "guest", None), "id", None),
             guest_id, str)

    # ---- update (user_access_token of the agent who entered the ticket) ---------------
    admin(f"/helpdesks/{hd}/tickets/{ticket_id}/agent_enter", {"agent_id": agent_id})
    req = (UpdateTicketRequest.builder().ticket_id(ticket_id)
           .request_body(UpdateTicketRequestBody.builder()
                         .status(4).tag_names(["sdk"]).comment("from sdk").build())
           .build())
    resp = user_client.helpdesk.v1.ticket.update(req, helpdesk_option(user_access_token=user_token))
    check_ok("update (user token)", resp)

    resp = get_ticket(client, ticket_id, helpdesk_option())
    check_ok("update: get", resp)
    check_wire("update: get", resp, GetTicketResponseBody)
    t = resp.data.ticket if resp.data is not None else None
    check_eq("update: get: status 4", getattr(t, "status", None), 4, int)
    tags = getattr(t, "tags", None) or []
    check_eq("update: get: tags[0].name", tags[0].name if tags else None, "sdk", str)
    c = getattr(t, "comments", None)
    check("update: get: comments is Comments", isinstance(c, Comments), type(c).__name__)
    check_eq("update: get: comments.content", getattr(c, "content", None), "from sdk", str)
    check_eq("update: get: comments.user_name (the token's user)",
             getattr(c, "user_name", None), agent["name"], str)

    # ---- list ----------------------------------------------------------------------------
    def list_tickets(label, build):
        req = build(ListTicketRequest.builder()).build()
        resp = client.helpdesk.v1.ticket.list(req, helpdesk_option())
        check_ok(label, resp, ListTicketResponseBody)
        check_wire(label, resp, ListTicketResponseBody)
        return req, resp.data if isinstance(resp.data, ListTicketResponseBody) else None

    req, d = list_tickets("list status_list=[4]+guest_id",
                          lambda b: b.status_list([4]).guest_id(guest_id))
    check_eq("list status_list=[4]+guest_id: total", getattr(d, "total", None), 1, int)
    tickets = getattr(d, "tickets", None) or []
    check("list status_list=[4]+guest_id: one TicketV2, the started ticket",
          len(tickets) == 1 and isinstance(tickets[0], TicketV2) and tickets[0].ticket_id == ticket_id,
          repr([getattr(x, "ticket_id", x) for x in tickets]))
    check_eq("list status_list=[4]+guest_id: tickets[0].status",
             tickets[0].status if tickets else None, 4, int)

    # The SDK sends list-valued query parameters as repeated keys (status_list=1&status_list=4).
    req, d = list_tickets("list status_list=[1,4]",
                          lambda b: b.status_list([1, 4]).guest_id(guest_id))
    check("list status_list=[1,4]: SDK queries are repeated keys",
          [q for q in req.queries if q[0] == "status_list"] == [("status_list", "1"), ("status_list", "4")],
          repr(req.queries))
    check_eq("list status_list=[1,4]: total", getattr(d, "total", None), 1, int)
    req, d = list_tickets("list status_list=[1,2]",
                          lambda b: b.status_list([1, 2]).guest_id(guest_id))
    check_eq("list status_list=[1,2]: total (filtered out)", getattr(d, "total", None), 0, int)

    req, d = list_tickets("list page_size=1", lambda b: b.page(1).page_size(1))
    tickets = getattr(d, "tickets", None) or []
    check_eq("list page_size=1: one ticket", len(tickets), 1, int)
    total = getattr(d, "total", None)
    check("list page_size=1: total counts all tickets (>= 2)",
          type(total) is int and total >= 2, repr(total))

    # ---- ticket messages -------------------------------------------------------------------
    content = json.dumps({"text": f"hello from lark-oapi {suffix}"}, ensure_ascii=False)
    req = (CreateTicketMessageRequest.builder().ticket_id(ticket_id)
           .request_body(CreateTicketMessageRequestBody.builder()
                         .msg_type("text").content(content).build())
           .build())
    resp = client.helpdesk.v1.ticket_message.create(req, helpdesk_option())
    check_ok("ticket_message.create", resp, CreateTicketMessageResponseBody)
    check_wire("ticket_message.create", resp, CreateTicketMessageResponseBody)
    message_id = getattr(resp.data, "message_id", None)
    check("ticket_message.create: message_id starts with om_",
          isinstance(message_id, str) and message_id.startswith("om_"), repr(message_id))

    req = ListTicketMessageRequest.builder().ticket_id(ticket_id).page(1).page_size(50).build()
    resp = client.helpdesk.v1.ticket_message.list(req, helpdesk_option())
    check_ok("ticket_message.list", resp, ListTicketMessageResponseBody)
    check_wire("ticket_message.list", resp, ListTicketMessageResponseBody)
    d = resp.data if isinstance(resp.data, ListTicketMessageResponseBody) else None
    total = getattr(d, "total", None)
    check("ticket_message.list: total >= 1", type(total) is int and total >= 1, repr(total))
    msgs = getattr(d, "messages", None) or []
    check("ticket_message.list: messages are TicketMessage",
          bool(msgs) and all(isinstance(m, TicketMessage) for m in msgs), repr(msgs))
    mine = [m for m in msgs if getattr(m, "message_id", None) == message_id]
    check("ticket_message.list: the created message is listed", len(mine) == 1,
          repr([getattr(m, "message_id", None) for m in msgs]))
    if mine:
        m = mine[0]
        check("ticket_message.list: created_at is an int (ms)",
              type(m.created_at) is int and m.created_at > 10**12, repr(m.created_at))
        check("ticket_message.list: id is a digit string",
              isinstance(m.id, str) and m.id.isdigit(), repr(m.id))
        check_eq("ticket_message.list: message_type", m.message_type, "text", str)
        # Feishu's one content shape, whatever IM-style content was posted.
        try:
            shown = json.loads(m.content)
        except (TypeError, ValueError):
            shown = m.content
        check_eq("ticket_message.list: content is {msg_type, content} JSON", shown,
                 {"msg_type": "text", "content": f"hello from lark-oapi {suffix}"}, dict)

    # ---- bot message to the guest --------------------------------------------------------
    req = (CreateBotMessageRequest.builder()
           .request_body(BotMessage.builder().msg_type("text")
                         .content(json.dumps({"text": "bot says hi"}))
                         .receiver_id(guest_id).receive_type("user").build())
           .build())
    resp = client.helpdesk.v1.bot_message.create(req, helpdesk_option())
    check_ok("bot_message.create", resp, CreateBotMessageResponseBody)
    check_wire("bot_message.create", resp, CreateBotMessageResponseBody)
    message_id = getattr(resp.data, "message_id", None)
    check("bot_message.create: message_id starts with om_",
          isinstance(message_id, str) and message_id.startswith("om_"), repr(message_id))

    # ---- ticket customized fields ----------------------------------------------------------
    key_name = f"sdk_python_{suffix}"
    req = (CreateTicketCustomizedFieldRequest.builder()
           .request_body(TicketCustomizedField.builder()
                         .key_name(key_name).display_name("SDK python").position("1")
                         .field_type("string").description("created by lark-oapi")
                         .visible(True).editable(True).required(False).build())
           .build())
    resp = user_client.helpdesk.v1.ticket_customized_field.create(
        req, helpdesk_option(user_access_token=user_token))
    check_ok("ticket_customized_field.create (user token)", resp)

    # lark-oapi sends the list filter as a JSON body on a GET: with visible=false the new
    # (visible) field must be filtered out, which shows the server read that body.
    def list_fields(visible):
        req = (ListTicketCustomizedFieldRequest.builder().page_size(100)
               .request_body(ListTicketCustomizedFieldRequestBody.builder().visible(visible).build())
               .build())
        label = f"ticket_customized_field.list visible={str(visible).lower()}"
        resp = client.helpdesk.v1.ticket_customized_field.list(req, helpdesk_option())
        check_ok(label, resp, ListTicketCustomizedFieldResponseBody)
        check_wire(label, resp, ListTicketCustomizedFieldResponseBody)
        items = getattr(resp.data, "items", None) or []
        return label, [i for i in items if getattr(i, "key_name", None) == key_name], resp

    label, found, resp = list_fields(True)
    check(f"{label}: the created key_name is listed", len(found) == 1,
          repr(resp.raw.content[:500]))
    check_eq(f"{label}: has_more", getattr(resp.data, "has_more", None), False, bool)
    if found:
        f = found[0]
        check(f"{label}: item is TicketCustomizedField", isinstance(f, TicketCustomizedField),
              type(f).__name__)
        check_eq(f"{label}: display_name", f.display_name, "SDK python", str)
        check_eq(f"{label}: position", f.position, "1", str)
        check_eq(f"{label}: field_type", f.field_type, "string", str)
        check_eq(f"{label}: visible", f.visible, True, bool)
        check_eq(f"{label}: required", f.required, False, bool)
        check("ticket_customized_field id is a digit string",
              isinstance(f.ticket_customized_field_id, str) and f.ticket_customized_field_id.isdigit(),
              repr(f.ticket_customized_field_id))
        check(f"{label}: created_by is TicketUser (the token's user)",
              isinstance(f.created_by, TicketUser) and f.created_by.id == agent_id,
              repr(getattr(f.created_by, "id", f.created_by)))
        # Feishu's example fills the creator's profile (name, avatar_url, email, ...).
        check_eq(f"{label}: created_by.name (the token's user's profile)",
                 getattr(f.created_by, "name", None), agent["name"], str)
    label, found, resp = list_fields(False)
    check(f"{label}: the visible field is filtered out (GET body honoured)", not found,
          repr(resp.raw.content[:500]))

    # ---- errors through the generated methods ----------------------------------------------
    req = (UpdateTicketRequest.builder().ticket_id(ticket_id)
           .request_body(UpdateTicketRequestBody.builder().status(7).build()).build())
    resp = user_client.helpdesk.v1.ticket.update(req, helpdesk_option(user_access_token=user_token))
    check_error("update status=7", resp, 154000, 400)

    req = ListTicketMessageRequest.builder().ticket_id("1").build()
    resp = client.helpdesk.v1.ticket_message.list(req, helpdesk_option())
    check_error("ticket_message.list unknown ticket", resp, 154004, 404)


if __name__ == "__main__":
    try:
        main()
    except Exception:  # an SDK exception is a failure, not a crash without a verdict
        traceback.print_exc()
        failures += 1
        print("FAIL  unexpected exception")
    version = importlib.metadata.version("lark-oapi")
    print(f"python (lark-oapi {version}): {'FAILED' if failures else 'all checks passed'} "
          f"({failures} failed, {known} known issues)")
    sys.exit(1 if failures else 0)
