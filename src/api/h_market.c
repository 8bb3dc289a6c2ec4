/* api/h_market: market-data routes (see h_market.h). Candles, quotes and instruments are written
 * as JSON text directly: prices must print exactly (px_format), which jansson's reals cannot. */
#include "api/h_market.h"

#include "api/hutil.h"
#include "api/jbuf.h"
#include "api/json_err.h"
#include "api/market.h"
#include "api/request.h"
#include "core/alloc.h"
#include "md/engine.h"
#include "md/feed.h"
#include "md/indicator.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* ---- a small JSON text builder ------------------------------------------------------------ */

static void jb_time(struct jbuf *b, ts_ns t)
{
    char iso[TS_STR_MAX];
    ts_format_ist(t, iso, sizeof iso);
    jbuf_printf(b, "\"time\":\"%s\",\"ts_ns\":%lld", iso, (long long)t);
}

static void jb_bar(struct jbuf *b, const struct bar *bar)
{
    jbuf_printf(b, "{");
    jb_time(b, bar->start);
    jbuf_printf(b, ",\"open\":");
    jbuf_px(b, bar->open);
    jbuf_printf(b, ",\"high\":");
    jbuf_px(b, bar->high);
    jbuf_printf(b, ",\"low\":");
    jbuf_px(b, bar->low);
    jbuf_printf(b, ",\"close\":");
    jbuf_px(b, bar->close);
    jbuf_printf(b, ",\"volume\":%lld,\"ticks\":%u}", (long long)bar->volume, bar->ticks);
}

size_t h_market_bar_json(const struct bar *bar, char *out, size_t size)
{
    struct jbuf b = {0};
    jb_bar(&b, bar);
    size_t n = b.len;
    char *text = jbuf_take(&b);
    if (!text || n >= size)
        n = 0;
    else
        memcpy(out, text, n + 1);
    atp_free(text);
    return n;
}

/* Client text for an error message: printable ASCII kept, anything else (control bytes, invalid
 * or any non-ASCII UTF-8) as '?', cut to fit; so the message is always valid JSON text. */
static const char *echo(const char *in, char *out, size_t size)
{
    size_t n = 0;
    for (; in[n] && n + 1 < size; n++)
        out[n] = in[n] >= 0x20 && in[n] < 0x7f ? in[n] : '?';
    out[n] = 0;
    return out;
}

/* ---- common parameter checks -------------------------------------------------------------- */

static struct api_market *need_market(struct api_response *res)
{
    struct api_market *m = api_market_current();
    if (!m)
        api_error(res, 503, "market_unavailable", NULL,
                  "this server runs without market data (atp serve --feed none)");
    return m;
}

/* Query parameter name into out; 0 absent, 1 present, -1 answered (400 naming it). */
static int query(struct api_request *req, struct api_response *res, const char *name, char *out, size_t size)
{
    int rc = api_query_get(req->query ? req->query : "", name, out, size);
    if (rc == ATP_ENOTFOUND)
        return 0;
    if (rc != ATP_OK) {
        api_error(res, 422, "invalid_query", name,
                  rc == ATP_ERANGE ? "%s is too long (at most %zu bytes)" : "%s is not a valid query value", name,
                  size - 1);
        return -1;
    }
    return 1;
}

/* An integer query parameter in [min, max], def when absent; 0 ok, -1 answered. */
static int query_int(struct api_request *req, struct api_response *res, const char *name, long def, long min,
                     long max, long *out)
{
    char text[24];
    int rc = query(req, res, name, text, sizeof text);
    if (rc < 0)
        return -1;
    *out = def;
    if (rc == 0)
        return 0;
    char *end;
    long v = strtol(text, &end, 10);
    if (!*text || *end || v < min || v > max) {
        char shown[24];
        api_error(res, 422, "invalid_query", name, "%s must be an integer in %ld..%ld, not '%s'", name, min, max,
                  echo(text, shown, sizeof shown));
        return -1;
    }
    *out = v;
    return 0;
}

/* The symbol of the request (required): its instrument, or NULL after answering 400/422. code:
 * invalid_query for a query parameter, invalid_field for a body field. */
