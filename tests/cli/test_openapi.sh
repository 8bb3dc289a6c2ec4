# The live OpenAPI document of `atp serve` validates with a standard OpenAPI 3.1 validator
# (@seriousme/openapi-schema-validator, installed in tests/openapi by scripts/deps.sh), every
# $ref resolving. A broken copy of the same document must fail it, so the check is live.
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
stop_server

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
