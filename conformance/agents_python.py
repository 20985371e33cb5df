"""Conformance: agents, schedules, skills, skill rules and FAQ categories through the
official Python SDK (lark-oapi) against a running larkdesk server: every endpoint's happy
path (responses parsed into the SDK's models, wire types checked against them) and its
documented error codes, with the routing of a ticket to an agent on the way.

Run by conformance/run.sh (needs LARKDESK_CREDS and SEED_TICKET, like python.py, whose
helpers it uses). Prints PASS/FAIL per check and exits 1 if any check failed.
"""

import importlib.metadata
import json
import secrets
import sys
import traceback

import lark_oapi as lark
from lark_oapi.api.helpdesk.v1 import (
    AgentEmailAgentRequest,
    AgentEmailAgentResponseBody,
    AgentSchedule,
    AgentScheduleUpdateInfo,
    AgentSkill,
    AgentSkillRule,
    Category,
    CreateAgentScheduleRequest,
    CreateAgentScheduleRequestBody,
    CreateAgentSkillRequest,
    CreateAgentSkillRequestBody,
    CreateAgentSkillResponseBody,
    CreateCategoryRequest,
    CreateCategoryResponseBody,
    DeleteAgentSchedulesRequest,
    DeleteAgentSkillRequest,
    DeleteCategoryRequest,
    GetAgentSchedulesRequest,
    GetAgentSchedulesResponseBody,
    GetAgentSkillRequest,
    GetAgentSkillResponseBody,
    GetCategoryRequest,
    GetCategoryResponseBody,
    ListAgentScheduleRequest,
    ListAgentScheduleResponseBody,
    ListAgentSkillRequest,
    ListAgentSkillResponseBody,
    ListAgentSkillRuleRequest,
    ListAgentSkillRuleResponseBody,
    ListCategoryRequest,
    ListCategoryResponseBody,
    PatchAgentRequest,
    PatchAgentRequestBody,
    PatchAgentSchedulesRequest,
    PatchAgentSchedulesRequestBody,
    PatchAgentSkillRequest,
    PatchAgentSkillRequestBody,
    PatchCategoryRequest,
    StartServiceTicketRequest,
    StartServiceTicketRequestBody,
    WeekdaySchedule,
)

import python as base
from python import (RecordingCache, admin, check, check_eq, check_error, check_ok, check_wire,
                    demo, helpdesk_option, get_ticket)


def all_day():
    return [WeekdaySchedule.builder().weekday(9).start_time("00:00").end_time("24:00").build()]


