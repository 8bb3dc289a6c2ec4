# Notifications over real HTTP (a fresh SQLite file, then a fresh PostgreSQL schema): an
# invitation to an email with a user notifies that user, its acceptance notifies the inviter;
# listing (?unread=1, cursor pagination), marking one and all read, another user's notification
# is 404; preferences (every type x channel, defaults filled in, PUT all-or-nothing with the
# unknown type or channel named; in_app off means no notification); anonymous 401.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/server_lib.sh"
login() { # login EMAIL -> the access token in $TOK
  as "" POST /api/v1/auth/login "{\"email\":\"$1\",\"password\":\"correct horse\"}"
  expect_eq "login $1" 200 "$CODE"
  TOK=$(jget "d['access_token']")
}
register() {
  as "" POST /api/v1/auth/register "{\"email\":\"$1\",\"name\":\"$2\",\"password\":\"correct horse\"}"
  expect_eq "register $1" 201 "$CODE"
}
invite() { # invite TOKEN ACCOUNT EMAIL -> invitation id in $ID
  as "$1" POST "/api/v1/accounts/$2/invitations" "{\"email\":\"$3\",\"role\":\"investor\"}"
  expect_eq "invite $3" 201 "$CODE"
  ID=$(jget "d['id']")
}

run_suite() { # run_suite DB LABEL
  local db=$1 L=$2
  start_server "$db" ATP_ADMIN_EMAIL="root@example.com" ATP_ADMIN_PASSWORD="correct horse"
  register alice@example.com Alice
  register bob@example.com Bob
  register carol@example.com Carol
  local at bt ct acc
  login alice@example.com; at=$TOK
  login bob@example.com; bt=$TOK
  login carol@example.com; ct=$TOK

  as "" GET /api/v1/notifications; expect_eq "$L: anonymous list" 401 "$CODE"
  as "" GET /api/v1/notifications/preferences; expect_eq "$L: anonymous prefs" 401 "$CODE"
  as "" POST /api/v1/notifications/read-all; expect_eq "$L: anonymous read-all" 401 "$CODE"
  as "$bt" GET /api/v1/notifications
  expect_eq "$L: empty list" 200 "$CODE"
  expect_json "$L: nothing yet" "len(d['items'])" 0

  # Invitations notify: the invitee (it has a user), then the inviter on acceptance.
  as "$at" POST /api/v1/accounts '{"name":"Alpha"}'
  acc=$(jget "d['id']")
  invite "$at" "$acc" BOB@example.com
  local inv1=$ID
  invite "$at" "$acc" nobody@example.com
  as "$bt" GET /api/v1/notifications
  expect_json "$L: invitee notified" "[(n['type'], n['read'], n['ts'].endswith('Z')) for n in d['items']]" "[('invitation.received', False, True)]"
  expect_json "$L: title names the account" "'Alpha' in d['items'][0]['title']" True
  as "$bt" POST "/api/v1/invitations/$inv1/accept"; expect_eq "$L: accept" 200 "$CODE"
  as "$at" GET /api/v1/notifications
  expect_json "$L: inviter notified" "[(n['type'], 'bob@example.com' in n['title']) for n in d['items']]" "[('invitation.accepted', True)]"

  # Pagination, unread, read one, read all; another user's is 404.
  local i
  for i in 1 2 3; do invite "$at" "$acc" "carol@example.com"; done
  as "$ct" GET "/api/v1/notifications?limit=2"
  expect_json "$L: page 1" "len(d['items']), 'next_cursor' in d" "2 True"
  local cur newest oldest
  cur=$(jget "d['next_cursor']")
  newest=$(jget "d['items'][0]['id']")
  as "$ct" GET "/api/v1/notifications?limit=2&cursor=$cur"
  expect_json "$L: page 2" "len(d['items']), 'next_cursor' in d" "1 False"
  oldest=$(jget "d['items'][0]['id']")
  [ "$newest" -gt "$oldest" ] && ok || bad "$L: newest first"
  as "$ct" GET "/api/v1/notifications?limit=0"; expect_eq "$L: bad limit" 422 "$CODE"
  as "$ct" GET "/api/v1/notifications?unread=maybe"; expect_eq "$L: bad unread" 422 "$CODE"
  expect_json "$L: unread named" "d['error']['field']" unread
  as "$bt" POST "/api/v1/notifications/$oldest/read"; expect_eq "$L: another user's notification" 404 "$CODE"
  as "$ct" POST "/api/v1/notifications/999999/read"; expect_eq "$L: absent notification" 404 "$CODE"
  as "$ct" POST "/api/v1/notifications/abc/read"; expect_eq "$L: malformed id" 404 "$CODE"
  as "$ct" POST "/api/v1/notifications/$oldest/read"
  expect_eq "$L: read one" 200 "$CODE"
  as "$ct" GET "/api/v1/notifications?unread=1"
  expect_json "$L: unread only" "len(d['items']), $oldest in [n['id'] for n in d['items']]" "2 False"
  as "$ct" POST /api/v1/notifications/read-all
  expect_eq "$L: read all" 200 "$CODE"
  expect_json "$L: read all count" "d['marked']" 2
  as "$ct" GET "/api/v1/notifications?unread=1"
  expect_json "$L: none unread" "len(d['items'])" 0
  as "$bt" GET "/api/v1/notifications?unread=1"
  expect_json "$L: another user's unread stay" "len(d['items'])" 1
  as "$at" GET "/api/v1/notifications?unread=true"
  expect_json "$L: inviter's unread stay" "len(d['items'])" 1

  # Preferences: every type x channel, defaults filled in.
  as "$ct" GET /api/v1/notifications/preferences
  expect_eq "$L: prefs" 200 "$CODE"
  expect_json "$L: every type x channel" "len(d['items']), len({(p['type'], p['channel']) for p in d['items']})" "24 24"
  expect_json "$L: defaults" "[(p['channel'], p['enabled'], p['delivered']) for p in d['items'] if p['type'] == 'security.lockout']" \
    "[('in_app', True, True), ('email', True, False), ('telegram', False, False)]"
  as "$ct" PUT /api/v1/notifications/preferences '{"items":[{"type":"order","channel":"telegram","enabled":true},{"type":"bogus","channel":"email","enabled":true}]}'
  expect_eq "$L: unknown type" 422 "$CODE"
  expect_json "$L: unknown type named" "d['error']['field'], 'bogus' in d['error']['message']" "items[1].type True"
  as "$ct" PUT /api/v1/notifications/preferences '{"items":[{"type":"order","channel":"pigeon","enabled":true}]}'
  expect_eq "$L: unknown channel" 422 "$CODE"
  expect_json "$L: unknown channel named" "d['error']['field'], 'pigeon' in d['error']['message']" "items[0].channel True"
  as "$ct" PUT /api/v1/notifications/preferences '{"items":[{"type":"order","channel":"email","enabled":"yes"}]}'
  expect_eq "$L: enabled not a boolean" 422 "$CODE"
  as "$ct" PUT /api/v1/notifications/preferences '{"items":{}}'
  expect_eq "$L: items not an array" 400 "$CODE"
  as "$ct" GET /api/v1/notifications/preferences
  expect_json "$L: a refused PUT changed nothing" "[p['enabled'] for p in d['items'] if p['type'] == 'order' and p['channel'] == 'telegram']" "[False]"
  as "$ct" PUT /api/v1/notifications/preferences '{"items":[{"type":"order","channel":"telegram","enabled":true},{"type":"invitation.received","channel":"in_app","enabled":false}]}'
  expect_eq "$L: set prefs" 200 "$CODE"
  expect_json "$L: set and kept" "sorted((p['type'], p['channel']) for p in d['items'] if p['enabled'] != (p['channel'] == 'in_app' or (p['channel'] == 'email' and p['type'].startswith('security'))))" \
    "[('invitation.received', 'in_app'), ('order', 'telegram')]"
  # in_app off: no notification stored.
  invite "$at" "$acc" "carol@example.com"
  as "$ct" GET "/api/v1/notifications?unread=1"
  expect_json "$L: in_app off honoured" "len(d['items'])" 0
  as "$ct" PUT /api/v1/notifications/preferences '{"items":[{"type":"invitation.received","channel":"in_app","enabled":true}]}'
  invite "$at" "$acc" "carol@example.com"
  as "$ct" GET "/api/v1/notifications?unread=1"
  expect_json "$L: in_app on again" "len(d['items'])" 1
  stop_server
}

run_suite "sqlite:$TMP/notif.db" sqlite
if [ -n "${ATP_TEST_PG_URL:-}" ]; then
  pg_schema_url "t_notif_$$"
  run_suite "$PG_URL" pg
fi

finish
