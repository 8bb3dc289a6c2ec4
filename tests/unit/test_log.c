/* core/log: one escaped JSON object per line, level filtering. */
#include <criterion/criterion.h>
#include <string.h>

#include "core/log.h"

Test(log, json_lines_escaped_and_filtered)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert_not_null(f);
    log_set_output(f);
    log_set_level(LOG_INFO);
    atp_log(LOG_DEBUG, "kernel", "hidden");
    atp_log(LOG_WARN, "oms", "order %d said \"no\"\n", 7);
    fflush(f);
    cr_assert_not_null(strstr(buf, "\"level\":\"warn\",\"module\":\"oms\",\"msg\":\"order 7 said \\\"no\\\"\\u000a\"}\n"),
                       "%s", buf);
    cr_assert_null(strstr(buf, "hidden"));
    cr_assert_eq(strchr(buf, '\n'), buf + len - 1, "exactly one line");
    log_set_output(NULL);
    fclose(f);
    free(buf);
    cr_assert_eq(log_level_parse("WARN"), LOG_WARN);
    cr_assert_eq(log_level_parse("loud"), -1);
}
