#include "testutil.h"

#include <stdlib.h>
#include <string.h>

static char slots[8][4096];
static int next_slot;

static const char *join(const char *env, const char *fallback, const char *rel)
{
    const char *base = getenv(env);
    char *buf = slots[next_slot++ % 8];
    snprintf(buf, sizeof slots[0], "%s/%s", base ? base : fallback, rel);
    return buf;
}

const char *tu_root_path(const char *rel)
{
    return join("ATP_ROOT", ".", rel);
}

const char *tu_fixture_path(const char *rel)
{
    return join("ATP_FIXTURES", "../shared/fixtures", rel);
}

FILE *tu_mem_file(const char *text)
{
    return fmemopen((void *)text, strlen(text), "r");
}
