#include "app/cli.h"

#include <stdio.h>
#include <string.h>

int cli_main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        printf("atp %s\n", ATP_VERSION);
        return CLI_EXIT_OK;
    }
    fprintf(stderr, "usage: atp <command>\n");
    return CLI_EXIT_USAGE;
}
