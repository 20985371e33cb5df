// Conformance: GET /open-apis/helpdesk/v1/tickets/:ticket_id through the official
// Node SDK (@larksuiteoapi/node-sdk) against a running larkdesk server.
//
// Run by conformance/run.sh, which provides:
//   LARKDESK_CREDS  path of the server's credentials file (base_url, demo app, helpdesk)
//   SEED_TICKET     path of seed_ticket.json (already imported into the demo helpdesk)
//
// Prints PASS/FAIL per check and exits 1 if any check failed.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isDeepStrictEqual } from 'node:util';
import * as lark from '@larksuiteoapi/node-sdk';

const TICKET_ID = '6626871355780366331';

const creds = JSON.parse(readFileSync(process.env.LARKDESK_CREDS, 'utf8'));
// Parsed with JSON.parse, like axios does, so big integers round the same way.
const seed = JSON.parse(readFileSync(process.env.SEED_TICKET, 'utf8'));
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

// Same value and same JS type.
function checkEq(name, got, want) {
  check(name, typeof got === typeof want && isDeepStrictEqual(got, want), `got ${show(got)}, want ${show(want)}`);
}

// Token cache that remembers what the SDK stored in it.
class RecordingCache {
  constructor() {
    this.values = new Map();
    this.sets = [];
  }
  key(key, options) {
    return `${options?.namespace ?? ''}/${key.toString()}`;
  }
  async get(key, options) {
    return this.values.get(this.key(key, options));
  }
  async set(key, value, _expire, options) {
    this.sets.push(this.key(key, options));
    this.values.set(this.key(key, options), value);
    return true;
  }
}

const cache = new RecordingCache();
const noop = () => {};
const silentLogger = { error: noop, warn: noop, info: noop, debug: noop, trace: noop };

function makeClient(helpDeskToken) {
  return new lark.Client({
    appId: demo.app_id,
    appSecret: demo.app_secret,
    domain: creds.base_url, // a string domain is used as-is
    appType: lark.AppType.SelfBuild,
    helpDeskId: demo.helpdesk_id,
    helpDeskToken,
    cache, // shared, so the second client reuses the first client's tenant token
    // The SDK logs every non-2xx response at error level; the expected errors below
    // would only add noise, and unexpected ones are reported by this script anyway.
    // (loggerLevel: LoggerLevel.fatal does not work: it is 0, and the SDK falls back to
    // info on a falsy level, so a silent logger it is.)
    logger: silentLogger,
    loggerLevel: lark.LoggerLevel.error,
  });
}

// withHelpDeskCredential() makes the SDK send
//   X-Lark-Helpdesk-Authorization: Bearer base64(helpDeskId:helpDeskToken)
const getTicket = (client, ticketId) =>
  client.helpdesk.ticket.get({ path: { ticket_id: ticketId } }, lark.withHelpDeskCredential());

// The SDK's axios instance THROWS on non-2xx; the Feishu envelope is e.response.data.
async function checkError(label, promise, code, status) {
  try {
    const resp = await promise;
    check(`${label}: request rejected`, false, `resolved with ${JSON.stringify(resp)}`);
    return;
  } catch (e) {
    const r = e?.response;
    check(`${label}: rejected with an HTTP response`, r !== undefined, String(e));
    if (!r) return;
    checkEq(`${label}: HTTP status`, r.status, status);
    checkEq(`${label}: code`, r.data?.code, code);
    check(`${label}: msg non-empty`, typeof r.data?.msg === 'string' && r.data.msg !== '', show(r.data?.msg));
    check(`${label}: no data`, r.data?.data === undefined, show(r.data?.data));
    const logid = r.headers?.['x-tt-logid'];
    check(
      `${label}: error.log_id equals X-Tt-Logid header`,
      typeof logid === 'string' && logid !== '' && r.data?.error?.log_id === logid,
      `error=${JSON.stringify(r.data?.error)}, header=${show(logid)}`,
    );
  }
}

function userChecks(label, u, want) {
  for (const f of ['id', 'avatar_url', 'name', 'email', 'department', 'city', 'country']) {
    checkEq(`${label}.${f}`, u?.[f], want[f]);
  }
}

