/* Published-port specs ("-p 8080:80/tcp") and the tags that mark hull's rules, so a
 * container's rules can be found again by id in the kernel's ruleset. */
#include <errno.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "nat_int.h"

/* Strict decimal in 1..65535: no sign, no spaces, no leading "0x". */
static int parse_port(const char *s, size_t len, uint16_t *out)
{
	unsigned long v = 0;
	if (len == 0 || len > 5)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v < 1 || v > 65535)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

static int parse_proto(const char *s, int *out)
{
	if (s == NULL || strcmp(s, "tcp") == 0)
		*out = IPPROTO_TCP;
	else if (strcmp(s, "udp") == 0)
		*out = IPPROTO_UDP;
	else
		return -1;
	return 0;
}

int net_port_parse(const char *spec, struct net_port *out, struct hull_err *err)
{
	if (spec == NULL)
		return hull_error(err, EINVAL, "port spec missing");
	const char *colon = strchr(spec, ':');
	const char *slash = strchr(spec, '/');
	if (colon == NULL || (slash != NULL && slash < colon))
		return hull_error(err, EINVAL,
				  "bad port spec \"%s\": want HOSTPORT:CONTAINERPORT[/tcp|udp]",
				  spec);
	const char *ctr = colon + 1;
	size_t ctr_len = slash ? (size_t)(slash - ctr) : strlen(ctr);
	struct net_port p = {0};
	if (parse_port(spec, (size_t)(colon - spec), &p.host_port) < 0 ||
	    parse_port(ctr, ctr_len, &p.container_port) < 0)
		return hull_error(err, EINVAL, "bad port spec \"%s\": ports are numbers 1-65535",
				  spec);
	if (parse_proto(slash ? slash + 1 : NULL, &p.proto) < 0)
		return hull_error(err, EINVAL, "bad port spec \"%s\": protocol is tcp or udp",
				  spec);
	*out = p;
	return 0;
}

static const char *proto_name(int proto)
{
	return proto == IPPROTO_UDP ? "udp" : "tcp";
}

/* Names and ids go into comments split on spaces, so they must be plain words. */
static int check_word(const char *what, const char *s, struct hull_err *err)
{
	if (s == NULL || *s == '\0')
		return hull_error(err, EINVAL, "%s missing", what);
	for (const char *c = s; *c; c++)
		if (*c <= ' ' || *c == '"' || *c == '\\' || *c == 0x7f)
			return hull_error(err, EINVAL, "%s \"%s\" has a space or quote", what, s);
	return 0;
}

static int tag_printf(char out[NAT_TAG_MAX], struct hull_err *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int tag_printf(char out[NAT_TAG_MAX], struct hull_err *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(out, NAT_TAG_MAX, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= NAT_TAG_MAX)
		return hull_error(err, ENAMETOOLONG, "rule tag \"%s...\" too long", out);
	return 0;
}

int nat_tag_bridge_prefix(char out[NAT_TAG_MAX], const char *bridge, struct hull_err *err)
{
	if (check_word("bridge name", bridge, err) < 0)
		return -1;
	return tag_printf(out, err, "hull nat %s ", bridge);
}

int nat_tag_bridge(char out[NAT_TAG_MAX], const char *bridge, const char *subnet4,
		   const char *subnet6, struct hull_err *err)
{
	if (check_word("bridge name", bridge, err) < 0 ||
	    (subnet4 && check_word("subnet", subnet4, err) < 0) ||
	    (subnet6 && check_word("subnet", subnet6, err) < 0))
		return -1;
	return tag_printf(out, err, "hull nat %s %s %s", bridge, subnet4 ? subnet4 : "-",
			  subnet6 ? subnet6 : "-");
}

int nat_tag_port_prefix(char out[NAT_TAG_MAX], const char *id, struct hull_err *err)
{
	if (check_word("container id", id, err) < 0)
		return -1;
	return tag_printf(out, err, "hull port %s ", id);
}

int nat_tag_port(char out[NAT_TAG_MAX], const char *id, const struct net_port *p,
		 struct hull_err *err)
{
	if (check_word("container id", id, err) < 0)
		return -1;
	return tag_printf(out, err, "hull port %s %s/%u", id, proto_name(p->proto),
			  (unsigned)p->host_port);
}

int nat_tag_port_parse(const char *tag, char *id, int *proto, uint16_t *host_port)
{
	static const char prefix[] = "hull port ";
	if (strncmp(tag, prefix, sizeof(prefix) - 1) != 0)
		return -1;
	const char *start = tag + sizeof(prefix) - 1;
	const char *space = strrchr(start, ' ');
	if (space == NULL || space == start || (size_t)(space - start) >= NAT_TAG_MAX)
		return -1;
	const char *slash = strchr(space, '/');
	if (slash == NULL)
		return -1;
	_cleanup_free_ char *name = strndup(space + 1, (size_t)(slash - space - 1));
	if (name == NULL || parse_proto(name, proto) < 0 ||
	    parse_port(slash + 1, strlen(slash + 1), host_port) < 0)
		return -1;
	memcpy(id, start, (size_t)(space - start));
	id[space - start] = '\0';
	return 0;
}

bool nat_tag_is_hull(const char *tag)
{
	return strncmp(tag, "hull ", 5) == 0;
}
