# The live OpenAPI document of `atp serve` validates with a standard OpenAPI 3.1 validator
# (@seriousme/openapi-schema-validator, installed in tests/openapi by scripts/deps.sh), every
# $ref resolving. A broken copy of the same document must fail it, so the check is live. The
# /docs page's script renders the same document (tests/openapi/docs_page.mjs, a minimal DOM).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/server_lib.sh"
dir="$(cd "$(dirname "$0")/../openapi" && pwd)"
if [ ! -d "$dir/node_modules/@seriousme/openapi-schema-validator" ]; then
  bad "the OpenAPI validator is not installed in tests/openapi: run scripts/deps.sh (make test runs it)"
  finish
  exit 1
fi

start_server "sqlite:$TMP/openapi.db"
req "$U/api/v1/openapi.json"
expect_eq "openapi document" 200 "$CODE"
cp "$TMP/body" "$TMP/openapi.json"
req "$U/docs"
expect_eq "docs page" 200 "$CODE"
cp "$TMP/body" "$TMP/docs.html"
stop_server

# The /docs page's script, run against a minimal DOM with this document, lists every operation
# (method, path, summary, body fields, responses) under one section per tag.
n_ops=$(python3 -c "import json; d=json.load(open('$TMP/openapi.json')); print(sum(len(v) for v in d['paths'].values()))")
n_tags=$(python3 -c "import json; d=json.load(open('$TMP/openapi.json')); print(len({o['tags'][0] for v in d['paths'].values() for o in v.values()}))")
if node "$dir/docs_page.mjs" "$TMP/docs.html" "$TMP/openapi.json" >"$TMP/d.out" 2>&1; then ok; else bad "the docs page does not render the document"; cat "$TMP/d.out" >&2; fi
expect_eq "docs page rendering" "rendered $n_ops operations in $n_tags tags" "$(cat "$TMP/d.out")"

if node "$dir/validate.mjs" "$TMP/openapi.json" >"$TMP/v.out" 2>&1; then ok; else bad "the document is not valid OpenAPI"; cat "$TMP/v.out" >&2; fi
expect_eq "validator verdict" "valid 3.1" "$(cat "$TMP/v.out")"

# Controls: a description that is not a string, a dangling $ref, a path parameter without schema.
python3 - "$TMP/openapi.json" "$TMP" <<'PY'
import copy, json, sys
doc = json.load(open(sys.argv[1]))
broken = []
d = copy.deepcopy(doc); d["paths"]["/health"]["get"]["responses"]["200"]["description"] = 5; broken.append(d)
d = copy.deepcopy(doc); d["paths"]["/health"]["get"]["responses"]["200"]["content"]["application/json"]["schema"] = {"$ref": "#/components/schemas/Nope"}; broken.append(d)
d = copy.deepcopy(doc); d["paths"]["/api/v1/accounts/{id}"]["get"]["parameters"] = [{"name": "id", "in": "path"}]; broken.append(d)
for i, d in enumerate(broken):
    json.dump(d, open("%s/broken%d.json" % (sys.argv[2], i), "w"))
PY
for i in 0 1 2; do
  if node "$dir/validate.mjs" "$TMP/broken$i.json" >"$TMP/v.out" 2>&1; then bad "broken document $i passed the validator"; else ok; fi
done
finish
