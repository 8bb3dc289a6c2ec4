'use strict';
/*
 * Reference values for tests/unit/test_indicators.c from REAL TA-Lib: the TA-Lib C library
 * compiled to WebAssembly, as shipped by the npm package talib-web (pinned in package.json and
 * package-lock.json). Run:   cd tests/tools/talib-ref && npm ci && node gen.js
 * It rewrites tests/data/indicators/{input.csv, cases.csv, <case>.csv}; commit the result.
 *
 * The package's JS wrapper is NOT used for the calls: it passes endIdx = length (one past the
 * end) and NULL for outBegIdx/outNBElement, so its last output and its alignment are wrong.
 * We call the exported C functions (TA_SMA, TA_MACD, ...) directly through the emscripten
 * module, with startIdx = 0, endIdx = n-1, and read outBegIdx/outNBElement back. TA-Lib's
 * globals are left at their defaults: unstable period 0, default (non-Metastock) compatibility.
 */
globalThis.fetch = undefined; // make emscripten's glue read the .wasm with fs in Node >= 18
const fs = require('fs');
const path = require('path');
const talib = require('talib-web');

const OUT_DIR = path.resolve(__dirname, '../../data/indicators');

/* ---------------------------------------------------------------- input series
 * 400 five-minute bars, 75 per NSE session (09:15-15:30 IST), weekdays from Mon 2025-01-06.
 * Prices are whole ticks of 0.05 (ticks/20 prints and parses back to the same double in JS
 * and C). Random walk driven by the 32-bit LCG x' = (1664525 x + 1013904223) mod 2^32 (Numerical
 * Recipes), seed 20250106; u = x / 2^32 in [0,1).
 *   open  = previous close, except at a session start: previous close * (1 + (u-0.5)*0.02)
 *   close = open * (1 + (u1+u2+u3-1.5) * 0.004)
 *   high  = max(open,close) + u*0.002*open, low = min(open,close) - u*0.002*open (in ticks)
 *   volume = 1000 + floor(u * 50000)
 * Edge cases: bars 160..189 are flat (O=H=L=C = previous close: zero true range, zero stddev,
 * HH == LL for stoch, no directional movement); bar 250 opens 6% below the previous close
 * (an intraday gap: true range from the previous close). */
const N = 400;
const BARS_PER_SESSION = 75;
const FLAT_FROM = 160, FLAT_TO = 189;
const GAP_BAR = 250;

let lcg = 20250106 >>> 0;
function rnd() {
  lcg = (Math.imul(1664525, lcg) + 1013904223) >>> 0;
  return lcg / 4294967296;
}

function makeBars() {
  const bars = [];
  const day0 = Date.UTC(2025, 0, 6) / 86400000; // days since epoch, a Monday
  let day = day0;
  let prevClose = 2450 * 20; // ticks
  for (let i = 0; i < N; i++) {
    const k = i % BARS_PER_SESSION;
    if (i > 0 && k === 0) {
      day += 1;
      while ([0, 6].includes(new Date(day * 86400000).getUTCDay())) day += 1;
    }
    // 09:15 IST = 03:45 UTC
    const tsNs = (BigInt(day) * 86400n + 3n * 3600n + 45n * 60n + BigInt(k) * 300n) * 1000000000n;
    let o, h, l, c;
    if (i >= FLAT_FROM && i <= FLAT_TO) {
      o = h = l = c = prevClose;
      rnd(); rnd(); rnd(); rnd(); rnd(); rnd(); // keep the stream aligned
    } else {
      o = prevClose;
      const g = rnd();
      if (i > 0 && k === 0) o = Math.round(prevClose * (1 + (g - 0.5) * 0.02));
      if (i === GAP_BAR) o = Math.round(prevClose * 0.94);
      const r = (rnd() + rnd() + rnd() - 1.5) * 0.004;
      c = Math.round(o * (1 + r));
      h = Math.max(o, c) + Math.round(rnd() * 0.002 * o);
      l = Math.min(o, c) - Math.round(rnd() * 0.002 * o);
    }
    const volume = 1000 + Math.floor(rnd() * 50000);
    bars.push({ i, tsNs, session: day, open: o / 20, high: h / 20, low: l / 20, close: c / 20, volume });
    prevClose = c;
  }
  return bars;
}

/* ---------------------------------------------------------------- raw TA-Lib calls */
let M;

function allocDoubles(arr) {
  const p = M._malloc(arr.length * 8);
  M.HEAPF64.set(arr, p / 8);
  return p;
}

/* Calls TA_<fn>(0, n-1, inputs..., opts..., &beg, &nb, outputs...). opts: numbers (ints and
 * doubles are both plain JS numbers for ccall). Returns { beg, outs: [full-length arrays with
 * NaN where TA-Lib gives nothing] }. */
function callTA(fn, inputs, opts, nOut) {
  const n = inputs[0].length;
  const inPtrs = inputs.map(allocDoubles);
  const begPtr = M._malloc(4), nbPtr = M._malloc(4);
  const outPtrs = [];
  for (let j = 0; j < nOut; j++) outPtrs.push(M._malloc(n * 8));
  const args = [0, n - 1, ...inPtrs, ...opts, begPtr, nbPtr, ...outPtrs];
  const rc = M.ccall('TA_' + fn, 'number', args.map(() => 'number'), args);
  if (rc !== 0) throw new Error(`TA_${fn} returned ${rc}`);
  const beg = M.HEAP32[begPtr / 4], nb = M.HEAP32[nbPtr / 4];
  if (beg + nb !== n) throw new Error(`TA_${fn}: beg ${beg} + nb ${nb} != ${n}`);
  const outs = outPtrs.map((p) => {
    const full = new Array(n).fill(NaN);
    const got = M.HEAPF64.subarray(p / 8, p / 8 + nb);
    for (let t = 0; t < nb; t++) full[beg + t] = got[t];
    return full;
  });
  [...inPtrs, begPtr, nbPtr, ...outPtrs].forEach((p) => M._free(p));
  return { beg, outs };
}

