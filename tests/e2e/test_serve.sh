#!/usr/bin/env bash
# `profil serve` end to end, with curl on ephemeral 127.0.0.1 ports:
# decisions equal `profil score --format jsonl` byte for byte (profiles as
# strings and as typed JSON), every error status (400 with the same
# column/rule/value/message as `profil validate`, 401, 404, 405, 413, 415),
# bearer tokens, the audit log (salted HMAC of the id, recomputed here),
# /v1/model, /v1/policy and /openapi.yaml against the files, /metrics
# counts, /v1/whatif, TLS with a certificate made here, reload under load
# with zero failed requests, and a graceful drain on SIGTERM.
. "$(dirname "$0")/lib.sh"
MODEL="$SRC/data/models/af-logit.json"
POLDIR="$SRC/data/policies"
command -v curl >/dev/null || { echo "curl is needed (setup.sh test_packages)"; exit 1; }

"$PROFIL" synth --rows 300 --seed 41 --output pop.csv
cp "$POLDIR/krom-2021-08.json" pol.json
printf '# tokens\n\n  tok-alpha-7f3e  \ntok-beta-91c2\n' >tokens.txt
head -c 48 /dev/urandom >salt.bin
AUTH="Authorization: Bearer tok-beta-91c2"
CT="Content-Type: application/json"
PIDS=()

# start NAME ARGS...: starts a server on a free port; sets PORT and PID.
start() {
    local name=$1
    shift
    rm -f "$name.port"
    "$PROFIL" serve --port 0 --port-file "$name.port" --threads 2 "$@" 2>"$name.log" &
    PID=$!
    PIDS+=("$PID")
    for _ in $(seq 100); do
        [ -s "$name.port" ] && break
        kill -0 "$PID" 2>/dev/null || break
        sleep 0.1
    done
    PORT=$(cat "$name.port" 2>/dev/null)
    [ -n "$PORT" ] || { fail "$name did not start: $(cat "$name.log")"; return 1; }
}
stop_all() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; }
trap stop_all EXIT

# code URL ARGS...: the HTTP status; the body in body.json.
code() { curl -s -o body.json -w '%{http_code}' "$@"; }

start main --policy "$PWD/pol.json" --token-file tokens.txt --audit-log audit.jsonl \
    --audit-salt-file salt.bin --max-body 200000 --max-profiles 200 || exit 1
URL="http://127.0.0.1:$PORT"

# 1. Decisions equal the batch path's: every row as a single profile of
#    strings, and in arrays of typed values (numbers, true/false, null).
"$PROFIL" score -q --policy "$PWD/pol.json" --format jsonl -o batch.jsonl pop.csv
python3 - pop.csv <<'EOF'
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
def typed(r):
    out = {}
    for k, v in r.items():
        if v == "":
            out[k] = None
        elif k in ("akassa", "utbildning_sokt_yrke", "nedsatt_arbetsformaga",
                   "kommunovergripande", "sprakstod"):
            out[k] = v == "1"
        elif k.startswith("omr_"):
            out[k] = float(v)
        elif k in ("alder", "inskrivningsdagar", "antal_tidigare_perioder"):
            out[k] = int(v)
        else:
            out[k] = v
    return out
for i, r in enumerate(rows[:40]):
    json.dump(r, open(f"single{i}.json", "w"))
for k in range(0, len(rows), 100):
    json.dump([typed(r) for r in rows[k:k + 100]], open(f"array{k // 100}.json", "w"))
EOF
: >singles.out
for i in $(seq 0 39); do
    curl -s -H "$CT" -H "$AUTH" --data-binary @single$i.json "$URL/v1/score" >>singles.out
done
if cmp -s singles.out <(head -40 batch.jsonl); then pass; else fail "single profiles differ from profil score --format jsonl"; fi
for k in 0 1 2; do
    curl -s -H "$CT" -H "$AUTH" --data-binary @array$k.json "$URL/v1/score" >array$k.out
done
python3 - batch.jsonl array0.out array1.out array2.out <<'EOF' && pass || fail "arrays differ from the batch"
import json, sys
batch = [json.loads(l) for l in open(sys.argv[1])]
got = [d for f in sys.argv[2:] for d in json.load(open(f))]
assert len(got) == len(batch) == 300, (len(got), len(batch))
for a, b in zip(got, batch):
    assert a == b, (a, b)
