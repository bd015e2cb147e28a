/* Private to the network files of src/runtime. */
#pragma once
#include "network.h"
#include "runtime.h"

int net_files_prepare(struct container *c, const struct net_plan *p, struct hull_err *err);
