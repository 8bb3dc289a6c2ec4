#include "core/names.h"

#include <strings.h>

int names_index(const char *const *names, int count, const char *text)
{
    if (!text)
        return -1;
    for (int i = 0; i < count; i++)
        if (names[i] && strcasecmp(text, names[i]) == 0)
            return i;
    return -1;
}
