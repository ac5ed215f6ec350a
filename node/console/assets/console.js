// relaynode console: signs in with a member API key or the operator token (a cookie session),
// then shows the member's or the operator's panels from the JSON API. Every request carries the
// session's CSRF token; every panel loads on its own, so a route that is missing (404) or fails
// shows "no data yet" or its error and never the whole page. Text only through textContent.
'use strict';

const params = new URLSearchParams(location.search);
const lang = params.get('lang') === 'en' ? 'en' : 'ja';
const en = lang === 'en';
const L = (ja, english) => (en ? english : ja);
const state = { csrf: '', role: '', reference: null };

// --- DOM and formatting -------------------------------------------------------------------
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}
const $ = (id) => document.getElementById(id);
const num = (n) => (typeof n === 'number' ? n.toLocaleString(en ? 'en-US' : 'ja-JP') : '—');
const time = (ms) => (ms ? new Date(ms).toLocaleString(en ? 'en-GB' : 'ja-JP',
  { timeZone: 'Asia/Tokyo', dateStyle: 'medium', timeStyle: 'short' }) : '—');
// A KPI value in its unit (the browser test formats the API's value the same way).
function formatValue(value, unit) {
  if (value === null || value === undefined) return '—';
  if (unit === 'ratio') return `${(value * 100).toFixed(1)}%`;
  if (unit === 'yen') return `¥${num(Math.round(value))}`;
  if (unit === 'days') return L(`${num(value)}日`, `${num(value)} days`);
  return num(value);
}
const label = (list, code) => {
  const found = (state.reference && state.reference[list] || []).find((x) => x.code === code);
  return found ? found[lang] : code;
};

