// Applies the preset's custom manager to packages.toml files the way
// Renovate's regex manager does with matchStringsStrategy "recursive" when it
// falls back to JavaScript regular expressions: every matchString is compiled
// with the "g" flag; each level runs over the previous level's match and the
// named groups of all levels are merged, later levels winning. It prints, per
// file, the merged groups of each dependency and its replaceString (the last
// level's match) as JSON, for preset_test.go to compare with RE2's answer.
//
// usage: node extract.mjs PRESET.json FILE...
import { readFileSync } from "node:fs";

const preset = JSON.parse(readFileSync(process.argv[2], "utf8"));
const manager = preset.customManagers[0];
const regexes = manager.matchStrings.map((s) => new RegExp(s, "g"));

function matchAll(re, content) {
  re.lastIndex = 0;
  const out = [];
  for (let i = 0, m; i < 10000 && (m = re.exec(content)); i++) out.push(m);
  return out;
}

function recurse(content, index, groups) {
  if (index === regexes.length) return [{ groups, replaceString: content }];
  return matchAll(regexes[index], content).flatMap((m) => {
    const merged = { ...groups };
    for (const [k, v] of Object.entries(m.groups ?? {})) merged[k] = v;
    return recurse(m[0], index + 1, merged);
  });
}

const result = {};
for (const file of process.argv.slice(3)) {
  result[file] = recurse(readFileSync(file, "utf8"), 0, {}).map(({ groups, replaceString }) => {
    const g = {};
    for (const [k, v] of Object.entries(groups)) if (v !== undefined) g[k] = v;
    return { groups: g, replaceString };
  });
}
process.stdout.write(JSON.stringify(result));
