#include "core/paths.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *paths_resolve(const char *env_name, int env_is_dir, const char *rel, char *buf,
                          size_t size)
{
    const char *env = env_name ? getenv(env_name) : NULL;
    if (env && *env) {
        if (env_is_dir) {
            const char *base = strrchr(rel, '/');
            snprintf(buf, size, "%s/%s", env, base ? base + 1 : rel);
        } else {
            snprintf(buf, size, "%s", env);
        }
        return buf;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            snprintf(buf, size, "%s/../%s", exe, rel);
            if (access(buf, R_OK) == 0)
                return buf;
        }
    }
    snprintf(buf, size, "%s", rel);
    return buf;
}
