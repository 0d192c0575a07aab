'use strict';

/**
 * Prints the README's option tables (key, default, what a value must be) from the validation
 * tables the library checks options with, so the two cannot drift apart:
 * `npm run build && node scripts/options-table.js`.
 */

const { BREAKER_OPTIONS } = require('../dist/core/breaker-option-table');
const { MODULE_OPTIONS, METRICS_OPTIONS } = require('../dist/nest/resilience-options.table');
const { ADMIN_OPTIONS } = require('../dist/nest/admin/admin-option-table');
const { STORE_OPTIONS } = require('../dist/stores/store-option-table');
const policies = require('../dist/core/policies/policy-option-table');

const code = (text) => `\`${text}\``;
const defaultOf = (rule) =>
  rule.defaultIs ??
  (rule.default === undefined ? (rule.required ? 'required' : '—') : code(JSON.stringify(rule.default)));

function table(title, rules) {
  const rows = Object.entries(rules).map(
    ([key, rule]) => `| ${code(key)} | ${defaultOf(rule)} | ${rule.expected.replaceAll('|', '\\|')} |`,
  );
  return [`### ${title}`, '', '| Option | Default | Must be |', '| --- | --- | --- |', ...rows, ''].join(
    '\n',
  );
}

process.stdout.write(
  [
    table('BreakerOptions', BREAKER_OPTIONS),
    table('Module options', MODULE_OPTIONS),
    table('metrics', METRICS_OPTIONS),
    table('admin', ADMIN_OPTIONS),
    ...Object.entries(STORE_OPTIONS).map(([type, rules]) => table(`store (type: '${type}')`, rules)),
    table('PolicyOptions (each entry of policies)', policies.POLICY_OPTIONS),
    table('retry (@Retry)', policies.RETRY_OPTIONS),
    table('retry.budget', policies.RETRY_BUDGET_OPTIONS),
    table('bulkhead (@Bulkhead)', policies.BULKHEAD_OPTIONS),
    table('rateLimit (@RateLimit)', policies.RATE_LIMIT_OPTIONS),
  ].join('\n'),
);