static const struct instrument *symbol_of(const struct api_market *m, struct api_response *res, const char *text,
                                          int present, const char *code)
{
    if (!present || !*text) {
        api_error(res, 400, code, "symbol", "symbol is required (e.g. symbol=RELIANCE)");
        return NULL;
    }
    /* Standard symbols are upper case; "tcs" means TCS. */
    char upper[INST_SYMBOL_MAX];
    size_t i = 0;
    for (; text[i] && i < sizeof upper - 1; i++)
        upper[i] = (char)toupper((unsigned char)text[i]);
    upper[i] = 0;
    const struct instrument *in = text[i] ? NULL : instreg_find(api_market_registry(m), upper);
    char shown[INST_SYMBOL_MAX];
    if (!in)
        api_error(res, 422, code, "symbol", "unknown symbol '%s' (GET /api/v1/instruments?q= searches)",
                  echo(text, shown, sizeof shown));
    return in;
}

/* The timeframe (default 1m); 0 ok, -1 answered. */
static int tf_of(struct api_response *res, const char *text, int present, const char *code, enum tf *out)
{
    *out = TF_1M;
    if (present && tf_parse(text, out) != ATP_OK) {
        char shown[16];
        api_error(res, 422, code, "tf", "unknown timeframe '%s' (1m 3m 5m 15m 30m 1h 1d)",
                  echo(text, shown, sizeof shown));
        return -1;
    }
    return 0;
}

/* ---- instruments --------------------------------------------------------------------------- */

/* Case-insensitive substring test. */
static int contains_ci(const char *hay, const char *needle, size_t nlen)
{
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, nlen) == 0)
            return 1;
    return 0;
}

static void instrument_json(struct jbuf *b, const struct instrument *in)
{
    jbuf_printf(b, "{\"id\":%u,\"symbol\":", in->id);
    jbuf_str(b, in->symbol);
    jbuf_printf(b, ",\"exchange\":\"%s\",\"type\":\"%s\",\"name\":", exchange_name(in->exchange),
              inst_type_name(in->type));
    jbuf_str(b, in->name);
    jbuf_printf(b, ",\"lot_size\":%lld,\"tick_size\":", (long long)in->lot_size);
    jbuf_px(b, in->tick_size);
    if (in->underlying[0]) {
        jbuf_printf(b, ",\"underlying\":");
        jbuf_str(b, in->underlying);
    }
    if (in->expiry_day >= 0) {
        char d[TS_STR_MAX];
        ts_format_ist_date(ts_ist_midnight(in->expiry_day), d, sizeof d);
        jbuf_printf(b, ",\"expiry\":\"%s\"", d);
    }
    if (in->type == INST_CE || in->type == INST_PE) {
        jbuf_printf(b, ",\"strike\":");
        jbuf_px(b, in->strike);
    }
    jbuf_printf(b, "}");
}

/* Ranks: the exact symbol first, then symbols starting with q, then any symbol or name holding
 * it; registry order within a rank (so the answer is stable). */
void h_instruments_search(struct api_request *req, struct api_response *res)
{
    struct api_market *m = need_market(res);
    char q[INST_NAME_MAX];
    long limit;
    int has_q;
    if (!m || (has_q = query(req, res, "q", q, sizeof q)) < 0 ||
        query_int(req, res, "limit", 20, 1, 100, &limit) < 0)
        return;
    if (!has_q)
        q[0] = 0;
    const struct instreg *reg = api_market_registry(m);
    size_t n = instreg_count(reg), qlen = strlen(q), found = 0;
    struct jbuf b = {0};
    jbuf_printf(&b, "{\"items\":[");
    for (int rank = 0; rank < 3 && found < (size_t)limit; rank++) {
        for (size_t i = 0; i < n && found < (size_t)limit; i++) {
            const struct instrument *in = instreg_get(reg, (uint32_t)i);
            int exact = strcasecmp(in->symbol, q) == 0;
            int prefix = !exact && strncasecmp(in->symbol, q, qlen) == 0;
            int inside = !exact && !prefix && (contains_ci(in->symbol, q, qlen) || contains_ci(in->name, q, qlen));
            if ((rank == 0 && exact) || (rank == 1 && prefix) || (rank == 2 && inside)) {
                jbuf_printf(&b, "%s", found ? "," : "");
                instrument_json(&b, in);
                found++;
            }
        }
    }
    jbuf_printf(&b, "],\"count\":%zu}", found);
    jbuf_send(&b, res, 200);
}