async function main() {
  const client = makeClient(demo.helpdesk_token);

  // ---- success ---------------------------------------------------------------------
  let resp;
  try {
    resp = await getTicket(client, TICKET_ID);
  } catch (e) {
    check('ok: request succeeded', false, `${e} ${JSON.stringify(e?.response?.data)}`);
    resp = {};
  }
  checkEq('ok: code', resp.code, 0);
  checkEq('ok: msg', resp.msg, 'success');

  // The SDK fetched the tenant_access_token itself (app_id/app_secret -> cache).
  const tokenKey = `${demo.app_id}/${lark.CTenantAccessToken.toString()}`;
  const token = cache.values.get(tokenKey);
  check(
    'ok: SDK fetched and cached tenant_access_token',
    cache.sets.includes(tokenKey) && typeof token === 'string' && token.startsWith('t-'),
    `sets=${JSON.stringify(cache.sets)}, token=${show(token)}`,
  );

  const t = resp.data?.ticket ?? {};
  checkEq('ticket_id', t.ticket_id, TICKET_ID);
  checkEq('helpdesk_id (the importing helpdesk)', t.helpdesk_id, demo.helpdesk_id);
  userChecks('guest', t.guest, seed.guest);
  checkEq('guest.name is "abc" (literal)', t.guest?.name, 'abc');

  const c = t.comments ?? {};
  check('comments is an object (not a list)', t.comments !== null && typeof t.comments === 'object' && !Array.isArray(t.comments), show(t.comments));
  checkEq('comments.content', c.content, '备注内容');
  checkEq('comments.created_at', c.created_at, 1690970837624);
  checkEq('comments.id', c.id, 12);
  checkEq('comments.user_name', c.user_name, '备注人姓名');
  // HAZARD: 7262656095919128578 > 2^53. axios uses JSON.parse, so the SDK hands us the
  // nearest double, 7262656095919128576 (prints as 7262656095919128000). Precision is lost
  // in every JS client of the real API too; all we can assert is that the server sent a
  // JSON number that rounds to the same double (the Python check asserts the exact digits).
  checkEq('comments.user_id (≈7262656095919128578, a number, precision lost)', c.user_id, 7262656095919128578);
  check('comments.user_id is beyond Number.MAX_SAFE_INTEGER', !Number.isSafeInteger(c.user_id), show(c.user_id));

  checkEq('ticket_type', t.ticket_type, 1);
  checkEq('status', t.status, 50);
  checkEq('score', t.score, 1);
  checkEq('created_at', t.created_at, 1616920429000);
  checkEq('updated_at', t.updated_at, 1616920429000);
  checkEq('closed_at', t.closed_at, 1616920429000);
  checkEq('dissatisfaction_reason', t.dissatisfaction_reason, {
    zh_cn: '答案看不懂',
    en_us: "I don't understand",
    ja_jp: '回答が複雑すぎる',
  });
  check('agents is a 1-element array', Array.isArray(t.agents) && t.agents.length === 1, show(t.agents));
  userChecks('agents[0]', t.agents?.[0], seed.agents[0]);
  checkEq('channel (0 is present, not omitted)', t.channel, 0);
  checkEq('solve', t.solve, 1);
  userChecks('closed_by', t.closed_by, seed.closed_by);
  check('collaborators is a 1-element array', Array.isArray(t.collaborators) && t.collaborators.length === 1, show(t.collaborators));
  userChecks('collaborators[0]', t.collaborators?.[0], seed.collaborators[0]);

  const f0 = t.customized_fields?.[0] ?? {};
  check('customized_fields is a 1-element array', Array.isArray(t.customized_fields) && t.customized_fields.length === 1, show(t.customized_fields));
  checkEq('customized_fields[0].id', f0.id, '123');
  checkEq('customized_fields[0].value', f0.value, 'value');
  checkEq('customized_fields[0].key_name', f0.key_name, 'key');
  checkEq('customized_fields[0].display_name', f0.display_name, 'display name');
  checkEq('customized_fields[0].position', f0.position, 1);
  checkEq('customized_fields[0].required', f0.required, true);
  checkEq('customized_fields[0].editable', f0.editable, true);

  checkEq('agent_service_duration', t.agent_service_duration, 42624.95);
  checkEq('agent_first_response_duration', t.agent_first_response_duration, 123869);
  checkEq('bot_service_duration', t.bot_service_duration, 1);
  checkEq('agent_resolution_time', t.agent_resolution_time, 66);
  checkEq('actual_processing_time', t.actual_processing_time, 68);
  checkEq('agent_entry_time', t.agent_entry_time, 1636444596000);
  checkEq('agent_first_response_time', t.agent_first_response_time, 1636444696000);
  checkEq('agent_last_response_time', t.agent_last_response_time, 1636444796000);
  userChecks('agent_owner', t.agent_owner, seed.agent_owner);
  checkEq('tags', t.tags, [{ id: '7474857595946745884', name: '标签名称' }]);

  // Whole object: exactly the seed (bar helpdesk_id, the helpdesk it was imported into).
  checkEq('ok: data.ticket equals the seed (bar helpdesk_id)', t, { ...seed, helpdesk_id: demo.helpdesk_id });

  // ---- errors ----------------------------------------------------------------------
  await checkError('unknown ticket', getTicket(client, '1'), 154004, 404);
  await checkError('wrong helpdesk token', getTicket(makeClient('ht-wrong-token'), TICKET_ID), 154001, 401);
  await checkError(
    'no helpdesk header',
    client.helpdesk.ticket.get({ path: { ticket_id: TICKET_ID } }),
    154001,
    401,
  );

  check(
    'tenant_access_token fetched once and reused',
    cache.sets.filter((k) => k === tokenKey).length === 1,
    `sets=${JSON.stringify(cache.sets)}`,
  );
}

try {
  await main();
} catch (e) {
  console.log(e);
  failures += 1;
  console.log('FAIL  unexpected exception');
}
console.log(
  `node (@larksuiteoapi/node-sdk ${sdkVersion}): ${failures ? 'FAILED' : 'all checks passed'} (${failures} failed)`,
);
process.exit(failures ? 1 : 0);
