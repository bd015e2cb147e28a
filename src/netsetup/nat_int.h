/* Private to the NAT files: rule building (nat_rules.c), nftables netlink talk (nat_nl.c),
 * rule tags (ports.c). */
#pragma once
#include <stdio.h> /* before libnftnl, which uses FILE */

#include <libnftnl/rule.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "netsetup.h"

#define NAT_TABLE	"hull"
#define NAT_PREROUTING	"prerouting"
#define NAT_OUTPUT	"output"
#define NAT_POSTROUTING "postrouting"
/* nft(8) keeps comments under 128 bytes; a tag is a rule's comment. */
#define NAT_TAG_MAX 128

static inline void nat_rule_freep(struct nftnl_rule **r)
{
	if (*r != NULL)
		nftnl_rule_free(*r);
}
#define _cleanup_rule_ __attribute__((cleanup(nat_rule_freep)))

/* A subnet in network order: family AF_INET or AF_INET6, addr and mask of len bytes. */
struct nat_cidr {
	int family;
	size_t len;
	uint8_t addr[16], mask[16];
};
int nat_cidr_parse(const char *text, int family, struct nat_cidr *out, struct hull_err *err);

/* Postrouting masquerade for traffic from net, in one of three cases. */
enum nat_masq_case {
	NAT_MASQ_OUT,	   /* leaving through anything but the bridge */
	NAT_MASQ_HAIRPIN,  /* DNATed back onto the bridge it came from */
	NAT_MASQ_LOOPBACK, /* from 127.0.0.0/8, DNATed onto the bridge */
};
struct nftnl_rule *nat_rule_masq(const struct nat_cidr *net, const char *bridge,
				 enum nat_masq_case which, const char *tag);
/* In chain (prerouting or output): to a local address, proto and host port: DNAT to ip4
 * (network order) and the container port. */
struct nftnl_rule *nat_rule_dnat(const char *chain, const struct net_port *p, struct in_addr ip4,
				 const char *tag);

/* Tags: "hull nat BRIDGE SUBNET4 SUBNET6" ("-" for none) and "hull port ID PROTO/HOSTPORT". */
int nat_tag_bridge(char out[NAT_TAG_MAX], const char *bridge, const char *subnet4,
		   const char *subnet6, struct hull_err *err);
/* The prefix every tag of the bridge starts with ("hull nat BRIDGE "). */
int nat_tag_bridge_prefix(char out[NAT_TAG_MAX], const char *bridge, struct hull_err *err);
int nat_tag_port(char out[NAT_TAG_MAX], const char *id, const struct net_port *p,
		 struct hull_err *err);
/* The id prefix a port tag of id starts with ("hull port ID "). */
int nat_tag_port_prefix(char out[NAT_TAG_MAX], const char *id, struct hull_err *err);
/* A port tag's id (into id, NAT_TAG_MAX bytes), proto and host port; <0 if not one. */
int nat_tag_port_parse(const char *tag, char *id, int *proto, uint16_t *host_port);
bool nat_tag_is_hull(const char *tag);

/* One rule of table hull as listed from the kernel. */
struct nat_rule_ref {
	char chain[32];
	uint64_t handle;
	char tag[NAT_TAG_MAX];
};
struct nat_rules {
	struct nat_rule_ref *v;
	size_t n;
};

/* A changeset: all of it applies or none (one nfnetlink batch). */
struct nat_batch;
struct nat_conn;
struct nat_conn *nat_conn_open(struct hull_err *err);
void nat_conn_close(struct nat_conn *c);
/* The ruleset's generation and table hull's rules at that generation. */
int nat_snapshot(struct nat_conn *c, uint32_t *genid, struct nat_rules *out, struct hull_err *err);
void nat_rules_free(struct nat_rules *r);

/* A batch that the kernel refuses (ERESTART) if the ruleset left generation genid. */
struct nat_batch *nat_batch_new(struct nat_conn *c, uint32_t genid, size_t nmsgs);
void nat_batch_free(struct nat_batch *b);
void nat_batch_table_chains(struct nat_batch *b);
void nat_batch_add_rule(struct nat_batch *b, struct nftnl_rule *r);
void nat_batch_del_rule(struct nat_batch *b, const struct nat_rule_ref *ref);
void nat_batch_del_table(struct nat_batch *b);
/* Sends it; err->code is ERESTART when the ruleset changed since the snapshot. */
int nat_batch_commit(struct nat_conn *c, struct nat_batch *b, const char *what,
		     struct hull_err *err);
