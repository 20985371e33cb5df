"""Conformance: FAQs and notifications (push jobs) through the official Python SDK (lark-oapi).

- FAQs: create (user token, answer_richtext as JSON text), get, patch (answer_richtext as a
  Richtext list), list paged by hand to the end (the Python SDK has no iterator), search in
  Chinese (plain and base64) and English, the binary image, delete, and errors.
- Notifications: create, get, patch, preview, submit_approve, the approver's decision (admin
  API), execute_send, cancel_send with recall, and errors.

Run by conformance/run.sh (same environment as python.py, whose helpers it uses). Prints
PASS/FAIL per check and exits 1 if any check failed.
"""

import base64
import importlib.metadata
import secrets
import sys
import traceback

import lark_oapi as lark
from lark_oapi.api.helpdesk.v1 import (
    CancelApproveNotificationRequest,
    CancelSendNotificationRequest,
    CancelSendNotificationRequestBody,
    CreateFaqRequest,
    CreateFaqRequestBody,
    CreateFaqResponseBody,
    CreateNotificationRequest,
    CreateNotificationResponseBody,
    DeleteFaqRequest,
    ExecuteSendNotificationRequest,
    ExecuteSendNotificationRequestBody,
    Faq,
    FaqCreateInfo,
    FaqImageFaqRequest,
    FaqUpdateInfo,
    GetFaqRequest,
    GetFaqResponseBody,
    GetNotificationRequest,
    GetNotificationResponseBody,
    ListFaqRequest,
    ListFaqResponseBody,
    Notification,
    NotificationChat,
    NotificationUser,
    PatchFaqRequest,
    PatchFaqRequestBody,
    PatchNotificationRequest,
    PreviewNotificationRequest,
    Richtext,
    SearchFaqRequest,
    SearchFaqResponseBody,
    SubmitApproveNotificationRequest,
    SubmitApproveNotificationRequestBody,
    SubmitApproveNotificationResponseBody,
)

import python as base
from python import admin, check, check_eq, check_error, check_ok, check_wire, demo, helpdesk_option

BASE_URL = base.BASE_URL


def clients():
    common = lambda: (lark.Client.builder().app_id(demo["app_id"]).app_secret(demo["app_secret"])
                      .domain(BASE_URL).log_level(lark.LogLevel.WARNING))
    # User-token endpoints need enable_set_token (see python.py).
    return common().build(), common().enable_set_token(True).build()


