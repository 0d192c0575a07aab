// Checks what promtool cannot: the alert rules and the dashboard read only the series
// nest-resilience publishes (DESIGN.md section 3), the dashboard is valid JSON and every one of
// its queries filters on $breaker. Then prints the dashboard's queries, with their variables
// filled in, as a Prometheus rule file on stdout, so that `promtool check rules` parses them.
// Usage: node deploy/check-metrics.js > queries.yml (deploy/check.sh does this).
const fs = require('fs');
const path = require('path');

// Series name -> metric type, as src/nest/metric-names.ts publishes them (a test keeps the two equal).
const SERIES = JSON.parse(fs.readFileSync(path.join(__dirname, 'published-series.json'), 'utf8'));
const PUBLISHED = new Set(
  Object.entries(SERIES).flatMap(([name, type]) =>
    type === 'histogram'
      ? [name, ...['bucket', 'sum', 'count'].map((suffix) => `${name}_${suffix}`)]
      : [name],
  ),
);
// A Grafana built-in that PromQL does not know; one scrape-interval-sized value stands in for it.
const BUILT_IN_VARIABLES = { __rate_interval: '1m' };

const problems = [];
const read = (file) => fs.readFileSync(path.join(__dirname, file), 'utf8');
const metricsIn = (text) => text.match(/\bcircuit_breaker_[a-z_]+/g) ?? [];

function checkNames(file, text) {
  for (const name of new Set(metricsIn(text))) {
    if (!PUBLISHED.has(name)) problems.push(`${file}: ${name} is not a series nest-resilience publishes`);
  }
}

checkNames('prometheus/alerts.yml', read('prometheus/alerts.yml'));

const dashboardText = read('grafana/dashboard.json');
checkNames('grafana/dashboard.json', dashboardText);
const dashboard = JSON.parse(dashboardText);

// What each variable stands for when the dashboard loads: "All" breakers, the textbox default.
const variables = { ...BUILT_IN_VARIABLES };
for (const variable of dashboard.templating.list) {
  if (variable.type === 'query') variables[variable.name] = variable.allValue;
  if (variable.type === 'textbox') variables[variable.name] = variable.query;
}
if (variables.breaker === undefined) problems.push('grafana/dashboard.json: no $breaker template variable');

const rules = [];
for (const panel of dashboard.panels) {
  for (const { refId, expr } of panel.targets) {
    const where = `grafana/dashboard.json, panel "${panel.title}" query ${refId}`;
    if (metricsIn(expr).length > 0 && !expr.includes('breaker=~"$breaker"')) {
      problems.push(`${where}: does not filter on breaker=~"$breaker"`);
    }
    const filled = expr.replace(/\$(\w+)/g, (match, name) => {
      if (variables[name] !== undefined) return variables[name];
      problems.push(`${where}: unknown variable ${match}`);
      return match;
    });
    rules.push({ record: `dashboard:panel_${panel.id}_${refId}`, expr: filled });
  }
}

if (problems.length > 0) {
  for (const problem of problems) console.error(problem);
  process.exit(1);
}
// JSON is YAML, which is what promtool reads.
process.stdout.write(JSON.stringify({ groups: [{ name: 'dashboard-queries', rules }] }, null, 2) + '\n');