// --- the API ------------------------------------------------------------------------------
async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (method !== 'GET') headers['X-CSRF-Token'] = state.csrf;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let r;
  try {
    r = await fetch(path, { method, headers, credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    return { status: 0, ok: false, data: null, message: L('接続できません', 'cannot reach the node') };
  }
  let data = null;
  try { data = await r.json(); } catch { data = null; }
  const message = data && data.error ? data.error.message : `HTTP ${r.status}`;
  if (r.status === 401 && state.role && path !== '/console/session') showSignIn(L('セッションが終了しました。もう一度サインインしてください。', 'Your session has ended; please sign in again.'));
  return { status: r.status, ok: r.ok, data, message };
}

// --- CSV ----------------------------------------------------------------------------------
function csvText(rows) {
  const columns = [];
  for (const row of rows) for (const k of Object.keys(row)) if (!columns.includes(k)) columns.push(k);
  const cell = (v) => {
    if (v === undefined || v === null) return '';
    const s = typeof v === 'object' ? JSON.stringify(v) : String(v);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return `\ufeff${[columns.join(','), ...rows.map((r) => columns.map((c) => cell(r[c])).join(','))].join('\r\n')}\r\n`;
}
// A link that downloads exactly `rows` (the API's objects) as CSV, made in the browser.
function csvDownload(name, rows) {
  const a = el('a', { class: 'csv', href: '#', download: `${name}.csv`, 'data-csv': name }, 'CSV');
  a.addEventListener('click', () => {
    a.href = URL.createObjectURL(new Blob([csvText(rows)], { type: 'text/csv;charset=utf-8' }));
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  });
  return a;
}
// The first `pages` pages of a list route that pages (?limit=&after=, `next` while more
// follow), read one after another: the first reply, its `key` holding every item read and
// `next` where the last page stopped. A card that shows more reads them again, so what was
// decided or added meanwhile shows too.
const listPage = 25;
async function pagesOf(path, key, pages) {
  const query = `${path}${path.includes('?') ? '&' : '?'}limit=${listPage}`;
  const r = await api('GET', query);
  if (!r.ok) return r;
  const list = [...(r.data[key] || [])];
  let next = r.data.next;
  for (let shown = 1; shown < pages && next; shown += 1) {
    const more = await api('GET', `${query}&after=${encodeURIComponent(next)}`);
    if (!more.ok) break;
    list.push(...(more.data[key] || []));
    next = more.data.next;
  }
  return { ...r, data: { ...r.data, [key]: list, next } };
}
// "Show more" under such a card: how many are shown, and of how many when the route says.
function showMore(name, shown, total, onclick) {
  return el('p', {}, el('button', { type: 'button', class: 'secondary', [`data-${name}-more`]: '', onclick },
    total === undefined ? L(`さらに表示（${num(shown)} 件を表示中）`, `Show more (${num(shown)} shown)`)
      : L(`さらに表示（${num(shown)} / ${num(total)} 件）`, `Show more (${num(shown)} of ${num(total)})`)));
}

// A link to the route's own CSV (?format=csv).
const csvRoute = (path) => el('a', { class: 'csv', href: `${path}${path.includes('?') ? '&' : '?'}format=csv`, 'data-csv': path }, 'CSV');

// --- building blocks ----------------------------------------------------------------------
function card(id, title, wide = false) {
  const body = el('div', { class: 'body' }, el('p', { class: 'empty' }, L('読み込み中…', 'Loading…')));
  const section = el('section', { id, class: `card${wide ? ' wide' : ''}`, 'aria-labelledby': `${id}-h` },
    el('h2', { id: `${id}-h` }, title), body);
  $('views').append(section);
  $('sections').append(el('a', { href: `#${id}` }, title));
  return body;
}
function fill(body, ...children) { body.replaceChildren(...children.flat().filter(Boolean)); }
function noData(body, reply) {
  if (reply.status === 404) fill(body, el('p', { class: 'empty', 'data-state': 'no-data' }, L('まだデータがありません', 'No data yet')));
  else fill(body, el('p', { class: 'error' }, reply.message));
}
// A table of `rows` with `columns` [[field or function, heading, numeric?]].
function table(rows, columns, name) {
  if (!rows.length) return el('p', { class: 'empty' }, L('まだありません', 'None yet'));
  const head = el('tr', {}, columns.map(([, h]) => el('th', { scope: 'col' }, h)));
  const body = rows.map((r) => el('tr', {}, columns.map(([f, , n]) => {
    const v = typeof f === 'function' ? f(r) : r[f];
    return el('td', { class: n ? 'num' : undefined }, v instanceof Node ? v : (n ? num(v) : (v ?? '—')));
  })));
  return el('div', { class: 'table-wrap' }, el('table', { 'data-table': name }, el('thead', {}, head), el('tbody', {}, body)));
}
function figure(labelText, value, detail, key) {
  return el('div', { class: 'figure', 'data-figure': key },
    el('div', { class: 'label' }, labelText), el('div', { class: 'value' }, value),
    detail ? el('div', { class: 'detail' }, detail) : null);
}
const charts = [];
function chart(type, labels, datasets, horizontal = false) {
  const canvas = el('canvas', { role: 'img', 'aria-label': datasets.map((d) => d.label).join(', ') });
  const box = el('div', { class: 'chart' }, canvas);
  if (typeof Chart === 'undefined') return box;
  const colors = ['#1f5fa8', '#e07b00', '#1b7f3b', '#8e3ba8', '#b3261e'];
  datasets.forEach((d, i) => {
    d.backgroundColor = d.backgroundColor || colors[i % colors.length];
    d.borderColor = d.borderColor || colors[i % colors.length];
  });
  // Created after the box is in the page (Chart.js measures its parent).
  requestAnimationFrame(() => charts.push(new Chart(canvas, {
    type, data: { labels, datasets },
    options: { responsive: true, maintainAspectRatio: false, animation: false,
      indexAxis: horizontal ? 'y' : 'x',
      scales: { [horizontal ? 'x' : 'y']: { beginAtZero: true, ticks: { precision: 0 } } },
      plugins: { legend: { display: datasets.length > 1 } } },
  })));
  return box;
}
function form(fields, submitText, onSubmit, id) {
  const error = el('p', { class: 'error', role: 'alert' });
  const f = el('form', { id, novalidate: true }, fields, el('button', { type: 'submit' }, submitText), error);
  f.addEventListener('submit', async (e) => {
    e.preventDefault();
    const button = f.querySelector('button[type=submit]');
    button.disabled = true;
    error.textContent = '';
    try { await onSubmit(new FormData(f), error); } finally { button.disabled = false; }
  });
  return f;
}
const field = (name, text, attrs = {}) => [el('label', { for: `${attrs.idPrefix || ''}${name}` }, text),
  el('input', { id: `${attrs.idPrefix || ''}${name}`, name, type: attrs.type || 'text', required: attrs.required, value: attrs.value, autocomplete: 'off' })];
function select(name, text, options, attrs = {}) {
  const id = `${attrs.idPrefix || ''}${name}`;
  return [el('label', { for: id }, text), el('select', { id, name, multiple: attrs.multiple },
    options.map((o) => el('option', { value: o.code, selected: o.code === attrs.value }, o[lang] || o.code)))];
}

// --- KPIs, funnel and trend (member: own; operator: the node) -----------------------------
async function kpiPanel(body, csvName) {
  const r = await api('GET', '/api/v1/kpis');
  if (!r.ok) return noData(body, r);
  const d = r.data;
  const figures = el('div', { class: 'figures' }, (d.kpis || []).map((k) => figure(k[`label_${lang}`], formatValue(k.value, k.unit),
    k.denominator !== undefined && k.denominator !== null ? `${num(k.numerator)} / ${num(k.denominator)}` : '', `kpi-${k.id}`)));
  const funnel = d.funnel || [];
  const trend = d.trend || [];
  fill(body,
    d.credits ? el('div', { class: 'figures' },
      figure(L('獲得クレジット', 'Credits earned'), num(d.credits.earned), '', 'kpi-credits-earned'),
      figure(L('使用クレジット', 'Credits spent'), num(d.credits.spent), '', 'kpi-credits-spent'),
      figure(L('残高', 'Balance'), num(d.credits.balance), '', 'kpi-credits-balance')) : null,
    figures,
    (d.kpis || []).some((k) => k[`note_${lang}`]) ? el('ul', { class: 'note' }, d.kpis.filter((k) => k[`note_${lang}`]).map((k) => el('li', {}, `${k[`label_${lang}`]}: ${k[`note_${lang}`]}`))) : null,
    el('div', { class: 'row' }, csvRoute('/api/v1/kpis')),
    el('h3', {}, L('ファネル', 'Funnel')),
    chart('bar', funnel.map((s) => s[`label_${lang}`] || s.stage), [{ label: L('人数', 'People'), data: funnel.map((s) => s.count) }]),
    table(funnel, [[(s) => s[`label_${lang}`] || s.stage, L('段階', 'Stage')], ['count', L('人数', 'People'), true]], `${csvName}-funnel`),
    csvDownload(`${csvName}-funnel`, funnel),
    el('h3', {}, L('推移', 'Trend')),
    trend.length ? chart('line', trend.map((t) => t.period), [
      { label: L('登録', 'Registrations'), data: trend.map((t) => t.registrations) },
      { label: L('確認済み', 'Verified'), data: trend.map((t) => t.verified) },
      { label: L('紹介', 'Introductions'), data: trend.map((t) => t.introductions) },
      { label: L('採用', 'Hires'), data: trend.map((t) => t.hires) }]) : null,
    table(trend, [['period', L('期間', 'Period')], ['registrations', L('登録', 'Registrations'), true], ['verified', L('確認済み', 'Verified'), true],
      ['introductions', L('紹介', 'Introductions'), true], ['hires', L('採用', 'Hires'), true]], `${csvName}-trend`),
    csvDownload(`${csvName}-trend`, trend));
}

// Counts by one key of cells [{job_category, prefecture, count}], largest first.
function totals(cells, key, countKey) {
  const m = new Map();
  for (const c of cells) m.set(c[key], (m.get(c[key]) || 0) + (c[countKey] || 0));
  return [...m.entries()].sort((a, b) => b[1] - a[1]);
}
function destinationCharts(cells, countKey, what) {
  const byCategory = totals(cells, 'job_category', countKey);
  const byPrefecture = totals(cells, 'prefecture', countKey);
  return [
    el('h3', {}, L('職種別', 'By job category')),
    chart('bar', byCategory.map(([k]) => label('job_categories', k)), [{ label: what, data: byCategory.map(([, v]) => v) }], true),
    el('h3', {}, L('都道府県別', 'By prefecture')),
    chart('bar', byPrefecture.map(([k]) => label('prefectures', k)), [{ label: what, data: byPrefecture.map(([, v]) => v) }], true)];
}

// --- member panels ------------------------------------------------------------------------
async function relayLinkPanel(body) {
  const r = await api('GET', '/api/v1/relay-link');
  if (!r.ok) return noData(body, r);
  const text = el('textarea', { id: 'paragraph', readonly: true }, r.data.paragraph[lang]);
  const status = el('span', { class: 'ok', role: 'status' });
  fill(body,
    el('p', {}, el('a', { id: 'relay-url', href: r.data.url, target: '_blank', rel: 'noopener' }, r.data.url)),
    el('label', { for: 'paragraph' }, L('不採用通知に貼り付ける文面', 'Paragraph to paste into rejection mails')),
    text,
    el('button', { type: 'button', id: 'copy-paragraph', onclick: async () => {
      try { await navigator.clipboard.writeText(text.value); } catch { text.select(); document.execCommand('copy'); }
      status.textContent = L(' コピーしました', ' Copied');
    } }, L('文面をコピー', 'Copy the paragraph')), status);
}

const KINDS = { credit_minted: ['クレジット獲得', 'credit earned'], credit_granted: ['クレジット付与', 'credit granted'],
  credit_spent: ['クレジット使用', 'credit spent'], credit_refunded: ['クレジット返還', 'credit refunded'],
  referral_counted: ['紹介を計上', 'referral counted'], referral_held: ['紹介を保留', 'referral held'] };
const kind = (k) => (KINDS[k] ? L(...KINDS[k]) : k);

async function creditsPanel(body) {
  const r = await api('GET', '/api/v1/credits');
  if (!r.ok) return noData(body, r);
  const c = r.data;
  const history = c.history || [];
  fill(body,
    el('div', { class: 'figures' },
      figure(L('残高', 'Balance'), num(c.balance), '', 'credits-balance'),
      figure(L('確認済みの紹介', 'Verified referrals'), num(c.verified_referrals), L(`${num(c.referrals_per_credit)}件で1クレジット`, `${num(c.referrals_per_credit)} per credit`), 'credits-verified'),
      figure(L('獲得', 'Earned'), num(c.credits_minted), L(`付与 ${num(c.credits_granted)}`, `granted ${num(c.credits_granted)}`), 'credits-minted'),
      figure(L('使用', 'Spent'), num(c.credits_spent), L(`返還 ${num(c.credits_refunded)}`, `refunded ${num(c.credits_refunded)}`), 'credits-spent')),
    el('h3', {}, L('履歴', 'History')),
    table(history, [[(h) => time(h.at_ms), L('日時', 'When')], [(h) => kind(h.kind), L('種類', 'Kind')], ['balance', L('残高', 'Balance'), true]], 'credit-history'),
    csvDownload('credit-history', history));
}

// A member's referrals grow without end (thousands a year for a large employer): the card
// reads a page, newest first ("Show more" adds one), and the total; the CSV link is the
// route's own.
async function referralsPanel(body, pages = 1) {
  const r = await pagesOf('/api/v1/referrals?order=newest', 'referrals', pages);
  if (!r.ok) return noData(body, r);
  const list = r.data.referrals;
  const total = r.data.total ?? list.length;
  fill(body,
    figure(L('紹介した人数', 'People referred'), num(total), '', 'referrals-count'),
    table(list, [[(x) => time(x.created_ms), L('日時', 'When')], ['status', L('状態', 'Status')], [(x) => (x.counted ? L('はい', 'yes') : L('いいえ', 'no')), L('計上', 'Counted')]], 'referrals'),
    r.data.next ? showMore('referrals', list.length, total, () => referralsPanel(body, pages + 1)) : null,
    csvRoute('/api/v1/referrals'));
}

async function insightPanel(body) {
  const r = await api('GET', '/api/v1/insight');
  if (!r.ok) return noData(body, r);
  const d = r.data;
  const cells = d.destinations || [];
  const ret = d.retention || {};
  const rate = (x) => (x ? formatValue(x.rate, 'ratio') : '—');
  fill(body,
    el('div', { class: 'figures' },
      figure(L('自社採用の6か月定着率', 'Own hires retained 6 months'), rate(ret.own_hires), ret.own_hires ? `${num(ret.own_hires.retained_6m)} / ${num(ret.own_hires.hired)}` : '', 'insight-own'),
      figure(L('不採用者の他社での定着率', 'People you turned down, retained elsewhere'), rate(ret.rejected_hired_elsewhere), ret.rejected_hired_elsewhere ? `${num(ret.rejected_hired_elsewhere.retained_6m)} / ${num(ret.rejected_hired_elsewhere.hired)}` : '', 'insight-elsewhere')),
    cells.length ? destinationCharts(cells, 'count', L('人数', 'People')) : null,
    table(cells, [[(c) => label('job_categories', c.job_category), L('職種', 'Job category')], [(c) => label('prefectures', c.prefecture), L('都道府県', 'Prefecture')], ['count', L('人数', 'People'), true]], 'insight'),
    el('p', { class: 'note' }, L(`少数のため非表示のセル: ${num(d.suppressed_cells)}`, `Cells withheld as too small: ${num(d.suppressed_cells)}`)),
    csvRoute('/api/v1/insight'));
}

function requisitionForm(onOpened) {
  const ref = state.reference || { job_categories: [], prefectures: [], experience_bands: [] };
  const types = [['regular', '正社員', 'Regular employee'], ['contract', '契約社員', 'Contract'], ['part_time', 'パート・アルバイト', 'Part-time'],
    ['side_job', '副業', 'Side job'], ['secondment', '出向', 'Secondment'], ['transfer', '転籍', 'Transfer']].map(([code, ja, english]) => ({ code, ja, en: english }));
  return form([
    field('title', L('職種名', 'Title'), { required: true, idPrefix: 'req-' }),
    el('div', { class: 'row' },
      el('div', {}, select('category', L('職業分類', 'Job category'), ref.job_categories, { idPrefix: 'req-' })),
      el('div', {}, select('prefecture', L('勤務地', 'Workplace'), ref.prefectures, { value: ref.region, idPrefix: 'req-' }))),
    field('required_skills', L('必須スキル（読点またはカンマ区切り）', 'Required skills (comma-separated)'), { required: true, idPrefix: 'req-' }),
    el('div', { class: 'row' },
      el('div', {}, select('experience_band', L('経験年数', 'Experience'), [{ code: '', ja: '指定なし', en: 'Any' }, ...ref.experience_bands], { idPrefix: 'req-' })),
      el('div', {}, select('employment_type', L('雇用形態', 'Employment type'), types, { idPrefix: 'req-' })),
      el('div', {}, field('headcount', L('採用人数', 'Headcount'), { type: 'number', value: '1', idPrefix: 'req-' })))],
  L('求人を登録', 'Open the requisition'), async (data, error) => {
    const r = await api('POST', '/api/v1/requisitions', {
      title: data.get('title'), category: data.get('category'),
      required_skills: String(data.get('required_skills')).split(/[,、，]/).map((s) => s.trim()).filter(Boolean),
      prefectures: [data.get('prefecture')], experience_band: data.get('experience_band'),
      headcount: Number(data.get('headcount')), employment_type: data.get('employment_type') });
    if (!r.ok) { error.textContent = r.message; return; }
    onOpened(r.data);
  }, 'requisition-form');
}

async function matchesOf(requisition, box) {
  fill(box, el('p', { class: 'empty' }, L('読み込み中…', 'Loading…')));
  const r = await api('GET', `/api/v1/requisitions/${encodeURIComponent(requisition.id)}/matches`);
  if (!r.ok) return noData(box, r);
  const matches = r.data.matches || [];
  const introduce = (m) => {
    const status = el('span', { role: 'status' });
    return el('span', {}, el('button', { type: 'button', class: 'secondary', 'data-introduce': m.ref, onclick: async (e) => {
      e.target.disabled = true;
      const x = await api('POST', '/api/v1/introductions', { requisition: requisition.id, node: m.node || m.holder, ref: m.ref });
      status.textContent = x.ok ? L(' 紹介を依頼しました', ' Introduction requested') : ` ${x.message}`;
      status.className = x.ok ? 'ok' : 'error';
      if (x.ok) { load('credits'); load('introductions'); } else e.target.disabled = false;
    } }, L('紹介を依頼（1クレジット）', 'Introduce (1 credit)')), status);
  };
  const reasons = (m) => el('ul', { class: 'reasons' }, (m.reasons || []).map((x) => el('li', {}, `${x[lang]} (+${x.points})`)),
    m.success ? [el('li', {}, L(`定着する採用の見込み ${formatValue(m.success.probability, 'ratio')}`, `Chance of a hire lasting 6 months ${formatValue(m.success.probability, 'ratio')}`)),
      ...(m.success.drivers || []).map((d) => el('li', {}, `${d[`label_${lang}`] || d.feature}: ${d.effect >= 0 ? '+' : ''}${d.effect}`))] : []);
  fill(box, el('h3', {}, L(`「${requisition.title}」の候補`, `Matches for "${requisition.title}"`)),
    table(matches, [['ref', L('候補', 'Candidate')], [(m) => m.node || m.holder, L('ノード', 'Node')], ['score', L('点数', 'Score'), true],
      [reasons, L('理由', 'Reasons')], [introduce, L('操作', 'Action')]], 'matches'),
    csvDownload('matches', matches));
}

// Requisitions, the last opened first, 25 at a time ("Show more" adds a page); the CSV link is
// the route's.
async function requisitionsPanel(body, pages = 1) {
  const r = await pagesOf('/api/v1/requisitions?order=newest', 'requisitions', pages);
  if (!r.ok) return noData(body, r);
  const list = r.data.requisitions;
  const matchesBox = el('div', { id: 'matches' });
  fill(body,
    table(list, [['title', L('職種名', 'Title')], [(x) => label('job_categories', x.category), L('分類', 'Category')],
      [(x) => (x.state === 'open' ? L('募集中', 'open') : L('終了', 'closed')), L('状態', 'State')],
      [(x) => el('button', { type: 'button', class: 'secondary', 'data-matches': x.id, onclick: () => matchesOf(x, matchesBox) }, L('候補を見る', 'Matches')), L('候補', 'Matches')]], 'requisitions'),
    r.data.next ? showMore('requisitions', list.length, r.data.total, () => requisitionsPanel(body, pages + 1)) : null,
    csvRoute('/api/v1/requisitions'),
    matchesBox,
    el('h3', {}, L('求人を登録する', 'Open a requisition')),
    requisitionForm((opened) => { load('requisitions').then(() => matchesOf(opened, $('matches'))); }));
}

const OUTCOMES = ['interview', 'offer', 'hired', 'not_hired', 'retained_3m', 'retained_6m', 'retained_12m', 'left'];
// Introductions, the last asked first, 25 at a time ("Show more" adds a page); the CSV link is
// the route's.
async function introductionsPanel(body, pages = 1) {
  const [list, due] = await Promise.all([pagesOf('/api/v1/introductions?order=newest', 'introductions', pages), api('GET', '/api/v1/outcomes/due')]);
  if (!list.ok) return noData(body, list);
  const intros = list.data.introductions;
  const dueItems = due.ok ? due.data.due || [] : [];
  const report = (d) => {
    const s = el('select', { 'aria-label': L('結果', 'Outcome') }, OUTCOMES.map((o) => el('option', { value: o, selected: o === d.what }, o)));
    const status = el('span', { role: 'status' });
    return el('span', {}, s, el('button', { type: 'button', class: 'secondary', onclick: async () => {
      const x = await api('POST', `/api/v1/introductions/${encodeURIComponent(d.introduction)}/outcomes`, { outcome: s.value });
      status.textContent = x.ok ? L(' 報告しました', ' Reported') : ` ${x.message}`;
      status.className = x.ok ? 'ok' : 'error';
      if (x.ok) load('introductions');
    } }, L('報告', 'Report')), status);
  };
  fill(body,
    table(intros, [[(x) => time(x.requested_ms), L('依頼日', 'Requested')], ['state', L('状態', 'State')], ['holder', L('ノード', 'Node')],
      [(x) => (x.outcomes || []).map((o) => o.outcome).join(', ') || '—', L('結果', 'Outcomes')]], 'introductions'),
    list.data.next ? showMore('introductions', intros.length, list.data.total, () => introductionsPanel(body, pages + 1)) : null,
    csvRoute('/api/v1/introductions'),
    el('h3', {}, L('報告期限の結果', 'Outcomes due')),
    table(dueItems, [[(d) => time(d.due_ms), L('期限', 'Due')], ['what', L('内容', 'What')], [report, L('報告', 'Report')]], 'outcomes-due'),
    csvDownload('outcomes-due', dueItems));
}

// --- operator panels ----------------------------------------------------------------------
// An industry group's node may hold thousands of members: the card reads a page, the last
// admitted first ("Show more" adds one), and the total; the CSV link is the route's own.
async function membersPanel(body, pages = 1) {
  const r = await pagesOf('/api/v1/members?order=newest', 'members', pages);
  if (!r.ok) return noData(body, r);
  const list = r.data.members;
  const total = r.data.total ?? list.length;
  const shown = el('div', { id: 'admitted' });
  // After a reload of the card (admit) the element is a new one: found by its id.
  const showKey = (text, key) => {
    fill($('admitted'), el('p', { class: 'ok' }, text), el('p', { class: 'secret', id: 'admitted-key' }, key));
    $('admitted-key').scrollIntoView({ block: 'center' });  // below a long list on a phone
  };
  // A leaked key (a departed ATS vendor): the new one is shown once, the old one dies at once.
  const newKey = (m) => el('button', { type: 'button', class: 'secondary', 'data-member-key': m.id, onclick: async () => {
    if (!window.confirm(L(`${m.name} の API キーを新しくしますか？今のキーはすぐに使えなくなります。`, `Replace ${m.name}'s API key? The current key stops working at once.`))) return;
    const x = await api('POST', `/api/v1/members/${encodeURIComponent(m.id)}/api-key`);
    if (!x.ok) { alert(x.message); return; }
    showKey(L(`${m.name} の新しい API キーです。今だけ表示されます:`, `${m.name}'s new API key, shown only now:`), x.data.api_key);
  } }, L('キーを再発行', 'New key'));
  const action = (m) => el('span', { class: 'actions' }, el('button', { type: 'button', class: 'secondary', 'data-member-action': m.id, onclick: async () => {
    const x = await api('POST', `/api/v1/members/${encodeURIComponent(m.id)}/${m.status === 'active' ? 'suspend' : 'reinstate'}`);
    if (x.ok) membersPanel(body, pages); else alert(x.message);
  } }, m.status === 'active' ? L('停止', 'Suspend') : L('再開', 'Reinstate')), ' ', newKey(m));
  fill(body,
    figure(L('会員企業', 'Members'), num(total), '', 'members-count'),
    table(list, [['name', L('企業名', 'Company')], [(m) => el('span', { class: `badge${m.status === 'active' ? '' : ' bad'}` }, m.status === 'active' ? L('有効', 'active') : L('停止中', 'suspended')), L('状態', 'Status')],
      [(m) => (m.credits ? m.credits.balance : undefined), L('クレジット', 'Credits'), true], [action, L('操作', 'Action')]], 'members'),
    r.data.next ? showMore('members', list.length, total, () => membersPanel(body, pages + 1)) : null,
    csvRoute('/api/v1/members'),
    el('h3', {}, L('会員企業を追加', 'Admit a member')),
    form([field('name', L('企業名', 'Company name'), { required: true, idPrefix: 'admit-' }), field('contact_email', L('連絡先メール（任意）', 'Contact email (optional)'), { type: 'email', idPrefix: 'admit-' })],
      L('追加する', 'Admit'), async (data, error) => {
        const x = await api('POST', '/api/v1/members', { name: data.get('name'), ...(data.get('contact_email') ? { contact_email: data.get('contact_email') } : {}) });
        if (!x.ok) { error.textContent = x.message; return; }
        await load('members');
        showKey(L(`${x.data.name} を追加しました。API キーは今だけ表示されます:`, `${x.data.name} admitted. Its API key is shown only now:`), x.data.api_key);
      }, 'admit-form'),
    shown);
}

async function peersPanel(body) {
  const [peers, witness, outbox] = await Promise.all([api('GET', '/api/v1/peers'), api('GET', '/api/v1/witness'), api('GET', '/api/v1/federation/outbox?limit=1000')]);
  if (!peers.ok) return noData(body, peers);
  const list = peers.data.peers || [];
  const messages = outbox.ok ? outbox.data.outbox || [] : [];
  const d = (p, k) => (p.delivery || {})[k] ?? 0;
  const w = witness.ok ? witness.data : null;
  fill(body,
    table(list, [['name', L('ノード', 'Node')], [(p) => (p.active === false ? L('停止中', 'suspended') : L('有効', 'active')), L('状態', 'Status')],
      [(p) => d(p, 'queued'), L('配送待ち', 'Queued'), true],
      [(p) => d(p, 'at_risk'), L('期限が近い', 'At risk'), true],
      [(p) => d(p, 'refused'), L('拒否', 'Refused'), true],
      [(p) => d(p, 'undelivered'), L('配送断念', 'Given up'), true]], 'peers'),
    csvDownload('peers', list.map(({ delivery, ...p }) => ({ ...p, ...delivery }))),
    el('h3', {}, L('相互証明（ウィットネス）', 'Witnessing')),
    w ? [el('div', { class: 'figures' },
      figure(L('相互証明済みの台帳サイズ', 'Latest cosigned ledger size'), num(w.latest_cosigned_size ?? undefined), '', 'witness-size'),
      figure(L('証明するピア', 'Witnessing peers'), num((w.peers || []).length), L(`${num(w.interval_s)}秒ごと`, `every ${num(w.interval_s)} s`), 'witness-peers')),
    table(w.peers || [], Object.keys((w.peers || [])[0] || {}).filter((k) => typeof w.peers[0][k] !== 'object').map((k) => [k, k]), 'witness'),
    csvDownload('witness', w.peers || [])] : el('p', { class: 'empty' }, L('まだデータがありません', 'No data yet')),
    el('h3', {}, L('送信待ちメッセージ', 'Outbox')),
    outbox.ok && outbox.data.truncated ? el('p', { class: 'note', id: 'outbox-truncated' }, L(`古い順に ${num(messages.length)} 件（ほかにもあります）`, `The oldest ${num(messages.length)} (there are more)`)) : null,
    table(messages.slice(0, 50), [['peer', L('宛先', 'Peer')], ['type', L('種類', 'Type')], ['state', L('状態', 'State')], ['attempts', L('試行', 'Attempts'), true]], 'outbox'),
    csvDownload('outbox', messages));
}

// Alerts are kept (an address a mail server refused, a message a peer never took: one each),
// so both cards read a page, newest first ("Show more" adds one); the overdue erasures are
// read by their kind, and the CSV links are the route's.
const alertColumns = () => [[(a) => time(a.at_ms), L('日時', 'When')], ['kind', L('種類', 'Kind')], ['peer', L('ノード', 'Peer')], ['message', L('内容', 'Message')]];
async function alertsPanel(body, pages = 1) {
  const r = await pagesOf('/api/v1/alerts', 'alerts', pages);
  if (!r.ok) return noData(body, r);
  const list = r.data.alerts;
  fill(body, el('p', { class: 'note', 'data-alerts-total': r.data.total }, L(`全 ${num(r.data.total)} 件（新しい順）`, `${num(r.data.total)} in all, newest first`)),
    table(list, alertColumns(), 'alerts'),
    r.data.next ? showMore('alerts', list.length, r.data.total, () => alertsPanel(body, pages + 1)) : null,
    csvRoute('/api/v1/alerts'));
}
async function erasuresPanel(body, pages = 1) {
  const path = '/api/v1/alerts?kind=erasure_overdue';
  const r = await pagesOf(path, 'alerts', pages);
  if (!r.ok) return noData(body, r);
  const list = r.data.alerts;
  fill(body, el('p', { class: 'note' }, L('削除依頼に期限内の受領通知がない送信先（新しい順）', 'Recipients that did not confirm an erasure in time, newest first')),
    table(list, alertColumns(), 'erasures-overdue'),
    r.data.next ? showMore('erasures', list.length, undefined, () => erasuresPanel(body, pages + 1)) : null,
    csvRoute(path));
}

// Why a referral was flagged (protocol/event.hpp flag_reason), in words.
const flagReasons = {
  disposable_domain: L('使い捨てメール', 'Disposable mail'),
  velocity: L('短時間に多数の確認', 'Many confirmations in a short time'),
  same_domain: L('同じドメインのアドレスが多数', 'Many addresses at one domain'),
  similar_addresses: L('よく似たアドレス', 'Look-alike addresses'),
};
// Flagged referrals wait for the operator: accept (counts once its hold ends) or reject (never
// counts). Each decision is one POST /api/v1/review/{referral}; the queue is read again after.
// A farming flood fills the queue with one member's referrals: the queue is read a page at a
// time ("Show more" adds one), and the per-member table decides all of a member's at once
// (POST /api/v1/review/members/{member}), after the operator confirms it.
async function reviewPanel(body, pages = 1) {
  const r = await pagesOf('/api/v1/review', 'referrals', pages);
  if (!r.ok) return noData(body, r);
  const list = r.data.referrals;
  const next = r.data.next;
  const byMember = await api('GET', '/api/v1/review/members');
  const members = byMember.ok ? byMember.data.members : [];
  const reasons = (x) => x.reasons.map((k) => (k === 'disposable_domain' && x.disposable_domain
    ? `${flagReasons[k]} (${x.disposable_domain})` : flagReasons[k] || k)).join(', ');
  const outcome = el('p', { class: 'note', id: 'review-outcome', role: 'status' });
  const decided = async (message) => {
    await reviewPanel(body, pages);
    $('review-outcome').textContent = message;
    load('kpis');
  };
  const decide = (x, decision) => el('button', { type: 'button', class: decision === 'accept' ? undefined : 'secondary',
    [`data-review-${decision}`]: x.referral, onclick: async () => {
      const d = await api('POST', `/api/v1/review/${encodeURIComponent(x.referral)}`, { decision });
      if (!d.ok) { outcome.textContent = d.message; return; }
      await decided(decision === 'accept'
        ? L(`${x.company} の紹介を承認しました`, `Accepted ${x.company}'s referral`)
        : L(`${x.company} の紹介を却下しました`, `Rejected ${x.company}'s referral`));
    } }, decision === 'accept' ? L('承認', 'Accept') : L('却下', 'Reject'));
  const decideAll = (m, decision) => el('button', { type: 'button', class: decision === 'accept' ? undefined : 'secondary',
    [`data-review-member-${decision}`]: m.member, onclick: async () => {
      const asked = decision === 'accept'
        ? L(`${m.company} の審査待ち ${num(m.waiting)} 件をすべて承認しますか？`, `Accept all ${num(m.waiting)} of ${m.company}'s waiting referrals?`)
        : L(`${m.company} の審査待ち ${num(m.waiting)} 件をすべて却下しますか？`, `Reject all ${num(m.waiting)} of ${m.company}'s waiting referrals?`);
      if (!window.confirm(asked)) return;
      const d = await api('POST', `/api/v1/review/members/${encodeURIComponent(m.member)}`, { decision });
      if (!d.ok) { outcome.textContent = d.message; return; }
      await decided(decision === 'accept'
        ? L(`${m.company} の紹介 ${num(d.data.decided)} 件を承認しました`, `Accepted ${num(d.data.decided)} of ${m.company}'s referrals`)
        : L(`${m.company} の紹介 ${num(d.data.decided)} 件を却下しました`, `Rejected ${num(d.data.decided)} of ${m.company}'s referrals`));
    } }, decision === 'accept' ? L('すべて承認', 'Accept all') : L('すべて却下', 'Reject all'));
  const waiting = r.data.waiting ?? list.length;
  fill(body,
    el('p', { class: 'note' }, L(`審査待ち ${num(waiting)} 件。承認した紹介は保留期間の後に数えられ、却下した紹介は数えられません。`,
      `${num(waiting)} waiting. An accepted referral counts once its hold ends; a rejected one never counts.`)),
    members.length ? [el('h3', {}, L('会員企業ごと', 'By member')),
      table(members, [['company', L('会員企業', 'Member')], ['waiting', L('審査待ち', 'Waiting'), true],
        [(m) => el('span', { class: 'actions' }, decideAll(m, 'accept'), ' ', decideAll(m, 'reject')), L('まとめて判断', 'Decide all')]], 'review-members'),
      el('h3', {}, L('紹介ごと（確認の古い順）', 'Each referral (oldest confirmation first)'))] : null,
    // The decision next to the reason, so that a phone shows both without scrolling sideways.
    table(list, [['company', L('会員企業', 'Member')], [reasons, L('理由', 'Why flagged')],
      [(x) => el('span', { class: 'actions' }, decide(x, 'accept'), ' ', decide(x, 'reject')), L('判断', 'Decision')],
      [(x) => time(x.verified_ms), L('確認日時', 'Confirmed')], [(x) => time(x.hold_until_ms), L('保留期限', 'Hold until')]], 'review'),
    next ? showMore('review', list.length, waiting, () => reviewPanel(body, pages + 1)) : null,
    outcome, csvDownload('review', list));
}

async function statisticsPanel(body) {
  const r = await api('GET', '/api/v1/statistics');
  if (!r.ok) return noData(body, r);
  const d = r.data;
  const cells = (d.consortium && d.consortium.cells) || [];
  const peers = d.peers || [];
  fill(body,
    el('p', { class: 'note' }, L(`自ノードの公表期間: ${(d.own && d.own.period) || '—'}`, `Own published period: ${(d.own && d.own.period) || '—'}`)),
    cells.length ? destinationCharts(cells, 'hires', L('採用', 'Hires')) : null,
    table(cells.slice(0, 100), [[(c) => label('job_categories', c.job_category), L('職種', 'Job category')], [(c) => label('prefectures', c.prefecture), L('都道府県', 'Prefecture')],
      ['age_band', L('年齢', 'Age')], ['experience_band', L('経験', 'Experience')], ['registrations', L('登録', 'Registrations'), true],
      ['introductions', L('紹介', 'Introductions'), true], ['hires', L('採用', 'Hires'), true], ['retained_6m', L('6か月定着', 'Retained 6m'), true]], 'statistics'),
    csvRoute('/api/v1/statistics'),
    el('h3', {}, L('ピアの公表表', 'Peers\' tables')),
    table(peers, [['peer', L('ノード', 'Peer')], ['period', L('期間', 'Period')], ['cells', L('セル数', 'Cells'), true]], 'statistics-peers'),
    csvDownload('statistics-peers', peers));
}

// --- the page -----------------------------------------------------------------------------
const panels = {};
function load(name) { return panels[name] ? panels[name]() : Promise.resolve(); }

function showMember() {
  const add = (id, title, f, wide) => { const b = card(id, title, wide); panels[id] = () => f(b).catch((e) => fill(b, el('p', { class: 'error' }, String(e)))); };
  add('kpis', L('実績と KPI', 'Results and KPIs'), (b) => kpiPanel(b, 'kpis'), true);
  add('relay-link', L('リレーリンク', 'Relay link'), relayLinkPanel);
  add('credits', L('クレジット', 'Credits'), creditsPanel);
  add('referrals', L('紹介した人', 'Referrals'), referralsPanel);
  add('insight', L('不採用者のその後', 'Where the people you turned down went'), insightPanel);
  add('requisitions', L('求人と候補', 'Requisitions and matches'), requisitionsPanel, true);
  add('introductions', L('紹介と結果報告', 'Introductions and outcomes'), introductionsPanel, true);
}
function showOperator() {
  const add = (id, title, f, wide) => { const b = card(id, title, wide); panels[id] = () => f(b).catch((e) => fill(b, el('p', { class: 'error' }, String(e)))); return b; };
  add('members', L('会員企業', 'Members'), membersPanel, true);
  add('kpis', L('地域の KPI', 'Region KPIs'), (b) => kpiPanel(b, 'region-kpis'), true);
  add('peers', L('ピアノードと配送', 'Peers and delivery'), peersPanel);
  add('alerts', L('アラート', 'Alerts'), alertsPanel);
  add('erasures', L('期限超過の削除', 'Erasures overdue'), erasuresPanel);
  add('review', L('審査待ちの紹介', 'Review queue'), reviewPanel);
  add('statistics', L('統計（地域連携）', 'Statistics (consortium)'), statisticsPanel, true);
}

function showSignIn(message) {
  state.role = '';
  state.csrf = '';
  for (const c of charts.splice(0)) c.destroy();
  for (const k of Object.keys(panels)) delete panels[k];
  $('views').replaceChildren();
  $('sections').replaceChildren();
  $('sections').hidden = true;
  $('signin').hidden = false;
  $('sign-out').hidden = true;
  $('who').textContent = '';
  $('signin-error').textContent = message || '';
  $('credential').value = '';
}

async function showConsole(session) {
  state.role = session.role;
  state.csrf = session.csrf_token;
  $('signin').hidden = true;
  $('sign-out').hidden = false;
  $('sections').hidden = false;
  $('who').textContent = session.role === 'operator' ? L('運用者', 'Operator') : session.member.name;
  document.title = `${session.role === 'operator' ? L('運用者', 'Operator') : session.member.name} — relaynode`;
  if (!state.reference) {
    const ref = await api('GET', '/console/reference');
    if (ref.ok) state.reference = ref.data;
  }
  if (session.role === 'operator') showOperator(); else showMember();
  await Promise.all(Object.keys(panels).map(load));
  document.body.dataset.ready = session.role;
}

function translateStatic() {
  document.documentElement.lang = lang;
  $('lang-switch').textContent = en ? '日本語' : 'English';
  $('lang-switch').href = en ? '/' : '/?lang=en';
  $('lang-switch').lang = en ? 'ja' : 'en';
  $('title').textContent = L('relaynode コンソール', 'relaynode console');
  document.title = $('title').textContent;
  $('sign-out').textContent = L('サインアウト', 'Sign out');
  $('signin-title').textContent = L('サインイン', 'Sign in');
  $('credential-label').textContent = L('API キーまたは運用者トークン', 'API key or operator token');
  $('signin-button').textContent = L('サインイン', 'Sign in');
  $('signin-note').textContent = L('キーはこのブラウザのセッションを始めるためだけに使われ、ブラウザには保存されません。', 'The key only starts a session in this browser; it is not stored in the browser.');
}

async function main() {
  translateStatic();
  $('signin-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const r = await api('POST', '/console/session', { credential: $('credential').value });
    $('credential').value = '';
    if (!r.ok) {
      $('signin-error').textContent = r.status === 401 ? L('キーまたはトークンが正しくありません。', 'That key or token is not valid.')
        : r.status === 429 ? L('失敗が続いたため、しばらくお待ちください。', 'Too many failed attempts; please wait a while.') : r.message;
      return;
    }
    $('signin-error').textContent = '';
    await showConsole(r.data);
  });
  $('sign-out').addEventListener('click', async () => {
    await api('DELETE', '/console/session');
    showSignIn(L('サインアウトしました。', 'You have signed out.'));
  });
  const session = await api('GET', '/console/session');
  if (session.ok) await showConsole(session.data); else showSignIn('');
}

main();