EOF

# 2. A rejected profile: 400 with the column, rule, value and message the
#    batch reader gives for the same row (profil validate's rejects file).
python3 - pop.csv <<'EOF'
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
bad = dict(rows[0], alder="15", kon="X")
json.dump([rows[1], bad], open("bad.json", "w"))
w = csv.DictWriter(open("bad.csv", "w", newline=""), fieldnames=list(bad))
w.writeheader(); w.writerow(bad)
EOF
"$PROFIL" validate -q --rejects bad.rejects.csv bad.csv
expect_eq "$(code -H "$CT" -H "$AUTH" --data-binary @bad.json "$URL/v1/score")" 400 "rejected profile"
python3 - body.json bad.rejects.csv <<'EOF' && pass || fail "400 problems differ from the reader's: $(cat body.json)"
import csv, json, sys
b = json.load(open(sys.argv[1]))
want = list(csv.DictReader(open(sys.argv[2], newline="")))
assert b["error"] == "invalid_profile" and b["profiles"] == 2 and b["rejected"] == 1, b
got = [(p["index"], p["column"], p["rule"], p["value"], p["message"]) for p in b["problems"]]
exp = [(1, r["column"], r["rule"], r["value"], r["message"]) for r in want]
assert got == exp and len(got) == 2, (got, exp)
EOF
echo '{"alder": 40}' >missing.json
code -H "$CT" -H "$AUTH" --data-binary @missing.json "$URL/v1/score" >/dev/null
expect_grep '"column":"kon","rule":"missing_value"' body.json "absent required column"
echo '{"alder": {"x": 1}}' >nested.json
expect_eq "$(code -H "$CT" -H "$AUTH" --data-binary @nested.json "$URL/v1/score")" 400 "nested value"
expect_grep '"rule":"json_type"' body.json "nested value rule"
expect_eq "$(code -H "$CT" -H "$AUTH" --data-binary '{"alder": 4' "$URL/v1/score")" 400 "bad JSON"
expect_grep '"error":"invalid_json"' body.json "bad JSON error"
expect_eq "$(code -H "$CT" -H "$AUTH" --data-binary '[]' "$URL/v1/score")" 400 "empty array"

# 3. Authentication, routes, methods, media types, limits.
expect_eq "$(code -H "$CT" --data-binary @single0.json "$URL/v1/score")" 401 "no token"
expect_eq "$(curl -s -o /dev/null -D hdr.txt -H "$CT" -H 'Authorization: Bearer tok-beta-91c' \
    --data-binary @single0.json -w '%{http_code}' "$URL/v1/score")" 401 "wrong token"
expect_grep '^WWW-Authenticate: Bearer' hdr.txt "401 names the scheme"
expect_eq "$(code -H "$CT" -H 'Authorization: Bearer tok-alpha-7f3e' --data-binary @single0.json \
    "$URL/v1/score")" 200 "the other token (spaces trimmed)"
expect_eq "$(code -H "$AUTH" "$URL/v1/model")" 200 "model with token"
expect_eq "$(code "$URL/v1/model")" 401 "model without token"
expect_eq "$(code "$URL/healthz")" 200 "healthz needs no token"
expect_eq "$(code "$URL/nope")" 404 "unknown path"
expect_eq "$(curl -s -o /dev/null -D hdr.txt -w '%{http_code}' -H "$AUTH" "$URL/v1/score")" 405 \
    "GET /v1/score"
expect_grep '^Allow: POST' hdr.txt "405 says what is allowed"
expect_eq "$(code -X DELETE "$URL/healthz")" 405 "DELETE /healthz"
expect_eq "$(code -H 'Content-Type: text/plain' -H "$AUTH" --data-binary @single0.json \
    "$URL/v1/score")" 415 "text/plain"
expect_eq "$(code -H 'Content-Type: application/json; charset=latin1' -H "$AUTH" \
    --data-binary @single0.json "$URL/v1/score")" 415 "another charset"
expect_eq "$(code -H 'Content-Type: application/json; charset=UTF-8' -H "$AUTH" \
    --data-binary @single0.json "$URL/v1/score")" 200 "charset=UTF-8"
