// Conformance: FAQs and notifications (push jobs) through the official Node SDK
// (@larksuiteoapi/node-sdk) against a running larkdesk server.
//
// - FAQs: create (user token), get, patch (answer_richtext as a list), listWithIterator and
//   searchWithIterator to the end, search in Chinese (plain and base64) and English, faqImage
//   (a stream), delete, and errors.
// - Notifications: create, get, patch, preview, submitApprove, the approver's decision (admin
//   API), executeSend, cancelSend with recall, and errors.
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

function checkEq(name, got, want) {
  check(name, typeof got === typeof want && isDeepStrictEqual(got, want), `got ${show(got)}, want ${show(want)}`);
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
    // faqImage asks for a stream: its error body arrives as one.
    let data = r.data;
    if (data && typeof data.on === 'function') {
      const chunks = [];
      for await (const c of data) chunks.push(c);
      data = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    }
    checkEq(`${label}: code`, data?.code, code);
    check(`${label}: error.log_id`, typeof data?.error?.log_id === 'string' && data.error.log_id !== '');
  }
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
const withHelpDesk = lark.withHelpDeskCredential();

async function faqs(asAgent, asGuest, suffix) {
  const faq = client.helpdesk.faq;
  const create = (f) => faq.create({ data: { faq: f } }, asAgent);

  let resp = await ok(
    'faq.create',
    create({
      question: `How do I reset my password ${suffix}?`,
      answer_richtext: '[{"content":"Open settings","type":"text"}]',
      tags: ['reset', 'password'],
    }),
  );
  const f = resp.data?.faq;
  const faqId = f?.faq_id;
  check('faq.create: faq_id is a digit string', /^\d+$/.test(faqId ?? ''), show(faqId));
  checkEq('faq.create: answer', f?.answer, 'Open settings');
  checkEq('faq.create: answer_richtext', f?.answer_richtext, [{ content: 'Open settings', type: 'text' }]);
  check('faq.create: create_time in seconds', Number.isInteger(f?.create_time) && f.create_time < 1e10, show(f?.create_time));
  if (!faqId) return;
  resp = await ok('faq.create (Chinese)', create({ question: `如何重置登录密码 ${suffix}`, answer: '在设置页面点击重置' }));
  const zhId = resp.data?.faq?.faq_id;
  for (let i = 0; i < 3; i += 1) {
    await ok(`faq.create #${i}`, create({ question: `Printer ${i} ${suffix}`, answer: 'a' }));
  }

  resp = await ok('faq.get', faq.get({ path: { id: faqId } }, withHelpDesk));
  checkEq('faq.get: faq_id', resp.data?.faq?.faq_id, faqId);
  await ok(
    'faq.patch (Richtext list)',
    faq.patch(
      {
        path: { id: faqId },
        data: { faq: { question: `Reset my password ${suffix}`, answer_richtext: [{ content: 'Use the portal', type: 'text' }] } },
      },
      asAgent,
    ),
  );
  resp = await ok('faq.get after patch', faq.get({ path: { id: faqId } }, withHelpDesk));
  checkEq('faq.patch: answer follows the rich text', resp.data?.faq?.answer, 'Use the portal');

  // listWithIterator: stops when has_more is false; reads page_token.
  const listed = [];
  let pages = 0;
  for await (const page of await faq.listWithIterator({ params: { page_size: 2 } }, withHelpDesk)) {
    check(`faq.listWithIterator page ${pages}: a page`, page !== null, 'the iterator hit an error');
    if (!page) break;
    listed.push(...(page.items ?? []).map((x) => x.faq_id));
    pages += 1;
    if (pages > 100) break;
  }
  check(
    'faq.listWithIterator: every FAQ once, to the end',
    listed.includes(faqId) && listed.includes(zhId) && new Set(listed).size === listed.length && pages >= 3,
    `pages=${pages} ids=${listed.length}`,
  );

  const search = (params) => faq.search({ params }, withHelpDesk);
  resp = await ok('faq.search (Chinese)', search({ query: `重置密码 ${suffix}` }));
  checkEq('faq.search (Chinese): the Chinese FAQ first', resp.data?.items?.[0]?.faq_id, zhId);
  check('faq.search: no total / page_size', resp.data?.total === undefined && resp.data?.page_size === undefined);
  const b64 = Buffer.from(`重置密码 ${suffix}`, 'utf8').toString('base64');
  resp = await ok('faq.search (base64)', search({ query: b64, base64: 'true' }));
  checkEq('faq.search (base64): the Chinese FAQ first', resp.data?.items?.[0]?.faq_id, zhId);
  resp = await ok('faq.search (English)', search({ query: `reset password ${suffix}` }));
  checkEq('faq.search (English): the English FAQ first', resp.data?.items?.[0]?.faq_id, faqId);
  resp = await ok('faq.search (one page)', search({ query: `printer ${suffix}`, page_size: 20 }));
  const whole = (resp.data?.items ?? []).map((x) => x.faq_id);
  const paged = [];
  for await (const page of await faq.searchWithIterator({ params: { query: `printer ${suffix}`, page_size: 1 } }, withHelpDesk)) {
    if (!page) break;
    paged.push(...(page.items ?? []).map((x) => x.faq_id));
    if (paged.length > 50) break;
  }
  check('faq.searchWithIterator: to the end, in the ranking order', isDeepStrictEqual(paged, whole) && paged.length >= 3,
    `paged=${paged} whole=${whole}`);

  // faqImage: a stream of the stored bytes.
  const png = Buffer.from('\x89PNG\r\n\x1a\nnode', 'latin1');
  await admin(`/helpdesks/${demo.helpdesk_id}/faqs/${faqId}/images`, { image: png.toString('base64'), image_key: 'img_node' });
  try {
    const img = await faq.faqImage({ path: { id: faqId, image_key: 'img_node' } }, withHelpDesk);
    const chunks = [];
    for await (const c of img.getReadableStream()) chunks.push(c);
    check('faq.faqImage: the stored bytes', Buffer.concat(chunks).equals(png));
    checkEq('faq.faqImage: content-type', img.headers?.['content-type'], 'image/png');
  } catch (e) {
    check('faq.faqImage: request succeeded', false, String(e));
  }
  await checkError('faq.faqImage unknown key', faq.faqImage({ path: { id: faqId, image_key: 'img_x' } }, withHelpDesk), 154004, 404);

  await checkError('faq.get unknown', faq.get({ path: { id: '1' } }, withHelpDesk), 154004, 404);
  await checkError('faq.create without question', create({ answer: 'a' }), 154000, 400);
  await checkError('faq.create by a guest (not an agent)', faq.create({ data: { faq: { question: 'q', answer: 'a' } } }, asGuest), 154003, 403);
  const wrongHelpdesk = new lark.Client({
    appId: demo.app_id,
    appSecret: demo.app_secret,
    domain: creds.base_url,
    appType: lark.AppType.SelfBuild,
    helpDeskId: demo.helpdesk_id,
    helpDeskToken: 'ht-wrong',
    logger: { error: noop, warn: noop, info: noop, debug: noop, trace: noop },
    loggerLevel: lark.LoggerLevel.error,
  });
  await checkError('faq.get with a wrong helpdesk token', wrongHelpdesk.helpdesk.faq.get({ path: { id: faqId } }, withHelpDesk), 154001, 401);
  await checkError('faq.search without query', faq.search({ params: {} }, withHelpDesk), 154000, 400);
  await ok('faq.delete', faq.delete({ path: { id: faqId } }, asAgent));
  await checkError('faq.get after delete', faq.get({ path: { id: faqId } }, withHelpDesk), 154004, 404);
}

