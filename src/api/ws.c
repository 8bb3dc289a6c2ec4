/* api/ws: the WebSocket hub (see ws.h). */
#include "api/ws.h"
#include "api/ownership.h"

#include "api/authn.h"
#include "api/events.h"
#include "api/h_accounts.h"
#include "api/h_market.h"
#include "api/http.h"
#include "api/market.h"
#include "api/policy.h"
#include "api/router.h"
#include "api/ws_msg.h"
#include "auth/jwt.h"
#include "core/alloc.h"
#include "core/log.h"
#include "md/feed.h"

#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define N_BUCKETS 1024
#define RECHECK_PER_S 200 /* sockets re-checked per second at most (store reads on the io thread) */

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---- growable text ------------------------------------------------------------------------ */

struct text {
    char *p;
    size_t len, cap;
    int failed;
};

static void tx_add(struct text *t, const char *s, size_t n)
{
    if (t->failed)
        return;
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 256;
        while (cap < t->len + n + 1)
            cap *= 2;
        char *p = atp_realloc(t->p, cap);
        if (!p) {
            t->failed = 1;
            return;
        }
        t->p = p;
        t->cap = cap;
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = 0;
}

static void tx_printf(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tx_printf(struct text *t, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        t->failed = 1;
        return;
    }
    if ((size_t)n < sizeof small) {
        tx_add(t, small, (size_t)n);
        return;
    }
    char *big = atp_malloc((size_t)n + 1);
    if (!big) {
        t->failed = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    tx_add(t, big, (size_t)n);
    atp_free(big);
}

/* A JSON string literal of s (our own names and registry symbols: ASCII; control bytes, quotes
 * and backslashes escaped anyway). */
static void tx_str(struct text *t, const char *s)
{
    tx_add(t, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            tx_add(t, e, 2);
        } else if (c < 0x20) {
            tx_printf(t, "\\u%04x", c);
        } else {
            tx_add(t, s, 1);
        }
    }
    tx_add(t, "\"", 1);
}

/* ---- the hub's data ----------------------------------------------------------------------- */

/* One queued outgoing message, with lws's LWS_PRE head room before the text. */
struct out_msg {
    struct out_msg *next;
    size_t len;
    unsigned char buf[]; /* LWS_PRE + len */
};

struct conn;
struct sub;

/* A stream: what one subscription key publishes (market symbol, chart symbol+tf, an account's
 * channel, a user's notifications, the system channel). It carries the channel's sequence number,
 * counted whether anyone listens or not (so a client that reconnects sees from the ack's seq that
 * it missed events), and, for market and chart, the latest conflated message. Streams are kept
 * for the life of the server: one per key ever used, a few hundred bytes each. */
struct stream {
    struct stream *hnext;          /* hash chain */
    struct stream *pnext;          /* polled streams list (market, chart) */
    int channel;
    int64_t key;                   /* account id, user id, instrument id or 0 */
    int tf;                        /* chart: enum tf */
    uint64_t seq;                  /* last sequence number published */
    struct sub **subs;             /* subscribers */
    int n_subs, cap_subs;
    int polled;                    /* on the polled list */
    /* conflated (market quote, chart forming) */
    char *latest;                  /* the latest message, NULL: none yet */
    size_t latest_len;
    uint64_t latest_seq;
    /* poll state */
    ts_ns last_ts;                 /* market: last tick time seen */
    px_t last_px;
    int64_t last_volume;
    ts_ns last_complete;           /* chart: start of the last complete bar announced */
    struct bar last_forming;
    int has_forming;
};

struct sub {
    struct conn *conn;
    struct stream *stream;
    int channel;
    int64_t account_id;
    char symbol[INST_SYMBOL_MAX];
    char tf[8];
    uint64_t sent_seq;             /* conflated: latest_seq last sent */
    int64_t next_send_ms;          /* conflated: not before */
    struct ws_indicator indicators[WS_INDICATORS_MAX]; /* chart: computed at each complete bar */
    int n_indicators;
};

/* Per socket (lws's per-session user space, zeroed by lws). */
struct conn {
    struct ws_hub *hub;
    struct lws *wsi;
    struct conn *prev, *next;      /* the hub's list of open sockets */
    int listed;
    int64_t user_id;
    enum api_role role;
    char *token;                   /* the access token, kept for the periodic re-check; zeroed */
    char ip[64];
    int64_t checked_ms;            /* last session check */
    struct sub *subs[WS_SUBS_MAX];
    int n_subs;
    struct out_msg *q_head, *q_tail;
    size_t q_count, q_bytes;
    int closing;                   /* close at the next writeable: code and reason */
    int close_code;
    char close_reason[100];
    char *rx;                      /* a fragmented message being assembled */
    size_t rx_len;
    int rx_too_big;
};

struct inbox_ev {
    struct inbox_ev *next;
    int channel;
    int64_t account_id, user_id;
    char *event;                   /* into text */
    char *data;                    /* into text */
    char text[];
};

struct ws_hub {
    struct api_server *srv;
    uv_loop_t *loop;
    struct stream *buckets[N_BUCKETS];
    struct stream *polled;         /* market and chart streams (with or without subscribers) */
    struct conn *conns;
    int draining;
    struct ws_counters c;
    /* inbox: any thread -> loop */
    pthread_mutex_t in_mu;
    struct inbox_ev *in_head, *in_tail;
    int in_count;
    uv_async_t wake;
    int wake_open;                 /* under in_mu */
    int mu_ready;
    uv_timer_t poll_timer, sys_timer;
    int timers_open;
    int sink_installed;
    int64_t recheck_ms;            /* WS_RECHECK_S, or ATP_WS_RECHECK_S (tests: 1) */
};

size_t ws_session_size(void) { return sizeof(struct conn); }

/* ---- streams ------------------------------------------------------------------------------ */

static size_t bucket_of(int channel, int64_t key, int tf)
{
    uint64_t h = (uint64_t)key * 0x9E3779B97F4A7C15ull ^ ((uint64_t)channel << 32) ^ (uint64_t)tf * 0x85EBCA6Bull;
    return (size_t)(h >> 22) % N_BUCKETS;
}

/* The stream of a key, created on first use (NULL: no memory). */
static struct stream *stream_get(struct ws_hub *hub, int channel, int64_t key, int tf)
{
    size_t b = bucket_of(channel, key, tf);
    for (struct stream *s = hub->buckets[b]; s; s = s->hnext)
        if (s->channel == channel && s->key == key && s->tf == tf)
            return s;
    struct stream *s = atp_calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->channel = channel;
    s->key = key;
    s->tf = tf;
    s->hnext = hub->buckets[b];
    hub->buckets[b] = s;
    enum ws_scope scope = ws_channels[channel].scope;
    if (scope == WS_SCOPE_SYMBOL || scope == WS_SCOPE_SYMBOL_TF) {
        s->polled = 1;
        s->pnext = hub->polled;
        hub->polled = s;
    }
    return s;
}