/* ---- candles and quote --------------------------------------------------------------------- */

void h_market_candles(struct api_request *req, struct api_response *res)
{
    struct api_market *m = need_market(res);
    char sym[INST_SYMBOL_MAX + 16], tfname[16];
    int has_sym, has_tf;
    long count;
    enum tf tf;
    const struct instrument *in;
    if (!m || (has_sym = query(req, res, "symbol", sym, sizeof sym)) < 0 ||
        !(in = symbol_of(m, res, sym, has_sym, "invalid_query")) ||
        (has_tf = query(req, res, "tf", tfname, sizeof tfname)) < 0 || tf_of(res, tfname, has_tf, "invalid_query", &tf) < 0 ||
        query_int(req, res, "count", 100, 1, H_MARKET_CANDLES_MAX, &count) < 0)
        return;
    struct bar *bars = atp_malloc(sizeof *bars * (size_t)count), forming;
    if (!bars) {
        api_error(res, 500, "internal", NULL, "out of memory");
        return;
    }
    uint32_t n;
    int has_forming;
    api_market_candles(m, in->id, tf, (uint32_t)count, bars, &n, &forming, &has_forming);
    struct jbuf b = {0};
    jbuf_printf(&b, "{\"symbol\":");
    jbuf_str(&b, in->symbol);
    jbuf_printf(&b, ",\"tf\":\"%s\",\"count\":%u,\"items\":[", tf_name(tf), n);
    for (uint32_t i = 0; i < n; i++) {
        jbuf_printf(&b, "%s", i ? "," : "");
        jb_bar(&b, &bars[i]);
    }
    jbuf_printf(&b, "],\"forming\":");
    if (has_forming)
        jb_bar(&b, &forming);
    else
        jbuf_printf(&b, "null");
    jbuf_printf(&b, "}");
    atp_free(bars);
    jbuf_send(&b, res, 200);
}

void h_market_quote(struct api_request *req, struct api_response *res)
{
    struct api_market *m = need_market(res);
    char sym[INST_SYMBOL_MAX + 16];
    int has_sym;
    const struct instrument *in;
    if (!m || (has_sym = query(req, res, "symbol", sym, sizeof sym)) < 0 ||
        !(in = symbol_of(m, res, sym, has_sym, "invalid_query")))
        return;
    struct api_market_quote qt;
    api_market_quote(m, in->id, &qt);
    struct jbuf b = {0};
    jbuf_printf(&b, "{\"symbol\":");
    jbuf_str(&b, in->symbol);
    if (!qt.has_data) {
        jbuf_printf(&b, ",\"last\":null,\"time\":null,\"ts_ns\":null,\"day\":null}");
        jbuf_send(&b, res, 200);
        return;
    }
    char day[TS_STR_MAX];
    ts_format_ist_date(qt.day.start, day, sizeof day);
    jbuf_printf(&b, ",\"last\":");
    jbuf_px(&b, qt.last);
    jbuf_printf(&b, ",");
    jb_time(&b, qt.ts);
    jbuf_printf(&b, ",\"day\":{\"date\":\"%s\",\"open\":", day);
    jbuf_px(&b, qt.day.open);
    jbuf_printf(&b, ",\"high\":");
    jbuf_px(&b, qt.day.high);
    jbuf_printf(&b, ",\"low\":");
    jbuf_px(&b, qt.day.low);
    jbuf_printf(&b, ",\"close\":");
    jbuf_px(&b, qt.day.close);
    jbuf_printf(&b, ",\"volume\":%lld}}", (long long)qt.day.volume);
    jbuf_send(&b, res, 200);
}

void h_admin_market_status(struct api_request *req, struct api_response *res)
{
    (void)req;
    struct api_market *m = need_market(res);
    if (!m)
        return;
    struct api_market_status st;
    api_market_status(m, &st);
    struct jbuf b = {0};
    jbuf_printf(&b, "{\"feed\":\"%s\",\"speed\":%g,\"state\":\"%s\",", st.feed, st.speed,
              st.stopped ? "stopped" : st.ended ? "ended" : st.paused ? "paused" : "running");
    if (st.market_ts == FEED_TS_UNKNOWN || st.market_ts <= 0)
        jbuf_printf(&b, "\"time\":null,\"ts_ns\":null");
    else
        jb_time(&b, st.market_ts);
    jbuf_printf(&b, ",\"progress\":%.6f,\"items\":%llu,\"ticks_accepted\":%llu,\"bars_completed\":%llu}", st.progress,
              (unsigned long long)st.items, (unsigned long long)st.ticks_accepted,
              (unsigned long long)st.bars_completed);
    jbuf_send(&b, res, 200);
}

