/* app/cli: the command table of the atp binary and helpers shared by subcommands. */
#ifndef ATP_APP_CLI_H
#define ATP_APP_CLI_H

/* Exit statuses: 0 success, 1 runtime failure, 2 bad usage or bad input (named on stderr). */
#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1
#define CLI_EXIT_USAGE 2

int cli_main(int argc, char **argv);

#endif