static int stream_add(struct stream *s, struct sub *sub)
{
    if (s->n_subs == s->cap_subs) {
        int cap = s->cap_subs ? s->cap_subs * 2 : 4;
        struct sub **p = atp_realloc(s->subs, (size_t)cap * sizeof *p);
        if (!p)
            return -1;
        s->subs = p;
        s->cap_subs = cap;
    }
    s->subs[s->n_subs++] = sub;
    return 0;
}

static void stream_remove(struct stream *s, struct sub *sub)
{
    for (int i = 0; i < s->n_subs; i++)
        if (s->subs[i] == sub) {
            s->subs[i] = s->subs[--s->n_subs];
            return;
        }
}

/* ---- sending ------------------------------------------------------------------------------ */

static void conn_close(struct conn *c, int code, const char *reason);

/* Queues text (len bytes) on c. Returns 0, or -1 when c is closing or just overflowed (then it is
 * being closed as a slow consumer). */
static int conn_queue(struct conn *c, const char *text, size_t len)
{
    if (c->closing)
        return -1;
    if (c->q_count + 1 > WS_QUEUE_MAX_MSGS || c->q_bytes + len > WS_QUEUE_MAX_BYTES) {
        char why[100];
        snprintf(why, sizeof why, "slow consumer: %zu messages (%zu bytes) unread", c->q_count, c->q_bytes);
        atp_log(LOG_WARN, "ws", "dropping user %lld ip=%s: %s", (long long)c->user_id, c->ip, why);
        c->hub->c.dropped_slow++;
        conn_close(c, LWS_CLOSE_STATUS_POLICY_VIOLATION, why);
        return -1;
    }
    struct out_msg *m = atp_malloc(sizeof *m + LWS_PRE + len);
    if (!m) {
        conn_close(c, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION, "out of memory");
        return -1;
    }
    m->next = NULL;
    m->len = len;
    memcpy(m->buf + LWS_PRE, text, len);
    if (c->q_tail)
        c->q_tail->next = m;
    else
        c->q_head = m;
    c->q_tail = m;
    c->q_count++;
    c->q_bytes += len;
    lws_callback_on_writable(c->wsi);
    return 0;
}

static void queue_free(struct conn *c)
{
    for (struct out_msg *m = c->q_head, *n; m; m = n) {
        n = m->next;
        atp_free(m);
    }
    c->q_head = c->q_tail = NULL;
    c->q_count = c->q_bytes = 0;
}

/* Closes c at its next writeable callback with code and reason; its queue is dropped now. */
static void conn_close(struct conn *c, int code, const char *reason)
{
    if (c->closing)
        return;
    c->closing = 1;
    c->close_code = code;
    snprintf(c->close_reason, sizeof c->close_reason, "%s", reason);
    queue_free(c);
    lws_callback_on_writable(c->wsi);
}

static void queue_text(struct conn *c, struct text *t)
{
    if (!t->failed && t->p)
        conn_queue(c, t->p, t->len);
    atp_free(t->p);
    memset(t, 0, sizeof *t);
}

/* {"op":"error","code":C,"field":F,"message":M[,"channel":..][,"id":..]} */
static void send_error(struct conn *c, const struct ws_msg *m, const char *code, const char *field, const char *fmt,
                       ...) __attribute__((format(printf, 5, 6)));
static void send_error(struct conn *c, const struct ws_msg *m, const char *code, const char *field, const char *fmt,
                       ...)
{
    char msg[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    struct text t = {0};
    tx_add(&t, "{\"op\":\"error\",\"code\":", 21);
    tx_str(&t, code);
    if (field && *field) {
        tx_add(&t, ",\"field\":", 9);
        tx_str(&t, field);
    }
    tx_add(&t, ",\"message\":", 11);
    tx_str(&t, msg);
    if (m && m->channel >= 0) {
        tx_add(&t, ",\"channel\":", 11);
        tx_str(&t, ws_channels[m->channel].name);
    }
    if (m && m->id[0]) {
        tx_add(&t, ",\"id\":", 6);
        tx_str(&t, m->id);
    }
    tx_add(&t, "}", 1);
    queue_text(c, &t);
}

/* The scope fields of a message of stream s: ,"account_id":N / ,"symbol":S[,"tf":T]. */
static void scope_fields(struct text *t, const struct stream *s, const char *symbol, const char *tf)
{
    switch (ws_channels[s->channel].scope) {
    case WS_SCOPE_ACCOUNT:
        tx_printf(t, ",\"account_id\":%lld", (long long)s->key);
        break;
    case WS_SCOPE_SYMBOL_TF:
        tx_add(t, ",\"symbol\":", 10);
        tx_str(t, symbol);
        tx_printf(t, ",\"tf\":\"%s\"", tf);
        break;
    case WS_SCOPE_SYMBOL:
        tx_add(t, ",\"symbol\":", 10);
        tx_str(t, symbol);
        break;
    default:
        break;
    }
}

/* Starts {"channel":C,"event":E,"seq":N<scope> ; the caller adds ,"data":...} */
static void envelope(struct text *t, const struct stream *s, const char *event, uint64_t seq, const char *symbol,
                     const char *tf)
{
    tx_add(t, "{\"channel\":", 11);
    tx_str(t, ws_channels[s->channel].name);
    tx_add(t, ",\"event\":", 9);
    tx_str(t, event);
    tx_printf(t, ",\"seq\":%llu", (unsigned long long)seq);
    scope_fields(t, s, symbol, tf);
}

/* Publishes a whole (non-conflated) event on stream s: seq + 1, queued to every subscriber. */
static void stream_publish(struct ws_hub *hub, struct stream *s, const char *event, const char *data,
                           const char *symbol, const char *tf)
{
    s->seq++;
    if (!s->n_subs)
        return;
    struct text t = {0};
    envelope(&t, s, event, s->seq, symbol, tf);
    tx_add(&t, ",\"data\":", 8);
    tx_add(&t, data, strlen(data));
    tx_add(&t, "}", 1);
    if (t.failed) {
        atp_free(t.p);
        return;
    }
    /* Iterate over a copy: a subscriber that overflows is closed, which does not change the
     * subscriber array now (subscriptions go at LWS_CALLBACK_CLOSED), but stay safe anyway. */
    for (int i = 0; i < s->n_subs; i++)
        conn_queue(s->subs[i]->conn, t.p, t.len);
    atp_free(t.p);
    (void)hub;
}

/* Replaces the conflated latest message of s (seq + 1) and wakes the subscribers whose gate is
 * open. */
static void stream_conflate(struct stream *s, struct text *t)
{
    if (t->failed || !t->p) {
        atp_free(t->p);
        return;
    }
    atp_free(s->latest);
    s->latest = t->p;
    s->latest_len = t->len;
    s->latest_seq = s->seq;
    memset(t, 0, sizeof *t);
    int64_t now = mono_ms();
    for (int i = 0; i < s->n_subs; i++)
        if (now >= s->subs[i]->next_send_ms && !s->subs[i]->conn->closing)
            lws_callback_on_writable(s->subs[i]->conn->wsi);
}

/* ---- market and chart --------------------------------------------------------------------- */

/* Percent-encodes s for a query value. */
static void query_value(const char *s, char *out, size_t size)
{
    size_t n = 0;
    for (; *s && n + 4 < size; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
            c == '.')
            out[n++] = (char)c;
        else
            n += (size_t)snprintf(out + n, size - n, "%%%02X", c);
    }
    out[n] = 0;
}

