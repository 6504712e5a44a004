// Allure 3 configuration for duisconf's report (`./dev suite` runs `allure generate` and then
// `allure quality-gate` with it; docs/evidence.md says what each part is for).
//
// - name: the declaration and the target the run was judged against, read from the run's
//   environment.properties (written by duisconf.evidence and duisconf.pytest_report);
// - tree: area (user entry tests, design notes, catalogue) → feature → scenario outline → scenario,
//   from the parentSuite/suite/subSuite labels duisconf.pytest_report sets;
// - history: reports/history.jsonl, one line per run, kept between runs (keep it in CI too);
// - quality gate: fails (exit 1) on any scenario whose verdict is not pass or not applicable, the same
//   rule `duisconf bundle` applies before it signs anything.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { defineConfig } from "allure";

// Allure 3.18's quality gate calls Iterator.prototype.toArray, which Node has only from 22; the suite
// supports Node 20, so supply it (the standard's behaviour, for the iterators Allure uses).
const iteratorPrototype = Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]()));
if (typeof iteratorPrototype.toArray !== "function") {
  Object.defineProperty(iteratorPrototype, "toArray", {
    value() { return Array.from({ [Symbol.iterator]: () => this }); },
    configurable: true, writable: true,
  });
}

const results = process.env.DUISCONF_RESULTS ?? "reports/allure-results";

function environment() {
  const file = join(results, "environment.properties");
  const values = {};
  if (!existsSync(file)) return values;
  for (const line of readFileSync(file, "utf-8").split("\n")) {
    const at = line.indexOf("=");
    if (at > 0) values[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  return values;
}

const env = environment();
const declaration = env["declaration.party"]
  ? `${env["declaration.party"]} (${env.declaration})`
  : env.declaration ?? "no declaration recorded";
const target = env.target ? `${env.target} (${env["target.kind"] ?? "?"})` : "no target recorded";

// A scenario's verdict: the label duisconf.pytest_plugin sets, else what its status says.
export const ACCEPTED = new Set(["pass", "not applicable"]);

export function verdictOf(tr) {
  const label = (tr.labels ?? []).find((l) => l.name === "verdict")?.value;
  const message = tr.error?.message ?? "";
  if (tr.status === "skipped") return /not applicable:/.test(message) || label === "not applicable" ? "not applicable" : "not run";
  if (tr.status === "passed") return label && label !== "pass" ? label : "pass";
  if (tr.status === "failed") return label && label !== "pass" ? label : "fail";
  return label && label !== "pass" ? label : "error"; // broken, unknown
}

const scenarioName = (tr) => {
  const row = (tr.parameters ?? []).map((p) => p.value).join(", ");
  return `${tr.fullName ?? tr.name}${row ? ` [${row}]` : ""}`;
};

export const duisVerdictsRule = {
  rule: "duisVerdicts",
  message: ({ actual, expected }) =>
    `${actual.length} scenario(s) with a verdict other than pass or not applicable (allowed: ${expected}): ` +
    actual.slice(0, 20).join("; ") + (actual.length > 20 ? `; and ${actual.length - 20} more` : ""),
  successMessage: ({ expected }) => `every scenario passed or was not applicable (allowed: ${expected})`,
  validate: async ({ trs, expected, state }) => {
    const previous = Array.isArray(state.getResult()) ? state.getResult() : [];
    const blocking = trs.filter((tr) => !ACCEPTED.has(verdictOf(tr)));
    const actual = [...previous, ...blocking.map((tr) => `${verdictOf(tr)}: ${scenarioName(tr)}`)];
    state.setResult(actual, blocking.map((tr) => tr.id));
    return { success: actual.length <= expected, actual, testResults: blocking.map((tr) => tr.id) };
  },
};

export default defineConfig({
  name: `DUIS conformance: ${declaration} on ${target}`,
  output: "reports/html",
  // DUISCONF_HISTORY="" means no history (the quality gate: it must not add a point of its own).
  historyPath: process.env.DUISCONF_HISTORY === "" ? undefined : process.env.DUISCONF_HISTORY ?? "reports/history.jsonl",
  historyLimit: 2,
  hideLabels: ["host", "thread", "framework", "language"],
  categories: {
    rules: [
      { name: "Not applicable (ruled out by the declaration)", matchers: { statuses: ["skipped"], message: /not applicable:/ } },
      { name: "Did not run", matchers: (d) => d.status === "skipped" && !/not applicable:/.test(d.message ?? "") },
      { name: "Inconclusive", matchers: { labels: { verdict: "inconclusive" } } },
      { name: "Failed (the target broke a rule)", matchers: { labels: { verdict: "fail" } } },
      { name: "Suite or configuration error", matchers: { labels: { verdict: "error" } } },
    ],
  },
  qualityGate: {
    rules: [{ duisVerdicts: 0 }],
    use: [duisVerdictsRule],
  },
  plugins: {
    awesome: {
      options: {
        groupBy: ["parentSuite", "suite", "subSuite"],
        singleFile: false,
        reportLanguage: "en",
      },
    },
  },
});
