"""Conformance: GET /open-apis/helpdesk/v1/tickets/:ticket_id through the official
Python SDK (lark-oapi) against a running larkdesk server.

Run by conformance/run.sh, which provides:
  LARKDESK_CREDS  path of the server's credentials file (base_url, demo app, helpdesk)
  SEED_TICKET     path of seed_ticket.json (already imported into the demo helpdesk)

Prints PASS/FAIL per check and exits 1 if any check failed.
"""

import base64
import importlib.metadata
import json
import os
import sys
import traceback

import lark_oapi as lark
from lark_oapi.api.helpdesk.v1 import (
    Comments,
    CustomizedFieldDisplayItem,
    GetTicketRequest,
    GetTicketResponse,
    TicketTag,
    TicketUser,
    TicketV2,
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
# Checks expected to fail for a known reason, reported as XFAIL instead of failing the run.
# (Empty: the X-Tt-Logid header casing issue found here is fixed by title-cased headers.)
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


def helpdesk_option(helpdesk_token):
    # The Python SDK has no helpdesk credential helper: the caller adds
    # X-Lark-Helpdesk-Authorization: base64(helpdesk_id:helpdesk_token) itself.
    cred = base64.b64encode(f"{demo['helpdesk_id']}:{helpdesk_token}".encode()).decode()
    return lark.RequestOption.builder().headers({"X-Lark-Helpdesk-Authorization": cred}).build()


def get_ticket(client, ticket_id, option) -> GetTicketResponse:
    req = GetTicketRequest.builder().ticket_id(ticket_id).build()
    return client.helpdesk.v1.ticket.get(req, option)


def check_error(label, resp, code, status):
    check_eq(f"{label}: code", resp.code, code, int)
    check(f"{label}: success() is False", not resp.success())
    check_eq(f"{label}: HTTP status", resp.raw.status_code, status)
    check(f"{label}: msg non-empty", isinstance(resp.msg, str) and resp.msg != "", repr(resp.msg))
    check(f"{label}: no data", resp.data is None, repr(resp.data))
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

    check("tenant_access_token fetched once and reused",
          cache.sets.count(key) == 1, f"sets={cache.sets}")


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