async function notifications(asAgent, asGuest, guestId) {
  const n = client.helpdesk.notification;
  const job = (name) => ({
    job_name: name,
    push_content: '{"elements":[]}',
    push_type: 0,
    push_scope_type: 2,
    user_list: [{ user_id: guestId }],
    chat_list: [{ chat_id: 'oc_node', name: 'node' }],
  });
  let resp = await ok('notification.create', n.create({ params: { user_id_type: 'open_id' }, data: job('node job') }, asAgent));
  const nid = resp.data?.notification_id;
  checkEq('notification.create: status 0', resp.data?.status, 0);
  if (!nid) return;
  const get = async () => (await n.get({ path: { notification_id: nid } }, asAgent)).data?.notification;
  checkEq('notification.get: job_name', (await get())?.job_name, 'node job');
  await ok('notification.patch', n.patch({ path: { notification_id: nid }, data: job('node job v2') }, asAgent));
  await ok('notification.preview', n.preview({ path: { notification_id: nid } }, asAgent));
  await checkError(
    'notification.executeSend on a draft',
    n.executeSend({ path: { notification_id: nid }, data: { send_at: '1' } }, asAgent),
    154000,
    400,
  );
  resp = await ok('notification.submitApprove', n.submitApprove({ path: { notification_id: nid }, data: { reason: 'node' } }, asAgent));
  checkEq('notification.submitApprove: has_access', resp.data?.has_access, true);
  checkEq('notification.get: status 1', (await get())?.status, 1);
  await ok('notification.cancelApprove', n.cancelApprove({ path: { notification_id: nid } }, asAgent));
  checkEq('notification.get: status 0 again', (await get())?.status, 0);
  await ok('notification.submitApprove again', n.submitApprove({ path: { notification_id: nid }, data: { reason: 'node' } }, asAgent));
  await admin(`/helpdesks/${demo.helpdesk_id}/notifications/${nid}/approve`, {});
  checkEq('notification.get: status 2 (approved)', (await get())?.status, 2);
  await ok('notification.executeSend', n.executeSend({ path: { notification_id: nid }, data: { send_at: '1' } }, asAgent));
  const sent = await get();
  checkEq('notification.get: status 6 (sent)', sent?.status, 6);
  checkEq('notification.get: sent_user_count', sent?.sent_user_count, 1);
  await ok('notification.cancelSend (recall)', n.cancelSend({ path: { notification_id: nid }, data: { is_recall: true } }, asAgent));
  checkEq('notification.get: status 8 (recalled)', (await get())?.status, 8);
  await checkError('notification.get unknown', n.get({ path: { notification_id: '1' } }, asAgent), 154004, 404);
  await checkError('notification.create by a guest (may not push)', n.create({ data: job('guest') }, asGuest), 154005, 405);
  await checkError(
    'notification.submitApprove without reason',
    n.submitApprove({ path: { notification_id: nid }, data: {} }, asAgent),
    154000,
    400,
  );
}