def faqs(client, user_client, as_agent, as_guest):
    suffix = secrets.token_hex(3)

    def create(info):
        req = CreateFaqRequest.builder().request_body(CreateFaqRequestBody.builder().faq(info).build()).build()
        return user_client.helpdesk.v1.faq.create(req, as_agent())

    # ---- create with answer_richtext as JSON text (the SDK's create model) --------------
    resp = create(FaqCreateInfo.builder().question(f"How do I reset my password {suffix}?")
                  .answer_richtext('[{"content":"Open settings","type":"text"}]')
                  .tags(["reset", "password"]).category_id("6948728206392295444").build())
    check_ok("faq.create", resp, CreateFaqResponseBody)
    check_wire("faq.create", resp, CreateFaqResponseBody)
    f = resp.data.faq if resp.data else None
    check("faq.create: faq is Faq", isinstance(f, Faq), type(f).__name__)
    faq_id = getattr(f, "faq_id", None)
    check("faq.create: faq_id is a digit string", isinstance(faq_id, str) and faq_id.isdigit(), repr(faq_id))
    check_eq("faq.create: answer derived from the rich text", getattr(f, "answer", None), "Open settings", str)
    rich = getattr(f, "answer_richtext", None) or []
    check("faq.create: answer_richtext parsed as Richtext list",
          len(rich) == 1 and isinstance(rich[0], Richtext) and rich[0].type == "text", repr(rich))
    ctime = getattr(f, "create_time", None)
    check("faq.create: create_time is seconds (int)", type(ctime) is int and 1_500_000_000 < ctime < 10**10, repr(ctime))
    check_eq("faq.create: categories[0].category_id",
             getattr((getattr(f, "categories", None) or [None])[0], "category_id", None), "6948728206392295444", str)
    if not (isinstance(faq_id, str) and faq_id.isdigit()):
        return

    zh = create(FaqCreateInfo.builder().question(f"如何重置登录密码 {suffix}").answer("在设置页面点击重置").build())
    check_ok("faq.create (Chinese)", zh)
    zh_id = zh.data.faq.faq_id if zh.success() else None
    for i in range(3):
        check_ok(f"faq.create #{i}", create(FaqCreateInfo.builder().question(f"Printer {i} {suffix}").answer("a").build()))

    # ---- get, patch --------------------------------------------------------------------
    resp = client.helpdesk.v1.faq.get(GetFaqRequest.builder().id(faq_id).build(), helpdesk_option())
    check_ok("faq.get", resp, GetFaqResponseBody)
    check_wire("faq.get", resp, GetFaqResponseBody)
    req = (PatchFaqRequest.builder().id(faq_id).request_body(PatchFaqRequestBody.builder().faq(
        FaqUpdateInfo.builder().question(f"Reset my password {suffix}")
        .answer_richtext([Richtext.builder().content("Use the portal").type("text").build()]).build()).build()).build())
    check_ok("faq.patch (Richtext list)", user_client.helpdesk.v1.faq.patch(req, as_agent()))
    resp = client.helpdesk.v1.faq.get(GetFaqRequest.builder().id(faq_id).build(), helpdesk_option())
    check_eq("faq.patch: question changed", getattr(getattr(resp.data, "faq", None), "question", None),
             f"Reset my password {suffix}", str)
    check_eq("faq.patch: answer follows the rich text", getattr(getattr(resp.data, "faq", None), "answer", None),
             "Use the portal", str)

    # ---- list, paged by hand to the end -------------------------------------------------
    seen, token, pages = [], None, 0
    while pages < 100:
        b = ListFaqRequest.builder().page_size(2)
        if token:
            b = b.page_token(token)
        resp = client.helpdesk.v1.faq.list(b.build(), helpdesk_option())
        if not check_ok(f"faq.list page {pages}", resp, ListFaqResponseBody):
            break
        if pages == 0:
            check_wire("faq.list", resp, ListFaqResponseBody)
            check_eq("faq.list: page_size is the number returned", resp.data.page_size, len(resp.data.items or []), int)
        seen += [x.faq_id for x in resp.data.items or []]
        pages += 1
        if not resp.data.has_more:
            check("faq.list: no page_token on the last page", resp.data.page_token is None, repr(resp.data.page_token))
            check_eq("faq.list: total counts every FAQ", resp.data.total, len(seen), int)
            break
        token = resp.data.page_token
    check("faq.list: paged to the end, every created FAQ once",
          faq_id in seen and zh_id in seen and len(seen) == len(set(seen)), repr(seen))

    # ---- search -------------------------------------------------------------------------
    def search(query, b64=None, page_size=None):
        b = SearchFaqRequest.builder().query(query)
        if b64:
            b = b.base64(b64)
        if page_size:
            b = b.page_size(page_size)
        return client.helpdesk.v1.faq.search(b.build(), helpdesk_option())

    resp = search(f"重置密码 {suffix}")
    check_ok("faq.search (Chinese)", resp, SearchFaqResponseBody)
    check_wire("faq.search (Chinese)", resp, SearchFaqResponseBody)
    first = (resp.data.items or [None])[0] if resp.success() else None
    check_eq("faq.search (Chinese): the Chinese FAQ first", getattr(first, "faq_id", None), zh_id, str)
    resp = search(base64.b64encode(f"重置密码 {suffix}".encode()).decode(), b64="true")
    first = (resp.data.items or [None])[0] if resp.success() else None
    check_eq("faq.search (base64=true): the Chinese FAQ first", getattr(first, "faq_id", None), zh_id, str)
    resp = search(f"reset password {suffix}")
    first = (resp.data.items or [None])[0] if resp.success() else None
    check_eq("faq.search (English): the English FAQ first", getattr(first, "faq_id", None), faq_id, str)
    whole = search(f"printer {suffix}", page_size=20)
    whole = [x.faq_id for x in (whole.data.items or [])] if whole.success() else []
    seen, token = [], None
    for _ in range(20):
        b = SearchFaqRequest.builder().query(f"printer {suffix}").page_size(1)
        if token:
            b = b.page_token(token)
        resp = client.helpdesk.v1.faq.search(b.build(), helpdesk_option())
        if not resp.success():
            break
        seen += [x.faq_id for x in resp.data.items or []]
        if not resp.data.has_more:
            check("faq.search: no page_token on the last page", resp.data.page_token is None)
            break
        token = resp.data.page_token
    check("faq.search: paged one by one to the end, in the ranking's order", seen == whole and len(seen) >= 3,
          f"paged={seen} whole={whole}")

    # ---- image ----------------------------------------------------------------------------
    png = b"\x89PNG\r\n\x1a\nlarkdesk"
    admin(f"/helpdesks/{demo['helpdesk_id']}/faqs/{faq_id}/images",
          {"image": base64.b64encode(png).decode(), "image_key": "img_sdk"})
    resp = client.helpdesk.v1.faq.faq_image(FaqImageFaqRequest.builder().id(faq_id).image_key("img_sdk").build(),
                                            helpdesk_option())
    check_eq("faq.faq_image: code", resp.code, 0, int)
    check("faq.faq_image: the stored bytes", resp.file is not None and resp.file.read() == png)
    check_eq("faq.faq_image: file_name from Content-Disposition", resp.file_name, "img_sdk", str)
    resp = client.helpdesk.v1.faq.faq_image(FaqImageFaqRequest.builder().id(faq_id).image_key("img_nope").build(),
                                            helpdesk_option())
    check_eq("faq.faq_image unknown key: code", resp.code, 154004, int)
    check_eq("faq.faq_image unknown key: HTTP status", resp.raw.status_code, 404)

    # ---- errors, delete --------------------------------------------------------------------
    check_error("faq.get unknown", client.helpdesk.v1.faq.get(GetFaqRequest.builder().id("1").build(),
                                                               helpdesk_option()), 154004, 404)
    check_error("faq.create without question", create(FaqCreateInfo.builder().answer("a").build()), 154000, 400)
    req = CreateFaqRequest.builder().request_body(CreateFaqRequestBody.builder().faq(
        FaqCreateInfo.builder().question("q").answer("a").build()).build()).build()
    check_error("faq.create by a guest (not an agent)", user_client.helpdesk.v1.faq.create(req, as_guest()), 154003, 403)
    check_error("faq.get with a wrong helpdesk token",
                client.helpdesk.v1.faq.get(GetFaqRequest.builder().id(faq_id).build(), helpdesk_option("ht-wrong")),
                154001, 401)
    check_error("faq.search without query",
                client.helpdesk.v1.faq.search(SearchFaqRequest.builder().build(), helpdesk_option()), 154000, 400)
    check_ok("faq.delete", user_client.helpdesk.v1.faq.delete(DeleteFaqRequest.builder().id(faq_id).build(), as_agent()))
    check_error("faq.get after delete", client.helpdesk.v1.faq.get(GetFaqRequest.builder().id(faq_id).build(),
                                                                    helpdesk_option()), 154004, 404)