/* Runs a market route's handler (api/h_market.c) in process with query, so the socket speaks
 * exactly what REST answers. Returns its JSON text (owned) or NULL (not 200, no memory). */
static char *market_route(void (*handler)(struct api_request *, struct api_response *), const char *query,
                          size_t *len)
{
    struct api_request req;
    struct api_response res;
    memset(&req, 0, sizeof req);
    memset(&res, 0, sizeof res);
    req.query = query;
    req.path = "";
    req.request_id = "ws";
    req.client_ip = "";
    req.user_agent = "";
    handler(&req, &res);
    json_decref(res.json);
    if ((res.status && res.status != 200) || !res.text) {
        atp_free(res.text);
        return NULL;
    }
    *len = res.text_len;
    return res.text;
}

/* Runs POST /indicators/{name}/calculate in process over the stored candles of symbol and tf,
 * its last count values. Returns the answer (owned JSON text) or NULL with *status and *err_json
 * (owned, the route's {"error":...}) set. */
static char *indicator_text(const char *symbol, const char *tf, const struct ws_indicator *wi, int count,
                            int *status, json_t **err_json)
{
    struct api_request req;
    struct api_response res;
    memset(&req, 0, sizeof req);
    memset(&res, 0, sizeof res);
    *status = 500;
    *err_json = NULL;
    json_t *params = json_loads(wi->params, 0, NULL);
    req.json = json_pack("{s:s, s:s, s:o, s:i}", "symbol", symbol, "tf", tf, "params", params ? params : json_object(),
                         "count", count);
    static const char pname[] = "name";
    req.params[0].name = pname;
    req.params[0].name_len = 4;
    snprintf(req.params[0].value, sizeof req.params[0].value, "%s", wi->name);
    req.n_params = 1;
    req.query = req.path = req.request_id = req.client_ip = req.user_agent = "";
    char *text = NULL;
    if (req.json) {
        h_indicators_calculate(&req, &res);
        *status = res.status ? res.status : 200;
        if (*status == 200 && res.json)
            text = json_dumps(res.json, JSON_COMPACT);
        else if (res.json)
            *err_json = json_incref(res.json);
    }
    json_decref(res.json);
    atp_free(res.text);
    json_decref(req.json);
    return text;
}

/* Queues {"channel":"chart","event":"indicator","seq":N,"symbol","tf","data":<calculate answer>}
 * for each indicator of sub, over its last count bars. */
static void send_indicators(struct sub *sub, int count)
{
    for (int i = 0; i < sub->n_indicators; i++) {
        int status;
        json_t *ej;
        char *data = indicator_text(sub->symbol, sub->tf, &sub->indicators[i], count, &status, &ej);
        json_decref(ej);
        if (!data)
            continue;
        struct text t = {0};
        envelope(&t, sub->stream, "indicator", sub->stream->seq, sub->symbol, sub->tf);
        tx_add(&t, ",\"data\":", 8);
        tx_add(&t, data, strlen(data));
        tx_add(&t, "}", 1);
        free(data); /* jansson's */
        queue_text(sub->conn, &t);
    }
}

static char *quote_text(const char *symbol, size_t *len)
{
    char q[INST_SYMBOL_MAX * 3 + 16], enc[INST_SYMBOL_MAX * 3 + 1];
    query_value(symbol, enc, sizeof enc);
    snprintf(q, sizeof q, "symbol=%s", enc);
    return market_route(h_market_quote, q, len);
}

static void poll_market(struct stream *s, struct api_market *m, const struct instrument *in)
{
    struct api_market_quote q;
    api_market_quote(m, (uint32_t)s->key, &q);
    if (!q.has_data || (q.ts == s->last_ts && q.last == s->last_px && q.day.volume == s->last_volume))
        return;
    s->last_ts = q.ts;
    s->last_px = q.last;
    s->last_volume = q.day.volume;
    size_t len = 0;
    char *data = quote_text(in->symbol, &len);
    if (!data)
        return;
    s->seq++;
    struct text t = {0};
    envelope(&t, s, "quote", s->seq, in->symbol, NULL);
    /* When the server saw this quote (wall clock): what a client measures its delay against. */
    tx_printf(&t, ",\"server_ts_ns\":%lld,\"data\":", (long long)wall_ns());
    tx_add(&t, data, len);
    tx_add(&t, "}", 1);
    atp_free(data);
    stream_conflate(s, &t);
}

static int bar_same(const struct bar *a, const struct bar *b)
{
    return a->start == b->start && a->open == b->open && a->high == b->high && a->low == b->low &&
           a->close == b->close && a->volume == b->volume && a->ticks == b->ticks;
}

/* Remembers where the chart stream is (last complete bar, forming bar) without announcing it:
 * when the first subscriber arrives, right after its snapshot. */
static void chart_prime(struct stream *s, struct api_market *m)
{
    struct bar last, forming;
    uint32_t n = 0;
    int has = 0;
    api_market_candles(m, (uint32_t)s->key, (enum tf)s->tf, 1, &last, &n, &forming, &has);
    s->last_complete = n ? last.start : 0;
    s->has_forming = has;
    if (has)
        s->last_forming = forming;
}

#define CHART_POLL_BARS 16 /* complete bars looked at per poll (more in 20 ms: only at replay speed) */

