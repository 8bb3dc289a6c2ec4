/* core/names: enum <-> text tables. Every "xxx_parse" of an enum looks its text up here. */
#ifndef ATP_CORE_NAMES_H
#define ATP_CORE_NAMES_H

/* Index of text in names[0..count), ASCII case-insensitively; -1 when absent or text is NULL. */
int names_index(const char *const *names, int count, const char *text);

#endif
