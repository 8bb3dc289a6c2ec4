/* api/backtests: the member scanner that lets the routes answer the stored result's parts
 * verbatim (money keeps its exact digits), over result_write_json's real output and over
 * strings that contain the scanner's own delimiters. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/backtests.h"

static char *span(const char *doc, const char *key)
{
    size_t off = 0, len = 0;
    if (api_bt_json_member(doc, key, &off, &len) != 0)
        return NULL;
    char *out = malloc(len + 1);
    memcpy(out, doc + off, len);
    out[len] = '\0';
    return out;
}

Test(api_bt_json_member, top_level_members_only)
{
    const char *doc = "{\n  \"metrics\": {\n    \"trades\": 1,\n    \"final_equity\": 98000.5\n  },\n"
                      "  \"trades\": [\n    {\"symbol\": \"A]\\\"},{\", \"pnl\": -2000}\n  ],\n"
                      "  \"equity_curve\": []\n}\n";
    char *m = span(doc, "metrics");
    cr_assert_str_eq(m, "{\n    \"trades\": 1,\n    \"final_equity\": 98000.5\n  }");
    char *t = span(doc, "trades");
    cr_assert_str_eq(t, "[\n    {\"symbol\": \"A]\\\"},{\", \"pnl\": -2000}\n  ]", "a string with ] \" } , inside");
    char *e = span(doc, "equity_curve");
    cr_assert_str_eq(e, "[]");
    char *f = span(m, "final_equity");
    cr_assert_str_eq(f, "98000.5", "scalars keep their digits");
    cr_assert_null(span(doc, "final_equity"), "a nested key is not a top-level member");
    cr_assert_null(span(doc, "pnl"));
    cr_assert_null(span(doc, "nosuch"));
    cr_assert_null(span("{\"a\": \"unterminated", "b"));
    free(m);
    free(t);
    free(e);
    free(f);
}