/* Audits a control action (admin, no account) when there is a store. */
static void audit_control(struct api_request *req, const char *action, json_t *details)
{
    struct hutil_actor who = hutil_actor_of(req);
    if (req->store)
        hutil_audit(req->store, &who, 0, action, "market", "ok", details);
    else
        json_decref(details);
}

void h_admin_market_pause(struct api_request *req, struct api_response *res)
{
    struct api_market *m = need_market(res);
    if (!m)
        return;
    api_market_pause(m);
    audit_control(req, "market.pause", NULL);
    h_admin_market_status(req, res);
}

void h_admin_market_resume(struct api_request *req, struct api_response *res)
{
    struct api_market *m = need_market(res);
    if (!m)
        return;
    api_market_resume(m);
    audit_control(req, "market.resume", NULL);
    h_admin_market_status(req, res);
}

const struct api_field h_admin_market_speed_body[] = {
    {"speed", API_FT_STRING, 1, 16, "market time per wall time: 0.5..100, or max (a replay as fast as possible)"},
    {NULL, 0, 0, 0, NULL},
};

/* The speed text of a control body: 0.5..100, or "max" (0). 1 when valid. */
static int speed_of(const char *text, double *out)
{
    if (strcmp(text, "max") == 0)
        return *out = 0, 1;
    char *end;
    double speed = strtod(text, &end);
    *out = speed;
    return *text && !*end && isfinite(speed) && speed != 0;
}

static void bad_speed(struct api_response *res, const char *text)
{
    char shown[16];
    api_error(res, 422, "invalid_field", "speed", "speed must be 0.5..100 or max (max: replays only), not '%s'",
              echo(text, shown, sizeof shown));
}

void h_admin_market_speed(struct api_request *req, struct api_response *res)
{
    struct api_market *m = need_market(res);
    if (!m)
        return;
    const char *text = json_string_value(json_object_get(req->json, "speed"));
    double speed;
    struct atp_err err;
    atp_err_clear(&err);
    if (!speed_of(text, &speed) || api_market_set_speed(m, speed, &err) != ATP_OK) {
        bad_speed(res, text);
        return;
    }
    audit_control(req, "market.speed", json_pack("{s:f}", "speed", speed));
    h_admin_market_status(req, res);
}

const struct api_field h_admin_market_start_body[] = {
    {"mode", API_FT_STRING, 1, 16, "synthetic (the simulator) or replay (a tick CSV)"},
    {"file", API_FT_STRING, 0, 255, "replay: the tick CSV, a path relative to ATP_REPLAY_DIR (default var/replay)"},
    {"symbols", API_FT_ARRAY, 0, API_MARKET_SYMBOLS_MAX, "synthetic: symbols to simulate (default: NIFTY and ten large caps)"},
    {"from", API_FT_STRING, 0, 10, "synthetic: first day, YYYY-MM-DD (default: the market's current day)"},
    {"days", API_FT_INT, 0, 0, "synthetic: trading days to play, 0..3650 (default 0: no end)"},
    {"speed", API_FT_STRING, 0, 16, "0.5..100, or max (replays only); default: the current speed"},
    {"seed", API_FT_INT, 0, 0, "synthetic: the simulator's seed (default 42)"},
    {NULL, 0, 0, 0, NULL},
};

/* A replay path for the start body: relative, no "..", under ATP_REPLAY_DIR (so an admin's
 * request reads only the files put there for replay, not anything the server can read). */
static int replay_path(const char *file, char *out, size_t size)
{
    if (!*file || file[0] == '/' || strstr(file, "..") || strlen(file) > 255)
        return 0;
    const char *dir = getenv("ATP_REPLAY_DIR");
    int n = snprintf(out, size, "%s/%s", dir && *dir ? dir : "var/replay", file);
    return n > 0 && (size_t)n < size;
}