static void poll_chart(struct ws_hub *hub, struct stream *s, struct api_market *m, const struct instrument *in)
{
    struct bar bars[CHART_POLL_BARS], forming;
    uint32_t n = 0;
    int has = 0;
    const char *tf = tf_name((enum tf)s->tf);
    api_market_candles(m, (uint32_t)s->key, (enum tf)s->tf, CHART_POLL_BARS, bars, &n, &forming, &has);
    char bar[H_MARKET_BAR_JSON_MAX];
    for (uint32_t i = 0; i < n; i++) {
        if (bars[i].start <= s->last_complete)
            continue;
        s->last_complete = bars[i].start;
        if (h_market_bar_json(&bars[i], bar, sizeof bar))
            stream_publish(hub, s, "bar", bar, in->symbol, tf);
        /* Indicator values change only when a bar completes (as in the engine): the new value of
         * each indicator a subscriber asked for, after the bar. */
        for (int k = 0; k < s->n_subs; k++)
            if (s->subs[k]->n_indicators && !s->subs[k]->conn->closing)
                send_indicators(s->subs[k], 1);
    }
    if (!has || (s->has_forming && bar_same(&forming, &s->last_forming)))
        return;
    s->has_forming = 1;
    s->last_forming = forming;
    if (!h_market_bar_json(&forming, bar, sizeof bar))
        return;
    s->seq++;
    struct text t = {0};
    envelope(&t, s, "forming", s->seq, in->symbol, tf);
    tx_printf(&t, ",\"server_ts_ns\":%lld,\"data\":", (long long)wall_ns());
    tx_add(&t, bar, strlen(bar));
    tx_add(&t, "}", 1);
    stream_conflate(s, &t);
}

static void on_poll(uv_timer_t *timer)
{
    struct ws_hub *hub = timer->data;
    struct api_market *m = api_market_current();
    if (!m)
        return;
    const struct instreg *reg = api_market_registry(m);
    int64_t now = mono_ms();
    for (struct stream *s = hub->polled; s; s = s->pnext) {
        if (!s->n_subs)
            continue;
        const struct instrument *in = instreg_get(reg, (uint32_t)s->key);
        if (!in)
            continue;
        if (ws_channels[s->channel].scope == WS_SCOPE_SYMBOL)
            poll_market(s, m, in);
        else
            poll_chart(hub, s, m, in);
        /* Gates that opened since the value changed. */
        for (int i = 0; s->latest && i < s->n_subs; i++) {
            struct sub *sub = s->subs[i];
            if (sub->sent_seq < s->latest_seq && now >= sub->next_send_ms && !sub->conn->closing)
                lws_callback_on_writable(sub->conn->wsi);
        }
    }
}

/* ---- events from other modules ------------------------------------------------------------ */

/* The sink (any thread): copy, queue, wake the loop. */
static void sink(void *arg, const struct api_event *ev)
{
    struct ws_hub *hub = arg;
    int ch = ws_channel_index(ev->channel);
    if (ch < 0 || !ev->event || !ev->data_json)
        return;
    enum ws_scope scope = ws_channels[ch].scope;
    /* Only the hub speaks on market and chart; an account channel needs its account. */
    if (scope == WS_SCOPE_SYMBOL || scope == WS_SCOPE_SYMBOL_TF || (scope == WS_SCOPE_ACCOUNT && ev->account_id <= 0) ||
        (scope == WS_SCOPE_USER && ev->user_id <= 0 && ev->account_id <= 0))
        return;
    size_t el = strlen(ev->event), dl = strlen(ev->data_json);
    struct inbox_ev *e = atp_malloc(sizeof *e + el + dl + 2);
    if (!e) {
        __atomic_add_fetch(&hub->c.inbox_dropped, 1, __ATOMIC_RELAXED);
        return;
    }
    e->next = NULL;
    e->channel = ch;
    e->account_id = ev->account_id;
    e->user_id = ev->user_id;
    e->event = e->text;
    memcpy(e->event, ev->event, el + 1);
    e->data = e->text + el + 1;
    memcpy(e->data, ev->data_json, dl + 1);
    pthread_mutex_lock(&hub->in_mu);
    if (!hub->wake_open || hub->in_count >= WS_INBOX_MAX) {
        pthread_mutex_unlock(&hub->in_mu);
        atp_free(e);
        __atomic_add_fetch(&hub->c.inbox_dropped, 1, __ATOMIC_RELAXED);
        return;
    }
    if (hub->in_tail)
        hub->in_tail->next = e;
    else
        hub->in_head = e;
    hub->in_tail = e;
    hub->in_count++;
    uv_async_send(&hub->wake);
    pthread_mutex_unlock(&hub->in_mu);
}

/* The stream key of an event: the account (account channels, or any event that names one), else
 * the user, else 0 (admins: system). */
static int64_t event_key(int ch, int64_t account_id, int64_t user_id)
{
    enum ws_scope scope = ws_channels[ch].scope;
    if (scope == WS_SCOPE_ACCOUNT)
        return account_id;
    if (scope == WS_SCOPE_USER)
        return user_id;
    return 0;
}

static void on_wake(uv_async_t *a)
{
    struct ws_hub *hub = a->data;
    pthread_mutex_lock(&hub->in_mu);
    struct inbox_ev *e = hub->in_head;
    hub->in_head = hub->in_tail = NULL;
    hub->in_count = 0;
    pthread_mutex_unlock(&hub->in_mu);
    while (e) {
        struct inbox_ev *next = e->next;
        struct stream *s = stream_get(hub, e->channel, event_key(e->channel, e->account_id, e->user_id), 0);
        if (s)
            stream_publish(hub, s, e->event, e->data, NULL, NULL);
        atp_free(e);
        e = next;
    }
}

/* ---- the system channel ------------------------------------------------------------------- */

static void publish_system(struct ws_hub *hub)
{
    int ch = ws_channel_index("system");
    struct stream *s = stream_get(hub, ch, 0, 0);
    if (!s || !s->n_subs)
        return;
    struct api_server *srv = hub->srv;
    struct text t = {0};
    size_t len = 0;
    char *market = api_market_current() ? market_route(h_admin_market_status, "", &len) : NULL;
    struct api_store_health h;
    api_server_store_health(srv, &h);
    tx_add(&t, "{\"market\":", 10);
    if (market)
        tx_add(&t, market, len);
    else
        tx_add(&t, "null", 4);
    atp_free(market);
    tx_printf(&t,
              ",\"server\":{\"uptime_s\":%.3f,\"http_inflight\":%d,\"workers\":%d,\"store_up\":%s,"
              "\"store_ping_ms\":%.3f,\"websockets_open\":%d,\"ws_messages_sent\":%llu,\"ws_dropped_slow\":%llu,"
              "\"ws_subscriptions\":%llu}}",
              api_server_uptime_s(srv), api_server_inflight(srv), api_server_workers(srv), h.ok ? "true" : "false",
              h.latency_ms, hub->c.open, (unsigned long long)hub->c.sent, (unsigned long long)hub->c.dropped_slow,
              (unsigned long long)hub->c.subscriptions);
    if (!t.failed)
        stream_publish(hub, s, "status", t.p, NULL, NULL);
    atp_free(t.p);
}

