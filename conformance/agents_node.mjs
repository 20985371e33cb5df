// Conformance: agents, schedules, skills, skill rules and FAQ categories through the official
// Node SDK (@larksuiteoapi/node-sdk) against a running larkdesk server: every endpoint's happy
// path and its documented error codes, with the routing of a ticket to an agent on the way.
//
// Run by conformance/run.sh (LARKDESK_CREDS as for node.mjs). Prints PASS/FAIL per check and
// exits 1 if any check failed.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isDeepStrictEqual } from 'node:util';
import * as lark from '@larksuiteoapi/node-sdk';

const creds = JSON.parse(readFileSync(process.env.LARKDESK_CREDS, 'utf8'));
const demo = creds.demo;
const sdkVersion = createRequire(import.meta.url)('@larksuiteoapi/node-sdk/package.json').version;

let failures = 0;

function check(name, ok, detail = '') {
  if (ok) {
    console.log(`PASS  ${name}`);
  } else {
    failures += 1;
    console.log(`FAIL  ${name}${detail ? `  -- ${detail}` : ''}`);
  }
}

const show = (v) => `${JSON.stringify(v)} (${typeof v})`;
const checkEq = (name, got, want) =>
  check(name, typeof got === typeof want && isDeepStrictEqual(got, want), `got ${show(got)}, want ${show(want)}`);

// The SDK's axios instance throws on non-2xx; the Feishu envelope is e.response.data.
async function checkError(label, promise, code, status) {
  try {
    const resp = await promise;
    check(`${label}: request rejected`, false, `resolved with ${JSON.stringify(resp)}`);
  } catch (e) {
    const r = e?.response;
    check(`${label}: rejected with an HTTP response`, r !== undefined, String(e));
    if (!r) return;
    checkEq(`${label}: HTTP status`, r.status, status);
    checkEq(`${label}: code`, r.data?.code, code);
    check(`${label}: msg non-empty`, typeof r.data?.msg === 'string' && r.data.msg !== '', show(r.data?.msg));
    const logid = r.headers?.['x-tt-logid'];
    check(`${label}: error.log_id equals X-Tt-Logid`, typeof logid === 'string' && r.data?.error?.log_id === logid);
  }
}

async function ok(label, promise) {
  let resp;
  try {
    resp = await promise;
  } catch (e) {
    check(`${label}: request succeeded`, false, `${e} ${JSON.stringify(e?.response?.data)}`);
    return {};
  }
  checkEq(`${label}: code`, resp?.code, 0);
  checkEq(`${label}: msg`, resp?.msg, 'success');
  return resp ?? {};
}

async function admin(path, body) {
  const r = await fetch(`${creds.base_url}/larkdesk/admin/v1${path}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${creds.admin_token}`, 'Content-Type': 'application/json; charset=utf-8' },
    body: JSON.stringify(body),
  });
  const j = await r.json();
  if (j.code !== 0) throw new Error(`admin ${path} failed: ${JSON.stringify(j)}`);
  return j.data;
}

const noop = () => {};
const client = new lark.Client({
  appId: demo.app_id,
  appSecret: demo.app_secret,
  domain: creds.base_url,
  appType: lark.AppType.SelfBuild,
  helpDeskId: demo.helpdesk_id,
  helpDeskToken: demo.helpdesk_token,
  logger: { error: noop, warn: noop, info: noop, debug: noop, trace: noop },
  loggerLevel: lark.LoggerLevel.error,
});

const isStr = (v) => typeof v === 'string';
const allDay = [{ weekday: 9, start_time: '00:00', end_time: '24:00' }];