def notifications(user_client, as_agent, as_guest, guest_id):
    n = user_client.helpdesk.v1.notification

    def job(name):
        return (Notification.builder().job_name(name).push_content('{"elements":[]}').push_type(0)
                .push_scope_type(2).user_list([NotificationUser.builder().user_id(guest_id).build()])
                .chat_list([NotificationChat.builder().chat_id("oc_sdk").name("sdk").build()]).build())

    resp = n.create(CreateNotificationRequest.builder().user_id_type("open_id").request_body(job("sdk job")).build(),
                    as_agent())
    check_ok("notification.create", resp, CreateNotificationResponseBody)
    check_wire("notification.create", resp, CreateNotificationResponseBody)
    nid = getattr(resp.data, "notification_id", None)
    check_eq("notification.create: status 0 (draft)", getattr(resp.data, "status", None), 0, int)
    if not (isinstance(nid, str) and nid.isdigit()):
        return

    def get():
        return n.get(GetNotificationRequest.builder().notification_id(nid).user_id_type("open_id").build(), as_agent())

    resp = get()
    check_ok("notification.get", resp, GetNotificationResponseBody)
    check_wire("notification.get", resp, GetNotificationResponseBody)
    check_eq("notification.get: job_name", getattr(getattr(resp.data, "notification", None), "job_name", None),
             "sdk job", str)
    check_ok("notification.patch", n.patch(PatchNotificationRequest.builder().notification_id(nid)
                                           .request_body(job("sdk job v2")).build(), as_agent()))
    check_ok("notification.preview", n.preview(PreviewNotificationRequest.builder().notification_id(nid).build(),
                                               as_agent()))
    check_error("notification.execute_send on a draft",
                n.execute_send(ExecuteSendNotificationRequest.builder().notification_id(nid).request_body(
                    ExecuteSendNotificationRequestBody.builder().send_at("1").build()).build(), as_agent()),
                154000, 400)
    check_error("notification.cancel_approve on a draft",
                n.cancel_approve(CancelApproveNotificationRequest.builder().notification_id(nid).build(), as_agent()),
                154000, 400)
    resp = n.submit_approve(SubmitApproveNotificationRequest.builder().notification_id(nid).request_body(
        SubmitApproveNotificationRequestBody.builder().reason("sdk").build()).build(), as_agent())
    check_ok("notification.submit_approve", resp, SubmitApproveNotificationResponseBody)
    check_eq("notification.submit_approve: has_access", getattr(resp.data, "has_access", None), True, bool)
    check_eq("notification.get: status 1 (pending approval)", get().data.notification.status, 1, int)
    admin(f"/helpdesks/{demo['helpdesk_id']}/notifications/{nid}/approve", {})
    check_eq("notification.get: status 2 (approved)", get().data.notification.status, 2, int)
    check_ok("notification.execute_send", n.execute_send(
        ExecuteSendNotificationRequest.builder().notification_id(nid).request_body(
            ExecuteSendNotificationRequestBody.builder().send_at("1").build()).build(), as_agent()))
    sent = get().data.notification
    check_eq("notification.get: status 6 (sent)", sent.status, 6, int)
    check_eq("notification.get: sent_user_count", sent.sent_user_count, 1, int)
    check_ok("notification.cancel_send (recall)", n.cancel_send(
        CancelSendNotificationRequest.builder().notification_id(nid).request_body(
            CancelSendNotificationRequestBody.builder().is_recall(True).build()).build(), as_agent()))
    check_eq("notification.get: status 8 (recalled)", get().data.notification.status, 8, int)
    check_error("notification.get unknown",
                n.get(GetNotificationRequest.builder().notification_id("1").build(), as_agent()), 154004, 404)
    check_error("notification.create by a guest (may not push)",
                n.create(CreateNotificationRequest.builder().request_body(job("guest")).build(), as_guest()),
                154005, 405)
    check_error("notification.create with a wrong helpdesk token",
                n.create(CreateNotificationRequest.builder().request_body(job("x")).build(),
                         helpdesk_option("ht-wrong", user_access_token=as_agent().user_access_token)),
                154001, 401)
    check_error("notification.submit_approve without reason",
                n.submit_approve(SubmitApproveNotificationRequest.builder().notification_id(nid).request_body(
                    SubmitApproveNotificationRequestBody.builder().build()).build(), as_agent()), 154000, 400)