head -c 250000 /dev/zero | tr '\0' ' ' >big.json
expect_eq "$(code -H "$CT" -H "$AUTH" --data-binary @big.json "$URL/v1/score")" 413 "body over --max-body"
expect_grep '"error":"body_too_large"' body.json "413 body"
expect_eq "$(code -H "$CT" -H "$AUTH" -H 'Transfer-Encoding: chunked' --data-binary @big.json \
    "$URL/v1/score")" 413 "chunked body over --max-body"
python3 -c "import json; r = json.load(open('single0.json')); json.dump([r] * 201, open('many.json', 'w'))"
expect_eq "$(code -H "$CT" -H "$AUTH" --data-binary @many.json "$URL/v1/score")" 413 "over --max-profiles"
expect_grep '"error":"too_many_profiles"' body.json "413 profiles"

# 4. Model, policy and OpenAPI documents are those of the files.
code -H "$AUTH" "$URL/v1/model" >/dev/null
expect_eq "$(python3 -c "import json; print(json.load(open('body.json'))['id'])")" \
    "$(sha256sum <"$MODEL" | cut -c1-64)" "model id is the file's SHA-256"
expect_grep '"name":"alder","label":"Ålder"' body.json "model lists features with labels"
code -H "$AUTH" "$URL/v1/policy" >/dev/null
python3 - body.json pol.json <<'EOF' && pass || fail "policy document"
import hashlib, json, sys
b = json.load(open(sys.argv[1]))
assert b["id"] == hashlib.sha256(open(sys.argv[2], "rb").read()).hexdigest()
assert b["document"] == json.load(open(sys.argv[2])) and b["name"] == "krom-2021-08"
EOF
curl -s "$URL/openapi.yaml" >openapi.out
if cmp -s openapi.out "$SRC/docs/openapi.yaml"; then pass; else fail "openapi.yaml differs from docs/"; fi

# 5. The audit log: one line per decision, the id only as HMAC-SHA256 with
#    the salt (first 32 hex digits), never in clear.
python3 - audit.jsonl salt.bin pop.csv batch.jsonl <<'EOF' && pass || fail "audit log"
import csv, hashlib, hmac, json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
salt = open(sys.argv[2], "rb").read()
ids = [r["id"] for r in csv.DictReader(open(sys.argv[3], newline=""))]
batch = {json.loads(l)["id"]: json.loads(l) for l in open(sys.argv[4])}
text = open(sys.argv[1]).read()
assert not any(i in text for i in ids), "an id in clear"
# 40 singles + 300 in arrays + 2 more singles (token and charset checks)
assert len(lines) == 342, len(lines)
by_hash = {hmac.new(salt, i.encode(), hashlib.sha256).hexdigest()[:32]: i for i in ids}
for l in lines:
    i = by_hash[l["id_hash"]]
    want = dict(batch[i]); del want["id"]
    got = {k: v for k, v in l.items() if k not in ("time", "route", "id_hash")}
    assert got == want and l["route"] == "/v1/score", (got, want)
EOF

# 6. /v1/whatif: the card of a full profile has the batch path's p.
python3 - pop.csv <<'EOF'
import csv, json, sys
r = next(csv.DictReader(open(sys.argv[1], newline="")))
for k in ("id", "arbete_studier_90d", "arbete_studier_180d"):
    r.pop(k)
json.dump({"profile": r}, open("wi_card.json", "w"))
json.dump({"profile": r, "vary": "alder=30:40:5"}, open("wi_vary.json", "w"))
EOF
expect_eq "$(code -H "$CT" -H "$AUTH" --data-binary @wi_card.json "$URL/v1/whatif")" 200 "whatif card"
python3 - body.json batch.jsonl <<'EOF' && pass || fail "whatif card p: $(head -c 300 body.json)"
import json, sys
card = json.load(open(sys.argv[1]))
first = json.loads(open(sys.argv[2]).readline())
assert card["kind"] == "card", card["kind"]
assert round(card["p"], 6) == first["p"], (card["p"], first["p"])
EOF
expect_eq "$(code -H "$CT" -H "$AUTH" --data-binary @wi_vary.json "$URL/v1/whatif")" 200 "whatif vary"
# The service's document is the CLI's --json document (the inputs' source
# aside: the profile came in a request, not from --profile).
python3 -c 'import json; json.dump(json.load(open("wi_vary.json"))["profile"], open("wi_profile.json", "w"))'
"$PROFIL" whatif --policy "$PWD/pol.json" --profile wi_profile.json --vary alder=30:40:5 --json \
    >wi_cli.json