async function main() {
  const hd = client.helpdesk;
  const withHelpDesk = lark.withHelpDeskCredential();
  const suffix = Math.random().toString(16).slice(2, 8);
  const tenantKey = demo.tenant_key;
  const agent = (await admin('/users', {
    tenant_key: tenantKey, name: `node agent ${suffix}`, email: `node-${suffix}@example.com`, is_agent: true,
  })).id;
  const guest = (await admin('/users', { tenant_key: tenantKey, name: `node guest ${suffix}`, city: 'Paris' })).id;
  const userToken = (await admin(`/tenants/${tenantKey}/users/${agent}/user_access_token`, { app_id: demo.app_id }))
    .user_access_token;
  // Helpdesk credential + user token, by object spread (see node.mjs on lark.withAll).
  const asAgent = { lark: { ...withHelpDesk.lark, ...lark.withUserAccessToken(userToken).lark } };

  // ---- agent ---------------------------------------------------------------------------
  let resp = await ok('agent.agentEmail', hd.agent.agentEmail({}, withHelpDesk));
  check('agent.agentEmail: agents is a string (the SDK types it so)', isStr(resp.data?.agents), show(resp.data));
  if (isStr(resp.data?.agents)) {
    checkEq('agent.agentEmail: the agent\'s email', JSON.parse(resp.data.agents)[agent], `node-${suffix}@example.com`);
  }
  await ok('agent.patch status=1', hd.agent.patch({ path: { agent_id: agent }, data: { status: 1 } }, asAgent));
  await checkError('agent.patch status=3', hd.agent.patch({ path: { agent_id: agent }, data: { status: 3 } }, asAgent), 150001, 400);
  await checkError('agent.patch unknown agent', hd.agent.patch({ path: { agent_id: 'ou_nobody' }, data: { status: 1 } }, asAgent), 154004, 404);

  // ---- skills --------------------------------------------------------------------------
  resp = await ok('agentSkillRule.list', hd.agentSkillRule.list({}, withHelpDesk));
  const city = (resp.data?.rules ?? []).find((r) => r.id === '3');
  checkEq('agentSkillRule.list: city rule operators', city?.operator_options, [5, 6]);

  // The operand as Feishu's doc examples send it: an object.
  resp = await ok('agentSkill.create', hd.agentSkill.create({
    data: { name: `Paris ${suffix}`, agent_ids: [agent], rules: [{ id: '3', selected_operator: 5, operand: { cities: ['Paris'] } }] },
  }, asAgent));
  const skillId = resp.data?.agent_skill_id;
  check('agentSkill.create: agent_skill_id is a digit string', isStr(skillId) && /^\d+$/.test(skillId), show(skillId));
  await checkError('agentSkill.create unknown rule', hd.agentSkill.create({
    data: { name: 'bad', rules: [{ id: '99', selected_operator: 5, operand: 'x' }] },
  }, asAgent), 154000, 400);
  await checkError('agentSkill.create unknown agent', hd.agentSkill.create({
    data: { name: 'bad', agent_ids: ['ou_nobody'] },
  }, asAgent), 154000, 400);

  resp = await ok('agentSkill.get', hd.agentSkill.get({ path: { agent_skill_id: skillId } }, withHelpDesk));
  const skill = resp.data?.agent_skill;
  checkEq('agentSkill.get: agent_ids', skill?.agent_ids, [agent]);
  checkEq('agentSkill.get: agent_skill_id', skill?.agent_skill_id, skillId);
  check('agentSkill.get: operand is a string holding the object',
    isStr(skill?.rules?.[0]?.operand) && isDeepStrictEqual(JSON.parse(skill.rules[0].operand), { cities: ['Paris'] }),
    show(skill?.rules));
  await checkError('agentSkill.get unknown', hd.agentSkill.get({ path: { agent_skill_id: '1' } }, withHelpDesk), 154004, 404);
  resp = await ok('agentSkill.list', hd.agentSkill.list({}, withHelpDesk));
  check('agentSkill.list: lists the skill', (resp.data?.agent_skills ?? []).some((s) => s.id === skillId));
  await ok('agentSkill.patch', hd.agentSkill.patch({
    path: { agent_skill_id: skillId },
    data: { agent_skill: { name: `Paris! ${suffix}`, agent_ids: [agent], rules: [{ id: '3', selected_operator: 5, operand: '["Paris"]' }] } },
  }, asAgent));

  // ---- schedules -----------------------------------------------------------------------
  await ok('agentSchedule.create', hd.agentSchedule.create({
    data: { agent_schedules: [{ agent_id: agent, schedule: allDay, agent_skill_ids: [skillId] }] },
  }, asAgent));
  await checkError('agentSchedules.patch overlapping', hd.agentSchedules.patch({
    path: { agent_id: agent },
    data: { agent_schedule: { schedule: [...allDay, { weekday: 1, start_time: '10:00', end_time: '11:00' }] } },
  }, asAgent), 154000, 400);
  resp = await ok('agentSchedules.get', hd.agentSchedules.get({ path: { agent_id: agent } }, withHelpDesk));
  const s = resp.data?.agent_schedule;
  checkEq('agentSchedules.get: status online', s?.status, 1);
  checkEq('agentSchedules.get: schedule', s?.schedule, allDay);
  checkEq('agentSchedules.get: agent_skills', s?.agent_skills?.map((k) => k.id), [skillId]);
  await checkError('agentSchedules.get unknown agent', hd.agentSchedules.get({ path: { agent_id: 'ou_nobody' } }, withHelpDesk), 154004, 404);
  resp = await ok('agentSchedule.list status=[1,3]', hd.agentSchedule.list({ params: { status: [1, 3] } }, withHelpDesk));
  check('agentSchedule.list: the agent (repeated status keys)',
    (resp.data?.agent_schedules ?? []).some((x) => x.agent?.id === agent && x.status === 1));
  await checkError('agentSchedule.list status=[9]', hd.agentSchedule.list({ params: { status: [9] } }, withHelpDesk), 154000, 400);

  // ---- routing: a Paris guest asking for a human goes to the agent --------------------------
  resp = await ok('routing: startService human_service',
    hd.ticket.startService({ data: { open_id: guest, human_service: true } }, withHelpDesk));
  if (resp.data?.ticket_id) {
    const t = (await hd.ticket.get({ path: { ticket_id: resp.data.ticket_id } }, withHelpDesk)).data?.ticket;
    checkEq('routing: the ticket went to the agent', [t?.agent_owner?.id, t?.status], [agent, 2]);
  }

  // ---- categories ------------------------------------------------------------------------
  resp = await ok('category.create', hd.category.create({ data: { name: `top ${suffix}`, parent_id: '0' } }, asAgent));
  const top = resp.data?.category;
  check('category.create: ids and parent_id', isStr(top?.category_id) && top?.id === top?.category_id && top?.parent_id === '0', show(top));
  resp = await ok('category.create child', hd.category.create({ data: { name: `child ${suffix}`, parent_id: top?.category_id, language: 'en_us' } }, asAgent));
  const child = resp.data?.category;
  await checkError('category.create without parent_id', hd.category.create({ data: { name: 'x' } }, asAgent), 154000, 400);
  resp = await ok('category.get', hd.category.get({ path: { id: child?.category_id } }, withHelpDesk));
  checkEq('category.get: flat, no parent_id', [resp.data?.name, resp.data?.language, 'parent_id' in (resp.data ?? {})], [`child ${suffix}`, 'en_us', false]);
  await checkError('category.get unknown', hd.category.get({ path: { id: '1' } }, withHelpDesk), 154004, 404);
  resp = await ok('category.list asc=true order_by=1', hd.category.list({ params: { order_by: 1, asc: true } }, withHelpDesk));
  const mine = (resp.data?.categories ?? []).find((c) => c.category_id === top?.category_id);
  checkEq('category.list: child nested', mine?.children?.map((c) => c.category_id), [child?.category_id]);
  await ok('category.patch', hd.category.patch({ path: { id: child?.category_id }, data: { name: `child! ${suffix}` } }, asAgent));
  await checkError('category.patch under itself', hd.category.patch({ path: { id: top?.category_id }, data: { parent_id: top?.category_id } }, asAgent), 154000, 400);
  await checkError('category.delete with a subcategory', hd.category.delete({ path: { id: top?.category_id } }, asAgent), 154000, 400);
  await ok('category.delete child', hd.category.delete({ path: { id: child?.category_id } }, asAgent));
  await ok('category.delete top', hd.category.delete({ path: { id: top?.category_id } }, asAgent));

  // ---- removal -------------------------------------------------------------------------
  await ok('agentSchedules.delete', hd.agentSchedules.delete({ path: { agent_id: agent } }, asAgent));
  await checkError('agentSchedules.delete again', hd.agentSchedules.delete({ path: { agent_id: agent } }, asAgent), 154004, 404);
  await ok('agentSkill.delete', hd.agentSkill.delete({ path: { agent_skill_id: skillId } }, asAgent));
  await checkError('agentSkill.delete again', hd.agentSkill.delete({ path: { agent_skill_id: skillId } }, asAgent), 154004, 404);
}

try {
  await main();
} catch (e) {
  console.log(String(e?.stack ?? e));
  failures += 1;
  console.log('FAIL  unexpected exception');
}
console.log(`node agents (@larksuiteoapi/node-sdk ${sdkVersion}): ${failures ? 'FAILED' : 'all checks passed'} (${failures} failed)`);
process.exit(failures ? 1 : 0);