void h_admin_market_start(struct api_request *req, struct api_response *res)
{
    struct api_market *m = need_market(res);
    if (!m)
        return;
    struct api_market_feed_spec *spec = atp_calloc(1, sizeof *spec);
    if (!spec) {
        api_error(res, 500, "internal", NULL, "out of memory");
        return;
    }
    const char *mode = json_string_value(json_object_get(req->json, "mode"));
    char shown[64];
    struct api_market_status st;
    api_market_status(m, &st);
    spec->speed = st.speed;
    spec->seed = 42;
    spec->synthetic = strcmp(mode, "synthetic") == 0;
    json_t *v;
    if (!spec->synthetic && strcmp(mode, "replay") != 0) {
        api_error(res, 422, "invalid_field", "mode", "mode must be synthetic or replay, not '%s'",
                  echo(mode, shown, sizeof shown));
        goto out;
    }
    if ((v = json_object_get(req->json, "speed")) && !speed_of(json_string_value(v), &spec->speed)) {
        bad_speed(res, json_string_value(v));
        goto out;
    }
    if (!spec->synthetic) {
        const char *file = json_string_value(json_object_get(req->json, "file"));
        if (!file) {
            api_error(res, 400, "missing_field", "file", "a replay needs file (a tick CSV under ATP_REPLAY_DIR)");
            goto out;
        }
        if (!replay_path(file, spec->file, sizeof spec->file)) {
            api_error(res, 422, "invalid_field", "file", "file must be a relative path without '..' (under ATP_REPLAY_DIR)");
            goto out;
        }
    } else {
        size_t i;
        json_array_foreach(json_object_get(req->json, "symbols"), i, v) {
            const char *sym = json_string_value(v);
            char field[48], upper[INST_SYMBOL_MAX];
            size_t k = 0;
            for (; sym && sym[k] && k < sizeof upper - 1; k++) /* "tcs" means TCS, as elsewhere */
                upper[k] = (char)toupper((unsigned char)sym[k]);
            upper[k] = 0;
            const struct instrument *in = sym && !sym[k] ? instreg_find(api_market_registry(m), upper) : NULL;
            snprintf(field, sizeof field, "symbols[%zu]", i);
            if (!in) {
                api_error(res, 422, "invalid_field", field, "unknown symbol '%s' (GET /api/v1/instruments?q= searches)",
                          echo(sym ? sym : "(not a string)", shown, sizeof shown));
                goto out;
            }
            snprintf(spec->symbols[spec->n_symbols++], API_MARKET_SYMBOL_LEN, "%s", in->symbol);
        }
        const char *from = json_string_value(json_object_get(req->json, "from"));
        ts_ns from_ts = st.market_ts != FEED_TS_UNKNOWN && st.market_ts > 0 ? st.market_ts : 0;
        int date_only = 0;
        if (from && (ts_parse(from, strlen(from), &from_ts, &date_only, NULL) != ATP_OK || !date_only)) {
            api_error(res, 422, "invalid_field", "from", "from must be a date, YYYY-MM-DD, not '%s'",
                      echo(from, shown, sizeof shown));
            goto out;
        }
        spec->from_day = from_ts ? ts_ist_day(from_ts) : ts_ist_day((ts_ns)time(NULL) * TS_NS_PER_SEC);
        json_int_t days = json_integer_value(json_object_get(req->json, "days"));
        if (days < 0 || days > 3650) {
            api_error(res, 422, "invalid_field", "days", "days must be 0..3650 (0: no end), not %lld", (long long)days);
            goto out;
        }
        spec->days = (int)days;
        if (spec->speed == 0 && !json_object_get(req->json, "speed"))
            spec->speed = 60; /* from a replay played at max: the simulator's default pace */
        if ((v = json_object_get(req->json, "seed")))
            spec->seed = (uint64_t)json_integer_value(v);
    }
    struct atp_err err;
    atp_err_clear(&err);
    int rc = api_market_feed_start(m, spec, &err);
    if (rc != ATP_OK) {
        char msg[400];
        echo(err.msg, msg, sizeof msg);
        if (rc == ATP_ESTATE)
            api_error(res, 409, "conflict", err.field[0] ? err.field : NULL, "%s", msg);
        else
            api_error(res, 422, "invalid_field", spec->synthetic ? (err.field[0] ? err.field : "symbols") : "file",
                      "%s", msg);
        goto out;
    }
    audit_control(req, "market.start",
                  json_pack("{s:s,s:s,s:f}", "mode", mode, "file", spec->synthetic ? "" : spec->file, "speed", spec->speed));
    h_admin_market_status(req, res);
out:
    atp_free(spec);
}