python3 - body.json wi_cli.json <<'EOF' && pass || fail "whatif: service and CLI documents differ"
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
for d in (a, b):
    for i in d["inputs"]:
        i.pop("source")
assert a == b, [k for k in set(a) | set(b) if a.get(k) != b.get(k)]
EOF
expect_eq "$(code -H "$CT" -H "$AUTH" --data-binary '{"profile":{"alder":"15"}}' \
    "$URL/v1/whatif")" 400 "whatif bad profile"
expect_grep "alder: out_of_range '15'" body.json "whatif names the rule"
expect_eq "$(code -H "$CT" -H "$AUTH" --data-binary '{"profile":{},"bogus":1}' "$URL/v1/whatif")" \
    400 "whatif unknown key"

# 7. Metrics count what happened.
curl -s "$URL/metrics" >metrics.txt
expect_grep '^profil_http_requests_total\{route="/v1/score",status="200"\} 45$' metrics.txt \
    "score 200s counted (40 singles, 3 arrays, 2 header checks)"
expect_grep '^profil_http_requests_total\{route="/v1/score",status="413"\} 3$' metrics.txt "413s"
expect_grep '^profil_http_requests_total\{route="/v1/score",status="401"\} 2$' metrics.txt "401s"
expect_grep '^profil_profiles_scored_total 342$' metrics.txt "profiles scored"
expect_grep '^profil_rejects_total\{rule="out_of_range"\} 1$' metrics.txt "rejects by rule"
expect_grep '^profil_rejects_total\{rule="unknown_code"\} 1$' metrics.txt "rejects by rule (kon)"
expect_grep "^profil_model_info\\{model_sha256=\"$(sha256sum <"$MODEL" | cut -c1-64)\"" metrics.txt \
    "model hash"
expect_grep '^profil_http_request_duration_seconds_count\{route="/v1/score"\} [0-9]+$' metrics.txt \
    "latency histogram"

# 8. Reload under load: 3000 requests on 8 connections while the policy
#    file changes and SIGHUP arrives five times. None may fail; each answer
#    carries the old or the new policy id, and the last reload is live.
python3 - pol.json pol2.json <<'EOF'
import json, sys
p = json.load(open(sys.argv[1]))
p["version"] = "1.0.1-test"
json.dump(p, open(sys.argv[2], "w"), ensure_ascii=False, indent=2)
EOF
OLD=$(sha256sum <pol.json | cut -c1-16)
NEW=$(sha256sum <pol2.json | cut -c1-16)
mkdir -p load
for i in $(seq 3000); do
    [ "$i" -eq 1 ] || echo next
    printf 'url = "%s/v1/score"\nheader = "%s"\nheader = "%s"\ndata-binary = "@single%d.json"\n' \
        "$URL" "$CT" "$AUTH" $((i % 40))
    printf 'output = "load/%d.json"\nwrite-out = "%%{http_code}\\n"\nsilent\n' "$i"
done >load.cfg
curl -s --parallel --parallel-max 8 -K load.cfg >load.codes &
LOAD=$!
for k in 1 2 3 4 5; do
    sleep 0.2
    if [ $((k % 2)) -eq 1 ]; then cp pol2.json pol.json; else cp "$POLDIR/krom-2021-08.json" pol.json; fi
    kill -HUP "$PID"
done
wait "$LOAD"
# The last reload (to pol2.json) is live: once /v1/policy says so, a second
# wave of requests must be answered under it. (The first wave may finish
# before any reload lands on a fast machine, so it alone proves nothing
# about the new policy.)
for try in $(seq 100); do
    curl -s -H "$AUTH" "$URL/v1/policy" | grep -q "\"short_id\": *\"$NEW\"" && break
    sleep 0.1
done
for i in $(seq 3001 3200); do
    [ "$i" -eq 3001 ] || echo next
    printf 'url = "%s/v1/score"\nheader = "%s"\nheader = "%s"\ndata-binary = "@single%d.json"\n' \
        "$URL" "$CT" "$AUTH" $((i % 40))
    printf 'output = "load/%d.json"\nwrite-out = "%%{http_code}\\n"\nsilent\n' "$i"