/* ---- identity ----------------------------------------------------------------------------- */

/* Resolves token as REST does. Returns the HTTP status that refuses it (0: accepted, *who set)
 * with code/message for the body. */
static int authenticate(struct ws_hub *hub, const char *token, struct api_identity *who, const char **code,
                        const char **message)
{
    struct api_server *srv = hub->srv;
    if (api_authn_resolve(api_authn_global(), api_server_jwt(srv), api_server_store(srv), token, "ws", who) != 0) {
        *code = "internal";
        *message = "cannot resolve the caller";
        return 500;
    }
    if (who->outcome == API_AUTHN_RATE_LIMITED) {
        *code = "rate_limited";
        *message = "too many requests";
        return 429;
    }
    if (who->user_id <= 0) {
        *code = who->outcome == API_AUTHN_ENDED ? "session_expired" : "unauthenticated";
        *message = who->outcome == API_AUTHN_ENDED ? "the session has ended: log in again"
                                                   : "a valid access token is required (Authorization: Bearer or ?token=)";
        return 401;
    }
    return 0;
}

/* Decides channel m->channel for c (and resolves the account relation). Returns 0 when allowed;
 * else an error was sent (when send) and -1 returned. */
static int decide(struct conn *c, const struct ws_msg *m, int64_t account_id, int send)
{
    const struct ws_channel_info *ch = &ws_channels[m->channel];
    enum api_relation rel = API_REL_NONE;
    if (ch->scope == WS_SCOPE_ACCOUNT &&
        api_account_relation(api_server_store(c->hub->srv), account_id, c->user_id, c->role, &rel) != 0) {
        if (send)
            send_error(c, m, "internal", NULL, "cannot resolve access");
        return -1;
    }
    switch (api_policy_decide(ch->policy, c->role, rel)) {
    case API_POLICY_ALLOW:
        if (rel != API_REL_STRANGER)
            return 0;
        /* Allowed whatever the relation (an admin), but there is no such account: as REST's
         * handlers answer 404 there, so does the channel. */
        if (send)
            send_error(c, m, "not_found", "account_id", "no such account");
        return -1;
    case API_POLICY_HIDDEN:
        if (send)
            send_error(c, m, "not_found", "account_id", "no such account");
        return -1;
    case API_POLICY_UNAUTHENTICATED:
        if (send)
            send_error(c, m, "unauthenticated", NULL, "log in first");
        return -1;
    default:
        if (send)
            send_error(c, m, "forbidden", "channel", "the %s channel is not allowed for your role", ch->name);
        return -1;
    }
}

/* ---- subscriptions ------------------------------------------------------------------------ */

static int sub_matches(const struct sub *s, const struct ws_msg *m)
{
    return s->channel == m->channel && s->account_id == m->account_id && !strcmp(s->symbol, m->symbol) &&
           !strcmp(s->tf, m->tf);
}

static void sub_drop(struct conn *c, int i)
{
    struct sub *s = c->subs[i];
    stream_remove(s->stream, s);
    atp_free(s);
    c->subs[i] = c->subs[--c->n_subs];
    c->hub->c.subscriptions--;
}

static void send_ack(struct conn *c, const struct ws_msg *m, const char *op, const struct stream *s)
{
    struct text t = {0};
    tx_printf(&t, "{\"op\":\"%s\",\"channel\":", op);
    tx_str(&t, ws_channels[m->channel].name);
    if (ws_channels[m->channel].scope == WS_SCOPE_ACCOUNT)
        tx_printf(&t, ",\"account_id\":%lld", (long long)m->account_id);
    if (m->symbol[0]) {
        tx_add(&t, ",\"symbol\":", 10);
        tx_str(&t, m->symbol);
    }
    if (m->tf[0]) {
        tx_add(&t, ",\"tf\":", 6);
        tx_str(&t, m->tf);
    }
    if (s)
        tx_printf(&t, ",\"seq\":%llu", (unsigned long long)s->seq);
    if (m->id[0]) {
        tx_add(&t, ",\"id\":", 6);
        tx_str(&t, m->id);
    }
    tx_add(&t, "}", 1);
    queue_text(c, &t);
}

/* The snapshot of a market or chart subscription, queued after the ack: the quote, or the last
 * WS_CHART_SNAPSHOT_BARS bars and the forming one, as the REST routes give them. */
static void send_snapshot(struct conn *c, const struct stream *s, const char *symbol, const char *tf)
{
    size_t len = 0;
    char *data;
    if (ws_channels[s->channel].scope == WS_SCOPE_SYMBOL) {
        data = quote_text(symbol, &len);
    } else {
        char q[INST_SYMBOL_MAX * 3 + 64], enc[INST_SYMBOL_MAX * 3 + 1];
        query_value(symbol, enc, sizeof enc);
        snprintf(q, sizeof q, "symbol=%s&tf=%s&count=%d", enc, tf, WS_CHART_SNAPSHOT_BARS);
        data = market_route(h_market_candles, q, &len);
    }
    if (!data)
        return;
    struct text t = {0};
    envelope(&t, s, "snapshot", s->seq, symbol, tf);
    tx_add(&t, ",\"data\":", 8);
    tx_add(&t, data, len);
    tx_add(&t, "}", 1);
    atp_free(data);
    queue_text(c, &t);
}

