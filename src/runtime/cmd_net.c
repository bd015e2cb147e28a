/* `hull net ls` and `hull net inspect ID`: each container's network from its saved plan. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/json.h"
#include "network.h"
#include "runtime.h"

static void plan_json(yajl_gen g, const char *id, const struct net_plan *p)
{
	yajl_gen_map_open(g);
	json_key_str(g, "id", id);
	json_key_str(g, "mode", p->mode[0] ? p->mode : "none");
	if (p->bridge[0]) {
		json_key_str(g, "bridge", p->bridge);
		json_key_str(g, "subnet", p->subnet);
		json_key_str(g, "subnet6", p->subnet6);
		json_key_str(g, "gateway", p->gw4);
		json_key_str(g, "gateway6", p->gw6);
		json_key_str(g, "veth", p->veth);
		json_key_str(g, "ipv4", p->ip4);
		json_key_str(g, "ipv6", p->ip6);
	}
	json_key(g, "ports");
	yajl_gen_array_open(g);
	for (size_t i = 0; i < p->n_ports; i++)
		json_str(g, p->ports[i]);
	yajl_gen_array_close(g);
	json_key(g, "netDevices");
	yajl_gen_map_open(g);
	for (size_t i = 0; i < p->n_devs; i++)
		json_key_str(g, p->dev_host[i], p->dev_ctr[i]);
	yajl_gen_map_close(g);
	yajl_gen_map_close(g);
}

static void plan_row(const char *id, const struct net_plan *p)
{
	char ports[512] = "";
	for (size_t i = 0; i < p->n_ports; i++)
		snprintf(ports + strlen(ports), sizeof ports - strlen(ports), "%s%s", i ? "," : "",
			 p->ports[i]);
	printf("%-20s %-7s %-10s %-15s %-15s %-24s %s\n", id, p->mode[0] ? p->mode : "none",
	       p->bridge[0] ? p->bridge : "-", p->subnet[0] ? p->subnet : "-",
	       p->ip4[0] ? p->ip4 : "-", p->ip6[0] ? p->ip6 : "-", ports[0] ? ports : "-");
}

static int read_plan(int root_fd, const char *id, struct net_plan *p, struct hull_err *err)
{
	_cleanup_close_ int dir = state_dir_open(root_fd, id, false, err);
	if (dir < 0 || net_plan_read(dir, p, err) < 0)
		return -1;
	if (p->subnet[0])
		net_plan_ipv6(p);
	return 0;
}

static int net_ls(int root_fd, bool json, struct hull_err *err)
{
	_cleanup_closedir_ DIR *d = fdopendir(dup(root_fd));
	if (d == NULL)
		return hull_error(err, errno, "read --root");
	yajl_gen g = json ? json_gen_new(0) : NULL;
	if (g)
		yajl_gen_array_open(g);
	else
		printf("%-20s %-7s %-10s %-15s %-15s %-24s %s\n", "ID", "MODE", "BRIDGE", "SUBNET",
		       "IPV4", "IPV6", "PORTS");
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		struct net_plan p;
		struct hull_err ignored = {0};
		if (e->d_name[0] == '.' || read_plan(root_fd, e->d_name, &p, &ignored) < 0) {
			hull_err_clear(&ignored);
			continue;
		}
		if (g)
			plan_json(g, e->d_name, &p);
		else
			plan_row(e->d_name, &p);
	}
	if (g) {
		yajl_gen_array_close(g);
		_cleanup_free_ char *text = json_gen_finish(g);
		printf("%s\n", text);
	}
	return 0;
}

int cmd_net(const struct hull_globals *g, int argc, char **argv, struct hull_err *err)
{
	const char *format = "table";
	const struct cli_opt opts[] = {{"format", 'f', CLI_STRING, &format}, {0}};
	int first;
	/* `net ls --format json` as well as `net --format json ls` */
	if (cli_parse(opts, argc, argv, &first, err) < 0)
		return -1;
	if (first < argc) {
		int more;
		if (cli_parse(opts, argc - first, argv + first, &more, err) < 0)
			return -1;
		argv[first + more - 1] = argv[first];
		first += more - 1;
	}
	if (strcmp(format, "table") != 0 && strcmp(format, "json") != 0)
		return hull_error(err, 0, "--format must be table or json, not \"%s\"", format);
	const char *sub = first < argc ? argv[first] : "";
	bool ls = strcmp(sub, "ls") == 0 && first + 1 == argc;
	bool inspect = strcmp(sub, "inspect") == 0 && first + 2 == argc;
	if (strcmp(sub, "prune") == 0 && first + 1 == argc)
		return net_prune(g, err);
	if (!ls && !inspect)
		return hull_error(err, 0,
				  "usage: hull net ls | hull net inspect ID [--format json] | "
				  "hull net prune");
	_cleanup_close_ int root_fd = open(g->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0 && inspect)
		return hull_error(err, 0, "container %s does not exist", argv[first + 1]);
	if (ls)
		return root_fd < 0 ? (printf(strcmp(format, "json") ? "" : "[]\n"), 0)
				   : net_ls(root_fd, strcmp(format, "json") == 0, err);
	struct net_plan p;
	if (read_plan(root_fd, argv[first + 1], &p, err) < 0)
		return -1;
	yajl_gen gen = json_gen_new(1);
	plan_json(gen, argv[first + 1], &p);
	_cleanup_free_ char *text = json_gen_finish(gen);
	printf("%s\n", text);
	return 0;
}