def main():
    client, user_client = clients()
    suffix = secrets.token_hex(3)
    agent = admin("/users", {"tenant_key": demo["tenant_key"], "name": f"faq agent {suffix}", "is_agent": True})
    guest = admin("/users", {"tenant_key": demo["tenant_key"], "name": f"faq guest {suffix}", "is_agent": False})
    token = admin(f"/tenants/{demo['tenant_key']}/users/{agent['id']}/user_access_token",
                  {"app_id": demo["app_id"]})["user_access_token"]
    guest_token = admin(f"/tenants/{demo['tenant_key']}/users/{guest['id']}/user_access_token",
                        {"app_id": demo["app_id"]})["user_access_token"]
    as_agent = lambda: helpdesk_option(user_access_token=token)
    as_guest = lambda: helpdesk_option(user_access_token=guest_token)
    faqs(client, user_client, as_agent, as_guest)
    notifications(user_client, as_agent, as_guest, guest["id"])


if __name__ == "__main__":
    try:
        main()
    except Exception:
        traceback.print_exc()
        base.failures += 1
        print("FAIL  unexpected exception")
    version = importlib.metadata.version("lark-oapi")
    print(f"python faqs+notifications (lark-oapi {version}): "
          f"{'FAILED' if base.failures else 'all checks passed'} ({base.failures} failed, {base.known} known issues)")
    sys.exit(1 if base.failures else 0)