void h_admin_market_stop(struct api_request *req, struct api_response *res)
{
    struct api_market *m = need_market(res);
    if (!m)
        return;
    api_market_feed_stop(m);
    audit_control(req, "market.stop", NULL);
    h_admin_market_status(req, res);
}

const struct api_field h_admin_market_seek_body[] = {
    {"to", API_FT_STRING, 1, 40, "market time to jump to (ISO 8601, e.g. 2026-11-23T11:00:00+05:30): forward only"},
    {NULL, 0, 0, 0, NULL},
};

void h_admin_market_seek(struct api_request *req, struct api_response *res)
{
    struct api_market *m = need_market(res);
    if (!m)
        return;
    const char *to = json_string_value(json_object_get(req->json, "to"));
    ts_ns ts;
    char shown[48];
    if (ts_parse(to, strlen(to), &ts, NULL, NULL) != ATP_OK) {
        api_error(res, 422, "invalid_field", "to", "to must be a time (ISO 8601), not '%s'", echo(to, shown, sizeof shown));
        return;
    }
    struct atp_err err;
    atp_err_clear(&err);
    if (api_market_seek(m, ts, &err) != ATP_OK) {
        char msg[400];
        api_error(res, 409, "conflict", "to", "%s", echo(err.msg, msg, sizeof msg));
        return;
    }
    audit_control(req, "market.seek", json_pack("{s:s}", "to", to));
    h_admin_market_status(req, res);
}

/* ---- indicators ---------------------------------------------------------------------------- */

json_t *h_market_params_json(const struct atp_param_def *defs, int n)
{
    json_t *params = json_array();
    for (int i = 0; params && i < n; i++) {
        const struct atp_param_def *p = &defs[i];
        int is_int = p->type == ATP_PARAM_INT;
        json_array_append_new(params, json_pack("{s:s, s:s, s:o, s:o, s:o, s:s}", "name", p->name, "type",
                                                is_int ? "int" : "double",
                                                "default", is_int ? json_integer((json_int_t)p->def) : json_real(p->def),
                                                "min", is_int ? json_integer((json_int_t)p->min) : json_real(p->min),
                                                "max", is_int ? json_integer((json_int_t)p->max) : json_real(p->max),
                                                "description", p->description ? p->description : ""));
    }
    return params;
}

static json_t *indicator_json(const struct atp_indicator_def *d)
{
    json_t *params = h_market_params_json(d->params, d->n_params), *outputs = json_array();
    for (int i = 0; i < d->n_outputs; i++)
        json_array_append_new(outputs, json_string(d->outputs[i]));
    return json_pack("{s:s, s:s, s:o, s:o}", "name", d->name, "description", d->description ? d->description : "",
                     "params", params, "outputs", outputs);
}

void h_indicators_list(struct api_request *req, struct api_response *res)
{
    (void)req;
    json_t *items = json_array();
    for (size_t i = 0; i < ind_catalog_count(); i++)
        json_array_append_new(items, indicator_json(ind_catalog_get(i)));
    res->json = json_pack("{s:o}", "items", items);
}

const struct api_field h_indicators_calculate_body[] = {
    {"symbol", API_FT_STRING, 0, INST_SYMBOL_MAX, "over the stored candles of this symbol (or give series)"},
    {"tf", API_FT_STRING, 0, 8, "timeframe of the stored candles (default 1m)"},
    {"params", API_FT_OBJECT, 0, 0, "parameter values by name, e.g. {\"period\":20}; defaults for the rest"},
    {"series", API_FT_ARRAY, 0, H_MARKET_SERIES_MAX,
     "bars to compute over instead, oldest first: numbers (closes) or objects {open, high, low, close, volume}"},
    {"count", API_FT_INT, 0, 0, "return only the last count values (default all)"},
    {NULL, 0, 0, 0, NULL},
};

