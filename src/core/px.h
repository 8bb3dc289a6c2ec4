/* core/px: exact money. A px_t is an int64 count of 1/10000 rupee (4 decimals), used for both
 * prices and amounts. Text is parsed and printed digit by digit, never through double.
 * Floating point is allowed only inside indicators and statistics (px_to_double/px_from_double). */
#ifndef ATP_CORE_PX_H
#define ATP_CORE_PX_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

typedef int64_t px_t;

#define PX_SCALE 10000LL    /* units per rupee */
#define PX_DECIMALS 4
#define PX_MAX INT64_MAX
#define PX_MIN (INT64_MIN + 1) /* symmetric range so negation never overflows */

/* Parses decimal text of exactly len bytes: an optional '+' or '-', digits, an optional '.' and
 * digits, at least one digit in all ("123", "-0.05", "+7", ".5"; exponents such as "1e5" are NOT
 * accepted). Surrounding spaces and tabs (and a trailing '\r') are ignored, as CSV fields are often
 * padded. Strict: more than 4 decimals is ATP_ERANGE unless the extra digits are all zero; empty
 * text or stray characters give ATP_EPARSE; a magnitude above PX_MAX gives ATP_EOVERFLOW. On
 * failure *out is untouched and err (may be NULL) is filled. */
int px_parse(const char *text, size_t len, px_t *out, struct atp_err *err);

/* Like px_parse but rounds digits past the 4th decimal half away from zero ("2450.550049" ->
 * 2450.5500). For data files written by float-printing tools (Yahoo CSVs). Also accepts a
 * trailing exponent-free form only. */
int px_parse_round(const char *text, size_t len, px_t *out, struct atp_err *err);

/* Writes the shortest exact decimal form ("2450.5", "-0.05", "100") into buf (NUL-terminated).
 * Needs at most PX_STR_MAX bytes. Returns the length of the full text, like snprintf: a result
 * >= size means buf holds a truncated prefix. */
#define PX_STR_MAX 24
int px_format(px_t value, char *buf, size_t size);

/* Writes value with exactly `decimals` (0..4, clamped) decimals, rounding half away from zero
 * (2 decimals gives rupees and paise: "2450.55"); a value that rounds to zero prints without a
 * sign. Returns the length like px_format. */
int px_format_fixed(px_t value, int decimals, char *buf, size_t size);

/* amount = price * qty, ATP_EOVERFLOW if it does not fit in [PX_MIN, PX_MAX] (*amount untouched). */
int px_mul_qty(px_t price, int64_t qty, px_t *amount);

/* sum = a + b, ATP_EOVERFLOW if it does not fit in [PX_MIN, PX_MAX] (*sum untouched). */
int px_add(px_t a, px_t b, px_t *sum);

/* Rounds value to the nearest multiple of step (step > 0), ties away from zero. When that multiple
 * would not fit in px_t (only near PX_MAX / PX_MIN), returns the multiple toward zero. step <= 0
 * returns value unchanged. */
px_t px_round_to(px_t value, px_t step);

/* 1 when value is an exact multiple of step (step > 0). */
int px_is_multiple(px_t value, px_t step);

/* Conversions for indicator and statistics code only. px_from_double rounds to nearest. */
static inline double px_to_double(px_t v) { return (double)v / (double)PX_SCALE; }
px_t px_from_double(double v);

/* Whole rupees to px_t (for constants in tests and data). */
#define PX_RUPEES(r) ((px_t)(r) * PX_SCALE)

#endif
