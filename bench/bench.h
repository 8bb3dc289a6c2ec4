/* bench: benchmarks compiled into `atp bench <name>`. Each prints one JSON object on stdout. */
#ifndef ATP_BENCH_H
#define ATP_BENCH_H

/* atp bench md: ticks through the candle engine (7 timeframes x 5 indicators, 50 instruments). */
int bench_md(int argc, char **argv);

/* atp bench backtest: backtest bars/s, tick-to-fill latency, many strategies' ticks/s. */
int bench_backtest(int argc, char **argv);

#endif
