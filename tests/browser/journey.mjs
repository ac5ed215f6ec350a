// The candidate's journey in real Chromium at phone size (390x844), in Japanese and English,
// against a real relay-node process: register with full-width input (a double tap), confirm
// from the spooled mail, manage, edit, export, have the link mailed again and replace it,
// withdraw, erase; Back after erasure, a cross-site POST, framing by another origin, and the
// small HTML pages. Screenshots go to <out>/browser-shots/. Run by ctest as "browser"
// (tests/CMakeLists.txt):
//   node journey.mjs <relay-node binary> <out dir>
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { check, failed, freePort, linkIn, launchBrowser, phone, startNode, until } from './harness.mjs';

const [nodeBin, outDir] = process.argv.slice(2);
if (!nodeBin || !outDir) throw new Error('usage: node journey.mjs <relay-node> <out dir>');
const shots = path.join(outDir, 'browser-shots');
fs.mkdirSync(shots, { recursive: true });

// --- the node ---------------------------------------------------------------------------
const relay = await startNode(nodeBin, outDir, 'browser-node-');
const { base, api, mailsTo } = relay;

let evil;
let browser;
try {
  const member = await api('POST', '/api/v1/members', { name: 'サンプル商事株式会社' });
  const staticLink = (await api('GET', '/api/v1/relay-link', undefined, member.api_key)).url;

  // --- another origin: frames the form and posts to the management page --------------------
  const evilPort = await freePort();
  let evilTarget = '';
  evil = http.createServer((req, res) => {
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    if (req.url === '/frame') res.end(`<iframe id="f" src="${staticLink}"></iframe>`);
    else res.end(`<form method="post" action="${evilTarget}"><input type="hidden" name="x" value="1"><button id="go">Win a prize</button></form>`);
  });
  await new Promise((r) => evil.listen(evilPort, '127.0.0.1', r));
  const evilBase = `http://127.0.0.1:${evilPort}`;

  browser = await launchBrowser();
  const page = await browser.newPage();
  await page.setViewport(phone);

  let shot = 0;
  const look = async (lang, name) => {
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    check(overflow <= 0, `${lang} ${name}: ${overflow}px of horizontal overflow at 390 px`);
    await page.screenshot({ path: path.join(shots, `${String(++shot).padStart(2, '0')}-${lang}-${name}.png`), fullPage: true });
  };
  const text = () => page.evaluate(() => document.body.innerText);
  const go = async (url) => page.goto(url, { waitUntil: 'load' });
  const submit = async (selector) => Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click(selector)]);

  for (const lang of ['ja', 'en']) {
    const en = lang === 'en';
    const L = (ja, english) => (en ? english : ja);
    const email = `hanako.${lang}@example.jp`;
    const name = L('山田 花子', 'Hanako Yamada');
    const form = staticLink + (en ? '?lang=en' : '');

    // The form: security headers, footer, autocomplete.
    const first = await go(form);
    const h = first.headers();
    check(first.status() === 200, `${lang} form: status ${first.status()}`);
    check(/frame-ancestors 'none'/.test(h['content-security-policy'] || '') &&
      /form-action 'self'/.test(h['content-security-policy']) &&
      !/script-src/.test(h['content-security-policy']), `${lang} form: CSP ${h['content-security-policy']}`);
    check(h['x-frame-options'] === 'DENY', `${lang} form: X-Frame-Options ${h['x-frame-options']}`);
    check((await text()).includes('help@relay.example.jp'), `${lang} form: the operator's contact in the footer`);
    check(await page.$eval('#email', (e) => e.getAttribute('autocomplete')) === 'email', `${lang}: autocomplete on email`);
    await look(lang, 'form');

    // A field in error: highlighted, described, focused summary, title says so.
    const fill = async (phone) => {
      await page.$eval('#name', (e, v) => { e.value = v; }, name);
      await page.$eval('#email', (e, v) => { e.value = v; }, email);
      await page.$eval('#phone', (e, v) => { e.value = v; }, phone);
      await page.$eval('#skills', (e, v) => { e.value = v; }, L('接客, 経理', 'sales, bookkeeping'));
      for (const id of ['job_category', 'prefecture', 'age_band', 'experience_band'])
        await page.$eval(`#${id}`, (e) => { e.selectedIndex = 1; });
      await page.$eval('input[name=consent_region]', (e) => { e.checked = true; });
    };
    await fill('call me');
    await submit('button[type=submit]');
    check((await page.title()).startsWith(L('入力エラー', 'Error')), `${lang}: the title says there are errors (${await page.title()})`);
    check(await page.$eval('#phone', (e) => e.getAttribute('aria-invalid') === 'true' &&
      e.getAttribute('aria-describedby') === 'err-phone'), `${lang}: the phone field is marked invalid`);
    check(await page.evaluate(() => document.activeElement && document.activeElement.id) === 'error-summary',
      `${lang}: focus on the error summary`);
    await look(lang, 'form-error');

    // Full-width input, and a double tap on the static link: one mail, a success page.
    await fill('０９０－１２３４ー５６７８');
    await Promise.all([page.waitForNavigation({ waitUntil: 'load' }),
      page.evaluate(() => { const b = document.querySelector('button[type=submit]'); b.click(); b.click(); })]);
    check((await text()).includes(L('確認メールを送信しました', 'Please check your email')), `${lang}: the success page after a double tap`);
    check(new URL(page.url()).pathname === '/r/sent', `${lang}: the POST ended in a redirect (${page.url()})`);
    await page.reload({ waitUntil: 'load' });
    check((await text()).includes(L('確認メールを送信しました', 'Please check your email')), `${lang}: reloading the success page`);
    await look(lang, 'sent');
    const mails = await until('the confirmation mail', () => { const m = mailsTo(email); return m.length ? m : null; });
    await new Promise((r) => setTimeout(r, 700));  // a second mail would be spooled by now
    check(mailsTo(email).length === 1, `${lang}: one confirmation mail after a double tap (${mailsTo(email).length})`);
    const verify = linkIn(mails[0], 'v');
    check(Boolean(verify), `${lang}: the confirmation link in the mail`);
    check(en ? /To complete your registration/.test(mails[0].body) && /lang=en/.test(verify) &&
      !/登録/.test(mails[0].body) : /登録を完了するには/.test(mails[0].body),
    `${lang}: the mail is in the chosen language`);
    check(/72/.test(mails[0].body), `${lang}: the mail says how long its link is valid`);

    // Confirm: the completion page (the management page) says to keep the link private.
    await go(verify);
    check(await page.$('nav a') !== null, `${lang}: language switch on the confirmation page`);
    await look(lang, 'confirm');
    await submit('form button');
    let manage = page.url().replace(/\?.*$/, '');
    check(/\/r\/m\//.test(manage), `${lang}: confirmed to the management page (${page.url()})`);
    check(!en || /lang=en/.test(page.url()), `${lang}: the language is kept after confirming`);
    check((await text()).includes(L('他の人に知らせない', 'Keep it private')), `${lang}: keep the link private`);
    check(await page.$('nav a') !== null, `${lang}: language switch on the completion page`);
    check((await text()).includes('090-1234-5678'), `${lang}: the full-width phone number was normalised`);
    check((await text()).includes(L('日本時間', 'JST')), `${lang}: times in JST`);
    check(!/\n\s*1 (氏名|Name)/.test(await text()), `${lang}: labels without ordering numbers`);
    await look(lang, 'complete');
    await page.reload({ waitUntil: 'load' });
    check((await text()).includes(name), `${lang}: reloading the completion page shows it again`);
    if (en) {
      const links = await page.$$eval('main a', (as) => as.map((a) => a.getAttribute('href')));
      for (const href of links.filter((x) => x.startsWith('/r/') && !x.endsWith('/export')))
        check(/lang=en/.test(href), `en: the link ${href} keeps the language`);
    }
    const done = await until('the registration-complete mail', () => mailsTo(email).find((m) => linkIn(m, 'm')));
    check(!en || /lang=en/.test(linkIn(done, 'm')), `${lang}: the management link in the mail keeps the language`);

    // Reopening the used confirmation link points to the management link already sent.
    await go(verify);
    check((await text()).includes(L('確認済み', 'Already confirmed')), `${lang}: the used confirmation link says so`);

    // Edit.
    await go(manage + (en ? '?lang=en' : ''));
    await page.click('#edit summary');
    await page.$eval('#edit #name', (e, v) => { e.value = v; }, `${name} 改`);
    await submit('#edit button[type=submit]');
    check((await text()).includes(`${name} 改`), `${lang}: the edited name is shown`);
    check((await text()).includes(L('登録内容を変更しました', 'Your details have been updated')), `${lang}: the edit is confirmed`);

    // Erase without the tick: an error.
    await submit(`form[action^="${new URL(manage).pathname}/erase"] button`);
    check(await page.$('.flash.bad') !== null, `${lang}: erase without the tick looks like an error`);
    check((await page.title()).startsWith(L('入力エラー', 'Error')), `${lang}: the title says there is an error`);
    await look(lang, 'erase-unticked');

    // The readable export.
    await go(`${manage}/data${en ? '?lang=en' : ''}`);
    check((await text()).includes(L('メールアドレス', 'Email')) && (await text()).includes(email), `${lang}: the readable export`);
    await look(lang, 'export');
    const json = await fetch(`${manage}/export`);
    check(json.headers.get('content-type').startsWith('application/json'), `${lang}: the JSON download`);

    // A GET of a POST-only path (a bookmark): a page, not JSON.
    const bookmarked = await go(`${manage}/consent`);
    check(bookmarked.headers()['content-type'].startsWith('text/html') && page.url().startsWith(manage), `${lang}: a bookmarked action shows the page`);

    // A cross-site POST is refused and changes nothing.
    evilTarget = `${manage}/withdraw`;
    await go(`${evilBase}/post`);
    const [refused] = await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('#go')]);
    check(refused.status() === 403, `${lang}: a cross-site POST is refused (${refused.status()})`);
    await look(lang, 'cross-site');
    await go(manage + (en ? '?lang=en' : ''));
    check(await page.$eval('input[name=consent_region]', (e) => e.checked), `${lang}: the refused POST changed nothing`);

    // Framing by another origin is refused.
    await go(`${evilBase}/frame`);
    const framed = page.frames().find((f) => f !== page.mainFrame());
    const framedForm = framed ? await framed.$('input[name=nonce]').catch(() => null) : null;
    check(Boolean(framed) && framedForm === null, `${lang}: the form cannot be framed (${framed && framed.url()})`);

    // A lost link is mailed again from /r/link; a leaked one is replaced from the page: the
    // new one arrives by mail only, and the old one opens nothing.
    const mailed = mailsTo(email).length;
    await go(`${base}/r/link${en ? '?lang=en' : ''}`);
    await look(lang, 'link-request');
    await page.type('input[name=email]', email);
    await submit('form[action^="/r/link"] button');
    check(new URL(page.url()).pathname === '/r/link/sent', `${lang}: asking for the link ends on /r/link/sent (${page.url()})`);
    check((await text()).includes(L('メールを確認してください', 'Please check your email')), `${lang}: the link request is answered`);
    await look(lang, 'link-sent');
    const reminder = await until('the link reminder', () => mailsTo(email)[mailed]);
    check(linkIn(reminder, 'm').replace(/\?.*$/, '') === manage, `${lang}: the reminder holds the management link`);
    await go(manage + (en ? '?lang=en' : ''));
    await submit(`form[action^="${new URL(manage).pathname}/replace-link"] button`);
    check(new URL(page.url()).pathname === '/r/link/replaced', `${lang}: replaced (${page.url()})`);
    check(!(await text()).includes(email), `${lang}: the replaced page shows no personal data`);
    await look(lang, 'link-replaced');
    const replacement = await until('the new link', () => mailsTo(email)[mailed + 1]);
    const fresh = linkIn(replacement, 'm');
    check(Boolean(fresh) && fresh.replace(/\?.*$/, '') !== manage, `${lang}: a new link in the mail`);
    check(!en || /lang=en/.test(fresh), `${lang}: the new link keeps the language`);
    const old = await go(manage + (en ? '?lang=en' : ''));
    check(old.status() === 404 && !(await text()).includes(email), `${lang}: the old link opens nothing (${old.status()})`);
    check(await page.$('a[href^="/r/link"]') !== null, `${lang}: the dead link's page offers /r/link`);
    await look(lang, 'link-dead');
    manage = fresh.replace(/\?.*$/, '');
    await go(manage + (en ? '?lang=en' : ''));
    check((await text()).includes(email), `${lang}: the new link opens the page`);

    // Withdraw, then erase; Back shows no personal data.
    await go(manage + (en ? '?lang=en' : ''));
    await submit(`form[action^="${new URL(manage).pathname}/withdraw"] button`);
    check((await text()).includes(L('同意を撤回しました', 'consent has been withdrawn')), `${lang}: withdrawn`);
    check(!(await page.$eval('input[name=consent_region]', (e) => e.checked)), `${lang}: consent unticked after withdrawal`);
    await page.$eval(`form[action^="${new URL(manage).pathname}/erase"] input[name=confirm]`, (e) => { e.checked = true; });
    await submit(`form[action^="${new URL(manage).pathname}/erase"] button`);
    check((await text()).includes(L('削除の状況', 'Erasure status')), `${lang}: the erasure status`);
    check(!(await text()).includes(email), `${lang}: no personal data after erasure`);
    await look(lang, 'erased');
    for (let i = 0; i < 3; i++) {
      await page.goBack({ waitUntil: 'load' });
      const shown = await text();
      check(!shown.includes(email) && !shown.includes(name), `${lang}: Back (${i + 1}) after erasure shows no personal data (${page.url()})`);
    }
    await look(lang, 'back-after-erasure');

    // Registering again after erasure works.
    await go(form);
    await fill('03-1234-5678');
    await submit('button[type=submit]');
    check((await text()).includes(L('確認メールを送信しました', 'Please check your email')), `${lang}: registering again after erasure`);
  }

  // The small HTML pages: no JSON anywhere a person can reach.
  for (const [p, status] of [['/', 200], ['/r/', 200], ['/favicon.ico', 404], ['/r/x/y/z', 404], ['/r/m/nosuchtoken0000000000000000', 404]]) {
    const r = await go(base + p);
    check(r.status() === status && r.headers()['content-type'].startsWith('text/html'), `${p}: ${r.status()} ${r.headers()['content-type']}`);
  }
  await look('ja', 'not-found');
  // A single-use link, used: worded for the person who registered.
  const single = await api('POST', '/api/v1/rejections', { application_id: 'app-1' }, member.api_key);
  await go(single.url);
  await page.$eval('#name', (e) => { e.value = '佐藤 一郎'; });
  await page.$eval('#email', (e) => { e.value = 'ichiro@example.jp'; });
  await page.$eval('#skills', (e) => { e.value = '運転'; });
  for (const id of ['job_category', 'prefecture', 'age_band', 'experience_band'])
    await page.$eval(`#${id}`, (e) => { e.selectedIndex = 1; });
  await page.$eval('input[name=consent_region]', (e) => { e.checked = true; });
  await submit('button[type=submit]');
  await page.goBack({ waitUntil: 'load' });
  check((await text()).includes('メールをご確認ください'), 'single-use link: Back after registering says to check the mail');
  await look('ja', 'used-link');
} finally {
  if (browser) await browser.close();
  if (evil) evil.close();
  await relay.stop();
}
if (failed()) {
  console.error(`${failed()} check(s) failed; screenshots in ${shots}, node data in ${relay.dataDir}`);
  process.exit(1);
}
console.log(`browser journey passed; screenshots in ${shots}`);
