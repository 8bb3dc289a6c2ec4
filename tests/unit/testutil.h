/* Helpers shared by unit tests: where the repository and the shared fixtures are. */
#ifndef ATP_TESTUTIL_H
#define ATP_TESTUTIL_H

#include <stdio.h>

/* Path of a file under the repository root (ATP_ROOT, set by ctest). Static buffer per call slot. */
const char *tu_root_path(const char *rel);
/* Path of a file under ../shared/fixtures (ATP_FIXTURES). */
const char *tu_fixture_path(const char *rel);
/* A read-only FILE over a string (fmemopen); caller fcloses. */
FILE *tu_mem_file(const char *text);

#endif