done >load2.cfg
curl -s --parallel --parallel-max 8 -K load2.cfg >>load.codes
expect_eq "$(grep -c '^200$' load.codes)" 3200 "every request under reload answered 200"
expect_eq "$(cat load/*.json | grep -o '"policy_id":"[0-9a-f]*"' | sort -u | grep -vc -e "$OLD" -e "$NEW")" 0 \
    "only the two policies answered"
expect_eq "$(cat load/*.json | grep -c "\"policy_id\":\"$NEW\"" | awk '{ print ($1 > 0) }')" 1 \
    "the new policy answered some"
# Signals that arrive during a reload may merge into one; the last file
# is live either way, and every reload done is counted.
code "$URL/readyz" >/dev/null
expect_grep "\"policy_id\":\"$NEW\"" body.json "the last reload is live"
GEN=$(python3 -c "import json; print(json.load(open('body.json'))['generation'])")
curl -s "$URL/metrics" | grep -q "^profil_reloads_total{result=\"ok\"} $((GEN - 1))\$" && pass ||
    fail "reloads counted"
echo '{"format": "nonsense"}' >pol.json
kill -HUP "$PID"
sleep 0.5
expect_eq "$(code -H "$CT" -H "$AUTH" --data-binary @single0.json "$URL/v1/score")" 200 \
    "a failed reload keeps serving"
expect_grep "\"policy_id\":\"$NEW\"" body.json "the last good policy"
expect_grep "reload failed" main.log "the failed reload is logged"
if grep -q -e "$(sed -n 2p pop.csv | cut -d, -f1)" main.log; then fail "an id in the log"; else pass; fi

# 9. SIGTERM drains: a slow upload in flight is answered, then the server
#    exits 0 and the port is closed.
python3 -c "import json; r = json.load(open('single0.json')); json.dump([r] * 40, open('slow.json', 'w'))"
curl -s -o slow.out -w '%{http_code}' -H "$CT" -H "$AUTH" --limit-rate 8K \
    --data-binary @slow.json "$URL/v1/score" >slow.code &
SLOW=$!
sleep 1
kill -TERM "$PID"
wait "$SLOW"
wait "$PID"
expect_eq "$?" 0 "exit 0 after a complete drain"
expect_eq "$(cat slow.code)" 200 "the request in flight was answered"
expect_eq "$(python3 -c "import json; print(len(json.load(open('slow.out'))))")" 40 "all of it"
expect_grep "draining" main.log "drain logged"
expect_eq "$(code "$URL/healthz")" 000 "nothing listens after the drain"

# 10. TLS with a certificate made here; the same decisions over HTTPS.
cat >cert.cfg <<'EOF'
cn = "127.0.0.1"
ip_address = "127.0.0.1"
expiration_days = 2
tls_www_server
signing_key
encryption_key
EOF
if certtool --generate-privkey --key-type ecdsa --outfile key.pem 2>/dev/null &&
    certtool --generate-self-signed --load-privkey key.pem --template cert.cfg \
        --outfile cert.pem 2>/dev/null; then
    cp "$POLDIR/krom-2021-08.json" pol.json
    start tls --policy "$PWD/pol.json" --tls-cert cert.pem --tls-key key.pem || exit 1
    expect_eq "$(code --cacert cert.pem "https://127.0.0.1:$PORT/healthz")" 200 "HTTPS healthz"
    curl -s --cacert cert.pem -H "$CT" --data-binary @single0.json \
        "https://127.0.0.1:$PORT/v1/score" >tls.out
    if cmp -s tls.out <(head -1 batch.jsonl); then pass; else fail "HTTPS decision differs"; fi
    expect_eq "$(code "http://127.0.0.1:$PORT/healthz")" 000 "no plain HTTP on the TLS port"
    kill -TERM "$PID"
    wait "$PID"
else
    fail "certtool could not make a certificate"
fi

# 11. Setup errors: exit 2 and a reason.
expect_exit 2 "bad listen address" -- "$PROFIL" serve --listen nowhere --port 0
expect_grep "IPv4 or IPv6" err.txt "listen address named"
expect_exit 2 "missing token file" -- "$PROFIL" serve --port 0 --token-file nosuch.txt
expect_exit 2 "cert without key" -- "$PROFIL" serve --tls-cert cert.pem
finish
