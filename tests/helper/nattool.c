/* hull-nattool: the NAT and published-port calls of src/netsetup from the command line, for
 * tests/integration/test_nat.py (run inside the test's own network namespaces).
 *   hull-nattool ensure BRIDGE SUBNET4|- SUBNET6|-
 *   hull-nattool add ID IP4 HOSTPORT:CTRPORT[/tcp|udp]...
 *   hull-nattool remove ID
 *   hull-nattool release BRIDGE used|unused */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netsetup/netsetup.h"

static const char *opt(const char *s)
{
	return strcmp(s, "-") == 0 ? NULL : s;
}

static int add(int argc, char **argv, struct hull_err *err)
{
	size_t n = (size_t)argc - 4;
	struct net_port *ports = calloc(n ? n : 1, sizeof(*ports));
	int r = ports ? 0 : -1;
	for (size_t i = 0; r == 0 && i < n; i++)
		r = net_port_parse(argv[4 + i], &ports[i], err);
	if (r == 0)
		r = net_ports_add(argv[2], argv[3], ports, n, err);
	free(ports);
	return r;
}

int main(int argc, char **argv)
{
	struct hull_err err = {0};
	int r;
	const char *cmd = argc > 1 ? argv[1] : "";
	if (strcmp(cmd, "ensure") == 0 && argc == 5)
		r = net_nat_ensure(argv[2], opt(argv[3]), opt(argv[4]), &err);
	else if (strcmp(cmd, "add") == 0 && argc >= 4)
		r = add(argc, argv, &err);
	else if (strcmp(cmd, "remove") == 0 && argc == 3)
		r = net_ports_remove(argv[2], &err);
	else if (strcmp(cmd, "release") == 0 && argc == 4)
		r = net_nat_release_if_unused(argv[2], strcmp(argv[3], "used") == 0, &err);
	else {
		fprintf(stderr, "usage: hull-nattool ensure|add|remove|release ...\n");
		return 2;
	}
	if (r < 0) {
		fprintf(stderr, "hull-nattool: %s\n", hull_err_text(&err));
		hull_err_clear(&err);
		return 1;
	}
	return 0;
}
