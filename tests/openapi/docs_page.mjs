// Runs the inline script of the /docs page against a minimal DOM and a fetch that returns the
// given OpenAPI document, then checks what it built: one section per tag, one entry per
// operation (method, path, summary), body fields listed, no error shown. Prints "rendered N
// operations in M tags" and exits 0, or prints what is wrong and exits 1.
// Usage: node docs_page.mjs PAGE.html OPENAPI.json
import { readFileSync } from "node:fs";

const [page, docFile] = process.argv.slice(2);
const html = readFileSync(page, "utf8");
const script = html.match(/<script>([\s\S]*?)<\/script>/)[1];
const doc = JSON.parse(readFileSync(docFile, "utf8"));

class Node {
  constructor(tag) { this.tag = tag; this.attrs = {}; this.kids = []; this.textContent = ""; this.className = ""; }
  setAttribute(k, v) { this.attrs[k] = String(v); }
  append(...kids) { for (const k of kids) this.kids.push(typeof k === "string" ? { text: k } : k); }
  text() { return this.textContent + this.kids.map(k => (k instanceof Node ? k.text() : k.text)).join(""); }
  all(tag) { return this.kids.flatMap(k => (k instanceof Node ? (k.tag === tag ? [k] : []).concat(k.all(tag)) : [])); }
}
const byId = { about: new Node("p"), tags: new Node("nav"), ops: new Node("div") };
globalThis.document = { createElement: t => new Node(t), getElementById: id => byId[id] };
let fetched = null;
globalThis.fetch = async url => { fetched = url; return { ok: true, status: 200, json: async () => doc }; };

new Function(script)();
await new Promise(r => setTimeout(r, 50));

const fail = msg => { console.error(msg); process.exit(1); };
if (fetched !== "/api/v1/openapi.json") fail("fetched " + fetched);
if (byId.about.className === "err") fail("the page shows an error: " + byId.about.textContent);
let nOps = 0;
const tags = new Set();
for (const [path, item] of Object.entries(doc.paths))
  for (const [method, op] of Object.entries(item)) {
    nOps++;
    tags.add((op.tags && op.tags[0]) || "other");
    const d = byId.ops.all("details").find(x => x.attrs.id === op.operationId);
    if (!d) fail("no entry for " + op.operationId);
    const t = d.text();
    if (!t.includes(method.toUpperCase()) || !t.includes(path) || !t.includes(op.summary || ""))
      fail("entry of " + op.operationId + " lacks its method, path or summary: " + t.slice(0, 200));
    const props = op.requestBody && op.requestBody.content["application/json"].schema.properties;
    for (const f of Object.keys(props || {}))
      if (!t.includes(f)) fail("entry of " + op.operationId + " lacks body field " + f);
    for (const code of Object.keys(op.responses || {}))
      if (!t.includes(code)) fail("entry of " + op.operationId + " lacks response " + code);
  }
const sections = byId.ops.all("h2").length;
if (sections !== tags.size || byId.tags.all("a").length !== tags.size)
  fail("sections " + sections + ", links " + byId.tags.all("a").length + ", tags " + tags.size);
if (byId.ops.all("details").length !== nOps) fail("entries " + byId.ops.all("details").length + " != " + nOps);
console.log("rendered " + nOps + " operations in " + tags.size + " tags");
