/* Private to the network files of src/runtime. */
#pragma once
#include "network.h"
#include "runtime.h"

int net_files_prepare(struct container *c, const struct net_plan *p, struct hull_err *err);

/* The lease directory of a --root, as an absolute path: <root>/.net. */
void network_lease_dir(const char *root, char *out, size_t size);

/* A bridge's leases live under one --root; the bridge's alias (IFLA_IFALIAS) says which:
 * NET_OWNER_PREFIX + the lease directory. */
#define NET_OWNER_PREFIX "hull leases: "