/* One element of a posted series into *out; 0 ok, -1 answered (422 naming series[i].field). */
static int series_bar(json_t *v, size_t i, struct atp_bar_in *out, struct api_response *res)
{
    memset(out, 0, sizeof *out);
    if (json_is_number(v)) {
        out->open = out->high = out->low = out->close = json_number_value(v);
    } else if (json_is_object(v)) {
        static const char *const keys[] = {"open", "high", "low", "close", "volume"};
        double *dst[] = {&out->open, &out->high, &out->low, &out->close, &out->volume};
        const char *key;
        json_t *x;
        json_object_foreach(v, key, x) {
            size_t k = 0;
            while (k < 5 && strcmp(keys[k], key) != 0)
                k++;
            if (k == 5) {
                api_error(res, 422, "invalid_field", "series", "series[%zu]: unknown field '%.40s'", i, key);
                return -1;
            }
        }
        for (size_t k = 0; k < 5; k++) {
            x = json_object_get(v, keys[k]);
            if (!x && k < 4) {
                api_error(res, 422, "invalid_field", "series", "series[%zu].%s is required", i, keys[k]);
                return -1;
            }
            if (x && !json_is_number(x)) {
                api_error(res, 422, "invalid_field", "series", "series[%zu].%s must be a number", i, keys[k]);
                return -1;
            }
            *dst[k] = x ? json_number_value(x) : 0;
        }
        if (!(out->low <= out->open && out->low <= out->close && out->high >= out->open && out->high >= out->close &&
              out->volume >= 0)) {
            api_error(res, 422, "invalid_field", "series",
                      "series[%zu]: low <= open, close <= high and volume >= 0 must hold", i);
            return -1;
        }
    } else {
        api_error(res, 422, "invalid_field", "series", "series[%zu] must be a number or an object", i);
        return -1;
    }
    if (!isfinite(out->open) || !isfinite(out->high) || !isfinite(out->low) || !isfinite(out->close) ||
        !isfinite(out->volume)) {
        api_error(res, 422, "invalid_field", "series", "series[%zu] must be finite", i);
        return -1;
    }
    out->ts_ns = (int64_t)i;
    return 0;
}

static json_t *num_or_null(double v) { return isfinite(v) ? json_real(v) : json_null(); }