def main():
    cache = RecordingCache()
    client = (lark.Client.builder().app_id(demo["app_id"]).app_secret(demo["app_secret"])
              .domain(base.BASE_URL).cache(cache).log_level(lark.LogLevel.WARNING).build())
    # Writes are declared user-token-only: a client that may send one (see python.py).
    user_client = (lark.Client.builder().app_id(demo["app_id"]).app_secret(demo["app_secret"])
                   .domain(base.BASE_URL).cache(cache).enable_set_token(True)
                   .log_level(lark.LogLevel.WARNING).build())
    hd = client.helpdesk.v1
    uhd = user_client.helpdesk.v1

    suffix = secrets.token_hex(3)
    tenant_key = demo["tenant_key"]
    agent = admin("/users", {"tenant_key": tenant_key, "name": f"py agent {suffix}",
                             "email": f"py-{suffix}@example.com", "is_agent": True})["id"]
    guest = admin("/users", {"tenant_key": tenant_key, "name": f"py guest {suffix}",
                             "city": "Beijing"})["id"]
    token = admin(f"/tenants/{tenant_key}/users/{agent}/user_access_token",
                  {"app_id": demo["app_id"]})["user_access_token"]

    def uopt():
        return helpdesk_option(user_access_token=token)

    # ---- agent emails, status ---------------------------------------------------------
    resp = hd.agent.agent_email(AgentEmailAgentRequest.builder().build(), helpdesk_option())
    if check_ok("agent.agent_email", resp, AgentEmailAgentResponseBody):
        check_wire("agent.agent_email", resp, AgentEmailAgentResponseBody)
        emails = json.loads(resp.data.agents)
        check_eq("agent.agent_email: the agent's email", emails.get(agent), f"py-{suffix}@example.com")

    def patch_status(agent_id, status):
        req = (PatchAgentRequest.builder().agent_id(agent_id)
               .request_body(PatchAgentRequestBody.builder().status(status).build()).build())
        return uhd.agent.patch(req, uopt())

    check_ok("agent.patch status=1", patch_status(agent, 1))
    check_error("agent.patch status=3", patch_status(agent, 3), 150001, 400)
    check_error("agent.patch unknown agent", patch_status("ou_nobody", 1), 154004, 404)

    # ---- skills and rules ---------------------------------------------------------------
    resp = hd.agent_skill_rule.list(ListAgentSkillRuleRequest.builder().build(), helpdesk_option())
    if check_ok("agent_skill_rule.list", resp, ListAgentSkillRuleResponseBody):
        check_wire("agent_skill_rule.list", resp, ListAgentSkillRuleResponseBody)
        ids = [r.id for r in resp.data.rules]
        check("agent_skill_rule.list: the city rule (3) offers 5 and 6",
              "3" in ids and resp.data.rules[ids.index("3")].operator_options == [5, 6], repr(ids))

    rule = (AgentSkillRule.builder().id("3").selected_operator(5).operand('["Beijing"]').build())
    req = (CreateAgentSkillRequest.builder()
           .request_body(CreateAgentSkillRequestBody.builder().name(f"Beijing {suffix}")
                         .rules([rule]).agent_ids([agent]).build()).build())
    resp = uhd.agent_skill.create(req, uopt())
    skill_id = None
    if check_ok("agent_skill.create", resp, CreateAgentSkillResponseBody):
        skill_id = resp.data.agent_skill_id
        check("agent_skill.create: agent_skill_id is a digit string",
              isinstance(skill_id, str) and skill_id.isdigit(), repr(skill_id))
    bad_rule = AgentSkillRule.builder().id("99").selected_operator(5).operand("x").build()
    req = (CreateAgentSkillRequest.builder()
           .request_body(CreateAgentSkillRequestBody.builder().name("bad").rules([bad_rule]).build())
           .build())
    check_error("agent_skill.create unknown rule", uhd.agent_skill.create(req, uopt()), 154000, 400)

    resp = hd.agent_skill.get(GetAgentSkillRequest.builder().agent_skill_id(skill_id).build(),
                              helpdesk_option())
    if check_ok("agent_skill.get", resp, GetAgentSkillResponseBody):
        check_wire("agent_skill.get", resp, GetAgentSkillResponseBody)
        s = resp.data.agent_skill
        check("agent_skill.get: AgentSkill with the agent and the rule",
              isinstance(s, AgentSkill) and s.agent_ids == [agent] and s.rules[0].id == "3"
              and s.rules[0].operand == '["Beijing"]' and s.agent_skill_id == skill_id, repr(vars(s)))
    check_error("agent_skill.get unknown",
                hd.agent_skill.get(GetAgentSkillRequest.builder().agent_skill_id("1").build(),
                                   helpdesk_option()), 154004, 404)
    resp = hd.agent_skill.list(ListAgentSkillRequest.builder().build(), helpdesk_option())
    if check_ok("agent_skill.list", resp, ListAgentSkillResponseBody):
        check_wire("agent_skill.list", resp, ListAgentSkillResponseBody)
        check("agent_skill.list: lists the skill",
              any(s.id == skill_id for s in resp.data.agent_skills), "")
    # PATCH with a whole AgentSkill, as the SDK models it (read-only fields ignored).
    whole = (AgentSkill.builder().id("999").name(f"Beijing! {suffix}").is_default(True)
             .rules([rule]).agent_ids([agent]).build())
    req = (PatchAgentSkillRequest.builder().agent_skill_id(skill_id)
           .request_body(PatchAgentSkillRequestBody.builder().agent_skill(whole).build()).build())
    check_ok("agent_skill.patch", uhd.agent_skill.patch(req, uopt()))

    # ---- schedules ---------------------------------------------------------------------
    info = (AgentScheduleUpdateInfo.builder().agent_id(agent).schedule(all_day())
            .agent_skill_ids([skill_id]).build())
    req = (CreateAgentScheduleRequest.builder()
           .request_body(CreateAgentScheduleRequestBody.builder().agent_schedules([info]).build())
           .build())
    check_ok("agent_schedule.create", uhd.agent_schedule.create(req, uopt()))
    overlap = [WeekdaySchedule.builder().weekday(10).start_time("09:00").end_time("18:00").build(),
               WeekdaySchedule.builder().weekday(1).start_time("17:00").end_time("20:00").build()]
    req = (PatchAgentSchedulesRequest.builder().agent_id(agent)
           .request_body(PatchAgentSchedulesRequestBody.builder().agent_schedule(
               AgentScheduleUpdateInfo.builder().schedule(overlap).build()).build()).build())
    check_error("agent_schedules.patch overlapping", uhd.agent_schedules.patch(req, uopt()), 154000, 400)

    resp = hd.agent_schedules.get(GetAgentSchedulesRequest.builder().agent_id(agent).build(),
                                  helpdesk_option())
    if check_ok("agent_schedules.get", resp, GetAgentSchedulesResponseBody):
        check_wire("agent_schedules.get", resp, GetAgentSchedulesResponseBody)
        s = resp.data.agent_schedule
        check("agent_schedules.get: online, all day, with the skill",
              isinstance(s, AgentSchedule) and s.status == 1 and s.agent.id == agent
              and s.schedule[0].end_time == "24:00" and s.agent_skills[0].id == skill_id, repr(vars(s)))
    check_error("agent_schedules.get unknown agent",
                hd.agent_schedules.get(GetAgentSchedulesRequest.builder().agent_id("ou_nobody").build(),
                                       helpdesk_option()), 154004, 404)

    resp = hd.agent_schedule.list(ListAgentScheduleRequest.builder().status([1, 3]).build(),
                                  helpdesk_option())
    if check_ok("agent_schedule.list status=[1,3]", resp, ListAgentScheduleResponseBody):
        check_wire("agent_schedule.list", resp, ListAgentScheduleResponseBody)
        check("agent_schedule.list: the agent, online",
              any(s.agent.id == agent and s.status == 1 for s in resp.data.agent_schedules), "")
    check_error("agent_schedule.list status=[7]",
                hd.agent_schedule.list(ListAgentScheduleRequest.builder().status([7]).build(),
                                       helpdesk_option()), 154000, 400)

    # ---- routing: a Beijing guest asking for a human goes to the agent ----------------------
    req = (StartServiceTicketRequest.builder()
           .request_body(StartServiceTicketRequestBody.builder().open_id(guest).human_service(True)
                         .build()).build())
    resp = hd.ticket.start_service(req, helpdesk_option())
    check_ok("routing: start_service human_service", resp)
    ticket_id = resp.data.ticket_id if resp.success() else None
    if ticket_id:
        t = get_ticket(client, ticket_id, helpdesk_option()).data.ticket
        check("routing: the ticket went to the online, scheduled, skilled agent",
              t.agent_owner is not None and t.agent_owner.id == agent and t.status == 2,
              f"status={t.status} owner={t.agent_owner and t.agent_owner.id}")

    # ---- categories --------------------------------------------------------------------
    def create_category(name, parent, language=None):
        b = Category.builder().name(name).parent_id(parent)
        if language:
            b = b.language(language)
        return uhd.category.create(CreateCategoryRequest.builder().request_body(b.build()).build(), uopt())

    resp = create_category(f"top {suffix}", "0")
    top = None
    if check_ok("category.create", resp, CreateCategoryResponseBody):
        check_wire("category.create", resp, CreateCategoryResponseBody)
        top = resp.data.category
        check("category.create: Category with ids and parent_id 0",
              isinstance(top, Category) and top.category_id == top.id and top.parent_id == "0"
              and top.language == "zh_cn", repr(vars(top)))
    resp = create_category(f"child {suffix}", top.category_id, "en_us")
    child = resp.data.category if check_ok("category.create child", resp) else None
    check_error("category.create unknown parent", create_category("x", "42"), 154000, 400)

    resp = hd.category.get(GetCategoryRequest.builder().id(child.category_id).build(), helpdesk_option())
    if check_ok("category.get", resp, GetCategoryResponseBody):
        check_wire("category.get", resp, GetCategoryResponseBody)
        check_eq("category.get: flat name", resp.data.name, f"child {suffix}", str)
    check_error("category.get unknown",
                hd.category.get(GetCategoryRequest.builder().id("1").build(), helpdesk_option()),
                154004, 404)
    resp = hd.category.list(ListCategoryRequest.builder().order_by(1).asc(False).build(),
                            helpdesk_option())
    if check_ok("category.list order_by=1 asc=False", resp, ListCategoryResponseBody):
        raw = json.loads(resp.raw.content)["data"]["categories"]
        mine = [c for c in raw if c["category_id"] == top.category_id]
        check("category.list: the child nests under its parent",
              len(mine) == 1 and mine[0]["children"][0]["category_id"] == child.category_id, repr(raw)[:300])
    resp = hd.category.list(ListCategoryRequest.builder().lang("en_us").build(), helpdesk_option())
    if check_ok("category.list lang=en_us", resp, ListCategoryResponseBody):
        check("category.list lang=en_us: only English categories",
              all(c.language == "en_us" for c in resp.data.categories) and resp.data.categories, "")
    req = (PatchCategoryRequest.builder().id(top.category_id)
           .request_body(Category.builder().name(f"top! {suffix}").build()).build())
    check_ok("category.patch", uhd.category.patch(req, uopt()))
    req = (PatchCategoryRequest.builder().id(top.category_id)
           .request_body(Category.builder().parent_id(child.category_id).build()).build())
    check_error("category.patch under its own child", uhd.category.patch(req, uopt()), 154000, 400)
    check_error("category.delete with a subcategory",
                uhd.category.delete(DeleteCategoryRequest.builder().id(top.category_id).build(), uopt()),
                154000, 400)
    check_ok("category.delete child",
             uhd.category.delete(DeleteCategoryRequest.builder().id(child.category_id).build(), uopt()))
    check_ok("category.delete top",
             uhd.category.delete(DeleteCategoryRequest.builder().id(top.category_id).build(), uopt()))

    # ---- removal -----------------------------------------------------------------------
    check_ok("agent_schedules.delete",
             uhd.agent_schedules.delete(DeleteAgentSchedulesRequest.builder().agent_id(agent).build(), uopt()))
    check_error("agent_schedules.delete again",
                uhd.agent_schedules.delete(DeleteAgentSchedulesRequest.builder().agent_id(agent).build(),
                                           uopt()), 154004, 404)
    check_ok("agent_skill.delete",
             uhd.agent_skill.delete(DeleteAgentSkillRequest.builder().agent_skill_id(skill_id).build(), uopt()))
    check_error("agent_skill.delete again",
                uhd.agent_skill.delete(DeleteAgentSkillRequest.builder().agent_skill_id(skill_id).build(),
                                       uopt()), 154004, 404)


if __name__ == "__main__":
    try:
        main()
    except Exception:
        traceback.print_exc()
        base.failures += 1
        print("FAIL  unexpected exception")
    version = importlib.metadata.version("lark-oapi")
    print(f"python agents (lark-oapi {version}): {'FAILED' if base.failures else 'all checks passed'} "
          f"({base.failures} failed)")
    sys.exit(1 if base.failures else 0)
