/* The network plan file in a container's state directory: "key value" lines, written before
 * anything is allocated so that `delete --force` can undo a create that died mid-way. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "network.h"

int net_plan_write(int dir_fd, const struct net_plan *p, struct hull_err *err)
{
	int fd =
	    openat(dir_fd, NET_PLAN_FILE ".tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	_cleanup_fclose_ FILE *f = fd < 0 ? NULL : fdopen(fd, "w");
	if (f == NULL)
		return hull_error(err, errno, "write %s", NET_PLAN_FILE);
	fprintf(f, "mode %s\n", p->mode);
	if (p->bridge[0])
		fprintf(f, "bridge %s\nveth %s\nsubnet %s\n", p->bridge, p->veth, p->subnet);
	if (p->ip4[0])
		fprintf(f, "ip4 %s\nip6 %s\n", p->ip4, p->ip6);
	for (size_t i = 0; i < p->n_ports; i++)
		fprintf(f, "port %s\n", p->ports[i]);
	for (size_t i = 0; i < p->n_devs; i++)
		fprintf(f, "netdev %s %s\n", p->dev_host[i], p->dev_ctr[i]);
	if (fflush(f) != 0 || renameat(dir_fd, NET_PLAN_FILE ".tmp", dir_fd, NET_PLAN_FILE) < 0)
		return hull_error(err, errno, "write %s", NET_PLAN_FILE);
	return 0;
}

static void plan_line(struct net_plan *p, const char *key, const char *a, const char *b)
{
#define COPY(field) snprintf(p->field, sizeof p->field, "%s", a)
	if (strcmp(key, "mode") == 0)
		COPY(mode);
	else if (strcmp(key, "bridge") == 0)
		COPY(bridge);
	else if (strcmp(key, "veth") == 0)
		COPY(veth);
	else if (strcmp(key, "subnet") == 0)
		COPY(subnet);
	else if (strcmp(key, "ip4") == 0)
		COPY(ip4);
	else if (strcmp(key, "ip6") == 0)
		COPY(ip6);
	else if (strcmp(key, "port") == 0 && p->n_ports < NET_MAX_PORTS)
		snprintf(p->ports[p->n_ports++], sizeof p->ports[0], "%s", a);
	else if (strcmp(key, "netdev") == 0 && p->n_devs < NET_MAX_DEVS && b[0]) {
		snprintf(p->dev_host[p->n_devs], IF_NAMESIZE, "%s", a);
		snprintf(p->dev_ctr[p->n_devs++], IF_NAMESIZE, "%s", b);
	}
#undef COPY
}

int net_plan_read(int dir_fd, struct net_plan *p, struct hull_err *err)
{
	*p = (struct net_plan){0};
	int fd = openat(dir_fd, NET_PLAN_FILE, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return 0;
	_cleanup_fclose_ FILE *f = fd < 0 ? NULL : fdopen(fd, "r");
	if (f == NULL)
		return hull_error(err, errno, "read %s", NET_PLAN_FILE);
	char line[256];
	while (fgets(line, sizeof line, f)) {
		char key[16] = "", a[64] = "", b[64] = "";
		if (sscanf(line, "%15s %63s %63s", key, a, b) >= 2)
			plan_line(p, key, a, b);
	}
	char *slash = strchr(p->subnet, '/');
	if (slash != NULL)
		sscanf(slash + 1, "%d", &p->prefix);
	return 0;
}

static void v6_of(const char *v4, const char *prefix6, char *out, size_t size)
{
	struct in_addr a;
	if (inet_pton(AF_INET, v4, &a) != 1) {
		out[0] = 0;
		return;
	}
	uint32_t h = ntohl(a.s_addr);
	char text[48];
	unsigned char bin[16];
	snprintf(text, sizeof text, "%s%x:%x", prefix6, h >> 16, h & 0xffff);
	/* The canonical text (fd89:a59::a59:2), as ip(8) and the kernel print it. */
	if (inet_pton(AF_INET6, text, bin) != 1 || !inet_ntop(AF_INET6, bin, out, (socklen_t)size))
		snprintf(out, size, "%s", text);
}

void net_plan_ipv6(struct net_plan *p)
{
	struct in_addr a = {0};
	char net[32];
	snprintf(net, sizeof net, "%s", p->subnet);
	char *slash = strchr(net, '/');
	if (slash)
		*slash = 0;
	inet_pton(AF_INET, net, &a);
	uint32_t h = ntohl(a.s_addr);
	char prefix6[32];
	snprintf(prefix6, sizeof prefix6, "fd89:%x:%x::", h >> 16, h & 0xffff);
	unsigned char bin[16];
	char gw[40];
	snprintf(gw, sizeof gw, "%s1", prefix6);
	if (inet_pton(AF_INET6, gw, bin) != 1 || !inet_ntop(AF_INET6, bin, p->gw6, sizeof p->gw6))
		snprintf(p->gw6, sizeof p->gw6, "%s", gw);
	bin[15] = 0;
	char net6[INET6_ADDRSTRLEN] = "";
	inet_ntop(AF_INET6, bin, net6, sizeof net6);
	snprintf(p->subnet6, sizeof p->subnet6, "%s/64", net6);
	if (p->ip4[0])
		v6_of(p->ip4, prefix6, p->ip6, sizeof p->ip6);
	struct in_addr g = {htonl(h + 1)};
	snprintf(p->gw4, sizeof p->gw4, "%s", inet_ntoa(g));
}