void h_indicators_calculate(struct api_request *req, struct api_response *res)
{
    const char *name = api_param(req, "name");
    const struct atp_indicator_def *def = ind_find(name ? name : "");
    if (!def) {
        char shown[API_PARAM_MAX];
        api_error(res, 404, "not_found", "name", "unknown indicator '%s' (GET /api/v1/indicators lists them)",
                  echo(name ? name : "", shown, sizeof shown));
        return;
    }
    json_t *body = req->json;
    json_t *jsym = json_object_get(body, "symbol"), *jtf = json_object_get(body, "tf");
    json_t *jparams = json_object_get(body, "params"), *jseries = json_object_get(body, "series");
    json_t *jcount = json_object_get(body, "count");
    if ((jsym != NULL) == (jseries != NULL)) {
        api_error(res, 400, "invalid_field", "symbol",
                  jsym ? "symbol (stored candles) and series exclude each other: give one"
                       : "symbol or series is required");
        return;
    }
    if (jseries && jtf) {
        api_error(res, 422, "invalid_field", "tf", "tf applies to a symbol's stored candles, not to a series");
        return;
    }
    long count = jcount ? (long)json_integer_value(jcount) : -1;
    if (jcount && (count < 1 || count > H_MARKET_SERIES_MAX)) {
        api_error(res, 422, "invalid_field", "count", "count must be in 1..%d", H_MARKET_SERIES_MAX);
        return;
    }
    /* Parameters: names as given; the registry checks names, types and bounds. */
    struct ind_param given[PARAMS_MAX];
    int n_given = 0;
    const char *key;
    json_t *v;
    json_object_foreach(jparams, key, v) {
        if (n_given == PARAMS_MAX) {
            api_error(res, 422, "invalid_field", "params", "at most %d params", PARAMS_MAX);
            return;
        }
        if (!json_is_number(v)) {
            char field[80];
            snprintf(field, sizeof field, "params.%.60s", key);
            api_error(res, 422, "invalid_field", field, "%s must be a number", field);
            return;
        }
        given[n_given++] = (struct ind_param){key, json_number_value(v)};
    }
    struct atp_err err;
    atp_err_clear(&err);
    struct ind *ind = NULL;
    int rc = ind_new(def->name, given, n_given, &ind, &err);
    if (rc != ATP_OK) {
        char field[80];
        snprintf(field, sizeof field, "params%s%s", err.field[0] ? "." : "", err.field);
        if (rc == ATP_ENOMEM)
            api_error(res, 500, "internal", NULL, "out of memory");
        else
            api_error(res, 422, "invalid_field", field, "%s", err.msg);
        return;
    }
    /* The input bars: a copy of the stored candles (taken under the market's lock, then
     * computed without it) or the posted series. */
    size_t n = 0;
    struct atp_bar_in *in = NULL;
    ts_ns *times = NULL;
    const struct instrument *inst = NULL;
    enum tf tf = TF_1M;
    if (jsym) {
        struct api_market *m = need_market(res);
        if (!m || !(inst = symbol_of(m, res, json_string_value(jsym), 1, "invalid_field")) ||
            tf_of(res, jtf ? json_string_value(jtf) : "", jtf != NULL, "invalid_field", &tf) < 0)
            goto out;
        struct bar *bars = atp_malloc(sizeof *bars * CANDLES_KEEP), forming;
        in = atp_malloc(sizeof *in * CANDLES_KEEP);
        times = atp_malloc(sizeof *times * CANDLES_KEEP);
        if (!bars || !in || !times) {
            atp_free(bars);
            api_error(res, 500, "internal", NULL, "out of memory");
            goto out;
        }
        uint32_t got;
        int has_forming;
        api_market_candles(m, inst->id, tf, CANDLES_KEEP, bars, &got, &forming, &has_forming);
        for (uint32_t i = 0; i < got; i++) {
            md_bar_to_ind(&bars[i], &in[i]);
            times[i] = bars[i].start;
        }
        n = got;
        atp_free(bars);
    } else {
        size_t len = json_array_size(jseries);
        in = atp_malloc(sizeof *in * (len ? len : 1));
        if (!in) {
            api_error(res, 500, "internal", NULL, "out of memory");
            goto out;
        }
        for (size_t i = 0; i < len; i++)
            if (series_bar(json_array_get(jseries, i), i, &in[i], res) < 0)
                goto out;
        n = len;
    }
    size_t first = count > 0 && (size_t)count < n ? n - (size_t)count : 0;
    json_t *items = json_array(), *params = json_object();
    const double *pv = ind_params(ind);
    for (int i = 0; i < def->n_params; i++)
        json_object_set_new(params, def->params[i].name, def->params[i].type == ATP_PARAM_INT
                                                             ? json_integer((json_int_t)pv[i])
                                                             : json_real(pv[i]));
    for (size_t i = 0; i < n; i++) {
        double out[ATP_IND_MAX_OUTPUTS];
        ind_update(ind, &in[i], out); /* an output not warmed up yet is NAN: null below */
        if (i < first)
            continue;
        json_t *vals = json_array();
        for (int k = 0; k < def->n_outputs; k++)
            json_array_append_new(vals, num_or_null(out[k]));
        json_t *item = json_pack("{s:o}", "values", vals);
        if (times) {
            char iso[TS_STR_MAX];
            ts_format_ist(times[i], iso, sizeof iso);
            json_object_set_new(item, "time", json_string(iso));
            json_object_set_new(item, "ts_ns", json_integer((json_int_t)times[i]));
        } else {
            json_object_set_new(item, "index", json_integer((json_int_t)i));
        }
        json_array_append_new(items, item);
    }
    json_t *outputs = json_array();
    for (int k = 0; k < def->n_outputs; k++)
        json_array_append_new(outputs, json_string(def->outputs[k]));
    res->json = json_pack("{s:s, s:o, s:o, s:i, s:I, s:o}", "name", def->name, "params", params, "outputs", outputs,
                          "lookback", def->lookback ? def->lookback(pv) : 0, "bars", (json_int_t)n, "items", items);
    if (inst && res->json) {
        json_object_set_new(res->json, "symbol", json_string(inst->symbol));
        json_object_set_new(res->json, "tf", json_string(tf_name(tf)));
    }
out:
    atp_free(in);
    atp_free(times);
    ind_free(ind);
}
