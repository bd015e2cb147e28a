/* NAT and published ports: port specs, tags and rule building (pure); then the real thing
 * in a private network namespace of a forked child, so the host's ruleset is never
 * touched. */
#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "netsetup/nat_int.h"
#include "netsetup/netsetup.h"
#include "unit.h"

static void test_port_parse_good(void)
{
	struct hull_err err = {0};
	struct net_port p;
	CHECK(net_port_parse("8080:80", &p, &err) == 0);
	CHECK(p.host_port == 8080 && p.container_port == 80 && p.proto == IPPROTO_TCP);
	CHECK(net_port_parse("8080:80/tcp", &p, &err) == 0);
	CHECK(p.proto == IPPROTO_TCP);
	CHECK(net_port_parse("53:53/udp", &p, &err) == 0);
	CHECK(p.host_port == 53 && p.container_port == 53 && p.proto == IPPROTO_UDP);
	CHECK(net_port_parse("65535:1", &p, &err) == 0);
	CHECK(p.host_port == 65535 && p.container_port == 1);
	hull_err_clear(&err);
}

static void check_bad(const char *spec, const char *why)
{
	struct hull_err err = {0};
	struct net_port p = {1, 2, 3};
	CHECK(net_port_parse(spec, &p, &err) < 0);
	CHECK(err.code == EINVAL);
	CHECK_CONTAINS(err.msg, spec);
	CHECK_CONTAINS(err.msg, why);
	CHECK(p.host_port == 1 && p.container_port == 2 && p.proto == 3);
	hull_err_clear(&err);
}

static void test_port_parse_bad(void)
{
	check_bad("8080", "HOSTPORT:CONTAINERPORT");
	check_bad("", "HOSTPORT:CONTAINERPORT");
	check_bad("80/tcp:80", "HOSTPORT:CONTAINERPORT");
	check_bad("0:80", "1-65535");
	check_bad("8080:0", "1-65535");
	check_bad("65536:80", "1-65535");
	check_bad("8080:123456", "1-65535");
	check_bad("-1:80", "1-65535");
	check_bad("+80:80", "1-65535");
	check_bad(" 80:80", "1-65535");
	check_bad("8080:", "1-65535");
	check_bad(":80", "1-65535");
	check_bad("8080:80:90", "1-65535");
	check_bad("8080-8090:80", "1-65535");
	check_bad("8080:80/sctp", "tcp or udp");
	check_bad("8080:80/", "tcp or udp");
	check_bad("8080:80/TCP", "tcp or udp");
	struct hull_err err = {0};
	struct net_port p;
	CHECK(net_port_parse(NULL, &p, &err) < 0);
	hull_err_clear(&err);
}

