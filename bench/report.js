'use strict';

/** Turns a run's results into tables, for the console and for RESULTS.md. */

const { pairedRatio } = require('./harness');

const PEERS = ['opossum', 'cockatiel'];
const LIB_ORDER = ['raw', 'floor', 'ours', ...PEERS];

const fmtNs = (v) => {
  if (v >= 1e7) return `${(v / 1e6).toFixed(1)} ms`;
  if (v >= 1e4) return `${(v / 1e3).toFixed(1)} µs`;
  return `${v.toFixed(v >= 100 ? 0 : 1)} ns`;
};
const fmtX = (v) => `${v >= 100 ? v.toFixed(0) : v.toFixed(2)}x`;

/** One table per scenario: median, spread, ratio to the baseline, and how ours compares. */
function microTables(micro) {
  return Object.entries(micro.scenarios).map(([id, s]) => {
    const inflight = id === 'inflight';
    const headers = ['', 'median / call', 'p25 - p75', 'x baseline', 'peer / ours', 'calls / sample'];
    if (inflight) headers.splice(4, 0, 'throughput (% of raw)');
    const rows = LIB_ORDER.filter((lib) => s.results[lib]).map((lib) => {
      const r = s.results[lib];
      const toRaw = pairedRatio(s.results, lib, 'raw');
      const row = [
        lib,
        fmtNs(r.median),
        `${fmtNs(r.p25)} - ${fmtNs(r.p75)}`,
        fmtX(toRaw),
        PEERS.includes(lib) ? fmtX(pairedRatio(s.results, lib, 'ours')) : '',
        r.callsPerSample.toLocaleString('en'),
      ];
      if (inflight) row.splice(4, 0, `${(1e3 / r.median).toFixed(2)} M/s (${(100 / toRaw).toFixed(0)}%)`);
      return row;
    });
    const notes = s.problems.map((p) => `CHECK FAILED: ${p}`);
    return { title: `${s.title} (baseline: ${s.baseline})`, headers, rows, notes };
  });
}

function memoryTable(memory) {
  const ours = memory.ours;
  return {
    title: 'Heap bytes per breaker (10,000 breakers; heapUsed + ArrayBuffers, after GC)',
    headers: ['', 'idle (new)', 'after one call', 'idle / ours'],
    rows: Object.entries(memory).map(([variant, m]) => [
      variant,
      `${m.idle} B`,
      `${m.used} B`,
      variant === 'ours' ? '' : fmtX(m.idle / ours.idle),
    ]),
    notes: [],
  };
}

/** bench/policies.js: overhead per policy, rate limiter decisions, retry budget during an outage. */
function policyTables(policies) {
  return [
    {
      title: 'Policies on the success path (ns per call, median; ratio to the bare breaker, paired by round)',
      headers: ['', 'median / call', 'x bare breaker'],
      rows: policies.overhead.map((r) => [r.name, fmtNs(r.nsPerCall), fmtX(r.ratioToBareBreaker)]),
      notes: [],
    },
    {
      title: 'Rate limiter decisions per second',
      headers: ['', 'decisions / s'],
      rows: Object.entries(policies.rateLimiter).map(([keys, perSecond]) => [
        keys,
        `${(perSecond / 1e6).toFixed(1)} M`,
      ]),
      notes: [],
    },
    {
      title: 'Outage: 10,000 failing calls over 10 s, 3 retries each',
      headers: ['', 'downstream calls', 'per call'],
      rows: Object.entries(policies.outage).map(([variant, o]) => [
        variant === 'withBudget' ? 'with the default budget (20% + 10/s)' : 'without a budget',
        o.downstream.toLocaleString('en'),
        o.perCall.toFixed(2),
      ]),
      notes: [],
    },
  ];
}

function httpTable(http) {
  if (http.skipped)
    return { title: 'HTTP throughput', headers: [], rows: [], notes: [`skipped: ${http.skipped}`] };
  return {
    title: `HTTP throughput (${http.requests.toLocaleString('en')} requests per round, ${http.connections} keep-alive connections, medians of ${http.rounds} rounds)`,
    headers: ['route', 'requests / s', 'p25 - p75', '% of plain'],
    rows: Object.entries(http.results).map(([route, r]) => [
      route,
      Math.round(r.median).toLocaleString('en'),
      `${Math.round(r.p25).toLocaleString('en')} - ${Math.round(r.p75).toLocaleString('en')}`,
      `${(pairedRatio(http.results, route, 'plain') * 100).toFixed(0)}%`,
    ]),
    notes: [],
  };
}

function tables(result) {
  return [
    ...(result.micro ? microTables(result.micro) : []),
    ...(result.memory ? [memoryTable(result.memory)] : []),
    ...(result.http ? [httpTable(result.http)] : []),
    ...(result.policies ? policyTables(result.policies) : []),
  ];
}

const LEGEND =
  'Times are medians over alternating rounds. "x baseline" is the median, over rounds, of the ratio to the ' +
  'baseline timed in the same round; "peer / ours" is the same ratio between a peer and ours (above 1: ours ' +
  'is faster). Pairing by round cancels most of the drift of a shared machine.';

const verdict = (t) => (t.met === null ? 'not measured' : t.met ? 'MET' : 'MISSED');

function header(result) {
  const m = result.machine;
  const v = result.versions;
  return `Node ${v.node}, opossum ${v.opossum}, cockatiel ${v.cockatiel}; ${m.cpu}, ${m.cores} cores, load ${m.loadAverageAtStart.join(' ')} at start; ${result.date}`;
}

function renderConsole(result) {
  const out = [`\n${header(result)}\n`];
  for (const t of tables(result)) {
    out.push(`\n${t.title}`);
    if (t.rows.length > 0) {
      const all = [t.headers, ...t.rows];
      const widths = t.headers.map((_, i) => Math.max(...all.map((r) => String(r[i]).length)));
      for (const r of all)
        out.push(`  ${r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')}`);
    }
    for (const n of t.notes) out.push(`  ${n}`);
  }
  out.push('\nTargets');
  for (const t of result.targets) out.push(`  ${verdict(t).padEnd(12)} ${t.goal}: ${t.shown}`);
  return `${out.join('\n')}\n`;
}

const mdRow = (cells) => `| ${cells.join(' | ')} |`;

function renderMarkdown(result) {
  const out = [
    '# Benchmark results',
    '',
    `${header(result)}. Generated by \`npm run bench\`.`,
    '',
    LEGEND,
    '',
  ];
  for (const t of tables(result)) {
    out.push(`## ${t.title}`, '');
    if (t.rows.length > 0) {
      out.push(mdRow(t.headers), mdRow(t.headers.map((_, i) => (i === 0 ? '---' : '---:'))));
      for (const r of t.rows) out.push(mdRow(r));
      out.push('');
    }
    for (const n of t.notes) out.push(`- ${n}`);
    if (t.notes.length > 0) out.push('');
  }
  out.push('## Targets', '', mdRow(['goal', 'measured', '']), mdRow(['---', '---:', '---']));
  for (const t of result.targets) out.push(mdRow([t.goal, t.shown, verdict(t)]));
  out.push('', '## Configurations', '');
  for (const [lib, text] of Object.entries(result.configs)) out.push(`- **${lib}**: ${text}`);
  return `${out.join('\n')}\n`;
}

module.exports = { renderConsole, renderMarkdown };