/* ---------------------------------------------------------------- cases
 * Each case: our indicator + params, the TA-Lib calls that produce its outputs (in output
 * order), and the TA-Lib call whose lookback is the indicator's lookback. */
function cases(bars) {
  const H = bars.map((b) => b.high), L = bars.map((b) => b.low), C = bars.map((b) => b.close);
  const list = [];
  const single = (ind, fn, periods) => {
    for (const p of periods) {
      const r = callTA(fn, [C], [p], 1);
      list.push({ id: `${ind}_${p}`, ind, params: `period=${p}`, talib: `TA_${fn}(period=${p})`,
                  outputs: ['value'], cols: r.outs, lookback: r.beg });
    }
  };
  single('sma', 'SMA', [20, 7, 2]);
  single('ema', 'EMA', [20, 9, 2, 50]);
  single('wma', 'WMA', [20, 10, 2]);
  single('rsi', 'RSI', [14, 7, 2, 30]);

  for (const [f, s, g] of [[12, 26, 9], [5, 35, 5], [3, 10, 2], [8, 17, 9]]) {
    const r = callTA('MACD', [C], [f, s, g], 3);
    list.push({ id: `macd_${f}_${s}_${g}`, ind: 'macd', params: `fast=${f};slow=${s};signal=${g}`,
                talib: `TA_MACD(${f},${s},${g})`, outputs: ['macd', 'signal', 'hist'],
                cols: r.outs, lookback: r.beg });
  }
  for (const [p, d] of [[20, 2.0], [10, 1.5], [5, 1.0], [50, 2.5]]) {
    const r = callTA('BBANDS', [C], [p, d, d, 0 /* SMA */], 3);
    list.push({ id: `bbands_${p}_${String(d).replace('.', 'p')}`, ind: 'bbands',
                params: `period=${p};stddev=${d}`, talib: `TA_BBANDS(${p},${d},${d},SMA)`,
                outputs: ['upper', 'middle', 'lower'], cols: r.outs, lookback: r.beg });
  }
  for (const p of [14, 5, 1]) {
    const r = callTA('ATR', [H, L, C], [p], 1);
    list.push({ id: `atr_${p}`, ind: 'atr', params: `period=${p}`, talib: `TA_ATR(${p})`,
                outputs: ['value'], cols: r.outs, lookback: r.beg });
  }
  for (const [k, ks, d] of [[14, 3, 3], [5, 3, 3], [9, 1, 1], [21, 5, 4]]) {
    const r = callTA('STOCH', [H, L, C], [k, ks, 0, d, 0], 2);
    list.push({ id: `stoch_${k}_${ks}_${d}`, ind: 'stoch', params: `k_period=${k};k_smooth=${ks};d_period=${d}`,
                talib: `TA_STOCH(${k},${ks},SMA,${d},SMA)`, outputs: ['k', 'd'], cols: r.outs, lookback: r.beg });
  }
  for (const p of [14, 7, 2, 30]) {
    const adx = callTA('ADX', [H, L, C], [p], 1);
    const pdi = callTA('PLUS_DI', [H, L, C], [p], 1);
    const mdi = callTA('MINUS_DI', [H, L, C], [p], 1);
    list.push({ id: `adx_${p}`, ind: 'adx', params: `period=${p}`,
                talib: `TA_ADX(${p}) TA_PLUS_DI(${p}) TA_MINUS_DI(${p})`,
                outputs: ['value', 'plus_di', 'minus_di'],
                cols: [adx.outs[0], pdi.outs[0], mdi.outs[0]], lookback: adx.beg });
  }
  return list;
}

/* Shortest round-trip decimal (JS Number -> string is exact for strtod); empty = no value. */
const fmt = (v) => (Number.isNaN(v) ? '' : String(v));

async function main() {
  M = await talib.init(require.resolve('talib-web/lib/talib.wasm'));
  const bars = makeBars();
  fs.mkdirSync(OUT_DIR, { recursive: true });
  const header = '# Generated by tests/tools/talib-ref/gen.js from TA-Lib C (WebAssembly build of npm talib-web 0.1.3). Do not edit.\n';
  let csv = header + 'i,ts_ns,session,open,high,low,close,volume\n';
  for (const b of bars)
    csv += [b.i, b.tsNs, b.session, fmt(b.open), fmt(b.high), fmt(b.low), fmt(b.close), b.volume].join(',') + '\n';
  fs.writeFileSync(path.join(OUT_DIR, 'input.csv'), csv);

  let manifest = header + 'case,indicator,params,lookback,talib\n';
  for (const c of cases(bars)) {
    let out = header + ['i', ...c.outputs].join(',') + '\n';
    for (let i = 0; i < bars.length; i++) out += [i, ...c.cols.map((col) => fmt(col[i]))].join(',') + '\n';
    fs.writeFileSync(path.join(OUT_DIR, `${c.id}.csv`), out);
    manifest += [c.id, c.ind, c.params, c.lookback, c.talib].join(',') + '\n';
  }
  fs.writeFileSync(path.join(OUT_DIR, 'cases.csv'), manifest);
  console.log(`wrote ${bars.length} bars and ${manifest.split('\n').length - 3} cases to ${OUT_DIR}`);
}

main().catch((e) => { console.error(e); process.exit(1); });