static void on_subscribe(struct conn *c, struct ws_msg *m)
{
    struct ws_hub *hub = c->hub;
    const struct ws_channel_info *ch = &ws_channels[m->channel];
    if (decide(c, m, m->account_id, 1) != 0)
        return;
    int64_t key = 0;
    int tf = 0;
    const struct instrument *in = NULL;
    struct api_market *mk = NULL;
    if (ch->scope == WS_SCOPE_SYMBOL || ch->scope == WS_SCOPE_SYMBOL_TF) {
        mk = api_market_current();
        if (!mk) {
            send_error(c, m, "market_unavailable", NULL, "the server runs no market data (--feed none)");
            return;
        }
        in = instreg_find(api_market_registry(mk), m->symbol);
        if (!in) {
            send_error(c, m, "invalid_field", "symbol", "unknown symbol '%s' (GET /api/v1/instruments?q= searches)",
                       m->symbol);
            return;
        }
        snprintf(m->symbol, sizeof m->symbol, "%s", in->symbol);
        key = in->id;
        if (ch->scope == WS_SCOPE_SYMBOL_TF) {
            enum tf t;
            if (tf_parse(m->tf, &t) != ATP_OK) {
                send_error(c, m, "invalid_field", "tf", "unknown timeframe '%s' (1m 3m 5m 15m 30m 1h 1d)", m->tf);
                return;
            }
            tf = (int)t;
            snprintf(m->tf, sizeof m->tf, "%s", tf_name(t));
            /* Each indicator is checked by the calculate route itself (name, parameter names and
             * bounds), its error passed on naming indicators[i]. */
            for (int i = 0; i < m->n_indicators; i++) {
                int status;
                json_t *ej;
                char *ok = indicator_text(m->symbol, m->tf, &m->indicators[i], 1, &status, &ej);
                if (ok) {
                    free(ok);
                    continue;
                }
                json_t *e = json_object_get(ej, "error");
                const char *efield = json_string_value(json_object_get(e, "field"));
                char field[48];
                snprintf(field, sizeof field, "indicators[%d].%s", i,
                         efield && !strcmp(efield, "name") ? "name" : efield && !strncmp(efield, "params", 6) ? efield : "params");
                send_error(c, m, "invalid_field", field, "%s",
                           json_string_value(json_object_get(e, "message")) ? json_string_value(json_object_get(e, "message"))
                                                                           : "this indicator cannot be computed");
                json_decref(ej);
                return;
            }
        }
    } else if (ch->scope == WS_SCOPE_ACCOUNT) {
        key = m->account_id;
    } else if (ch->scope == WS_SCOPE_USER) {
        key = c->user_id;
    }
    struct stream *s = stream_get(hub, m->channel, key, tf);
    if (!s) {
        send_error(c, m, "internal", NULL, "out of memory");
        return;
    }
    int dup = 0;
    for (int i = 0; i < c->n_subs; i++)
        dup |= sub_matches(c->subs[i], m);
    if (!dup) {
        if (c->n_subs >= WS_SUBS_MAX) {
            send_error(c, m, "too_many_subscriptions", "channel", "at most %d subscriptions per socket", WS_SUBS_MAX);
            return;
        }
        struct sub *sub = atp_calloc(1, sizeof *sub);
        if (!sub || stream_add(s, sub) != 0) {
            atp_free(sub);
            send_error(c, m, "internal", NULL, "out of memory");
            return;
        }
        sub->conn = c;
        sub->stream = s;
        sub->channel = m->channel;
        sub->account_id = m->account_id;
        snprintf(sub->symbol, sizeof sub->symbol, "%s", m->symbol);
        snprintf(sub->tf, sizeof sub->tf, "%s", m->tf);
        /* What is conflated so far is older than the snapshot below. */
        sub->sent_seq = s->latest_seq;
        c->subs[c->n_subs++] = sub;
        hub->c.subscriptions++;
        if (s->n_subs == 1 && ch->scope == WS_SCOPE_SYMBOL_TF)
            chart_prime(s, mk);
    }
    send_ack(c, m, "subscribed", s);
    if (in)
        send_snapshot(c, s, m->symbol, m->tf);
    if (ch->scope == WS_SCOPE_SYMBOL_TF) {
        /* A repeated subscription replaces the indicator list. */
        for (int i = 0; i < c->n_subs; i++)
            if (sub_matches(c->subs[i], m)) {
                struct sub *sub = c->subs[i];
                memcpy(sub->indicators, m->indicators, sizeof sub->indicators);
                sub->n_indicators = m->n_indicators;
                send_indicators(sub, WS_CHART_SNAPSHOT_BARS);
            }
    }
}

static void on_unsubscribe(struct conn *c, struct ws_msg *m)
{
    /* Symbols are stored as the registry writes them: normalise like subscribe did. */
    struct api_market *mk = api_market_current();
    if (m->symbol[0] && mk) {
        const struct instrument *in = instreg_find(api_market_registry(mk), m->symbol);
        if (in)
            snprintf(m->symbol, sizeof m->symbol, "%s", in->symbol);
        enum tf t;
        if (m->tf[0] && tf_parse(m->tf, &t) == ATP_OK)
            snprintf(m->tf, sizeof m->tf, "%s", tf_name(t));
    }
    for (int i = 0; i < c->n_subs; i++)
        if (sub_matches(c->subs[i], m)) {
            sub_drop(c, i);
            send_ack(c, m, "unsubscribed", NULL);
            return;
        }
    send_error(c, m, "not_subscribed", "channel", "no such subscription on this socket");
}

static void on_message(struct conn *c, const char *text, size_t len)
{
    struct ws_msg m;
    const char *code = NULL;
    struct atp_err err;
    if (ws_msg_parse(text, len, &m, &code, &err) != ATP_OK) {
        send_error(c, &m, code, err.field, "%s", err.msg);
        return;
    }
    switch (m.op) {
    case WS_OP_PING: {
        struct text t = {0};
        tx_printf(&t, "{\"op\":\"pong\",\"server_ts_ns\":%lld", (long long)wall_ns());
        if (m.id[0]) {
            tx_add(&t, ",\"id\":", 6);
            tx_str(&t, m.id);
        }
        tx_add(&t, "}", 1);
        queue_text(c, &t);
        break;
    }
    case WS_OP_SUBSCRIBE:
        on_subscribe(c, &m);
        break;
    case WS_OP_UNSUBSCRIBE:
        on_unsubscribe(c, &m);
        break;
    }
}

/* ---- the periodic re-check ---------------------------------------------------------------- */

static void recheck(struct conn *c)
{
    struct api_identity who;
    const char *code, *message;
    c->checked_ms = mono_ms();
    int status = authenticate(c->hub, c->token, &who, &code, &message);
    if (status == 429 || status == 500)
        return; /* not a verdict on the session: try again next round */
    if (status || who.user_id != c->user_id) {
        atp_log(LOG_INFO, "ws", "closing user %lld ip=%s: %s", (long long)c->user_id, c->ip, code);
        conn_close(c, LWS_CLOSE_STATUS_POLICY_VIOLATION, status ? code : "session_changed");
        return;
    }
    c->role = who.role;
    for (int i = c->n_subs - 1; i >= 0; i--) {
        struct sub *s = c->subs[i];
        struct ws_msg m;
        memset(&m, 0, sizeof m);
        m.op = WS_OP_SUBSCRIBE;
        m.channel = s->channel;
        m.account_id = s->account_id;
        snprintf(m.symbol, sizeof m.symbol, "%s", s->symbol);
        snprintf(m.tf, sizeof m.tf, "%s", s->tf);
        if (decide(c, &m, s->account_id, 0) == 0)
            continue;
        sub_drop(c, i);
        send_error(c, &m, "access_ended", m.account_id ? "account_id" : "channel",
                   "access to this subscription ended: unsubscribed");
    }
}

static void on_sys_timer(uv_timer_t *timer)
{
    struct ws_hub *hub = timer->data;
    publish_system(hub);
    int64_t due = mono_ms() - hub->recheck_ms;
    int n = 0;
    for (struct conn *c = hub->conns; c && n < RECHECK_PER_S; c = c->next)
        if (!c->closing && c->checked_ms < due) {
            recheck(c);
            n++;
        }
}

