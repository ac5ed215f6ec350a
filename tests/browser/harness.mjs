// What the browser tests share (journey.mjs, console.mjs): checks that count failures, a real
// relay-node process on a free loopback port with its data directory, the JSON API with a
// Bearer token, the spooled mail, Chromium through puppeteer-core, and the teardown that keeps
// the data directory when a check failed.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import puppeteer from 'puppeteer-core';

let failures = 0;
export function check(ok, what) {
  if (ok) return;
  failures++;
  console.error(`FAIL: ${what}`);
}
export const failed = () => failures;

export function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export async function until(what, f, timeoutMs = 15000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// Initialises and serves a relay-node in a new directory under outDir (prefix names it);
// `configure(config)` edits node.json first. Returns {base, admin, dataDir, api, mailsTo, stop}.
export async function startNode(nodeBin, outDir, prefix, configure = () => {}) {
  const dataDir = fs.mkdtempSync(path.join(outDir, prefix));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const init = spawnSync(nodeBin, ['init', '--data-dir', dataDir, '--name', 'browser.relaynode',
    '--region', 'JP-13', '--listen', `127.0.0.1:${port}`], { encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`relay-node init: ${init.stderr}`);
  const configPath = path.join(dataDir, 'node.json');
  const config = JSON.parse(fs.readFileSync(configPath, 'utf8'));
  config.operator = { name: '東京都しごと支援センター', contact: 'help@relay.example.jp',
    privacy_url: 'https://relay.example.jp/privacy' };
  configure(config);
  fs.writeFileSync(configPath, JSON.stringify(config, null, 2));
  const admin = fs.readFileSync(path.join(dataDir, 'admin_token'), 'utf8').trim();
  const log = fs.openSync(path.join(dataDir, 'node.log'), 'a');
  const node = spawn(nodeBin, ['serve', '--config', configPath], { stdio: ['ignore', log, log] });
  const spool = path.join(dataDir, 'mail');

  // The API with a Bearer token (the operator's by default): {status, body}.
  const request = async (method, p, body, token = admin) => {
    const r = await fetch(base + p, { method, headers: { Authorization: `Bearer ${token}`,
      'Content-Type': 'application/json' }, body: body && JSON.stringify(body) });
    const text = await r.text();
    let json = null;
    try { json = JSON.parse(text); } catch { json = null; }
    return { status: r.status, body: json, text };
  };
  const api = async (method, p, body, token = admin) => (await request(method, p, body, token)).body;

  // Mail in the spool to `to`: [{body}], oldest first.
  const mailsTo = (to) => {
    if (!fs.existsSync(spool)) return [];
    return fs.readdirSync(spool).filter((f) => f.endsWith('.eml'))
      .map((f) => ({ f, stat: fs.statSync(path.join(spool, f)) }))
      .sort((a, b) => a.stat.mtimeMs - b.stat.mtimeMs)
      .map(({ f }) => fs.readFileSync(path.join(spool, f), 'utf8'))
      .filter((text) => new RegExp(`^To: ${to.replace('.', '\\.')}\r?$`, 'm').test(text))
      .map((text) => ({ body: text.slice(text.indexOf('\r\n\r\n') + 4) }));
  };

  // Stops the node; removes its directory when every check passed (kept on failure or with
  // RELAY_KEEP_TEST_DATA=1).
  const stop = async () => {
    if (node.exitCode === null && node.signalCode === null) {
      const exited = new Promise((r) => node.once('exit', r));
      node.kill('SIGTERM');
      await exited;
    } else {
      console.error(`relay-node exited early (${node.exitCode ?? node.signalCode}); its log:\n` +
        fs.readFileSync(path.join(dataDir, 'node.log'), 'utf8').slice(-2000));
    }
    if (!failures && !process.env.RELAY_KEEP_TEST_DATA) fs.rmSync(dataDir, { recursive: true, force: true });
  };

  try {
    await until('the node', async () => {
      try { return (await fetch(`${base}/healthz`)).ok; } catch { return false; }
    });
  } catch (e) {
    await stop();
    throw e;
  }
  return { base, admin, dataDir, request, api, mailsTo, stop };
}

export const linkIn = (mail, kind) => (mail.body.match(new RegExp(`http://[^\\s]*/r/${kind}/[^\\s]+`)) || [])[0];

export function launchBrowser() {
  return puppeteer.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'] });
}

export const phone = { width: 390, height: 844, isMobile: true, hasTouch: true, deviceScaleFactor: 1 };
export const desktop = { width: 1366, height: 900, deviceScaleFactor: 1 };