static void test_tags(void)
{
	struct hull_err err = {0};
	char tag[NAT_TAG_MAX], id[NAT_TAG_MAX];
	struct net_port p = {8080, 80, IPPROTO_UDP};
	int proto = 0;
	uint16_t port = 0;
	CHECK(nat_tag_port(tag, "web-1", &p, &err) == 0);
	CHECK_STR(tag, "hull port web-1 udp/8080");
	CHECK(nat_tag_port_parse(tag, id, &proto, &port) == 0);
	CHECK_STR(id, "web-1");
	CHECK(proto == IPPROTO_UDP && port == 8080);
	CHECK(nat_tag_port_parse("hull nat hull0 10.0.0.0/8 -", id, &proto, &port) < 0);
	CHECK(nat_tag_port_parse("hull port x tcp/0", id, &proto, &port) < 0);
	CHECK(nat_tag_port_prefix(tag, "web-1", &err) == 0);
	CHECK_STR(tag, "hull port web-1 ");
	CHECK(nat_tag_bridge(tag, "hull0", "10.89.0.0/16", NULL, &err) == 0);
	CHECK_STR(tag, "hull nat hull0 10.89.0.0/16 -");
	CHECK(nat_tag_port(tag, "a b", &p, &err) < 0);
	char longid[200];
	memset(longid, 'a', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	CHECK(nat_tag_port(tag, longid, &p, &err) < 0 && err.code == ENAMETOOLONG);
	hull_err_clear(&err);
}

static void test_cidr(void)
{
	struct hull_err err = {0};
	struct nat_cidr c;
	CHECK(nat_cidr_parse("10.89.3.7/16", AF_INET, &c, &err) == 0);
	CHECK(c.len == 4 && c.addr[0] == 10 && c.addr[1] == 89 && c.addr[2] == 0);
	CHECK(c.mask[1] == 0xff && c.mask[2] == 0);
	CHECK(nat_cidr_parse("10.0.0.0/20", AF_INET, &c, &err) == 0);
	CHECK(c.mask[2] == 0xf0);
	CHECK(nat_cidr_parse("fd00:1::/64", AF_INET6, &c, &err) == 0);
	CHECK(c.len == 16 && c.mask[7] == 0xff && c.mask[8] == 0);
	CHECK(nat_cidr_parse("10.0.0.0/33", AF_INET, &c, &err) < 0);
	CHECK(nat_cidr_parse("10.0.0.0", AF_INET, &c, &err) < 0);
	CHECK(nat_cidr_parse("10.0.0.0/", AF_INET, &c, &err) < 0);
	CHECK(nat_cidr_parse("fd00::/64", AF_INET, &c, &err) < 0);
	hull_err_clear(&err);
}

static void rule_text(struct nftnl_rule *r, char *buf, size_t size)
{
	buf[0] = '\0';
	if (r != NULL)
		nftnl_rule_snprintf(buf, size, r, NFTNL_OUTPUT_DEFAULT, 0);
}

static void test_rule_building(void)
{
	struct hull_err err = {0};
	struct nat_cidr net;
	char text[4096];
	CHECK(nat_cidr_parse("10.89.0.0/16", AF_INET, &net, &err) == 0);
	struct nftnl_rule *r = nat_rule_masq(&net, "hull0", NAT_MASQ_OUT, "hull nat hull0 x -");
	CHECK(r != NULL);
	rule_text(r, text, sizeof(text));
	CHECK_CONTAINS(text, "postrouting");
	CHECK_CONTAINS(text, "payload load 4b @ network header + 12");
	CHECK_CONTAINS(text, "cmp neq reg 1 0x6c6c7568 0x00000030");
	CHECK_CONTAINS(text, "[ masq ]");
	if (r != NULL)
		nftnl_rule_free(r);
	r = nat_rule_masq(&net, "hull0", NAT_MASQ_LOOPBACK, "t");
	rule_text(r, text, sizeof(text));
	CHECK_CONTAINS(text, "cmp eq reg 1 0x0000007f");
	CHECK_CONTAINS(text, "ct load status");
	if (r != NULL)
		nftnl_rule_free(r);
	struct net_port p = {8080, 80, IPPROTO_TCP};
	struct in_addr ip = {htonl(0x0a590002)};
	r = nat_rule_dnat(NAT_OUTPUT, &p, ip, "hull port c1 tcp/8080");
	rule_text(r, text, sizeof(text));
	CHECK_CONTAINS(text, "output");
	CHECK_CONTAINS(text, "fib daddr type");
	CHECK_CONTAINS(text, "cmp eq reg 1 0x0000901f");
	CHECK_CONTAINS(text, "immediate reg 1 0x0200590a");
	CHECK_CONTAINS(text, "immediate reg 2 0x00005000");
	CHECK_CONTAINS(text, "nat dnat ip addr_min reg 1 proto_min reg 2");
	if (r != NULL)
		nftnl_rule_free(r);
	hull_err_clear(&err);
}

/* ---- real rules, in a private network namespace ---- */

static size_t count(const char *prefix)
{
	struct hull_err err = {0};
	struct nat_conn *c = nat_conn_open(&err);
	struct nat_rules rules = {0};
	uint32_t gen;
	size_t n = 0;
	if (c == NULL || nat_snapshot(c, &gen, &rules, &err) < 0) {
		printf("#   snapshot: %s\n", hull_err_text(&err));
		n = (size_t)-1;
	}
	for (size_t i = 0; i < rules.n; i++)
		n += strncmp(rules.v[i].tag, prefix, strlen(prefix)) == 0;
	nat_rules_free(&rules);
	nat_conn_close(c);
	hull_err_clear(&err);
	return n;
}

static void report(int r, struct hull_err *err, const char *what)
{
	if (r < 0)
		printf("#   %s: %s\n", what, hull_err_text(err));
	CHECK(r == 0);
	hull_err_clear(err);
}

static void netns_body(void)
{
	struct hull_err err = {0};
	struct net_port ports[] = {{8080, 80, IPPROTO_TCP}, {5353, 53, IPPROTO_UDP}};
	if (system("ip link add hulltest0 type bridge") != 0) {
		CHECK(!"ip link add bridge");
		return;
	}
	report(net_nat_ensure("hulltest0", "10.89.0.0/16", "fd89::/64", &err), &err, "ensure");
	report(net_nat_ensure("hulltest0", "10.89.0.0/16", "fd89::/64", &err), &err, "again");
	CHECK(count("hull nat hulltest0 ") == 4);
	report(net_ports_add("c1", "10.89.0.2", ports, 2, &err), &err, "ports_add");
	CHECK(count("hull port c1 ") == 4);
	CHECK(net_ports_add("c2", "10.89.0.3", ports + 1, 1, &err) < 0);
	CHECK(err.code == EADDRINUSE);
	CHECK_CONTAINS(err.msg, "udp/5353 is already published by c1");
	hull_err_clear(&err);
	CHECK(count("hull port c2 ") == 0);
	report(
	    net_ports_add("c2", "10.89.0.3", (struct net_port[]){{53, 53, IPPROTO_TCP}}, 1, &err),
	    &err, "other port");
	report(net_ports_remove("c1", &err), &err, "ports_remove");
	report(net_ports_remove("c1", &err), &err, "ports_remove again");
	CHECK(count("hull port c1 ") == 0 && count("hull port c2 ") == 2);
	report(net_nat_release_if_unused("hulltest0", true, &err), &err, "still used");
	CHECK(count("hull nat hulltest0 ") == 4);
	report(net_ports_remove("c2", &err), &err, "remove c2");
	report(net_nat_release_if_unused("hulltest0", false, &err), &err, "release");
	CHECK(count("hull") == 0);
	report(net_nat_release_if_unused("hulltest0", false, &err), &err, "release again");
	CHECK(net_nat_ensure("no/such", "10.0.0.0/8", NULL, &err) < 0);
	hull_err_clear(&err);
}

/* 8 processes at once: all publish distinct ports, then all race for one port. */
static int race(uint16_t first_port, bool same)
{
	pid_t pids[8];
	int won = 0;
	for (int i = 0; i < 8; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			struct hull_err err = {0};
			char id[16];
			snprintf(id, sizeof(id), "r%d-%u", i, (unsigned)first_port);
			struct net_port p = {(uint16_t)(first_port + (same ? 0 : i)), 80,
					     IPPROTO_TCP};
			if (net_ports_add(id, "10.89.0.9", &p, 1, &err) == 0)
				_exit(0);
			if (!same || err.code != EADDRINUSE)
				printf("#   %s: %s\n", id, hull_err_text(&err));
			fflush(stdout);
			_exit(1);
		}
	}
	for (int i = 0; i < 8; i++) {
		int status = 1;
		if (pids[i] > 0 && waitpid(pids[i], &status, 0) == pids[i] && WIFEXITED(status))
			won += WEXITSTATUS(status) == 0;
		else
			printf("#   racer %d: status %#x\n", i, (unsigned)status);
	}
	return won;
}

static void netns_race(void)
{
	CHECK(race(7000, false) == 8);
	CHECK(count("hull port r") == 16);
	CHECK(race(9000, true) == 1);
	CHECK(count("hull port r") == 18);
}

static void test_netns_rules(void)
{
	if (geteuid() != 0) {
		printf("# skip: needs root\n");
		return;
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		if (unshare(CLONE_NEWNET) < 0)
			_exit(77);
		netns_body();
		netns_race();
		fflush(stdout);
		_exit(unit_case_failed);
	}
	int status = 0;
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status));
	if (WEXITSTATUS(status) == 77)
		printf("# skip: cannot create a network namespace\n");
	else
		CHECK(WEXITSTATUS(status) == 0);
}

int main(void)
{
	RUN(test_port_parse_good);
	RUN(test_port_parse_bad);
	RUN(test_tags);
	RUN(test_cidr);
	RUN(test_rule_building);
	RUN(test_netns_rules);
	return unit_done();
}