/* ---- lws callbacks ------------------------------------------------------------------------ */

/* An HTTP refusal of an upgrade: status and a JSON error body, then lws closes. */
static int refuse(struct ws_hub *hub, struct lws *wsi, int status, const char *code, const char *message)
{
    char body[400];
    int n = snprintf(body, sizeof body, "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}", code, message);
    unsigned char buf[LWS_PRE + 1024], *start = buf + LWS_PRE, *p = start, *end = buf + sizeof buf - 1;
    hub->c.refused++;
    if (lws_add_http_common_headers(wsi, (unsigned)status, "application/json", (lws_filepos_t)n, &p, end) ||
        lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:", (const unsigned char *)"no-store",
                                    8, &p, end) ||
        lws_add_http_header_by_name(wsi, (const unsigned char *)"connection:", (const unsigned char *)"close", 5, &p,
                                    end) ||
        lws_finalize_http_header(wsi, &p, end) || (size_t)(end - p) < (size_t)n)
        return -1;
    memcpy(p, body, (size_t)n);
    p += n;
    lws_write(wsi, start, (size_t)(p - start), LWS_WRITE_HTTP_HEADERS);
    return -1;
}

static int on_filter(struct ws_hub *hub, struct lws *wsi, struct conn *c)
{
    char uri[64] = "";
    if (lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) <= 0 || strcmp(uri, WS_PATH) != 0)
        return refuse(hub, wsi, 404, "not_found", "WebSocket upgrades are served at /ws only");
    if (hub->draining)
        return refuse(hub, wsi, 503, "shutting_down", "the server is shutting down");
    char ip[64] = "";
    lws_get_peer_simple(wsi, ip, sizeof ip);
    /* The token: Authorization: Bearer, else ?token= (browsers cannot set headers on a socket). */
    char *token = atp_malloc(JWT_MAX_LEN + 16);
    if (!token)
        return refuse(hub, wsi, 500, "internal", "out of memory");
    token[0] = 0;
    int alen = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_AUTHORIZATION);
    if (alen > 7 && alen < JWT_MAX_LEN + 8 && lws_hdr_copy(wsi, token, JWT_MAX_LEN + 16, WSI_TOKEN_HTTP_AUTHORIZATION) > 7 &&
        strncasecmp(token, "Bearer ", 7) == 0)
        memmove(token, token + 7, strlen(token + 7) + 1);
    else if (lws_get_urlarg_by_name(wsi, "token=", token, JWT_MAX_LEN + 16) == NULL)
        token[0] = 0;
    else
        memmove(token, token + 6, strlen(token + 6) + 1); /* lws leaves "token=" in front */
    struct api_identity who;
    const char *code, *message;
    int status = authenticate(hub, token, &who, &code, &message);
    if (status) {
        sodium_memzero(token, JWT_MAX_LEN + 16);
        atp_free(token);
        atp_log(LOG_INFO, "ws", "upgrade refused ip=%s: %d %s", ip, status, code);
        return refuse(hub, wsi, status, code, message);
    }
    /* Keep the token (exactly its size) for the periodic re-check. */
    size_t tl = strlen(token);
    c->token = atp_malloc(tl + 1);
    if (c->token)
        memcpy(c->token, token, tl + 1);
    sodium_memzero(token, JWT_MAX_LEN + 16);
    atp_free(token);
    if (!c->token)
        return refuse(hub, wsi, 500, "internal", "out of memory");
    c->hub = hub;
    c->wsi = wsi;
    c->user_id = who.user_id;
    c->role = who.role;
    c->checked_ms = mono_ms();
    snprintf(c->ip, sizeof c->ip, "%s", ip);
    return 0;
}

static void on_established(struct ws_hub *hub, struct conn *c)
{
    c->next = hub->conns;
    if (hub->conns)
        hub->conns->prev = c;
    hub->conns = c;
    c->listed = 1;
    hub->c.open++;
    hub->c.accepted++;
    atp_log(LOG_INFO, "ws", "open user=%lld role=%s ip=%s (%d open)", (long long)c->user_id, api_role_name(c->role),
            c->ip, hub->c.open);
    if (hub->draining)
        conn_close(c, LWS_CLOSE_STATUS_GOINGAWAY, "server shutting down");
}

static void on_closed(struct ws_hub *hub, struct conn *c)
{
    if (!c->hub)
        return; /* refused at the filter */
    while (c->n_subs)
        sub_drop(c, c->n_subs - 1);
    queue_free(c);
    atp_free(c->rx);
    c->rx = NULL;
    if (c->token) {
        sodium_memzero(c->token, strlen(c->token));
        atp_free(c->token);
        c->token = NULL;
    }
    if (c->listed) {
        if (c->prev)
            c->prev->next = c->next;
        else
            hub->conns = c->next;
        if (c->next)
            c->next->prev = c->prev;
        c->listed = 0;
        hub->c.open--;
    }
}

static int on_receive(struct conn *c, const char *in, size_t len)
{
    if (c->closing)
        return 0;
    int first = lws_is_first_fragment(c->wsi), final = lws_is_final_fragment(c->wsi);
    if (first) {
        c->rx_len = 0;
        c->rx_too_big = 0;
    }
    if (lws_frame_is_binary(c->wsi)) {
        if (final)
            send_error(c, NULL, "malformed_json", "message", "binary frames are not accepted: send JSON text");
        return 0;
    }
    if (first && final) { /* the common case: no copy */
        on_message(c, in, len);
        return 0;
    }
    if (!c->rx_too_big) {
        if (c->rx_len + len > WS_MSG_MAX) {
            c->rx_too_big = 1;
        } else {
            if (!c->rx && !(c->rx = atp_malloc(WS_MSG_MAX)))
                return -1;
            memcpy(c->rx + c->rx_len, in, len);
            c->rx_len += len;
        }
    }
    if (final) {
        if (c->rx_too_big)
            send_error(c, NULL, "message_too_large", "message", "a message holds at most %d bytes", WS_MSG_MAX);
        else
            on_message(c, c->rx, c->rx_len);
        c->rx_len = 0;
        c->rx_too_big = 0;
    }
    return 0;
}

/* One message per writeable callback (lws's rule): queued ones first, in order, then the
 * conflated latest of a market or chart subscription whose gate is open. */
