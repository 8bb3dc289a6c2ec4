#include "core/px.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Shared parser. round_extra: 0 = reject non-zero digits past the 4th decimal, 1 = round them. */
static int parse(const char *text, size_t len, px_t *out, struct atp_err *err, int round_extra)
{
    size_t i = 0;
    int negative = 0;
    uint64_t units = 0; /* magnitude in 1/10000 */
    int int_digits = 0, frac_digits = 0, round_up = 0, nonzero_extra = 0;
    const uint64_t limit = (uint64_t)INT64_MAX;

    while (i < len && (text[i] == ' ' || text[i] == '\t'))
        i++;
    while (len > i && (text[len - 1] == ' ' || text[len - 1] == '\t' || text[len - 1] == '\r'))
        len--;
    if (i < len && (text[i] == '-' || text[i] == '+')) {
        negative = text[i] == '-';
        i++;
    }
    uint64_t whole = 0;
    for (; i < len && text[i] >= '0' && text[i] <= '9'; i++) {
        int_digits++;
        whole = whole * 10 + (uint64_t)(text[i] - '0');
        if (whole > limit / PX_SCALE)
            return atp_err_set(err, ATP_EOVERFLOW, NULL, 0, NULL, "number '%.*s' is too large",
                               (int)(len > 40 ? 40 : len), text);
    }
    uint64_t frac = 0;
    if (i < len && text[i] == '.') {
        i++;
        for (; i < len && text[i] >= '0' && text[i] <= '9'; i++) {
            if (frac_digits < PX_DECIMALS) {
                frac = frac * 10 + (uint64_t)(text[i] - '0');
            } else {
                if (frac_digits == PX_DECIMALS && text[i] >= '5')
                    round_up = 1;
                if (text[i] != '0')
                    nonzero_extra = 1;
            }
            frac_digits++;
        }
    }
    if (i != len || (int_digits == 0 && frac_digits == 0))
        return atp_err_set(err, ATP_EPARSE, NULL, 0, NULL, "'%.*s' is not a decimal number",
                           (int)(len > 40 ? 40 : len), text);
    if (nonzero_extra && !round_extra)
        return atp_err_set(err, ATP_ERANGE, NULL, 0, NULL,
                           "'%.*s' has more than %d decimals", (int)(len > 40 ? 40 : len), text,
                           PX_DECIMALS);
    for (int d = frac_digits; d < PX_DECIMALS; d++)
        frac *= 10;
    units = whole * PX_SCALE + frac + (uint64_t)(round_extra && round_up);
    if (units > limit)
        return atp_err_set(err, ATP_EOVERFLOW, NULL, 0, NULL, "number '%.*s' is too large",
                           (int)(len > 40 ? 40 : len), text);
    *out = negative ? -(px_t)units : (px_t)units;
    return ATP_OK;
}

int px_parse(const char *text, size_t len, px_t *out, struct atp_err *err)
{
    return parse(text, len, out, err, 0);
}

int px_parse_round(const char *text, size_t len, px_t *out, struct atp_err *err)
{
    return parse(text, len, out, err, 1);
}

int px_format_fixed(px_t value, int decimals, char *buf, size_t size)
{
    static const int64_t pow10[] = {1, 10, 100, 1000, 10000};
    if (decimals < 0)
        decimals = 0;
    if (decimals > PX_DECIMALS)
        decimals = PX_DECIMALS;
    int negative = value < 0;
    uint64_t mag = negative ? (uint64_t)(-(value + 1)) + 1 : (uint64_t)value;
    uint64_t drop = (uint64_t)pow10[PX_DECIMALS - decimals];
    uint64_t scaled = mag / drop;
    if (mag % drop >= (drop + 1) / 2 && drop > 1)
        scaled++;
    uint64_t unit = (uint64_t)pow10[decimals];
    uint64_t whole = scaled / unit, frac = scaled % unit;
    if (scaled == 0)
        negative = 0;
    if (decimals == 0)
        return snprintf(buf, size, "%s%llu", negative ? "-" : "", (unsigned long long)whole);
    return snprintf(buf, size, "%s%llu.%0*llu", negative ? "-" : "", (unsigned long long)whole,
                    decimals, (unsigned long long)frac);
}

int px_format(px_t value, char *buf, size_t size)
{
    int negative = value < 0;
    uint64_t mag = negative ? (uint64_t)(-(value + 1)) + 1 : (uint64_t)value;
    uint64_t whole = mag / PX_SCALE, frac = mag % PX_SCALE;
    if (frac == 0)
        return snprintf(buf, size, "%s%llu", negative ? "-" : "", (unsigned long long)whole);
    int digits = PX_DECIMALS;
    while (frac % 10 == 0) {
        frac /= 10;
        digits--;
    }
    return snprintf(buf, size, "%s%llu.%0*llu", negative ? "-" : "", (unsigned long long)whole,
                    digits, (unsigned long long)frac);
}

int px_mul_qty(px_t price, int64_t qty, px_t *amount)
{
    px_t r;
    if (__builtin_mul_overflow(price, qty, &r) || r == INT64_MIN)
        return ATP_EOVERFLOW;
    *amount = r;
    return ATP_OK;
}

int px_add(px_t a, px_t b, px_t *sum)
{
    px_t r;
    if (__builtin_add_overflow(a, b, &r) || r == INT64_MIN)
        return ATP_EOVERFLOW;
    *sum = r;
    return ATP_OK;
}

px_t px_round_to(px_t value, px_t step)
{
    if (step <= 0)
        return value;
    px_t q = value / step, r = value % step;
    if (r < 0)
        r = -r;
    /* r >= step - r is 2r >= step without overflowing 2r. q * step is between 0 and value, so it
     * always fits; the multiple away from zero may not, and then the one toward zero is kept. */
    px_t away;
    if (r >= step - r && !__builtin_mul_overflow(value < 0 ? q - 1 : q + 1, step, &away) &&
        away != INT64_MIN)
        return away;
    return q * step;
}

int px_is_multiple(px_t value, px_t step)
{
    return step > 0 && value % step == 0;
}

px_t px_from_double(double v)
{
    return (px_t)llround(v * (double)PX_SCALE);
}
