/* app/main: the atp binary. Dispatches `atp <command>` to the command table in app/cli.c. */
#include "app/cli.h"

int main(int argc, char **argv)
{
    return cli_main(argc, argv);
}
