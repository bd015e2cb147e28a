/* Wall-clock time as RFC 3339 with nanoseconds, UTC ("2026-11-24T21:04:32.123456789Z"),
 * the form runc uses in state and logs. */
#pragma once
#include <stddef.h>

void clock_rfc3339_now(char *buf, size_t size);
