#include <criterion/criterion.h>

#include "core/px.h"

Test(smoke, px_roundtrip)
{
    px_t v;
    cr_assert_eq(px_parse("2450.55", 7, &v, NULL), ATP_OK);
    cr_assert_eq(v, 24505500);
}