static int on_writeable(struct ws_hub *hub, struct conn *c)
{
    int64_t now = mono_ms();
    if (c->closing) {
        /* Not "return -1" here: lws takes a writeable callback's failure (and a timeout) for a
         * dead socket and drops it without the close frame. A failing LWS_CALLBACK_TIMER goes
         * through lws's close handshake instead, which sends the reason set here. */
        if (c->closing == 1) {
            c->closing = 2;
            lws_set_timer_usecs(c->wsi, 1);
        }
        return 0;
    }
    struct out_msg *m = c->q_head;
    if (m) {
        c->q_head = m->next;
        if (!c->q_head)
            c->q_tail = NULL;
        c->q_count--;
        c->q_bytes -= m->len;
        int w = lws_write(c->wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_TEXT);
        atp_free(m);
        if (w < 0)
            return -1;
        hub->c.sent++;
        if (c->q_head)
            lws_callback_on_writable(c->wsi);
        else
            goto conflated_pending;
        return 0;
    }
    for (int i = 0; i < c->n_subs; i++) {
        struct sub *s = c->subs[i];
        struct stream *st = s->stream;
        if (!st->latest || s->sent_seq >= st->latest_seq || now < s->next_send_ms)
            continue;
        unsigned char *buf = atp_malloc(LWS_PRE + st->latest_len);
        if (!buf)
            return -1;
        memcpy(buf + LWS_PRE, st->latest, st->latest_len);
        int w = lws_write(c->wsi, buf + LWS_PRE, st->latest_len, LWS_WRITE_TEXT);
        atp_free(buf);
        if (w < 0)
            return -1;
        hub->c.sent++;
        s->sent_seq = st->latest_seq;
        s->next_send_ms = now + WS_CONFLATE_MS;
        goto conflated_pending;
    }
    return 0;
conflated_pending:
    /* More to send now? (A gated one is woken by the poll timer when its gate opens.) */
    for (int i = 0; i < c->n_subs; i++) {
        struct sub *s = c->subs[i];
        if (s->stream->latest && s->sent_seq < s->stream->latest_seq && now >= s->next_send_ms) {
            lws_callback_on_writable(c->wsi);
            break;
        }
    }
    return 0;
}

int ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    struct api_server *srv = lws_context_user(lws_get_context(wsi));
    struct ws_hub *hub = srv ? api_server_ws(srv) : NULL;
    struct conn *c = user;
    if (!hub)
        return 0;
    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return on_filter(hub, wsi, c);
    case LWS_CALLBACK_ESTABLISHED:
        on_established(hub, c);
        return 0;
    case LWS_CALLBACK_RECEIVE:
        return on_receive(c, in, len);
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return on_writeable(hub, c);
    case LWS_CALLBACK_TIMER: /* set by on_writeable to close (see there) */
        if (!c || !c->closing)
            return 0;
        lws_close_reason(wsi, (enum lws_close_status)c->close_code, (unsigned char *)c->close_reason,
                         strlen(c->close_reason));
        return -1;
    case LWS_CALLBACK_CLOSED:
    case LWS_CALLBACK_WSI_DESTROY:
        if (c)
            on_closed(hub, c);
        return 0;
    default:
        return 0;
    }
}

/* ---- lifecycle ---------------------------------------------------------------------------- */

int ws_hub_new(struct api_server *srv, uv_loop_t *loop, struct ws_hub **out, struct atp_err *err)
{
    *out = NULL;
    struct ws_hub *hub = atp_calloc(1, sizeof *hub);
    if (!hub)
        return atp_err_set(err, ATP_ENOMEM, NULL, 0, NULL, "out of memory");
    hub->srv = srv;
    hub->loop = loop;
    hub->recheck_ms = (int64_t)WS_RECHECK_S * 1000;
    const char *rs = getenv("ATP_WS_RECHECK_S");
    if (rs && atoi(rs) >= 1 && atoi(rs) <= 3600)
        hub->recheck_ms = (int64_t)atoi(rs) * 1000;
    if (pthread_mutex_init(&hub->in_mu, NULL) != 0) {
        atp_free(hub);
        return atp_err_set(err, ATP_EIO, NULL, 0, NULL, "cannot create the WebSocket inbox");
    }
    hub->mu_ready = 1;
    if (uv_async_init(loop, &hub->wake, on_wake) != 0) {
        ws_hub_free(hub);
        return atp_err_set(err, ATP_EIO, NULL, 0, NULL, "cannot create the WebSocket wake-up");
    }
    hub->wake.data = hub;
    hub->wake_open = 1;
    uv_timer_init(loop, &hub->poll_timer);
    uv_timer_init(loop, &hub->sys_timer);
    hub->poll_timer.data = hub->sys_timer.data = hub;
    hub->timers_open = 1;
    uv_timer_start(&hub->poll_timer, on_poll, WS_POLL_MS, WS_POLL_MS);
    uv_timer_start(&hub->sys_timer, on_sys_timer, 1000, 1000);
    api_events_set_sink(sink, hub);
    hub->sink_installed = 1;
    *out = hub;
    return ATP_OK;
}

void ws_hub_shutdown(struct ws_hub *hub)
{
    if (!hub || hub->draining)
        return;
    hub->draining = 1;
    for (struct conn *c = hub->conns; c; c = c->next)
        conn_close(c, LWS_CLOSE_STATUS_GOINGAWAY, "server shutting down");
}

void ws_hub_close_handles(struct ws_hub *hub)
{
    if (!hub)
        return;
    if (hub->sink_installed) {
        api_events_set_sink(NULL, NULL);
        hub->sink_installed = 0;
    }
    if (hub->timers_open) {
        hub->timers_open = 0;
        uv_timer_stop(&hub->poll_timer);
        uv_timer_stop(&hub->sys_timer);
        uv_close((uv_handle_t *)&hub->poll_timer, NULL);
        uv_close((uv_handle_t *)&hub->sys_timer, NULL);
    }
    pthread_mutex_lock(&hub->in_mu);
    int was_open = hub->wake_open;
    hub->wake_open = 0;
    pthread_mutex_unlock(&hub->in_mu);
    if (was_open)
        uv_close((uv_handle_t *)&hub->wake, NULL);
}

void ws_hub_free(struct ws_hub *hub)
{
    if (!hub)
        return;
    if (hub->sink_installed)
        api_events_set_sink(NULL, NULL);
    for (struct inbox_ev *e = hub->in_head, *n; e; e = n) {
        n = e->next;
        atp_free(e);
    }
    for (size_t b = 0; b < N_BUCKETS; b++)
        for (struct stream *s = hub->buckets[b], *n; s; s = n) {
            n = s->hnext;
            atp_free(s->subs);
            atp_free(s->latest);
            atp_free(s);
        }
    if (hub->mu_ready)
        pthread_mutex_destroy(&hub->in_mu);
    atp_free(hub);
}

void ws_hub_counters(const struct ws_hub *hub, struct ws_counters *out)
{
    memset(out, 0, sizeof *out);
    if (!hub)
        return;
    *out = hub->c;
    out->inbox_dropped = __atomic_load_n(&hub->c.inbox_dropped, __ATOMIC_RELAXED);
}
