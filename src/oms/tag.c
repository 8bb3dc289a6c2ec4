/* oms/tag: tag format and parse (the format and the uniqueness argument are in tag.h). */
#include "oms/tag.h"

#include <string.h>

static const char digits36[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

/* Writes v in base 36 without leading zeros ("0" for 0) into buf; returns the digit count. buf
 * needs 13 bytes for any uint64 (36^13 > 2^64); no NUL is written. */
static int base36(uint64_t v, char *buf)
{
    char tmp[16];
    int n = 0;
    do {
        tmp[n++] = digits36[v % 36];
        v /= 36;
    } while (v);
    for (int i = 0; i < n; i++)
        buf[i] = tmp[n - 1 - i];
    return n;
}

/* Value of an upper-case base-36 digit, or -1. */
static int digit_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'Z')
        return c - 'A' + 10;
    return -1;
}

/* Reads n canonical digits (no leading zero unless n == 1) as a value below limit. */
static int read36(const char *s, size_t n, uint64_t limit, uint64_t *out)
{
    if (n == 0 || (n > 1 && s[0] == '0'))
        return ATP_EINVAL;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        int d = digit_value(s[i]);
        if (d < 0 || v > (limit - 1 - (uint64_t)d) / 36) /* v * 36 + d must stay below limit */
            return ATP_EINVAL;
        v = v * 36 + (uint64_t)d;
    }
    *out = v;
    return ATP_OK;
}

int tag_format(uint64_t run_id, uint64_t seq, char out[TAG_BUF])
{
    if (run_id >= TAG_RUN_ID_LIMIT || seq >= TAG_SEQ_LIMIT)
        return ATP_ERANGE;
    char buf[TAG_BUF];
    int n = 0;
    buf[n++] = TAG_FORMAT_LETTER;
    int run_len = base36(run_id, buf + 2); /* <= 8 by the limit */
    buf[n++] = digits36[run_len];
    n += run_len;
    n += base36(seq, buf + n); /* <= 10 by the limit: n <= 20 */
    buf[n] = '\0';
    memcpy(out, buf, (size_t)n + 1);
    return ATP_OK;
}

int tag_parse(const char *tag, uint64_t *run_id, uint64_t *seq)
{
    if (!tag || tag[0] != TAG_FORMAT_LETTER)
        return ATP_EINVAL;
    size_t len = strnlen(tag, ORDER_TAG_MAX + 1);
    if (len > ORDER_TAG_MAX || len < 4)
        return ATP_EINVAL;
    int run_len = digit_value(tag[1]);
    if (run_len < 1 || run_len > 8 || (size_t)run_len + 2 >= len)
        return ATP_EINVAL;
    uint64_t r, s;
    if (read36(tag + 2, (size_t)run_len, TAG_RUN_ID_LIMIT, &r) != ATP_OK ||
        read36(tag + 2 + run_len, len - 2 - (size_t)run_len, TAG_SEQ_LIMIT, &s) != ATP_OK)
        return ATP_EINVAL;
    if (run_id)
        *run_id = r;
    if (seq)
        *seq = s;
    return ATP_OK;
}

int tag_gen_init(struct tag_gen *gen, uint64_t run_id, uint64_t first_seq, struct atp_err *err)
{
    if (run_id >= TAG_RUN_ID_LIMIT)
        return atp_err_set(err, ATP_ERANGE, NULL, 0, "run_id",
                           "run id %llu is not below 36^8 (%llu)", (unsigned long long)run_id,
                           (unsigned long long)TAG_RUN_ID_LIMIT);
    if (first_seq >= TAG_SEQ_LIMIT)
        return atp_err_set(err, ATP_ERANGE, NULL, 0, "first_seq",
                           "first sequence %llu is not below 36^10 (%llu)",
                           (unsigned long long)first_seq, (unsigned long long)TAG_SEQ_LIMIT);
    gen->run_id = run_id;
    gen->next_seq = first_seq;
    return ATP_OK;
}

int tag_gen_next(struct tag_gen *gen, char out[TAG_BUF], uint64_t *seq_out)
{
    int rc = tag_format(gen->run_id, gen->next_seq, out);
    if (rc != ATP_OK)
        return rc;
    if (seq_out)
        *seq_out = gen->next_seq;
    gen->next_seq++;
    return ATP_OK;
}
