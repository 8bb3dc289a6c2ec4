# The HTTP tests with four worker threads (tests/cli/workers_run.sh).
exec bash "$(dirname "$0")/workers_run.sh" 4 "$1"
