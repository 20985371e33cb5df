// Event conformance: larkdesk's webhooks through the official Node SDK's event dispatcher
// (@larksuiteoapi/node-sdk `EventDispatcher` behind `adaptDefault` on a node:http server).
//
// Run twice, once without and once with an encrypt key. Each run (like events_python.py):
// - creates its own app (admin API), so events of one run never reach the other run's
//   receiver and the delivery log can be filtered by app_id;
// - serves `lark.adaptDefault(path, dispatcher, { autoChallenge: true })`;
// - sets the app's request URL (admin API): larkdesk's url_verification challenge is answered
//   by the SDK's autoChallenge;
// - subscribes the app to the helpdesk's ticket events (`client.helpdesk.event.subscribe`);
// - drives one ticket: startService (-> ticket.created_v1), agent_enter (-> ticket.updated_v1,
//   old status 3), guest message "hi" (-> ticket_message.created_v1), ticket.update with a
//   comment (-> ticket.updated_v1), and a second guest message on the commented ticket;
// - checks what the SDK handed to the handlers, the adapter's answers and the delivery log.
//
// The Node dispatcher checks the signature only with an encrypt key, over
// JSON.stringify(JSON.parse(body)); a failed check is logged ("verification failed event")
// and the handler is not called. It never checks the verification token, so this script does.
// It flattens header and event into one object: for message events the event's own
// `event_id` (for answer_user_query) overwrites header.event_id.
//
// Run by conformance/run.sh, which provides LARKDESK_CREDS (the server's credentials file).
// Prints PASS/FAIL per check and exits 1 if any check failed.

import { readFileSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import * as lark from '@larksuiteoapi/node-sdk';

const creds = JSON.parse(readFileSync(process.env.LARKDESK_CREDS, 'utf8'));
const demo = creds.demo;
const sdkVersion = createRequire(import.meta.url)('@larksuiteoapi/node-sdk/package.json').version;

const CREATED = 'helpdesk.ticket.created_v1';
const UPDATED = 'helpdesk.ticket.updated_v1';
const MESSAGE = 'helpdesk.ticket_message.created_v1';
const APPROVE = 'helpdesk.notification.approve_v1';

// Checks that fail because of a known larkdesk discrepancy (reported, not yet fixed).
// They print XFAIL instead of failing the run; CONFORMANCE_STRICT=1 makes them count.
// When one starts passing it prints XPASS: delete it from this set. (See events_python.py.)
// Checks expected to fail for a known server-side reason (XFAIL). Empty: the message-event
// shape issues this script found (comments, agent_owner) are fixed.
const KNOWN_ISSUES = new Set();
const STRICT = process.env.CONFORMANCE_STRICT === '1';

let failures = 0;
let known = 0;

function check(name, ok, detail = '') {
  const suffix = detail ? `  -- ${detail}` : '';
  if (KNOWN_ISSUES.has(name) && !STRICT) {
    if (ok) {
      console.log(`XPASS ${name}  -- known issue fixed: remove it from KNOWN_ISSUES`);
    } else {
      known += 1;
      console.log(`XFAIL ${name}${suffix}`);
    }
  } else if (ok) {
    console.log(`PASS  ${name}`);
  } else {
    failures += 1;
    console.log(`FAIL  ${name}${suffix}`);
  }
}

const show = (v) => `${JSON.stringify(v)} (${typeof v})`;

// Same value and same JS type.
function checkEq(name, got, want) {
  check(name, typeof got === typeof want && isDeepStrictEqual(got, want), `got ${show(got)}, want ${show(want)}`);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(cond, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await cond()) return true;
    await sleep(100);
  }
  return cond();
}

