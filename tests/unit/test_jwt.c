/* auth/jwt: HS256 issue/verify and the forged-token catalogue: alg none in any spelling, other
 * algorithms, wrong key, expired, not yet valid, tampered header/payload/signature, wrong
 * audience/issuer, missing claims, malformed base64/JSON, oversized tokens. Forged tokens are
 * crafted here from raw JSON and signed (or not) with an independent HMAC call. */
#include <criterion/criterion.h>

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "auth/jwt.h"
#include "core/alloc.h"
#include "core/err.h"

#define NOW 1700000000LL

static const unsigned char KEY[] = "0123456789abcdef0123456789abcdef";
static const unsigned char OTHER_KEY[] = "0123456789abcdef0123456789abcdeX";

static const struct jwt_config CFG = {KEY, 32, "atp", "atp-api", 0};

#define HS256_HDR "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
#define GOOD_PAYLOAD                                                                        \
    "{\"sub\":\"42\",\"role\":\"trader\",\"iss\":\"atp\","                                    \
    "\"aud\":\"atp-api\",\"jti\":\"abc\",\"iat\":1700000000,"              \
    "\"exp\":1700000900}"

static void b64(char *out, size_t size, const void *bin, size_t len)
{
    sodium_bin2base64(out, size, bin, len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* header.payload.signature from raw JSON; key NULL leaves the signature empty (alg none). */
static void craft(char *out, size_t size, const char *header, const char *payload,
                  const unsigned char *key)
{
    static char h[8192], p[8192];
    b64(h, sizeof h, header, strlen(header));
    b64(p, sizeof p, payload, strlen(payload));
    cr_assert_lt(strlen(h) + strlen(p) + 2, size);
    strcpy(out, h);
    strcat(out, ".");
    strcat(out, p);
    strcat(out, ".");
    if (key) {
        unsigned char mac[32];
        crypto_auth_hmacsha256_state st;
        crypto_auth_hmacsha256_init(&st, key, 32);
        crypto_auth_hmacsha256_update(&st, (const unsigned char *)out, strlen(out) - 1);
        crypto_auth_hmacsha256_final(&st, mac);
        char s[64];
        b64(s, sizeof s, mac, sizeof mac);
        strncat(out, s, size - strlen(out) - 1);
    }
}

static enum jwt_reject verify_at(const char *token, long long now)
{
    struct jwt_claims c;
    enum jwt_reject why = JWT_VALID;
    int rc = jwt_verify(&CFG, token, now, &c, &why);
    if (rc == ATP_OK) {
        cr_expect_eq(why, JWT_VALID);
    } else {
        cr_expect_eq(rc, ATP_EINVAL);
        cr_expect_neq(why, JWT_VALID, "refused without a reason");
        cr_expect_str_empty(c.sub, "claims not cleared on refusal");
        cr_expect_eq(c.exp, 0);
    }
    return why;
}

Test(jwt, issue_then_verify_round_trip)
{
    long live = atp_alloc_live();
    char tok[JWT_MAX_LEN + 1];
    struct jwt_claims issued, got;
    cr_assert_eq(jwt_issue(&CFG, "user-42", "trader", NULL, NOW, tok, sizeof tok, &issued), ATP_OK);
    cr_assert_eq(issued.iat, NOW);
    cr_assert_eq(issued.exp, NOW + 900, "default lifetime is 15 minutes");
    cr_assert_eq(strlen(issued.jti), 22);
    enum jwt_reject why = JWT_REJECT_MALFORMED;
    cr_assert_eq(jwt_verify(&CFG, tok, NOW + 1, &got, &why), ATP_OK);
    cr_assert_eq(why, JWT_VALID);
    cr_assert_str_eq(got.sub, "user-42");
    cr_assert_str_eq(got.role, "trader");
    cr_assert_str_eq(got.jti, issued.jti);
    cr_assert_eq(got.exp, issued.exp);
    /* A second token differs (fresh jti). */
    char tok2[JWT_MAX_LEN + 1];
    struct jwt_claims issued2;
    cr_assert_eq(jwt_issue(&CFG, "user-42", "trader", NULL, NOW, tok2, sizeof tok2, &issued2), ATP_OK);
    cr_assert_str_neq(issued.jti, issued2.jti);
    cr_assert_str_neq(tok, tok2);
    cr_assert_eq(atp_alloc_live(), live);
}

Test(jwt, accepts_a_token_from_an_independent_implementation)
{
    /* Made with Python's hmac/base64/json, key "0123456789abcdef0123456789abcdef". */
    const char *tok =
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI0MiIsInJvbGUiOiJ0cmFkZXIiLCJpc3MiOiJhdHA"
        "iLCJhdWQiOiJhdHAtYXBpIiwianRpIjoiYWJjIiwiaWF0IjoxNzAwMDAwMDAwLCJleHAiOjE3MDAwMDA5MDB9.9u"
        "L6a8F2IHkDq6Z6WpqjCzjhVW8KuzwHxjXiRyWNKIU";
    char mine[JWT_MAX_LEN + 1];
    craft(mine, sizeof mine, HS256_HDR, GOOD_PAYLOAD, KEY);
    cr_assert_str_eq(mine, tok, "test signer disagrees with Python");
    struct jwt_claims c;
    cr_assert_eq(jwt_verify(&CFG, tok, NOW + 10, &c, NULL), ATP_OK);
    cr_assert_str_eq(c.sub, "42");
    cr_assert_str_eq(c.jti, "abc");
}

Test(jwt, refuses_other_algorithms_including_none_in_any_case)
{
    static const char *headers[] = {
        "{\"alg\":\"none\",\"typ\":\"JWT\"}",  "{\"alg\":\"None\",\"typ\":\"JWT\"}",
        "{\"alg\":\"NONE\",\"typ\":\"JWT\"}",  "{\"alg\":\"nOnE\",\"typ\":\"JWT\"}",
        "{\"alg\":\"none\"}",                  "{\"alg\":\"\"}",
        "{\"alg\":\"hs256\",\"typ\":\"JWT\"}", "{\"alg\":\"HS256 \",\"typ\":\"JWT\"}",
        "{\"alg\":\"HS512\",\"typ\":\"JWT\"}", "{\"alg\":\"HS384\",\"typ\":\"JWT\"}",
        "{\"alg\":\"RS256\",\"typ\":\"JWT\"}", "{\"alg\":\"ES256\",\"typ\":\"JWT\"}",
        "{\"alg\":null}",
        "{\"alg\":256}",                       "{\"alg\":[\"HS256\"]}",
        "{\"typ\":\"JWT\"}",                   "{}",
        "{\"alg\":\"HS256\",\"crit\":[\"exp\"],\"exp\":1}",
    };
    for (size_t i = 0; i < sizeof headers / sizeof headers[0]; i++) {
        char tok[JWT_MAX_LEN + 1];
        /* Unsigned, and signed with the right key: the header alone decides. */
        craft(tok, sizeof tok, headers[i], GOOD_PAYLOAD, NULL);
        cr_expect_eq(verify_at(tok, NOW), JWT_REJECT_ALG, "unsigned, header %s", headers[i]);
        craft(tok, sizeof tok, headers[i], GOOD_PAYLOAD, KEY);
        cr_expect_eq(verify_at(tok, NOW), JWT_REJECT_ALG, "signed, header %s", headers[i]);
    }
    /* alg with an embedded NUL: jansson refuses the JSON outright. */
    char nul[JWT_MAX_LEN + 1];
    craft(nul, sizeof nul, "{\"alg\":\"HS256\\u0000\"}", GOOD_PAYLOAD, KEY);
    cr_expect_eq(verify_at(nul, NOW), JWT_REJECT_MALFORMED);
    /* The genuine header with no signature at all. */
    char tok[JWT_MAX_LEN + 1];
    craft(tok, sizeof tok, HS256_HDR, GOOD_PAYLOAD, NULL);
    cr_expect_eq(verify_at(tok, NOW), JWT_REJECT_SIGNATURE);
}

Test(jwt, wrong_key_and_tampering_break_the_signature)
{
    char good[JWT_MAX_LEN + 1], tok[JWT_MAX_LEN + 1];
    cr_assert_eq(jwt_issue(&CFG, "7", "investor", NULL, NOW, good, sizeof good, NULL), ATP_OK);
    cr_assert_eq(verify_at(good, NOW), JWT_VALID);

    /* Signed with another key of the same length. */
    craft(tok, sizeof tok, HS256_HDR, GOOD_PAYLOAD, OTHER_KEY);
    cr_expect_eq(verify_at(tok, NOW), JWT_REJECT_SIGNATURE);
    struct jwt_config other = CFG;
    other.secret = OTHER_KEY;
    cr_expect_eq(jwt_verify(&other, good, NOW, NULL, NULL), ATP_EINVAL);

    const char *dot1 = strchr(good, '.'), *dot2 = strrchr(good, '.');
    char h[256], p[1024], s[128], enc[2048];
    snprintf(h, sizeof h, "%.*s", (int)(dot1 - good), good);
    snprintf(p, sizeof p, "%.*s", (int)(dot2 - dot1 - 1), dot1 + 1);
    snprintf(s, sizeof s, "%s", dot2 + 1);

    /* Tampered header: a different (still HS256) header under the old signature. */
    const char *hdr2 = "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"x\"}";
    b64(enc, sizeof enc, hdr2, strlen(hdr2));
    snprintf(tok, sizeof tok, "%s.%s.%s", enc, p, s);
    cr_expect_eq(verify_at(tok, NOW), JWT_REJECT_SIGNATURE);

    /* Tampered payload: role raised to admin under the old signature. */
    const char *escalated = "{\"iss\":\"atp\",\"sub\":\"7\",\"aud\":\"atp-api\",\"role\":\"admin\","
                            "\"jti\":\"x\",\"iat\":1700000000,\"exp\":1700000900}";
    b64(enc, sizeof enc, escalated, strlen(escalated));
    snprintf(tok, sizeof tok, "%s.%s.%s", h, enc, s);
    cr_expect_eq(verify_at(tok, NOW), JWT_REJECT_SIGNATURE);

    /* Tampered signature: each of several characters changed, and truncated / extended. */
    for (size_t i = 0; i + 1 < strlen(s); i += 7) {
        snprintf(tok, sizeof tok, "%s", good);
        char *c = strrchr(tok, '.') + 1 + i;
        *c = *c == 'A' ? 'B' : 'A';
        cr_expect_eq(verify_at(tok, NOW), JWT_REJECT_SIGNATURE, "signature char %zu", i);
    }
    snprintf(tok, sizeof tok, "%s.%s.%.40s", h, p, s);
    cr_expect_eq(verify_at(tok, NOW), JWT_REJECT_SIGNATURE, "short signature");
    snprintf(tok, sizeof tok, "%s.%s.%sAAAA", h, p, s);
    cr_expect_eq(verify_at(tok, NOW), JWT_REJECT_SIGNATURE, "long signature");
}

Test(jwt, time_claims_with_leeway)
{
    char tok[JWT_MAX_LEN + 1];
    cr_assert_eq(jwt_issue(&CFG, "1", "trader", NULL, NOW, tok, sizeof tok, NULL), ATP_OK);
    static const struct {
        long long now;
        enum jwt_reject want;
    } cases[] = {
        {NOW, JWT_VALID},
        {NOW + 899, JWT_VALID},
        {NOW + 900 + JWT_LEEWAY_S - 1, JWT_VALID},  /* within leeway after exp */
        {NOW + 900 + JWT_LEEWAY_S, JWT_REJECT_EXPIRED},
        {NOW + 86400, JWT_REJECT_EXPIRED},
        {NOW - JWT_LEEWAY_S, JWT_VALID},            /* verifier clock slightly behind */
        {NOW - JWT_LEEWAY_S - 1, JWT_REJECT_NOT_YET_VALID},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        cr_expect_eq(verify_at(tok, cases[i].now), cases[i].want, "case %zu", i);

    /* nbf in the future. */
    char t2[JWT_MAX_LEN + 1];
    craft(t2, sizeof t2, HS256_HDR,
          "{\"sub\":\"42\",\"role\":\"trader\",\"iss\":\"atp\",\"aud\":\"atp-api\",\"jti\":\"a\","
          "\"iat\":1700000000,\"nbf\":1700000600,\"exp\":1700000900}", KEY);
    cr_expect_eq(verify_at(t2, NOW), JWT_REJECT_NOT_YET_VALID);
    cr_expect_eq(verify_at(t2, NOW + 600), JWT_VALID);

    /* Custom lifetime. */
    struct jwt_config short_cfg = CFG;
    short_cfg.ttl_s = 60;
    struct jwt_claims c;
    cr_assert_eq(jwt_issue(&short_cfg, "1", "trader", NULL, NOW, tok, sizeof tok, &c), ATP_OK);
    cr_expect_eq(c.exp, NOW + 60);
}

Test(jwt, claims_issuer_and_audience)
{
    static const struct {
        const char *payload;
        enum jwt_reject want;
    } cases[] = {
#define P(iss, aud, rest) "{\"iss\":" iss ",\"aud\":" aud rest "}"
#define REST ",\"sub\":\"42\",\"role\":\"trader\",\"jti\":\"j\",\"iat\":1700000000,\"exp\":1700000900"
        {P("\"atp\"", "\"atp-api\"", REST), JWT_VALID},
        {P("\"atp\"", "[\"other\",\"atp-api\"]", REST), JWT_VALID},
        {P("\"atp\"", "\"other-api\"", REST), JWT_REJECT_AUDIENCE},
        {P("\"atp\"", "\"ATP-API\"", REST), JWT_REJECT_AUDIENCE},
        {P("\"atp\"", "[\"other\"]", REST), JWT_REJECT_AUDIENCE},
        {P("\"atp\"", "[]", REST), JWT_REJECT_AUDIENCE},
        /* Embedded NULs: jansson refuses \u0000 unless asked (JSON_ALLOW_NUL), so malformed. */
        {P("\"atp\"", "\"atp-api\\u0000x\"", REST), JWT_REJECT_MALFORMED},
        {P("\"evil\"", "\"atp-api\"", REST), JWT_REJECT_ISSUER},
        {P("\"atpx\"", "\"atp-api\"", REST), JWT_REJECT_ISSUER},
        {P("\"atp\"", "1", REST), JWT_REJECT_CLAIMS},
        {P("1", "\"atp-api\"", REST), JWT_REJECT_CLAIMS},
        /* Each required claim missing or of the wrong type. */
        {"{\"aud\":\"atp-api\"" REST "}", JWT_REJECT_CLAIMS},
        {"{\"iss\":\"atp\"" REST "}", JWT_REJECT_CLAIMS},
        {P("\"atp\"", "\"atp-api\"", ",\"role\":\"t\",\"jti\":\"j\",\"iat\":1700000000,\"exp\":1700000900"), JWT_REJECT_CLAIMS},
        {P("\"atp\"", "\"atp-api\"", ",\"sub\":\"4\",\"jti\":\"j\",\"iat\":1700000000,\"exp\":1700000900"), JWT_REJECT_CLAIMS},
        {P("\"atp\"", "\"atp-api\"", ",\"sub\":\"4\",\"role\":\"t\",\"iat\":1700000000,\"exp\":1700000900"), JWT_REJECT_CLAIMS},
        {P("\"atp\"", "\"atp-api\"", ",\"sub\":\"4\",\"role\":\"t\",\"jti\":\"j\",\"exp\":1700000900"), JWT_REJECT_CLAIMS},
        {P("\"atp\"", "\"atp-api\"", ",\"sub\":\"4\",\"role\":\"t\",\"jti\":\"j\",\"iat\":1700000000"), JWT_REJECT_CLAIMS},
        {P("\"atp\"", "\"atp-api\"", ",\"sub\":\"\",\"role\":\"t\",\"jti\":\"j\",\"iat\":1700000000,\"exp\":1700000900"), JWT_REJECT_CLAIMS},
        {P("\"atp\"", "\"atp-api\"", ",\"sub\":42,\"role\":\"t\",\"jti\":\"j\",\"iat\":1700000000,\"exp\":1700000900"), JWT_REJECT_CLAIMS},
        {P("\"atp\"", "\"atp-api\"", ",\"sub\":\"4\",\"role\":\"t\",\"jti\":\"j\",\"iat\":1700000000,\"exp\":\"1700000900\""), JWT_REJECT_CLAIMS},
        {P("\"atp\"", "\"atp-api\"", ",\"sub\":\"4\",\"role\":\"t\",\"jti\":\"j\",\"iat\":1700000000.5,\"exp\":1700000900"), JWT_REJECT_CLAIMS},
        {P("\"atp\"", "\"atp-api\"", ",\"sub\":\"4\",\"role\":\"t\",\"jti\":\"j\",\"iat\":1700000000,\"exp\":1699999999"), JWT_REJECT_CLAIMS},
        {P("\"atp\"", "\"atp-api\"", ",\"sub\":\"4\",\"role\":\"t\",\"jti\":\"j\",\"iat\":1700000000,\"exp\":1700000900,\"nbf\":\"0\""), JWT_REJECT_CLAIMS},
        {P("\"atp\"", "\"atp-api\"", ",\"sub\":\"4\\u0000admin\",\"role\":\"t\",\"jti\":\"j\",\"iat\":1700000000,\"exp\":1700000900"), JWT_REJECT_MALFORMED},
        {P("\"atp\"", "\"atp-api\"", ",\"sub\":\"0123456789012345678901234567890123456789012345678901234567890123\",\"role\":\"t\",\"jti\":\"j\",\"iat\":1700000000,\"exp\":1700000900"), JWT_REJECT_CLAIMS},
#undef P
#undef REST
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char tok[JWT_MAX_LEN + 1];
        craft(tok, sizeof tok, HS256_HDR, cases[i].payload, KEY);
        enum jwt_reject got = verify_at(tok, NOW);
        cr_expect_eq(got, cases[i].want, "case %zu: got %s, want %s (%s)", i, jwt_reject_name(got),
                     jwt_reject_name(cases[i].want), cases[i].payload);
    }
}

Test(jwt, malformed_and_oversized)
{
    char hdr[128], pay[1024], sig[64], tok[JWT_MAX_LEN + 64];
    craft(tok, sizeof tok, HS256_HDR, GOOD_PAYLOAD, KEY);
    const char *d1 = strchr(tok, '.'), *d2 = strrchr(tok, '.');
    snprintf(hdr, sizeof hdr, "%.*s", (int)(d1 - tok), tok);
    snprintf(pay, sizeof pay, "%.*s", (int)(d2 - d1 - 1), d1 + 1);
    snprintf(sig, sizeof sig, "%s", d2 + 1);

    char cases[16][JWT_MAX_LEN];
    size_t n = 0;
    snprintf(cases[n++], JWT_MAX_LEN, "%s", "");
    snprintf(cases[n++], JWT_MAX_LEN, "%s", "abc");
    snprintf(cases[n++], JWT_MAX_LEN, "%s.%s", hdr, pay);
    snprintf(cases[n++], JWT_MAX_LEN, "%s.%s.%s.%s", hdr, pay, sig, sig);
    snprintf(cases[n++], JWT_MAX_LEN, "..");
    snprintf(cases[n++], JWT_MAX_LEN, "%s=.%s.%s", hdr, pay, sig);   /* padding */
    snprintf(cases[n++], JWT_MAX_LEN, "%s.%s.%s=", hdr, pay, sig);
    snprintf(cases[n++], JWT_MAX_LEN, "e!J.%s.%s", pay, sig);          /* bad alphabet */
    snprintf(cases[n++], JWT_MAX_LEN, "%s.%s.%s+", hdr, pay, sig);
    snprintf(cases[n++], JWT_MAX_LEN, " %s.%s.%s", hdr, pay, sig);
    snprintf(cases[n++], JWT_MAX_LEN, "%s.%s.%s\n", hdr, pay, sig);
    for (size_t i = 0; i < n; i++)
        cr_expect_eq(verify_at(cases[i], NOW), JWT_REJECT_MALFORMED, "case %zu '%s'", i, cases[i]);

    /* Well-formed base64 around bad JSON, signed so only the JSON is wrong. */
    static const struct {
        const char *header, *payload;
    } json_cases[] = {
        {"not json", GOOD_PAYLOAD},
        {"[\"HS256\"]", GOOD_PAYLOAD},
        {"{\"alg\":\"none\",\"alg\":\"HS256\"}", GOOD_PAYLOAD}, /* duplicate keys */
        {"{\"alg\":\"HS256\",\"typ\":\"JWE\"}", GOOD_PAYLOAD},
        {"{\"alg\":\"HS256\"", GOOD_PAYLOAD},
        {"{\"alg\":\"HS256\"}", "not json"},
        {"{\"alg\":\"HS256\"}", "[1,2]"},
        {"{\"alg\":\"HS256\"}", "{\"sub\":\"1\",\"sub\":\"2\"}"},
        {"{\"alg\":\"HS256\"}", ""},
    };
    for (size_t i = 0; i < sizeof json_cases / sizeof json_cases[0]; i++) {
        craft(tok, sizeof tok, json_cases[i].header, json_cases[i].payload, KEY);
        cr_expect_eq(verify_at(tok, NOW), JWT_REJECT_MALFORMED, "json case %zu", i);
    }
    cr_expect_eq(jwt_verify(&CFG, NULL, NOW, NULL, NULL), ATP_EINVAL);

    /* Oversized: refused unread, even when correctly signed. */
    static char big[8192], payload[6000];
    memset(big, 'A', JWT_MAX_LEN + 1);
    big[JWT_MAX_LEN + 1] = '\0';
    cr_expect_eq(verify_at(big, NOW), JWT_REJECT_TOO_LONG);
    snprintf(payload, sizeof payload,
             "{\"sub\":\"42\",\"role\":\"trader\",\"iss\":\"atp\",\"aud\":\"atp-api\",\"jti\":\"j\","
             "\"iat\":1700000000,\"exp\":1700000900,\"pad\":\"%03200d\"}", 0);
    craft(big, sizeof big, HS256_HDR, payload, KEY);
    cr_assert_gt(strlen(big), JWT_MAX_LEN);
    cr_expect_eq(verify_at(big, NOW), JWT_REJECT_TOO_LONG);
}

Test(jwt, configuration_and_issue_limits)
{
    char tok[JWT_MAX_LEN + 1] = "x";
    struct jwt_config bad = CFG;
    bad.secret_len = 31;
    cr_expect_eq(jwt_issue(&bad, "1", "trader", NULL, NOW, tok, sizeof tok, NULL), ATP_EINVAL);
    cr_expect_str_empty(tok);
    cr_assert_eq(jwt_issue(&CFG, "1", "trader", NULL, NOW, tok, sizeof tok, NULL), ATP_OK);
    enum jwt_reject why = JWT_VALID;
    cr_expect_eq(jwt_verify(&bad, tok, NOW, NULL, &why), ATP_EINVAL);
    cr_expect_eq(why, JWT_REJECT_CONFIG);

    const struct jwt_config bads[] = {
        {NULL, 32, "atp", "atp-api", 0}, {KEY, 32, "", "atp-api", 0},
        {KEY, 32, "atp", NULL, 0},       {KEY, 32, "atp", "atp-api", -1},
        {KEY, 32, "atp", "atp-api", 86400 * 2},
    };
    for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++)
        cr_expect_eq(jwt_issue(&bads[i], "1", "t", NULL, NOW, tok, sizeof tok, NULL), ATP_EINVAL, "%zu", i);

    cr_expect_eq(jwt_issue(&CFG, "", "trader", NULL, NOW, tok, sizeof tok, NULL), ATP_EINVAL);
    cr_expect_eq(jwt_issue(&CFG, "1", "", NULL, NOW, tok, sizeof tok, NULL), ATP_EINVAL);
    cr_expect_eq(jwt_issue(&CFG, "1", "0123456789012345678901234567890123", NULL, NOW, tok, sizeof tok,
                           NULL), ATP_EINVAL);
    cr_expect_eq(jwt_issue(&CFG, "\xff\xfe", "trader", NULL, NOW, tok, sizeof tok, NULL), ATP_EINVAL,
                 "not UTF-8");
    cr_expect_eq(jwt_issue(&CFG, "1", "trader", NULL, NOW, tok, 40, NULL), ATP_ERANGE);
    cr_expect_eq(jwt_issue(&CFG, "1", "trader", NULL, -1, tok, sizeof tok, NULL), ATP_EINVAL);
    cr_expect_str_eq(jwt_reject_name(JWT_REJECT_EXPIRED), "expired");
}

/* The session claim: issued and read back; absent when not given; a sid of the wrong type, empty
 * or too long is refused even under a valid signature; an issuer cannot put a bad one in. */
Test(jwt, session_claim)
{
    long live = atp_alloc_live();
    char tok[JWT_MAX_LEN + 1];
    struct jwt_claims issued, got;
    cr_assert_eq(jwt_issue(&CFG, "42", "trader", "fam-ABC_123", NOW, tok, sizeof tok, &issued), ATP_OK);
    cr_assert_str_eq(issued.sid, "fam-ABC_123");
    cr_assert_eq(jwt_verify(&CFG, tok, NOW + 1, &got, NULL), ATP_OK);
    cr_assert_str_eq(got.sid, "fam-ABC_123");
    cr_assert_eq(jwt_issue(&CFG, "42", "trader", "", NOW, tok, sizeof tok, &issued), ATP_OK);
    cr_assert_eq(jwt_verify(&CFG, tok, NOW + 1, &got, NULL), ATP_OK);
    cr_assert_str_empty(got.sid, "no sid claim: empty");
    cr_assert_null(strstr(tok, "sid"));

    char long_sid[80];
    memset(long_sid, 'a', sizeof long_sid - 1);
    long_sid[sizeof long_sid - 1] = 0;
    cr_expect_eq(jwt_issue(&CFG, "42", "trader", long_sid, NOW, tok, sizeof tok, NULL), ATP_EINVAL);

    static const char *const bad_payloads[] = {
        "{\"sub\":\"42\",\"role\":\"trader\",\"iss\":\"atp\",\"aud\":\"atp-api\",\"jti\":\"abc\","
        "\"iat\":1700000000,\"exp\":1700000900,\"sid\":7}",
        "{\"sub\":\"42\",\"role\":\"trader\",\"iss\":\"atp\",\"aud\":\"atp-api\",\"jti\":\"abc\","
        "\"iat\":1700000000,\"exp\":1700000900,\"sid\":\"\"}",
        "{\"sub\":\"42\",\"role\":\"trader\",\"iss\":\"atp\",\"aud\":\"atp-api\",\"jti\":\"abc\","
        "\"iat\":1700000000,\"exp\":1700000900,\"sid\":null}",
        "{\"sub\":\"42\",\"role\":\"trader\",\"iss\":\"atp\",\"aud\":\"atp-api\",\"jti\":\"abc\","
        "\"iat\":1700000000,\"exp\":1700000900,\"sid\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
    };
    for (size_t i = 0; i < sizeof bad_payloads / sizeof bad_payloads[0]; i++) {
        craft(tok, sizeof tok, HS256_HDR, bad_payloads[i], KEY);
        cr_expect_eq(verify_at(tok, NOW + 1), JWT_REJECT_CLAIMS, "payload %zu", i);
    }
    cr_assert_eq(atp_alloc_live(), live);
}