try {
  const suffix = Math.random().toString(16).slice(2, 8);
  const agent = await admin('/users', { tenant_key: demo.tenant_key, name: `faq node agent ${suffix}`, is_agent: true });
  const guest = await admin('/users', { tenant_key: demo.tenant_key, name: `faq node guest ${suffix}`, is_agent: false });
  const token = (await admin(`/tenants/${demo.tenant_key}/users/${agent.id}/user_access_token`, { app_id: demo.app_id }))
    .user_access_token;
  const guestToken = (await admin(`/tenants/${demo.tenant_key}/users/${guest.id}/user_access_token`, { app_id: demo.app_id }))
    .user_access_token;
  const asAgent = { lark: { ...lark.withHelpDeskCredential().lark, ...lark.withUserAccessToken(token).lark } };
  const asGuest = { lark: { ...lark.withHelpDeskCredential().lark, ...lark.withUserAccessToken(guestToken).lark } };
  await faqs(asAgent, asGuest, suffix);
  await notifications(asAgent, asGuest, guest.id);
} catch (e) {
  console.log(e);
  failures += 1;
  console.log('FAIL  unexpected exception');
}
console.log(
  `node faqs+notifications (@larksuiteoapi/node-sdk ${sdkVersion}): ${failures ? 'FAILED' : 'all checks passed'} (${failures} failed)`,
);
process.exit(failures ? 1 : 0);