// larkdesk admin API (plain fetch, not an SDK call). Returns [HTTP status, JSON].
async function adminCall(method, path, body) {
  const r = await fetch(`${creds.base_url}/larkdesk/admin/v1${path}`, {
    method,
    headers: { Authorization: `Bearer ${creds.admin_token}`, 'Content-Type': 'application/json; charset=utf-8' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return [r.status, await r.json()];
}

async function admin(path, body) {
  const [status, j] = await adminCall('POST', path, body);
  if (j.code !== 0) throw new Error(`admin ${path} failed: HTTP ${status} ${JSON.stringify(j)}`);
  return j.data;
}

const noop = () => {};
const silentLogger = { error: noop, warn: noop, info: noop, debug: noop, trace: noop };

// A node:http server in front of the SDK's adaptDefault; logs each request and answer.
function startReceiver(path, dispatcher, encryptKey) {
  const log = [];
  const adapter = lark.adaptDefault(path, dispatcher, { autoChallenge: true });
  const server = http.createServer((req, res) => {
    if (req.url !== path) {
      // adaptDefault leaves other paths unanswered; do not let a stray request hang.
      res.statusCode = 404;
      res.end();
      return;
    }
    const chunks = [];
    req.on('data', (c) => chunks.push(c)); // alongside the adapter's own reader
    const end = res.end.bind(res);
    res.end = (body, ...rest) => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const entry = { headers: req.headers, raw, status: res.statusCode, answer: body === undefined ? '' : String(body) };
      try {
        entry.outer = JSON.parse(raw);
        entry.plain =
          encryptKey && 'encrypt' in entry.outer
            ? JSON.parse(new lark.AESCipher(encryptKey).decrypt(entry.outer.encrypt))
            : entry.outer;
      } catch (e) {
        entry.outer = {};
        entry.plain = { unreadable: String(e) };
      }
      log.push(entry);
      return end(body, ...rest);
    };
    adapter(req, res).catch((e) => {
      // The SDK's adapter rejected (it does not answer then): report it as a 500.
      res.statusCode = 500;
      res.end(JSON.stringify({ adapter_error: String(e) }));
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({ log, server, url: `http://127.0.0.1:${server.address().port}${path}` });
    });
  });
}

function ticketOf(plain) {
  const ev = plain?.event ?? {};
  switch (plain?.header?.event_type) {
    case CREATED:
      return ev.ticket_id;
    case UPDATED:
      return ev.object?.ticket_id;
    case MESSAGE:
      return ev.ticket?.ticket_id;
    default:
      return undefined;
  }
}

// The ticket id of what the SDK handed to a handler (header and event flattened).
function ticketOfData(type, d) {
  if (type === CREATED) return d.ticket_id;
  if (type === UPDATED) return d.object?.ticket_id;
  return d.ticket?.ticket_id;
}

async function run(mode, encryptKey) {
  const p = `events ${mode}`;
  const suffix = randomBytes(3).toString('hex');
  const tenantKey = demo.tenant_key;
  const hd = demo.helpdesk_id;
  const vt = `vt-${mode}-${suffix}`;

  // ---- an app of our own, its SDK client, a guest and an agent -----------------------------
  const app = await admin('/apps', { tenant_key: tenantKey, name: `sdk-node events ${mode} ${suffix}` });
  const client = new lark.Client({
    appId: app.app_id,
    appSecret: app.app_secret,
    domain: creds.base_url,
    appType: lark.AppType.SelfBuild,
    helpDeskId: hd,
    helpDeskToken: demo.helpdesk_token,
    logger: silentLogger,
    loggerLevel: lark.LoggerLevel.error,
  });
  const guest = await admin('/users', { tenant_key: tenantKey, name: `ev-node guest ${suffix}`, is_agent: false });
  const agent = await admin('/users', { tenant_key: tenantKey, name: `ev-node agent ${suffix}`, is_agent: true });
  const userToken = (
    await admin(`/tenants/${tenantKey}/users/${agent.id}/user_access_token`, { app_id: app.app_id })
  ).user_access_token;

  // ---- the SDK's dispatcher behind adaptDefault ----------------------------------------------
  const calls = []; // [event type, what the SDK handed to the handler]
  const warnings = [];
  const dispatcher = new lark.EventDispatcher({
    encryptKey: encryptKey ?? '',
    verificationToken: vt,
    logger: { ...silentLogger, warn: (...a) => warnings.push(a.map(String).join(' ')) },
    loggerLevel: lark.LoggerLevel.warn,
  }).register({
    [CREATED]: async (data) => void calls.push([CREATED, data]),
    [UPDATED]: async (data) => void calls.push([UPDATED, data]),
    [MESSAGE]: async (data) => void calls.push([MESSAGE, data]),
    [APPROVE]: async (data) => void calls.push([APPROVE, data]),
  });
  const receiver = await startReceiver(`/webhook/node-${mode}`, dispatcher, encryptKey);
  try {
    await scenario({ p, encryptKey, vt, app, client, guest, agent, userToken, hd, receiver, calls, warnings });
    await notificationApprove({ p, vt, app, client, guest, userToken, hd, receiver, calls });
  } finally {
    await adminCall('DELETE', `/apps/${app.app_id}/events`);
    receiver.server.closeAllConnections?.();
    await new Promise((r) => receiver.server.close(r));
  }
}

async function scenario({ p, encryptKey, vt, app, client, guest, agent, userToken, hd, receiver, calls, warnings }) {
  const withHelpDesk = lark.withHelpDeskCredential();

  // ---- the request URL: larkdesk's url_verification, answered by autoChallenge --------------
  const settings = { request_url: receiver.url, verification_token: vt };
  if (encryptKey) settings.encrypt_key = encryptKey;
  const [status, resp] = await adminCall('PUT', `/apps/${app.app_id}/events`, settings);
  check(`${p}: PUT events: code 0 (the SDK answered the challenge)`, resp.code === 0, `HTTP ${status} ${JSON.stringify(resp)}`);
  checkEq(`${p}: PUT events: data echoes the settings`, resp.data, {
    app_id: app.app_id,
    request_url: receiver.url,
    verification_token: vt,
    encrypt_key: encryptKey ?? null,
  });
  const challenges = receiver.log.filter((e) => e.plain?.type === 'url_verification');
  check(`${p}: one url_verification challenge reached the receiver`, challenges.length === 1, show(receiver.log.map((e) => e.plain)));
  if (challenges.length) {
    const c = challenges[0];
    checkEq(`${p}: challenge: token is the verification token`, c.plain.token, vt);
    let answer;
    try {
      answer = JSON.parse(c.answer);
    } catch {
      answer = c.answer;
    }
    check(
      `${p}: challenge: the SDK answered 200 with the challenge`,
      c.status === 200 && isDeepStrictEqual(answer, { challenge: c.plain.challenge }),
      `${c.status} ${c.answer}`,
    );
    if (encryptKey) {
      checkEq(`${p}: challenge: the body is only {"encrypt": …}`, Object.keys(c.outer), ['encrypt']);
    }
  }

  // ---- subscribe through the SDK's generated method -----------------------------------------
  try {
    const r = await client.helpdesk.event.subscribe(
      {
        data: {
          events: [
            { type: 'helpdesk.ticket', subtype: 'ticket.created_v1' },
            { type: 'helpdesk.ticket', subtype: 'ticket.updated_v1' },
            { type: 'helpdesk.ticket_message', subtype: 'ticket_message.created_v1' },
            { type: 'helpdesk.notification', subtype: 'notification.approve_v1' },
          ],
        },
      },
      withHelpDesk,
    );
    checkEq(`${p}: helpdesk.event.subscribe: code 0`, r?.code, 0);
  } catch (e) {
    check(`${p}: helpdesk.event.subscribe: code 0`, false, `${e} ${JSON.stringify(e?.response?.data)}`);
  }

  // ---- one ticket's life ----------------------------------------------------------------------
  let started;
  try {
    started = await client.helpdesk.ticket.startService({ data: { open_id: guest.id, human_service: true } }, withHelpDesk);
  } catch (e) {
    started = { error: `${e} ${JSON.stringify(e?.response?.data)}` };
  }
  const ticketId = started?.data?.ticket_id;
  const chatId = started?.data?.chat_id;
  check(`${p}: ticket.startService: a ticket`, typeof ticketId === 'string' && /^\d+$/.test(ticketId), show(started));
  if (!ticketId) return;
  await admin(`/helpdesks/${hd}/tickets/${ticketId}/agent_enter`, { agent_id: agent.id });
  const msg1 = await admin(`/helpdesks/${hd}/tickets/${ticketId}/guest_message`, { content: 'hi' });
  // Helpdesk credential + the agent's user token (object spread: lark.withAll drops both).
  const asAgent = { lark: { ...lark.withHelpDeskCredential().lark, ...lark.withUserAccessToken(userToken).lark } };
  try {
    const r = await client.helpdesk.ticket.update({ path: { ticket_id: ticketId }, data: { comment: 'from sdk' } }, asAgent);
    checkEq(`${p}: ticket.update (comment, user token): code 0`, r?.code, 0);
  } catch (e) {
    check(`${p}: ticket.update (comment, user token): code 0`, false, `${e} ${JSON.stringify(e?.response?.data)}`);
  }
  const msg2 = await admin(`/helpdesks/${hd}/tickets/${ticketId}/guest_message`, { content: 'after the comment' });

  // ---- wait for the five pushes, then for their delivery outcomes ---------------------------
  const pushes = () => receiver.log.filter((e) => ticketOf(e.plain) === ticketId);
  const expected = { [CREATED]: 1, [UPDATED]: 2, [MESSAGE]: 2 };
  const counts = () => {
    const out = {};
    for (const e of pushes()) out[e.plain.header.event_type] = (out[e.plain.header.event_type] ?? 0) + 1;
    return out;
  };
  await waitFor(() => Object.entries(expected).every(([t, n]) => (counts()[t] ?? 0) >= n));
  checkEq(`${p}: pushes received for the ticket (by event_type)`, counts(), expected);

  const deliveries = async () => {
    const [, r] = await adminCall('GET', `/event_deliveries?app_id=${app.app_id}&limit=100`);
    return new Map((r.data?.deliveries ?? []).map((d) => [d.event_id, d]));
  };
  const ids = pushes().map((e) => e.plain.header.event_id);
  await waitFor(async () => {
    const m = await deliveries();
    return ids.every((i) => m.get(i) && (m.get(i).status !== 'pending' || m.get(i).last_error));
  }, 10000);
  const dlog = await deliveries();

  // ---- every push: the dispatcher's verdict ---------------------------------------------------
  const failedVerification = warnings.filter((w) => w.includes('verification failed'));
  check(
    `${p}: the dispatcher logged no "verification failed event"` + (encryptKey ? ' (signature checked)' : ''),
    failedVerification.length === 0,
    show(failedVerification),
  );
  const bad = pushes().filter((e) => e.status !== 200);
  check(`${p}: every push: the adapter answered 200`, bad.length === 0, show(bad.map((e) => [e.status, e.answer])));

  // ---- per event: handler, decoded fields, delivery -------------------------------------------
  function the(type, pick, label) {
    const found = pushes().filter((e) => e.plain.header.event_type === type && pick(e.plain.event));
    check(`${p}: ${label}: pushed once`, found.length === 1, `${found.length} pushes`);
    const objs = calls.filter(([t, d]) => t === type && ticketOfData(t, d) === ticketId && pick(d)).map(([, d]) => d);
    check(`${p}: ${label}: handler called`, objs.length === 1, `${objs.length} calls`);
    const header = found[0]?.plain?.header ?? {};
    const d = dlog.get(header.event_id);
    check(`${p}: ${label}: delivery delivered`, d?.status === 'delivered', show(d && { status: d.status, attempts: d.attempts, last_error: d.last_error }));
    const data = objs[0];
    if (data) {
      checkEq(`${p}: ${label}: event_type`, data.event_type, type);
      checkEq(`${p}: ${label}: token (the verification token; the SDK does not check it)`, data.token, vt);
      checkEq(`${p}: ${label}: app_id`, data.app_id, app.app_id);
      checkEq(`${p}: ${label}: tenant_key`, data.tenant_key, demo.tenant_key);
      checkEq(`${p}: ${label}: schema`, data.schema, '2.0');
      checkEq(`${p}: ${label}: create_time (header's)`, data.create_time, header.create_time);
      if (type !== MESSAGE) checkEq(`${p}: ${label}: event_id (header's)`, data.event_id, header.event_id);
    }
    return data;
  }
  const userEvent = (label, u, openId, name) => {
    checkEq(`${label}.id.open_id`, u?.id?.open_id, openId);
    checkEq(`${label}.name`, u?.name, name);
  };

  let d = the(CREATED, () => true, CREATED);
  if (d) {
    const l = `${p}: ${CREATED}`;
    checkEq(`${l}: ticket_id`, d.ticket_id, ticketId);
    checkEq(`${l}: helpdesk_id`, d.helpdesk_id, hd);
    checkEq(`${l}: chat_id (startService's)`, d.chat_id, chatId);
    checkEq(`${l}: status 3 (queued)`, d.status, 3);
    checkEq(`${l}: stage 2 (human)`, d.stage, 2);
    check(`${l}: created_at is ms`, Number.isInteger(d.created_at) && d.created_at > 1e12, show(d.created_at));
    check(`${l}: customized_fields is an array`, Array.isArray(d.customized_fields), show(d.customized_fields));
    userEvent(`${l}: guest`, d.guest, guest.id, guest.name);
  }

  d = the(UPDATED, (ev) => ev.old_object?.status === 3, `${UPDATED} (agent_enter)`);
  if (d) {
    const l = `${p}: ${UPDATED} (agent_enter)`;
    checkEq(`${l}: object.ticket_id`, d.object?.ticket_id, ticketId);
    checkEq(`${l}: object.status 2 (processing)`, d.object?.status, 2);
    checkEq(`${l}: old_object.status 3`, d.old_object?.status, 3);
    checkEq(`${l}: object.chat_id`, d.object?.chat_id, chatId);
    userEvent(`${l}: object.guest`, d.object?.guest, guest.id, guest.name);
    check(`${l}: object.agents is a 1-element array`, Array.isArray(d.object?.agents) && d.object.agents.length === 1, show(d.object?.agents));
    userEvent(`${l}: object.agents[0]`, d.object?.agents?.[0], agent.id, agent.name);
  }

  d = the(UPDATED, (ev) => ev.old_object && !('status' in ev.old_object), `${UPDATED} (comment)`);
  if (d) {
    const l = `${p}: ${UPDATED} (comment)`;
    checkEq(`${l}: object.ticket_id`, d.object?.ticket_id, ticketId);
    check(`${l}: old_object.updated_at is an integer`, Number.isInteger(d.old_object?.updated_at), show(d.old_object));
  }

  for (const [n, text, sent] of [
    [1, 'hi', msg1],
    [2, 'after the comment', msg2],
  ]) {
    const label = `${MESSAGE} #${n}` + (n === 2 ? ' (ticket with a comment)' : '');
    d = the(MESSAGE, (ev) => ev.text === text, label);
    if (!d) continue;
    const l = `${p}: ${label}`;
    checkEq(`${l}: text`, d.text, text);
    checkEq(`${l}: sender_type 2 (guest)`, d.sender_type, 2);
    checkEq(`${l}: sender_id.open_id`, d.sender_id?.open_id, guest.id);
    checkEq(`${l}: msg_type`, d.msg_type, 'text');
    checkEq(`${l}: message_id (guest_message's)`, d.message_id, sent.message_id);
    // The event's own event_id, which the flattening lets overwrite header.event_id.
    checkEq(`${l}: event_id (guest_message's, for answer_user_query)`, d.event_id, sent.event_id);
    checkEq(`${l}: chat_id`, d.chat_id, chatId);
    check(`${l}: position is a digit string`, typeof d.position === 'string' && /^\d+$/.test(d.position), show(d.position));
    check(`${l}: ticket_message_id is a digit string`, typeof d.ticket_message_id === 'string' && /^\d+$/.test(d.ticket_message_id), show(d.ticket_message_id));
    checkEq(`${l}: content.content`, d.content?.content, text);
    checkEq(`${l}: content.msg_type`, d.content?.msg_type, 'text');
    checkEq(`${l}: ticket.ticket_id`, d.ticket?.ticket_id, ticketId);
    checkEq(`${l}: ticket.status 2`, d.ticket?.status, 2);
    checkEq(`${l}: ticket.ticket_type 2`, d.ticket?.ticket_type, 2);
    if (n === 1) {
      checkEq(`${l}: ticket.agent_owner.id is the agent's open_id (a string)`, d.ticket?.agent_owner?.id, agent.id);
    } else {
      const cs = d.ticket?.comments;
      check(`${l}: ticket.comments is an array`, Array.isArray(cs) && cs.length === 1 && cs[0]?.content === 'from sdk', show(cs));
    }
  }
}

// A push job approved by the approver (admin API) pushes helpdesk.notification.approve_v1; the
// SDK's dispatcher hands the handler one flat object (header fields + the event's).
async function notificationApprove({ p, vt, app, client, guest, userToken, hd, receiver, calls }) {
  const l = `${p}: ${APPROVE}`;
  const asAgent = { lark: { ...lark.withHelpDeskCredential().lark, ...lark.withUserAccessToken(userToken).lark } };
  let nid;
  try {
    const r = await client.helpdesk.notification.create(
      { data: { job_name: 'events', push_content: '{}', push_type: 0, push_scope_type: 2, user_list: [{ user_id: guest.id }] } },
      asAgent,
    );
    nid = r?.data?.notification_id;
    await client.helpdesk.notification.submitApprove({ path: { notification_id: nid }, data: { reason: 'events' } }, asAgent);
  } catch (e) {
    check(`${l}: create and submit`, false, `${e} ${JSON.stringify(e?.response?.data)}`);
    return;
  }
  check(`${l}: create and submit`, typeof nid === 'string' && /^\d+$/.test(nid), show(nid));
  await admin(`/helpdesks/${hd}/notifications/${nid}/approve`, {});
  const pushes = () => receiver.log.filter((e) => e.plain?.event?.notification_id === nid);
  await waitFor(() => pushes().length >= 1);
  const found = pushes();
  check(`${l}: pushed once`, found.length === 1, `${found.length} pushes`);
  if (!found.length) return;
  const e = found[0];
  checkEq(`${l}: dispatcher answered 200`, e.status, 200);
  const d = calls.filter(([t, data]) => t === APPROVE && data?.notification_id === nid).map(([, data]) => data);
  check(`${l}: handler called once`, d.length === 1, `${d.length} calls`);
  if (!d.length) return;
  checkEq(`${l}: event_type`, d[0].event_type, APPROVE);
  checkEq(`${l}: token`, d[0].token, vt);
  checkEq(`${l}: app_id`, d[0].app_id, app.app_id);
  checkEq(`${l}: notification_id`, d[0].notification_id, nid);
  checkEq(`${l}: helpdesk_id`, d[0].helpdesk_id, hd);
  checkEq(`${l}: approve_status`, d[0].approve_status, 'APPROVED');
}

try {
  // Without an encrypt key, then with one; a fresh app (and receiver) for each.
  await run('plain', undefined);
  await run('encrypted', `ek-${randomBytes(12).toString('hex')}`);
} catch (e) {
  console.log(e);
  failures += 1;
  console.log('FAIL  unexpected exception');
}
console.log(
  `node events (@larksuiteoapi/node-sdk ${sdkVersion}): ${failures ? 'FAILED' : 'all checks passed'} ` +
    `(${failures} failed, ${known} known issues)`,
);
process.exit(failures ? 1 : 0);
