/* core/paths: where shipped files are found: an environment override, else next to the running
 * binary (<dir of the binary>/../REL, so build/atp finds the repository's data/ and web/ from any
 * working directory), else REL relative to the working directory. */
#ifndef ATP_CORE_PATHS_H
#define ATP_CORE_PATHS_H

#include <stddef.h>

/* Writes the path of rel into buf (see above) and returns buf. env_name may be NULL; when that
 * variable is set and not empty its value is used as the whole path (env_is_dir = 0) or as the
 * directory holding rel's last component (env_is_dir = 1). */
const char *paths_resolve(const char *env_name, int env_is_dir, const char *rel, char *buf,
                          size_t size);

#endif
