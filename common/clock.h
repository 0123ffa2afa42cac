/*  clock — time helpers. Monotonic for intervals, wall clock for timestamps. */
#ifndef FERRY_CLOCK_H
#define FERRY_CLOCK_H

#include <stdint.h>

//  Milliseconds from CLOCK_MONOTONIC: use for timeouts and intervals.
int64_t clock_mono_ms(void);

//  Microseconds from CLOCK_MONOTONIC.
int64_t clock_mono_us(void);

//  Milliseconds since the epoch (CLOCK_REALTIME): use for stored timestamps.
int64_t clock_wall_ms(void);

#endif
